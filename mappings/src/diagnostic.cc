#include "fl/mappings/diagnostic.h"

namespace fl::mappings {

std::string to_string(const Diagnostic& diagnostic) {
  std::string out = diagnostic.file;
  out += ": ";
  out += diagnostic.pointer.empty() ? "(file)" : diagnostic.pointer;
  out += ": ";
  out += diagnostic.message;
  return out;
}

std::string pointer_token(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

}  // namespace fl::mappings
