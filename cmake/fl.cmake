# Helpers every module uses. fl_library(NAME x SRCS ... DEPS ...) makes target fl::x with
# include/ public and src/ private; without SRCS it is header-only (the ports).
# -Wno-missing-field-initializers: g++ 12 warns on every designated initializer that leaves a
# member to its default member initializer, which is how STYLE.md builds structs.
# -Wno-restrict: g++ 12 at -O3 (Release) reports impossible overlaps inside std::string
# concatenation (GCC bug 105329), in libstdc++'s code, not ours.
# -Wno-ambiguous-reversed-operator: clang (the fuzz build) reports RapidJSON 1.1's member
# iterators, whose operator== takes a ConstIterator, on every `it != v.MemberEnd()` under C++20.
add_library(fl_warnings INTERFACE)
target_compile_options(fl_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough -Wno-missing-field-initializers
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  $<$<CXX_COMPILER_ID:Clang>:-Wno-ambiguous-reversed-operator> -Werror)

function(fl_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  if(ARG_SRCS)
    add_library(fl_${ARG_NAME} ${ARG_SRCS})
    target_include_directories(fl_${ARG_NAME} PUBLIC include PRIVATE src)
    target_link_libraries(fl_${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} fl_warnings)
  else()
    add_library(fl_${ARG_NAME} INTERFACE)
    target_include_directories(fl_${ARG_NAME} INTERFACE include)
    target_link_libraries(fl_${ARG_NAME} INTERFACE ${ARG_DEPS})
  endif()
  add_library(fl::${ARG_NAME} ALIAS fl_${ARG_NAME})
endfunction()

# fl_test(NAME x LABEL unit|integration|e2e SRCS ... DEPS ...): a gtest binary whose cases
# ctest runs by label (ctest -L unit).
function(fl_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} fl_warnings GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()

# fl_fuzz(NAME x SRCS ... DEPS ...): libFuzzer target x_fuzz (tests/fuzz/x_fuzz.cc), built only
# with clang and -DFL_FUZZ=ON (the libraries are then instrumented by the top-level CMakeLists).
# When tests/fuzz/corpus/x/ exists, ctest test fuzz.x (label fuzz) replays it once.
function(fl_fuzz)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT FL_FUZZ OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    return()
  endif()
  add_executable(${ARG_NAME}_fuzz ${ARG_SRCS})
  target_link_libraries(${ARG_NAME}_fuzz PRIVATE ${ARG_DEPS} fl_warnings)
  target_link_options(${ARG_NAME}_fuzz PRIVATE -fsanitize=fuzzer)
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${ARG_NAME})
  if(IS_DIRECTORY ${corpus})
    add_test(NAME fuzz.${ARG_NAME} COMMAND ${ARG_NAME}_fuzz -runs=0 ${corpus})
    set_tests_properties(fuzz.${ARG_NAME} PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endfunction()

# fl_geth_binary(<var>): the geth that scripts/install-geth built (or $FL_GETH_BINARY), or ""
# when there is none; the tests against geth --dev are registered only when it exists.
function(fl_geth_binary var)
  if(DEFINED ENV{FL_GETH_BINARY})
    set(path "$ENV{FL_GETH_BINARY}")
  else()
    execute_process(COMMAND ${CMAKE_SOURCE_DIR}/scripts/install-geth --path
      OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
  endif()
  if(NOT EXISTS "${path}")
    set(path "")
  endif()
  set(${var} "${path}" PARENT_SCOPE)
endfunction()
