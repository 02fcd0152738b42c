// Helpers the libFuzzer targets share: files of the source tree (shipped configuration that a
// target uses as fixed context) and a check that aborts with a message, so that a broken
// property is a crash libFuzzer saves, like any sanitizer report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace fl::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file of the checkout (FL_SOURCE_DIR), read once at start; aborts when it is missing, since
// a target without its context would fuzz nothing useful.
inline std::string source_file(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(FL_SOURCE_DIR) / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

[[noreturn]] inline void property_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "fuzz: property violated at %s:%d: %s\n", file, line, condition);
  std::abort();
}

}  // namespace fl::fuzz

// A property of the code under test that must hold for every input.
#define FL_FUZZ_CHECK(cond)                                              \
  do {                                                                   \
    if (!(cond)) ::fl::fuzz::property_failed(#cond, __FILE__, __LINE__); \
  } while (false)
