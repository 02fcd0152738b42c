// The public face of the engine: compile once, evaluate many times.
#include "fl/mappings/fhirpath.h"

#include "fhirpath/evaluator.h"
#include "fhirpath/navigation.h"
#include "fhirpath/parser.h"

namespace fl::mappings::fhirpath {

namespace {

void fill_literal_items(Ast& node) {
  if (node.kind == AstKind::kLiteral) node.literal_items = Collection{*node.literal};
  if (node.receiver) fill_literal_items(*node.receiver);
  for (auto& arg : node.args) fill_literal_items(*arg);
}

}  // namespace

Result<Expression> Expression::compile(std::string_view text) {
  auto root = parse(text);
  if (!root) return root.error();
  fill_literal_items(*root.value());
  return Expression(std::shared_ptr<const Ast>(std::move(root.value())),
                    std::make_shared<const std::string>(text));
}

Result<Collection> Expression::evaluate(const rapidjson::Value& resource,
                                        const EvaluationOptions& options) const {
  // %resource and %context are the same one-node collection: built once, not copied.
  Collection root;
  if (!resource.IsNull()) root.push_back(Value::node(resource_node(resource)));
  Evaluator evaluator(*text_, options, root, root);
  const Frame frame{.focus = &root};
  return evaluator.eval(*root_, frame);
}

Result<Collection> Expression::evaluate(const Collection& context, const rapidjson::Value& resource,
                                        const EvaluationOptions& options) const {
  Collection root;
  if (!resource.IsNull()) root.push_back(Value::node(resource_node(resource)));
  Evaluator evaluator(*text_, options, root, context);
  const Frame frame{.focus = &context};
  return evaluator.eval(*root_, frame);
}

}  // namespace fl::mappings::fhirpath

fl::Result<fl::mappings::fhirpath::Expression> fl::mappings::fhirpath::compile(
    std::string_view text) {
  return Expression::compile(text);
}
