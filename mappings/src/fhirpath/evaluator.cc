#include "fhirpath/evaluator.h"

#include "fl/base/assert.h"

#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/lexer.h"
#include "fhirpath/model/model.h"
#include "fhirpath/navigation.h"
#include "fhirpath/operators.h"
#include "fhirpath/types.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

namespace fl::mappings::fhirpath {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_logic(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kXor ||
         op == BinaryOp::kImplies;
}

std::string_view op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAnd:
      return "'and'";
    case BinaryOp::kOr:
      return "'or'";
    case BinaryOp::kXor:
      return "'xor'";
    default:
      return "'implies'";
  }
}

Temporal clock_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return Temporal{.year = utc.tm_year + 1900,
                  .month = utc.tm_mon + 1,
                  .day = utc.tm_mday,
                  .hour = utc.tm_hour,
                  .minute = utc.tm_min,
                  .second = utc.tm_sec,
                  .millisecond = static_cast<int>(ms),
                  .precision = TemporalPrecision::kMillisecond,
                  .offset_minutes = 0};
}

// Literal strings of the built-in %variables.
std::optional<std::string> builtin_constant(std::string_view name) {
  if (name == "ucum") return "http://unitsofmeasure.org";
  if (name == "sct") return "http://snomed.info/sct";
  if (name == "loinc") return "http://loinc.org";
  if (starts_with(name, "vs-")) {
    return "http://hl7.org/fhir/ValueSet/" + std::string(name.substr(3));
  }
  if (starts_with(name, "ext-")) {
    return "http://hl7.org/fhir/StructureDefinition/" + std::string(name.substr(4));
  }
  return std::nullopt;
}

}  // namespace

Error Evaluator::error_at(const Ast& node, std::string message) const {
  return Error{ErrorCode::kInvalidInput, std::move(message), position_of(text_, node.offset)};
}

const Temporal& Evaluator::now() {
  if (!now_) now_ = options_.now ? *options_.now : clock_now();
  return *now_;
}

Result<Collection> Evaluator::eval(const Ast& node, const Frame& frame) {
  Result<Collection> result = dispatch(node, frame);
  // Errors raised below a part of the expression that has no position yet get this one's.
  // Assigned, not returned, so that the one return is of `result` itself: built in place by
  // dispatch(), where a second return made every node's result a move through the stack.
  if (!result && result.error().where.empty()) result = error_at(node, result.error().message);
  return result;
}

// Each branch returns its Result directly: assigning Results (variants) into one variable cost
// a visit and a move per node, on every node of every evaluation.
Result<Collection> Evaluator::dispatch(const Ast& node, const Frame& frame) {
  switch (node.kind) {
    case AstKind::kLiteral:
      return node.literal_items;
    case AstKind::kEmpty:
      return Collection{};
    case AstKind::kThis:
      return *frame.focus;
    case AstKind::kIndex:
      if (frame.index < 0) return Collection{};
      return Collection{Value::integer(frame.index)};
    case AstKind::kTotal:
      return frame.total != nullptr ? *frame.total : Collection{};
    case AstKind::kIdentifier:
      return identifier(node, *frame.focus);
    case AstKind::kMember:
      return member(node, frame);
    case AstKind::kFunction:
      return function(node, frame);
    case AstKind::kIndexer:
      return indexer(node, frame);
    case AstKind::kVariable:
      return variable(node);
    case AstKind::kUnary: {
      auto operand = eval(*node.args[0], frame);
      if (!operand) return operand;
      return polarity(node.op, operand.value());
    }
    case AstKind::kBinary:
      return binary(node, frame);
    case AstKind::kIs:
    case AstKind::kAs:
      return type_operator(node, frame);
  }
  return Collection{};
}

Result<Collection> Evaluator::identifier(const Ast& node, const Collection& focus) {
  const std::string_view name = node.name;
  if (node.type.name.empty()) return navigate(node, focus, name);
  // A type name at the start of a path (Patient.name) keeps the focus items of that type.
  Collection out;
  out.reserve(focus.size());
  for (const Value& item : focus) {
    if (!item.is_node()) continue;
    const std::string_view type = item.as_node().type;
    if (node.type.leaf ? type == node.type.name : model::is_subtype(type, node.type.name)) {
      out.push_back(item);
    }
  }
  if (out.empty() && options_.strict && !focus.empty()) {
    return eval_error("the input is " + kind_name(focus.front()) + ", not " + std::string(name));
  }
  return out;
}

Result<Collection> Evaluator::member(const Ast& node, const Frame& frame) {
  if (options_.strict) {
    if (auto s = check_member_of_cast(node); !s) return s.error();
  }
  auto input = eval(*node.receiver, frame);
  if (!input) return input;
  return navigate(node, input.value(), node.name);
}

// Strict mode: after `as T` or ofType(T) the type is known even when nothing matched, so a
// name T does not have is reported rather than quietly empty.
Status Evaluator::check_member_of_cast(const Ast& node) const {
  const Ast& receiver = *node.receiver;
  const bool cast =
      receiver.kind == AstKind::kAs ||
      (receiver.kind == AstKind::kFunction && (receiver.name == "as" || receiver.name == "ofType"));
  if (!cast || receiver.type.ns != "FHIR") return Ok{};
  const std::string_view type = receiver.type.name;
  if (model::find_element(type, type, node.name) != nullptr) return Ok{};
  return error_at(node, std::string(type) + " has no element '" + node.name + "'");
}

// Strict mode: children() and descendants() have no defined order, so taking items by position
// from them is an error.
Status Evaluator::check_ordered(const Ast& node) const {
  static constexpr std::string_view kOrdered[] = {"first", "last", "tail", "skip", "take"};
  const bool ordered =
      node.kind == AstKind::kIndexer ||
      std::find(std::begin(kOrdered), std::end(kOrdered), node.name) != std::end(kOrdered);
  const Ast* receiver = node.receiver.get();
  if (!ordered || receiver == nullptr || receiver->kind != AstKind::kFunction ||
      (receiver->name != "children" && receiver->name != "descendants")) {
    return Ok{};
  }
  return error_at(node,
                  receiver->name + "() has no defined order; " +
                      (node.kind == AstKind::kIndexer ? std::string("[]") : node.name + "()") +
                      " cannot be applied to it");
}

Result<Collection> Evaluator::navigate(const Ast& node, const Collection& input,
                                       std::string_view name) {
  Collection out;
  // Most steps give an item or more per input item; growing from empty reallocated each time.
  out.reserve(input.size());
  for (const Value& item : input) {
    switch (item.kind()) {
      case Value::Kind::kNode: {
        const Lookup lookup = child_nodes(item.as_node(), name, out);
        if (lookup == Lookup::kChoiceSuffix) {
          return error_at(node, "'" + std::string(name) +
                                    "' is a choice element spelled with its type; FHIRPath "
                                    "names it without the type suffix (value, not "
                                    "valueQuantity) and selects the type with ofType()");
        }
        if (lookup == Lookup::kUnknownElement && options_.strict) {
          return error_at(node, std::string(item.as_node().type) + " has no element '" +
                                    std::string(name) + "'");
        }
        break;
      }
      case Value::Kind::kTypeName:
        if (name == "namespace") out.push_back(Value::string(std::string(item.as_type_name().ns)));
        if (name == "name") out.push_back(Value::string(std::string(item.as_type_name().name)));
        break;
      case Value::Kind::kQuantity:
        if (name == "value") out.push_back(Value::decimal(item.as_quantity().value));
        if (name == "unit") out.push_back(Value::string(item.as_quantity().unit));
        break;
      default:
        break;
    }
  }
  return out;
}

namespace {

// X.descendants().ofType(T), the usual way to find every element of a type (every Reference,
// every Coding): the walk keeps only the nodes of type T, where descendants() alone makes a Value
// of every node of the resource for ofType() to copy the few it keeps. Same items, same order.
bool is_descendants_of_type(const Ast& node) {
  static const FunctionDef* const kOfType = find_function("ofType");
  static const FunctionDef* const kDescendants = find_function("descendants");
  return node.function == kOfType && node.receiver != nullptr &&
         node.receiver->kind == AstKind::kFunction && node.receiver->function == kDescendants;
}

}  // namespace

Result<const Collection*> Evaluator::input_of(const Ast* receiver, const Frame& frame,
                                              Collection& storage) {
  if (receiver == nullptr) return frame.focus;
  auto r = eval(*receiver, frame);
  if (!r) return r.error();
  storage = std::move(r.value());
  return &storage;
}

Result<Collection> Evaluator::descendants_of_type(const Ast& node, const Frame& frame) {
  Collection receiver;
  auto input = input_of(node.receiver->receiver.get(), frame, receiver);
  if (!input) return input.error();
  std::vector<Node> nodes;
  descendant_nodes(**input, nodes);
  Collection out;
  for (const Node& n : nodes) {
    if (is_exactly_of_type(n, node.type)) out.push_back(Value::node(n));
  }
  return out;
}

Result<Collection> Evaluator::function(const Ast& node, const Frame& frame) {
  if (options_.strict) {
    if (auto s = check_ordered(node); !s) return s.error();
  }
  if (is_descendants_of_type(node)) return descendants_of_type(node, frame);
  Collection receiver;
  auto received = input_of(node.receiver.get(), frame, receiver);
  if (!received) return received.error();
  const Collection* input = *received;
  // Eager arguments live on the stack, and a literal one is read where it stands: a vector of
  // them, and a copy of each literal, cost allocations on every call.
  std::array<Collection, kMaxEagerArgs> values;
  std::array<const Collection*, kMaxEagerArgs> args{};
  std::size_t arg_count = 0;
  if (node.function->mode == ArgMode::kEager) {
    FL_ASSERT(node.args.size() <= kMaxEagerArgs, "the parser checks each function's arguments");
    for (const auto& arg : node.args) {
      if (arg->kind == AstKind::kLiteral) {
        args[arg_count++] = &arg->literal_items;
        continue;
      }
      auto value = eval(*arg, frame);
      if (!value) return value;
      values[arg_count] = std::move(value.value());
      args[arg_count] = &values[arg_count];
      ++arg_count;
    }
  }
  const Call call(*this, node, *input, frame,
                  std::span<const Collection* const>(args.data(), arg_count));
  return node.function->impl(call);
}

Result<Collection> Evaluator::indexer(const Ast& node, const Frame& frame) {
  if (options_.strict) {
    if (auto s = check_ordered(node); !s) return s.error();
  }
  auto base = eval(*node.receiver, frame);
  if (!base) return base;
  auto index = eval(*node.args[0], frame);
  if (!index) return index;
  auto item = single_operand(index.value(), "the index");
  if (!item) return item.error();
  if (!item.value()) return Collection{};
  if (item.value()->kind() != Value::Kind::kInteger) {
    return eval_error("the index must be an Integer, got " + kind_name(*item.value()));
  }
  const std::int64_t i = item.value()->as_integer();
  if (i < 0 || static_cast<std::size_t>(i) >= base.value().size()) return Collection{};
  return Collection{base.value()[static_cast<std::size_t>(i)]};
}

Result<Collection> Evaluator::variable(const Ast& node) {
  const std::string_view name = node.name;
  if (name == "resource" || name == "rootResource") return resource_;
  if (name == "context") return context_;
  if (auto it = options_.variables.find(name); it != options_.variables.end()) return it->second;
  if (auto constant = builtin_constant(name)) return one_item(Value::string(*constant));
  return eval_error("unknown variable %" + std::string(name));
}

Result<Collection> Evaluator::binary(const Ast& node, const Frame& frame) {
  auto left = eval(*node.args[0], frame);
  if (!left) return left;
  if (is_logic(node.op)) {
    auto l = boolean_of(left.value(), op_name(node.op));
    if (!l) return l.error();
    // What the left side alone decides, the right side is not evaluated for.
    if ((node.op == BinaryOp::kAnd && l.value() == false) ||
        (node.op == BinaryOp::kOr && l.value() == true)) {
      return boolean_result(*l.value());
    }
    if (node.op == BinaryOp::kImplies && l.value() == false) return boolean_result(true);
    auto right = eval(*node.args[1], frame);
    if (!right) return right;
    auto r = boolean_of(right.value(), op_name(node.op));
    if (!r) return r.error();
    return boolean_result(logic(node.op, l.value(), r.value()));
  }
  // A literal right side (system = 'http://loinc.org', value > 100) is read in place.
  const Ast& right_node = *node.args[1];
  Result<Collection> evaluated = Collection{};
  if (right_node.kind != AstKind::kLiteral) {
    evaluated = eval(right_node, frame);
    if (!evaluated) return evaluated;
  }
  const Collection& right =
      right_node.kind == AstKind::kLiteral ? right_node.literal_items : evaluated.value();
  switch (node.op) {
    case BinaryOp::kUnion:
      return union_of(left.value(), right);
    case BinaryOp::kLess:
    case BinaryOp::kLessOrEqual:
    case BinaryOp::kGreater:
    case BinaryOp::kGreaterOrEqual:
      return ordering(node.op, left.value(), right);
    case BinaryOp::kEqual:
    case BinaryOp::kNotEqual:
    case BinaryOp::kEquivalent:
    case BinaryOp::kNotEquivalent:
      return equality(node.op, left.value(), right);
    case BinaryOp::kIn:
    case BinaryOp::kContains:
      return membership(node.op, left.value(), right);
    default:
      return arithmetic(node.op, left.value(), right);
  }
}

Result<Collection> Evaluator::type_operator(const Ast& node, const Frame& frame) {
  auto input = eval(*node.args[0], frame);
  if (!input) return input;
  const bool is = node.kind == AstKind::kIs;
  if (input.value().size() > 1) {
    return eval_error(std::string(is ? "'is'" : "'as'") + " expects a single item, got " +
                      std::to_string(input.value().size()));
  }
  if (input.value().empty()) return Collection{};
  const Value& item = input.value().front();
  if (is) return Collection{Value::boolean(is_of_type(item, node.type))};
  if (is_exactly_of_type(item, node.type)) return Collection{item};
  return Collection{};
}

}  // namespace fl::mappings::fhirpath
