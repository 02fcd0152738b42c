#include "fhirpath/convert.h"

#include "fhirpath/navigation.h"
#include "fhirpath/temporal.h"
#include "fhirpath/ucum.h"

namespace fl::mappings::fhirpath {
namespace {

constexpr std::string_view kSystem = "System";
constexpr std::string_view kFhir = "FHIR";

// The FHIR type of a node the model could not type, from its JSON form.
std::string_view json_type(const Node& node) {
  if (node.json == nullptr) return "Element";
  if (node.json->IsBool()) return "boolean";
  if (node.json->IsString()) return "string";
  if (node.json->IsInt64()) return "integer";
  if (node.json->IsNumber()) return "decimal";
  return "Element";
}

}  // namespace
}  // namespace fl::mappings::fhirpath

std::optional<fl::mappings::fhirpath::Value> fl::mappings::fhirpath::system_value(
    const Value& item) {
  if (!item.is_node()) return item;
  const Node& node = item.as_node();
  if (is_primitive_node(node)) return primitive_value(node);
  if (auto q = quantity_value(node)) return Value::quantity(std::move(*q));
  return std::nullopt;
}

fl::mappings::fhirpath::Value fl::mappings::fhirpath::operand(const Value& item) {
  if (!item.is_node()) return item;
  if (auto v = system_value(item)) return std::move(*v);
  return item;
}

fl::Error fl::mappings::fhirpath::eval_error(std::string message) {
  return Error{ErrorCode::kInvalidInput, std::move(message), ""};
}

fl::Result<std::optional<fl::mappings::fhirpath::Value>> fl::mappings::fhirpath::single_operand(
    const Collection& items, std::string_view what) {
  if (items.empty()) return std::optional<Value>();
  if (items.size() > 1) {
    return eval_error(std::string(what) + " expects a single item, got " +
                      std::to_string(items.size()));
  }
  return std::optional<Value>(operand(items.front()));
}

fl::Result<std::optional<bool>> fl::mappings::fhirpath::boolean_of(const Collection& items,
                                                                   std::string_view what) {
  if (items.empty()) return std::optional<bool>();
  if (items.size() > 1) {
    return eval_error(std::string(what) + " expects a single Boolean, got " +
                      std::to_string(items.size()) + " items");
  }
  const Value v = operand(items.front());
  if (v.kind() == Value::Kind::kBoolean) return std::optional<bool>(v.as_boolean());
  return std::optional<bool>(true);
}

std::string fl::mappings::fhirpath::quantity_string(const Quantity& q) {
  if (is_calendar_keyword(q.unit)) return q.value.to_string() + " " + q.unit;
  return q.value.to_string() + " '" + q.unit + "'";
}

std::optional<std::string> fl::mappings::fhirpath::string_of(const Value& item) {
  switch (item.kind()) {
    case Value::Kind::kBoolean:
      return std::string(item.as_boolean() ? "true" : "false");
    case Value::Kind::kInteger:
      return std::to_string(item.as_integer());
    case Value::Kind::kDecimal:
      return item.as_decimal().to_string();
    case Value::Kind::kString:
      return item.as_string();
    case Value::Kind::kDate:
      return format_temporal(item.as_temporal(), TemporalKind::kDate);
    case Value::Kind::kDateTime:
      return format_temporal(item.as_temporal(), TemporalKind::kDateTime);
    case Value::Kind::kTime:
      return format_temporal(item.as_temporal(), TemporalKind::kTime);
    case Value::Kind::kQuantity:
      return quantity_string(item.as_quantity());
    case Value::Kind::kNode: {
      auto v = system_value(item);
      if (!v) return std::nullopt;
      return string_of(*v);
    }
    case Value::Kind::kTypeName:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string_view fl::mappings::fhirpath::fhir_type_name(const Node& node) {
  return node.type.empty() ? json_type(node) : node.type;
}

fl::mappings::fhirpath::TypeName fl::mappings::fhirpath::type_of(const Value& item) {
  switch (item.kind()) {
    case Value::Kind::kBoolean:
      return {kSystem, "Boolean"};
    case Value::Kind::kInteger:
      return {kSystem, "Integer"};
    case Value::Kind::kDecimal:
      return {kSystem, "Decimal"};
    case Value::Kind::kString:
      return {kSystem, "String"};
    case Value::Kind::kDate:
      return {kSystem, "Date"};
    case Value::Kind::kDateTime:
      return {kSystem, "DateTime"};
    case Value::Kind::kTime:
      return {kSystem, "Time"};
    case Value::Kind::kQuantity:
      return {kSystem, "Quantity"};
    case Value::Kind::kTypeName:
      return {kSystem, "TypeInfo"};
    case Value::Kind::kNode:
      return {kFhir, fhir_type_name(item.as_node())};
  }
  return {kSystem, "Any"};
}

std::string fl::mappings::fhirpath::kind_name(const Value& item) {
  const TypeName t = type_of(item);
  return std::string(t.name);
}
