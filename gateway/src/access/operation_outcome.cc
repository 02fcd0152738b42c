#include "fl/gateway/operation_outcome.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fl::gateway {

std::string operation_outcome(std::string_view issue_code, std::string_view diagnostics) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("resourceType");
  w.String("OperationOutcome");
  w.Key("issue");
  w.StartArray();
  w.StartObject();
  w.Key("severity");
  w.String("error");
  w.Key("code");
  w.String(issue_code.data(), static_cast<rapidjson::SizeType>(issue_code.size()));
  w.Key("diagnostics");
  w.String(diagnostics.data(), static_cast<rapidjson::SizeType>(diagnostics.size()));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

}  // namespace fl::gateway
