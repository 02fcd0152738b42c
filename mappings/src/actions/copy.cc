// copy: evaluates a FHIRPath expression on each selected element and writes the result at an
// element below it ({"from": "effective.ofType(dateTime)", "element": "issued",
// "mode": "ifAbsent"}). Elements are copied as their JSON; System values as FHIR JSON writes
// them.
#include "fl/mappings/fhirpath.h"

#include "actions/write_element.h"

namespace fl::mappings::actions {
namespace {

class Copy final : public Action {
 public:
  Copy(ElementWrite write, fhirpath::Expression from)
      : write_(std::move(write)), from_(std::move(from)) {}

  Status apply(Target& target, ApplyContext& context) const override {
    auto result =
        from_.evaluate(fhirpath::Collection{fhirpath::Value::node(target.node)}, context.resource);
    if (!result) {
      return context.fail(
          target, "'from' failed: " + result.error().message + " at " + result.error().where);
    }
    if (result->empty()) return Ok{};
    if (write_.mode != WriteMode::kAppend && result->size() > 1) {
      return context.fail(target, "'from' gave " + std::to_string(result->size()) +
                                      " items where one is written; use \"mode\": \"append\"");
    }
    rapidjson::Document parsed(&context.allocator);
    parsed.Parse(fhirpath::to_json(*result).c_str());
    std::vector<rapidjson::Value> values;
    for (auto& item : parsed.GetArray()) values.emplace_back(item, context.allocator);
    return write_element(write_, target, std::move(values), context);
  }

 private:
  ElementWrite write_;
  fhirpath::Expression from_;
};

}  // namespace

std::unique_ptr<Action> compile_copy(const rapidjson::Value& rule, const CompileContext& context) {
  auto write = compile_element_write(rule, context);
  auto from = context.string(rule, "from", true);
  if (!from) return nullptr;
  auto expression = fhirpath::compile(*from);
  if (!expression) {
    context.error("from", expression.error().message + " at " + expression.error().where);
    return nullptr;
  }
  if (!write) return nullptr;
  return std::make_unique<Copy>(std::move(*write), std::move(*expression));
}

}  // namespace fl::mappings::actions
