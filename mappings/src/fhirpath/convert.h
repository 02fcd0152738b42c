// Conversions every operator and function needs: a node as its System value, the single item
// of a collection, a collection as a Boolean, values as strings, and the type of a value.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath_value.h"

#include "fhirpath/model/model.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fl::mappings::fhirpath {

// The item as a System value: System values as they are, a primitive node as its value, a
// Quantity-typed node as a Quantity. Nullopt for other nodes and for primitives without value.
std::optional<Value> system_value(const Value& item);

// The item the way operators see it: its System value when it has one, else itself (a
// complex node). The result borrows nothing from `item` beyond what a Node already borrows.
Value operand(const Value& item);

// A one-item collection with `item` moved in. Collection{item} copies from its initializer
// list, which for a String (a toString(), substring() or & result) is one more allocation.
inline Collection one_item(Value item) {
  Collection out;
  out.reserve(1);
  out.push_back(std::move(item));
  return out;
}

// An evaluation error (position filled in by the evaluator).
Error eval_error(std::string message);

// The one item of `items` as an operand (see operand()), nullopt when empty, an error when
// there are several: "<what> expects a single item, got N".
Result<std::optional<Value>> single_operand(const Collection& items, std::string_view what);

// Singleton evaluation where a Boolean is expected: empty -> nullopt, one Boolean -> it, one
// item of another type -> true, several items -> an error.
Result<std::optional<bool>> boolean_of(const Collection& items, std::string_view what);

// The text of a String, or of a node that operand() would turn into a String (a primitive whose
// JSON is a string and whose type is not a date or time type), read in place: nullopt for
// anything else, whose operand() callers must still compute. Inline: returned from a call, the
// optional view went through memory and stalled the comparison reading it right after.
inline std::optional<std::string_view> string_in_place(const Value& item) {
  if (item.kind() == Value::Kind::kString) return std::string_view(item.as_string());
  if (!item.is_node()) return std::nullopt;
  const Node& node = item.as_node();
  if (node.json == nullptr || !node.json->IsString()) return std::nullopt;
  // As is_primitive_node(): a typed node by its type; an untyped JSON string is a primitive.
  const std::string_view type = node.type;
  if (!type.empty() && !model::is_primitive(type)) return std::nullopt;
  if (type == "date" || type == "dateTime" || type == "instant" || type == "time") {
    return std::nullopt;
  }
  return std::string_view(node.json->GetString(), node.json->GetStringLength());
}

// toString(): the System value as FHIRPath writes it as a String ("1.50", "2014-12-14",
// "1 'wk'", "4 days", "true"); nullopt for complex nodes.
std::optional<std::string> string_of(const Value& item);

// "1 'wk'" for a UCUM unit, "4 days" for a calendar keyword.
std::string quantity_string(const Quantity& q);

// The FHIR type of a node: the model's, else what its JSON form says ("string", "Element").
std::string_view fhir_type_name(const Node& node);

// The type of an item: System.Integer … for System values, FHIR.<type> for nodes.
TypeName type_of(const Value& item);

// A short name of the item's kind for error messages ("Integer", "String", "HumanName").
std::string kind_name(const Value& item);

}  // namespace fl::mappings::fhirpath
