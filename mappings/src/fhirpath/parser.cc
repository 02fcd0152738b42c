// Precedence climbing over the token list. Levels, lowest first, as the specification's
// grammar orders them: implies; or xor; and; in contains; = ~ != !~; < > <= >=; |; is as;
// + - &; * / div mod; unary + -; then . and [] bind tightest.
#include "fhirpath/parser.h"

#include "fhirpath/functions.h"
#include "fhirpath/lexer.h"
#include "fhirpath/model/model.h"
#include "fhirpath/temporal.h"
#include "fhirpath/ucum.h"

#include <array>
#include <charconv>

namespace fl::mappings::fhirpath {
namespace {

using AstPtr = std::unique_ptr<Ast>;

constexpr int kTypeOperatorLevel = 8;
constexpr std::uint32_t kMaxDepth = 400;

struct BinaryOperator {
  std::string_view text;
  bool keyword;
  BinaryOp op;
  int level;
};

constexpr std::array<BinaryOperator, 22> kOperators = {{
    {"implies", true, BinaryOp::kImplies, 1}, {"or", true, BinaryOp::kOr, 2},
    {"xor", true, BinaryOp::kXor, 2},         {"and", true, BinaryOp::kAnd, 3},
    {"in", true, BinaryOp::kIn, 4},           {"contains", true, BinaryOp::kContains, 4},
    {"=", false, BinaryOp::kEqual, 5},        {"~", false, BinaryOp::kEquivalent, 5},
    {"!=", false, BinaryOp::kNotEqual, 5},    {"!~", false, BinaryOp::kNotEquivalent, 5},
    {"<", false, BinaryOp::kLess, 6},         {">", false, BinaryOp::kGreater, 6},
    {"<=", false, BinaryOp::kLessOrEqual, 6}, {">=", false, BinaryOp::kGreaterOrEqual, 6},
    {"|", false, BinaryOp::kUnion, 7},        {"+", false, BinaryOp::kAdd, 9},
    {"-", false, BinaryOp::kSubtract, 9},     {"&", false, BinaryOp::kConcatenate, 9},
    {"*", false, BinaryOp::kMultiply, 10},    {"/", false, BinaryOp::kDivide, 10},
    {"div", true, BinaryOp::kDiv, 10},        {"mod", true, BinaryOp::kMod, 10},
}};

// Words that cannot start a term: operators that are never names. (contains, in, is and as
// are operators after an expression but names where a term starts: repeat(contains).)
constexpr std::array<std::string_view, 6> kReserved = {"and", "or", "xor", "implies", "div", "mod"};

constexpr std::array<std::string_view, 8> kSystemTypes = {
    "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"};

bool is_system_type(std::string_view name) {
  for (std::string_view t : kSystemTypes) {
    if (t == name) return true;
  }
  return false;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "the end of the expression";
    case TokenKind::kIdentifier:
    case TokenKind::kDelimitedIdentifier:
      return "identifier '" + t.text + "'";
    case TokenKind::kString:
      return "string '" + t.text + "'";
    case TokenKind::kNumber:
      return "number " + t.text;
    case TokenKind::kDate:
    case TokenKind::kDateTime:
      return "date @" + t.text;
    case TokenKind::kTime:
      return "time @T" + t.text;
    case TokenKind::kVariable:
      return "variable %" + t.text;
    case TokenKind::kSpecial:
      return t.text;
    case TokenKind::kSymbol:
      return "'" + t.text + "'";
  }
  return "a token";
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  Result<AstPtr> run() {
    auto root = expression(0);
    if (!root) return root.error();
    if (peek().kind != TokenKind::kEnd) {
      return error(peek(),
                   "expected an operator or the end of the expression, found " + describe(peek()));
    }
    return root;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_symbol(std::string_view s, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kSymbol && peek(ahead).text == s;
  }
  bool is_keyword(std::string_view s) const {
    return peek().kind == TokenKind::kIdentifier && peek().text == s;
  }
  Error error(const Token& at, std::string message) const {
    return syntax_error(text_, at.offset, std::move(message));
  }
  Status expect(std::string_view symbol, std::string_view context) {
    if (is_symbol(symbol)) {
      advance();
      return Ok{};
    }
    return error(peek(), "expected '" + std::string(symbol) + "' " + std::string(context) +
                             ", found " + describe(peek()));
  }

  // Sets n's depth from its children; refuses trees deep enough to exhaust the stack when
  // evaluated or destroyed (long chains and nesting).
  Result<AstPtr> finish(AstPtr n) const {
    std::uint32_t depth = n->receiver ? n->receiver->depth : 0;
    for (const AstPtr& a : n->args) depth = std::max(depth, a->depth);
    n->depth = depth + 1;
    if (n->depth > kMaxDepth) {
      return syntax_error(
          text_, n->offset,
          "expression nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
    }
    return n;
  }

  static AstPtr node(AstKind kind, std::uint32_t offset) {
    auto n = std::make_unique<Ast>();
    n->kind = kind;
    n->offset = offset;
    return n;
  }

  const BinaryOperator* binary_operator() const {
    const Token& t = peek();
    for (const BinaryOperator& o : kOperators) {
      const bool match = o.keyword ? (t.kind == TokenKind::kIdentifier && t.text == o.text)
                                   : (t.kind == TokenKind::kSymbol && t.text == o.text);
      if (match) return &o;
    }
    return nullptr;
  }

  // Counts the parser's own recursion (parentheses, arguments, unary signs), which does not
  // always show in the tree's depth.
  class Nesting {
   public:
    explicit Nesting(int& level) : level_(level) { ++level_; }
    ~Nesting() { --level_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int& level_;
  };

  Result<AstPtr> expression(int min_level) {
    const Nesting nesting(nesting_);
    if (nesting_ > static_cast<int>(kMaxDepth)) {
      return error(peek(), "expression nested too deeply (more than " + std::to_string(kMaxDepth) +
                               " levels)");
    }
    auto lhs = unary();
    if (!lhs) return lhs;
    for (;;) {
      if ((is_keyword("is") || is_keyword("as")) && kTypeOperatorLevel >= min_level) {
        const Token& op = advance();
        auto type = type_specifier();
        if (!type) return type.error();
        AstPtr n = node(op.text == "is" ? AstKind::kIs : AstKind::kAs, op.offset);
        n->type = std::move(type.value());
        n->args.push_back(std::move(lhs.value()));
        lhs = finish(std::move(n));
        if (!lhs) return lhs;
        continue;
      }
      const BinaryOperator* o = binary_operator();
      if (o == nullptr || o->level < min_level) return lhs;
      const Token& op = advance();
      auto rhs = expression(o->level + 1);
      if (!rhs) return rhs;
      AstPtr n = node(AstKind::kBinary, op.offset);
      n->op = o->op;
      n->args.push_back(std::move(lhs.value()));
      n->args.push_back(std::move(rhs.value()));
      lhs = finish(std::move(n));
      if (!lhs) return lhs;
    }
  }

  Result<AstPtr> unary() {
    if (is_symbol("+") || is_symbol("-")) {
      const Nesting nesting(nesting_);
      if (nesting_ > static_cast<int>(kMaxDepth)) {
        return error(peek(), "expression nested too deeply");
      }
      const Token& op = advance();
      auto operand = unary();
      if (!operand) return operand;
      if (op.text == "+") return operand;
      if (operand.value()->kind == AstKind::kLiteral) {  // -1 is a literal, not a call
        if (negate_literal(*operand.value())) return operand;
      }
      AstPtr n = node(AstKind::kUnary, op.offset);
      n->op = BinaryOp::kSubtract;
      n->args.push_back(std::move(operand.value()));
      return finish(std::move(n));
    }
    return postfix();
  }

  static bool negate_literal(Ast& n) {
    const Value& v = *n.literal;
    switch (v.kind()) {
      case Value::Kind::kInteger:
        n.literal = Value::integer(-v.as_integer());
        return true;
      case Value::Kind::kDecimal:
        n.literal = Value::decimal(v.as_decimal().negate());
        return true;
      case Value::Kind::kQuantity: {
        Quantity q = v.as_quantity();
        q.value = q.value.negate();
        n.literal = Value::quantity(std::move(q));
        return true;
      }
      default:
        return false;
    }
  }

  Result<AstPtr> postfix() {
    auto e = term();
    if (!e) return e;
    for (;;) {
      if (is_symbol(".")) {
        advance();
        e = invocation(std::move(e.value()));
        if (!e) return e;
      } else if (is_symbol("[")) {
        const Token& open = advance();
        auto index = expression(0);
        if (!index) return index;
        if (auto s = expect("]", "to close the index"); !s) return s.error();
        AstPtr n = node(AstKind::kIndexer, open.offset);
        n->receiver = std::move(e.value());
        n->args.push_back(std::move(index.value()));
        e = finish(std::move(n));
        if (!e) return e;
      } else {
        return e;
      }
    }
  }

  Result<AstPtr> term() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kNumber:
        return number();
      case TokenKind::kString:
        return literal(Value::string(advance().text), t.offset);
      case TokenKind::kDate:
        return literal(Value::date(*parse_temporal(advance().text, TemporalKind::kDate)), t.offset);
      case TokenKind::kDateTime:
        return literal(Value::date_time(*parse_temporal(advance().text, TemporalKind::kDateTime)),
                       t.offset);
      case TokenKind::kTime:
        return literal(Value::time(*parse_temporal(advance().text, TemporalKind::kTime)), t.offset);
      case TokenKind::kVariable: {
        AstPtr n = node(AstKind::kVariable, t.offset);
        n->name = advance().text;
        return n;
      }
      case TokenKind::kSpecial: {
        const AstKind kind = t.text == "$this"    ? AstKind::kThis
                             : t.text == "$index" ? AstKind::kIndex
                                                  : AstKind::kTotal;
        advance();
        return node(kind, t.offset);
      }
      case TokenKind::kSymbol:
        return bracketed();
      case TokenKind::kIdentifier:
        if (t.text == "true" || t.text == "false") {
          return literal(Value::boolean(advance().text == "true"), t.offset);
        }
        if (is_reserved(t.text) && !is_symbol("(", 1)) {
          return error(t, "expected an expression, found the keyword '" + t.text + "'");
        }
        return invocation(nullptr);
      case TokenKind::kDelimitedIdentifier:
        return invocation(nullptr);
      case TokenKind::kEnd:
        break;
    }
    return error(t, "expected an expression, found " + describe(t));
  }

  static bool is_reserved(std::string_view word) {
    for (std::string_view r : kReserved) {
      if (r == word) return true;
    }
    return false;
  }

  Result<AstPtr> bracketed() {
    const Token& open = peek();
    if (is_symbol("(")) {
      advance();
      auto inner = expression(0);
      if (!inner) return inner;
      if (auto s =
              expect(")", "to close the parenthesis opened at " + position_of(text_, open.offset));
          !s) {
        return s.error();
      }
      return inner;
    }
    if (is_symbol("{")) {
      advance();
      if (auto s = expect("}", "after '{' (the empty collection is written {})"); !s) {
        return s.error();
      }
      return node(AstKind::kEmpty, open.offset);
    }
    return error(open, "expected an expression, found " + describe(open));
  }

  static Result<AstPtr> literal(Value value, std::uint32_t offset) {
    AstPtr n = node(AstKind::kLiteral, offset);
    n->literal = std::move(value);
    return n;
  }

  // 12, 12.5, and the quantities 12 'mg' and 4 days.
  Result<AstPtr> number() {
    const Token& t = advance();
    std::optional<Value> value;
    if (t.text.find('.') == std::string::npos) {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n);
      if (ec != std::errc() || end != t.text.data() + t.text.size()) {
        return error(t, "integer " + t.text + " is too large");
      }
      value = Value::integer(n);
    } else {
      auto d = Decimal::parse(t.text);
      if (!d) return error(t, "decimal " + t.text + " has too many digits");
      value = Value::decimal(*d);
    }
    const Token& next = peek();
    const bool ucum = next.kind == TokenKind::kString;
    const bool calendar = next.kind == TokenKind::kIdentifier && is_calendar_keyword(next.text);
    if (!ucum && !calendar) return literal(std::move(*value), t.offset);
    Decimal amount = value->kind() == Value::Kind::kInteger
                         ? Decimal::from_integer(value->as_integer())
                         : value->as_decimal();
    return literal(Value::quantity(Quantity{.value = amount, .unit = advance().text}), t.offset);
  }

  // name or name(args), after '.' (receiver set) or at the start of a term.
  Result<AstPtr> invocation(AstPtr receiver) {
    const Token& t = peek();
    if (t.kind != TokenKind::kIdentifier && t.kind != TokenKind::kDelimitedIdentifier) {
      return error(t, "expected a name after '.', found " + describe(t));
    }
    advance();
    if (!is_symbol("(")) {
      AstPtr n = node(receiver ? AstKind::kMember : AstKind::kIdentifier, t.offset);
      n->name = t.text;
      n->receiver = std::move(receiver);
      // A type name at the start of a path (Patient.name) is resolved here, once, rather than
      // looked up in the model on every evaluation.
      if (n->kind == AstKind::kIdentifier && !n->name.empty() && n->name[0] >= 'A' &&
          n->name[0] <= 'Z' && model::find_type(n->name) != nullptr) {
        n->type = TypeSpec{.ns = "FHIR", .name = n->name, .leaf = !model::has_subtypes(n->name)};
      }
      return finish(std::move(n));
    }
    advance();
    AstPtr n = node(AstKind::kFunction, t.offset);
    n->name = t.text;
    n->receiver = std::move(receiver);
    if (!is_symbol(")")) {
      for (;;) {
        auto arg = expression(0);
        if (!arg) return arg;
        n->args.push_back(std::move(arg.value()));
        if (!is_symbol(",")) break;
        advance();
      }
    }
    if (auto s = expect(")", "to close the arguments of " + t.text + "()"); !s) return s.error();
    if (auto s = resolve_function(*n); !s) return s.error();
    return finish(std::move(n));
  }

  Status resolve_function(Ast& n) const {
    const FunctionDef* def = find_function(n.name);
    if (def == nullptr) {
      return syntax_error(text_, n.offset, "unknown function '" + n.name + "'");
    }
    const int count = static_cast<int>(n.args.size());
    if (count < def->min_args || count > def->max_args) {
      std::string expected =
          def->min_args == def->max_args
              ? std::to_string(def->min_args)
              : std::to_string(def->min_args) + " to " + std::to_string(def->max_args);
      return syntax_error(text_, n.offset,
                          n.name + "() takes " + expected + " argument" +
                              (def->max_args == 1 && def->min_args == 1 ? "" : "s") + ", found " +
                              std::to_string(count));
    }
    n.function = def;
    if (def->mode != ArgMode::kType) return Ok{};
    auto type = type_of_argument(*n.args[0]);
    if (!type) return type.error();
    n.type = std::move(type.value());
    n.args.clear();
    return Ok{};
  }

  // The argument of is(), as(), ofType(): a type name written as an expression.
  Result<TypeSpec> type_of_argument(const Ast& arg) const {
    if (arg.kind == AstKind::kIdentifier) return resolve_type("", arg.name, arg.offset);
    if (arg.kind == AstKind::kMember && arg.receiver &&
        arg.receiver->kind == AstKind::kIdentifier) {
      return resolve_type(arg.receiver->name, arg.name, arg.receiver->offset);
    }
    return syntax_error(text_, arg.offset, "expected a type name such as Quantity or FHIR.Patient");
  }

  // After is / as: a type name, optionally qualified (System.String, FHIR.Patient).
  Result<TypeSpec> type_specifier() {
    const Token& first = peek();
    if (first.kind != TokenKind::kIdentifier && first.kind != TokenKind::kDelimitedIdentifier) {
      return error(first, "expected a type name, found " + describe(first));
    }
    advance();
    if (!is_symbol(".")) return resolve_type("", first.text, first.offset);
    advance();
    const Token& second = peek();
    if (second.kind != TokenKind::kIdentifier && second.kind != TokenKind::kDelimitedIdentifier) {
      return error(second,
                   "expected a type name after '" + first.text + ".', found " + describe(second));
    }
    advance();
    return resolve_type(first.text, second.text, first.offset);
  }

  Result<TypeSpec> resolve_type(std::string_view ns, std::string_view name,
                                std::uint32_t offset) const {
    if (ns == "System") {
      return TypeSpec{.ns = "System", .name = std::string(name), .known = is_system_type(name)};
    }
    if (ns == "FHIR" || ns.empty()) {
      if (model::find_type(name) != nullptr) {
        return TypeSpec{
            .ns = "FHIR", .name = std::string(name), .leaf = !model::has_subtypes(name)};
      }
      if (ns.empty() && is_system_type(name)) {
        return TypeSpec{.ns = "System", .name = std::string(name)};
      }
      return syntax_error(text_, offset, "unknown type '" + std::string(name) + "'");
    }
    return syntax_error(text_, offset,
                        "unknown type namespace '" + std::string(ns) + "' (System or FHIR)");
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int nesting_ = 0;
};

}  // namespace
}  // namespace fl::mappings::fhirpath

fl::Result<std::unique_ptr<fl::mappings::fhirpath::Ast>> fl::mappings::fhirpath::parse(
    std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens) return tokens.error();
  return Parser(text, std::move(tokens.value())).run();
}
