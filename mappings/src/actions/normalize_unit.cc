// normalize-unit: makes Quantities carry UCUM. The unit a system sends ("mg/dl", "mmHg",
// "bpm") is looked up in the rule's "units" table (exactly, then ignoring case), must be a UCUM
// code the engine knows, and is written as code with system http://unitsofmeasure.org; the
// human-readable "unit" is kept (or set to the code when absent). With "convert", a value is
// converted to another commensurable unit ("[lb_av]" -> "kg") and rounded to "decimals"
// digits.
#include "actions/action.h"
#include "fhirpath/ucum.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace fl::mappings::actions {
namespace {

constexpr std::string_view kUcum = "http://unitsofmeasure.org";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct Conversion {
  std::string to;
  fhirpath::Decimal factor;  // from-unit factor / to-unit factor
};

class NormalizeUnit final : public Action {
 public:
  NormalizeUnit(std::map<std::string, std::string, std::less<>> units,
                std::map<std::string, Conversion, std::less<>> conversions, int decimals,
                bool fail_unknown)
      : units_(std::move(units)),
        conversions_(std::move(conversions)),
        decimals_(decimals),
        fail_unknown_(fail_unknown) {
    for (const auto& [from, to] : units_) folded_.emplace(lower(from), to);
  }

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* q = target.at.value;
    if (q == nullptr || !q->IsObject()) return context.fail(target, "expects a Quantity");
    const std::string_view system = string_member(*q, "system");
    std::string_view sent = string_member(*q, "code");
    if (sent.empty() || (!system.empty() && system != kUcum && !units_.contains(sent))) {
      sent = string_member(*q, "unit");
    }
    if (sent.empty()) return Ok{};
    std::string code(sent);
    if (auto it = units_.find(sent); it != units_.end()) {
      code = it->second;
    } else if (auto f = folded_.find(lower(sent)); f != folded_.end()) {
      code = f->second;
    }
    if (!fhirpath::canonical_unit(code)) {
      if (!fail_unknown_) return Ok{};
      return context.fail(target,
                          "the unit is not UCUM and the rule's \"units\" has no entry "
                          "for it");
    }
    auto& allocator = context.allocator;
    if (auto c = conversions_.find(code); c != conversions_.end()) {
      auto v = q->FindMember("value");
      if (v != q->MemberEnd() && v->value.IsNumber()) {
        auto value = fhirpath::Decimal::from_double(v->value.GetDouble());
        auto converted = value ? value->multiply(c->second.factor) : std::nullopt;
        if (converted) converted = converted->rescale(decimals_);
        if (!converted) return context.fail(target, "the value cannot be converted");
        v->value.SetDouble(converted->to_double());
        code = c->second.to;
        set_member(*q, "unit", rapidjson::Value(code.c_str(), allocator), allocator);
      }
    }
    set_member(*q, "system", rapidjson::Value(kUcum.data(), allocator), allocator);
    set_member(*q, "code", rapidjson::Value(code.c_str(), allocator), allocator);
    if (!q->HasMember("unit")) {
      set_member(*q, "unit", rapidjson::Value(code.c_str(), allocator), allocator);
    }
    return Ok{};
  }

 private:
  std::map<std::string, std::string, std::less<>> units_;
  std::map<std::string, std::string, std::less<>> folded_;
  std::map<std::string, Conversion, std::less<>> conversions_;
  int decimals_;
  bool fail_unknown_;
};

}  // namespace

std::unique_ptr<Action> compile_normalize_unit(const rapidjson::Value& rule,
                                               const CompileContext& context) {
  const std::size_t errors = context.error_count();
  std::map<std::string, std::string, std::less<>> units;
  for (auto& [from, to] : context.string_table(rule, "units")) {
    if (!fhirpath::canonical_unit(to)) {
      context.error("units/" + pointer_token(from),
                    "expected a UCUM code the engine knows (see mappings/README.md)");
      continue;
    }
    units.emplace(std::move(from), std::move(to));
  }
  std::map<std::string, Conversion, std::less<>> conversions;
  for (auto& [from, to] : context.string_table(rule, "convert")) {
    const std::string where = "convert/" + pointer_token(from);
    auto a = fhirpath::canonical_unit(from);
    auto b = fhirpath::canonical_unit(to);
    if (!a || !b) {
      context.error(where, "expected UCUM codes the engine knows on both sides");
      continue;
    }
    auto factor = a->factor.divide(b->factor);
    if (a->powers != b->powers || !factor) {
      context.error(where, "the units measure different things and cannot be converted");
      continue;
    }
    conversions.emplace(from, Conversion{std::move(to), *factor});
  }
  // The schema keeps "decimals" within 0..8.
  const auto d = rule.FindMember("decimals");
  const int decimals = d != rule.MemberEnd() && d->value.IsInt() ? d->value.GetInt() : 2;
  const std::string unknown = context.string(rule, "onUnknown", false).value_or("fail");
  if (context.error_count() != errors) return nullptr;
  return std::make_unique<NormalizeUnit>(std::move(units), std::move(conversions), decimals,
                                         unknown == "fail");
}

}  // namespace fl::mappings::actions
