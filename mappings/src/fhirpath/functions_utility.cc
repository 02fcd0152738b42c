// Utility and FHIR-specific functions: trace, now, today, timeOfDay, aggregate, and the
// functions FHIR adds to FHIRPath: extension, hasValue, getValue, conformsTo.
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/model/model.h"
#include "fhirpath/navigation.h"

namespace fl::mappings::fhirpath {
namespace {

constexpr std::string_view kStructureDefinition = "http://hl7.org/fhir/StructureDefinition/";

Result<Collection> trace(const Call& call) {
  auto name = call.eval_arg(0, call.frame());
  if (!name) return name;
  const auto& sink = call.evaluator().options().trace;
  if (!sink) return call.input();
  const std::string label =
      name.value().empty() ? "" : string_of(name.value().front()).value_or("");
  if (call.arg_count() < 2) {
    sink(label, call.input());
    return call.input();
  }
  Collection projected;
  Status s = for_each_item(call, 1, [&](const Value&, Collection result) -> Status {
    projected.insert(projected.end(), result.begin(), result.end());
    return Ok{};
  });
  if (!s) return s.error();
  sink(label, projected);
  return call.input();
}

Result<Collection> now(const Call& call) {
  return Collection{Value::date_time(call.evaluator().now())};
}

Result<Collection> today(const Call& call) {
  Temporal t = call.evaluator().now();
  t.precision = TemporalPrecision::kDay;
  t.offset_minutes.reset();
  return Collection{Value::date(t)};
}

Result<Collection> time_of_day(const Call& call) {
  Temporal t = call.evaluator().now();
  t.offset_minutes.reset();
  return Collection{Value::time(t)};
}

// aggregate(aggregator, init): $total starts as init and becomes the aggregator's value for
// each item in turn.
Result<Collection> aggregate(const Call& call) {
  Collection total;
  if (call.arg_count() > 1) {
    auto init = call.eval_arg(1, call.frame());
    if (!init) return init;
    total = std::move(init.value());
  }
  const Collection& input = call.input();
  for (std::size_t i = 0; i < input.size(); ++i) {
    const Collection focus{input[i]};
    const Frame frame{.focus = &focus, .index = static_cast<std::int64_t>(i), .total = &total};
    auto next = call.eval_arg(0, frame);
    if (!next) return next;
    total = std::move(next.value());
  }
  return total;
}

Result<Collection> extension(const Call& call) {
  auto url = single_operand(call.arg(0), "extension() url");
  if (!url) return url.error();
  if (!url.value()) return Collection{};
  auto wanted = string_of(*url.value());
  if (!wanted) return call.error("extension() expects a url String");
  Collection out;
  for (const Value& item : call.input()) {
    if (!item.is_node()) continue;
    Collection extensions;
    child_nodes(item.as_node(), "extension", extensions);
    for (const Value& ext : extensions) {
      Collection urls;
      child_nodes(ext.as_node(), "url", urls);
      if (!urls.empty() && string_of(urls.front()) == *wanted) out.push_back(ext);
    }
  }
  return out;
}

Result<Collection> has_value(const Call& call) {
  if (call.input().size() != 1) return Collection{Value::boolean(false)};
  const Value& item = call.input().front();
  const bool value = !item.is_node() || (is_primitive_node(item.as_node()) &&
                                         primitive_value(item.as_node()).has_value());
  return Collection{Value::boolean(value)};
}

Result<Collection> get_value(const Call& call) {
  if (call.input().size() != 1 || !call.input().front().is_node()) return Collection{};
  const Node& node = call.input().front().as_node();
  if (!is_primitive_node(node)) return Collection{};
  auto v = primitive_value(node);
  if (!v) return Collection{};
  return one_item(std::move(*v));
}

// conformsTo(url): for the base profiles of FHIR resources and types, whether the item is of
// that type. Other profiles need a validator, which this engine is not.
Result<Collection> conforms_to(const Call& call) {
  auto url = single_operand(call.arg(0), "conformsTo() url");
  if (!url) return url.error();
  if (!url.value() || call.input().empty()) return Collection{};
  auto text = string_of(*url.value()).value_or("");
  const std::string_view name =
      std::string_view(text).substr(std::min(text.size(), kStructureDefinition.size()));
  if (text.compare(0, kStructureDefinition.size(), kStructureDefinition) != 0 ||
      model::find_type(name) == nullptr) {
    return call.error("conformsTo() knows only the base FHIR profiles (" +
                      std::string(kStructureDefinition) + "<Type>), not '" + text + "'");
  }
  auto item = single_operand(call.input(), "conformsTo()");
  if (!item) return item.error();
  const Value& v = call.input().front();
  return Collection{Value::boolean(v.is_node() && model::is_subtype(v.as_node().type, name))};
}

constexpr FunctionDef kFunctions[] = {
    {"trace", 1, 2, ArgMode::kLazy, trace},
    {"now", 0, 0, ArgMode::kEager, now},
    {"today", 0, 0, ArgMode::kEager, today},
    {"timeOfDay", 0, 0, ArgMode::kEager, time_of_day},
    {"aggregate", 1, 2, ArgMode::kLazy, aggregate},
    {"extension", 1, 1, ArgMode::kEager, extension},
    {"hasValue", 0, 0, ArgMode::kEager, has_value},
    {"getValue", 0, 0, ArgMode::kEager, get_value},
    {"conformsTo", 1, 1, ArgMode::kEager, conforms_to},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::utility_functions() {
  return kFunctions;
}
