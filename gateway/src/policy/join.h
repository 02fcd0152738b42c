// "TREAT, ETREAT": how traces, explanations and errors list codes and ids.
#pragma once

#include <string>
#include <vector>

namespace fl::gateway::policy {

inline std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& item : list) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace fl::gateway::policy
