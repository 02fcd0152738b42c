# Every third-party dependency is found here, once, as an imported target; module files name
# only targets. Debian 12 specifics are in shared/INFRA.md (hiredis' CMake config is broken,
# librdkafka and secp256k1 ship only pkg-config files, RapidJSON sets variables only).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
# CLI11 (header only) parses the command line of gateway/app.
find_package(CLI11 CONFIG REQUIRED)
find_package(Poco REQUIRED COMPONENTS Foundation Net NetSSL XML JSON Crypto JWT)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
# FHIRPath's regular expressions run on data: RE2 matches in time linear in the input, where
# std::regex backtracks exponentially and recurses once per character.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# Metrics for /metrics: only the core (registry, serializer); our Poco server answers the scrape.
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)

find_package(RapidJSON REQUIRED)
add_library(fl_rapidjson INTERFACE)
target_include_directories(fl_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
# 64-bit sizes and std::string support in the API we use.
target_compile_definitions(fl_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
add_library(fl::rapidjson ALIAS fl_rapidjson)

if(FL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Node.js runs solc-js to compile the contract at build time.
find_program(FL_NODE node REQUIRED)
