// A whole file as text, for the CLI's inputs.
#pragma once

#include "fl/base/result.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fl::cli {

inline Result<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot open " + path.string(), path.string()};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace fl::cli
