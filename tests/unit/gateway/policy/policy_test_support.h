// Test inputs for the evaluator and obligation tests: JSON written in the test, FHIRPath
// compiled in place. Both abort on a typo in the test itself, which is a bug, not a result.
#pragma once

#include "fl/mappings/fhirpath.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace fl::gateway::policy::test {

inline rapidjson::Document parse(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) {
    ADD_FAILURE() << "bad test JSON: " << json;
    std::abort();
  }
  return d;
}

inline std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

inline mappings::fhirpath::Expression fhirpath(std::string_view text) {
  auto compiled = mappings::fhirpath::Expression::compile(text);
  if (!compiled) {
    ADD_FAILURE() << text << ": " << compiled.error().message;
    std::abort();
  }
  return std::move(compiled).value();
}

}  // namespace fl::gateway::policy::test
