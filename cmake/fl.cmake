# Helpers every module uses. fl_library(NAME x SRCS ... DEPS ...) makes target fl::x with
# include/ public and src/ private; without SRCS it is header-only (the ports).
# -Wno-missing-field-initializers: g++ 12 warns on every designated initializer that leaves a
# member to its default member initializer, which is how STYLE.md builds structs.
# -Wno-restrict: g++ 12 at -O3 (Release) reports impossible overlaps inside std::string
# concatenation (GCC bug 105329), in libstdc++'s code, not ours.
add_library(fl_warnings INTERFACE)
target_compile_options(fl_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough -Wno-missing-field-initializers
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict> -Werror)

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
