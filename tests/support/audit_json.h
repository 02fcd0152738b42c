// Reading the AuditEvents the access decisions record, in the unit tests of those decisions.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace fl::testing {

inline rapidjson::Document parse_json(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

// entity[0].detail[type=`type`].valueString, or "".
inline std::string audit_detail(const std::string& event, const std::string& type) {
  const auto d = parse_json(event);
  for (const auto& e : d["entity"][0]["detail"].GetArray()) {
    if (e["type"].GetString() == type) return e["valueString"].GetString();
  }
  return "";
}

}  // namespace fl::testing
