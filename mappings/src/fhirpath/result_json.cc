// Writing results: as FHIR JSON (to_json) and in FHIRPath's literal notation (to_literal).
#include "fl/base/json_string.h"
#include "fl/mappings/fhirpath.h"

#include "fhirpath/convert.h"
#include "fhirpath/temporal.h"
#include "fhirpath/ucum.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fl::mappings::fhirpath {
namespace {

constexpr std::string_view kUcum = "http://unitsofmeasure.org";

std::string json_of(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

void append_member(std::string& out, std::string_view name, std::string_view value, bool first) {
  if (!first) out.push_back(',');
  append_json_string(out, name);
  out.push_back(':');
  append_json_string(out, value);
}

// A FHIR Quantity: UCUM units carry system and code; a calendar year or month only its unit.
void append_quantity(std::string& out, const Quantity& q) {
  out += "{\"value\":" + q.value.to_string();
  append_member(out, "unit", q.unit, false);
  const std::string_view code = definite_unit(q.unit);
  if (!is_calendar_keyword(code)) {
    append_member(out, "system", kUcum, false);
    append_member(out, "code", code, false);
  }
  out.push_back('}');
}

void append_item(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kBoolean:
      out += v.as_boolean() ? "true" : "false";
      return;
    case Value::Kind::kInteger:
      out += std::to_string(v.as_integer());
      return;
    case Value::Kind::kDecimal:
      out += v.as_decimal().to_string();
      return;
    case Value::Kind::kString:
      append_json_string(out, v.as_string());
      return;
    case Value::Kind::kDate:
    case Value::Kind::kDateTime:
    case Value::Kind::kTime:
      append_json_string(out, string_of(v).value_or(""));
      return;
    case Value::Kind::kQuantity:
      append_quantity(out, v.as_quantity());
      return;
    case Value::Kind::kTypeName:
      out.push_back('{');
      append_member(out, "namespace", v.as_type_name().ns, true);
      append_member(out, "name", v.as_type_name().name, false);
      out.push_back('}');
      return;
    case Value::Kind::kNode:
      out += v.as_node().json != nullptr ? json_of(*v.as_node().json) : "null";
      return;
  }
}

}  // namespace
}  // namespace fl::mappings::fhirpath

std::string fl::mappings::fhirpath::to_json(const Collection& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_item(out, items[i]);
  }
  out.push_back(']');
  return out;
}

std::string fl::mappings::fhirpath::to_literal(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kDate:
      return "@" + format_temporal(value.as_temporal(), TemporalKind::kDate);
    case Value::Kind::kDateTime: {
      const Temporal& t = value.as_temporal();
      return "@" + format_temporal(t, TemporalKind::kDateTime) +
             (t.precision < TemporalPrecision::kHour ? "T" : "");
    }
    case Value::Kind::kTime:
      return "@T" + format_temporal(value.as_temporal(), TemporalKind::kTime);
    case Value::Kind::kTypeName:
      return std::string(value.as_type_name().ns) + "." + std::string(value.as_type_name().name);
    case Value::Kind::kNode: {
      if (auto v = system_value(value)) return to_literal(*v);
      return value.as_node().json != nullptr ? json_of(*value.as_node().json) : "null";
    }
    default:
      return string_of(value).value_or("");
  }
}
