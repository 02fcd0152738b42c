// The evaluator: one pass over the rules in file order. The fast path (no trace) allocates
// nothing per rule: the request's facts (country indexes, meta.security codings as string views)
// are read once, and every comparison is on string_views. Words for the trace are built only
// when the trace is asked for.
#include "fl/gateway/policy/policy_engine.h"

#include "fl/base/bytes.h"

#include "policy/join.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace fl::gateway::policy {
namespace {

constexpr std::string_view kConfidentialitySystem =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
constexpr std::string_view kUndeterminedRule = "undetermined-jurisdiction";

std::string_view view(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// A member's string value, or "" when it is absent or not a string. No allocation: the name is
// passed as a StringRef rather than built into a Value.
std::string_view string_member(const rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) return {};
  auto m = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  if (m == object.MemberEnd() || !m->value.IsString()) return {};
  return view(m->value);
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [value](const std::string& item) { return item == value; });
}

struct Label {
  std::string_view system;
  std::string_view code;
};

// The resource's meta.security codings, read once per request. Resources carry a handful; the
// rare resource with more than fits inline is read from its JSON each time instead.
class SecurityLabels {
 public:
  explicit SecurityLabels(const rapidjson::Value* resource) {
    if (resource == nullptr || !resource->IsObject()) return;
    auto meta = resource->FindMember("meta");
    if (meta == resource->MemberEnd() || !meta->value.IsObject()) return;
    auto security = meta->value.FindMember("security");
    if (security == meta->value.MemberEnd() || !security->value.IsArray()) return;
    const rapidjson::Value& codings = security->value;
    if (codings.Size() > inline_.size()) {
      overflow_ = &codings;
      return;
    }
    for (const rapidjson::Value& coding : codings.GetArray()) {
      inline_[count_++] = label_of(coding);
    }
  }

  // Calls `f` on each coding until it returns true; true when one did.
  template <typename F>
  bool any(F&& f) const {
    if (overflow_ != nullptr) {
      for (const rapidjson::Value& coding : overflow_->GetArray()) {
        if (f(label_of(coding))) return true;
      }
      return false;
    }
    for (std::size_t i = 0; i < count_; ++i) {
      if (f(inline_[i])) return true;
    }
    return false;
  }

 private:
  static Label label_of(const rapidjson::Value& coding) {
    return {string_member(coding, "system"), string_member(coding, "code")};
  }

  std::array<Label, 16> inline_{};
  std::size_t count_ = 0;
  const rapidjson::Value* overflow_ = nullptr;
};

// The index of the country a code from outside stands for (iso_alpha2: alpha-2 or alpha-3, any
// case); nullopt when it is no assigned country. No allocation.
std::optional<std::size_t> index_of(std::string_view code) {
  const auto alpha2 = iso_alpha2(code);
  return alpha2 ? country_index(*alpha2) : std::nullopt;
}

// What the request says, in the form the rules compare against.
struct Facts {
  explicit Facts(const PolicyRequest& request)
      : source(index_of(request.source_country)),
        destination(index_of(request.destination_country)),
        resource_type(request.resource_type),
        labels(request.resource) {
    if (resource_type.empty() && request.resource != nullptr) {
      resource_type = string_member(*request.resource, "resourceType");
    }
  }

  std::optional<std::size_t> source;
  std::optional<std::size_t> destination;
  std::string_view resource_type;
  SecurityLabels labels;
};

std::string_view consent_words(bool consent) {
  return consent ? "an active consent for this purpose and participant"
                 : "no active consent for this purpose and participant";
}

// The jurisdictions of `ids` that hold the country, for the trace.
std::vector<std::string> holding(const PolicyBundle& bundle, const std::vector<std::string>& ids,
                                 std::size_t country) {
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    const Jurisdiction* j = bundle.find_jurisdiction(id);
    if (j != nullptr && j->countries.test(country)) out.push_back(id);
  }
  return out;
}

// Traces a country dimension ("source" or "destination"). Called only with a trace.
void trace_country(const PolicyBundle& bundle, std::string_view what, const std::string& country,
                   std::optional<std::size_t> index, const std::vector<std::string>& ids,
                   bool matched, std::vector<std::string>& reasons) {
  std::string reason(what);
  if (country.empty()) {
    reason =
        "the request names no " + reason + " country (the rule needs one in " + join(ids) + ")";
  } else if (!index) {
    reason += " " + country + " is not a country code (the rule needs one in " + join(ids) + ")";
  } else {
    // As given, with the alpha-2 code it was read as when that differs ("NLD (NL)").
    reason += " " + country;
    if (const auto alpha2 = iso_alpha2(country); alpha2 && *alpha2 != country) {
      reason += " (" + std::string(*alpha2) + ")";
    }
    reason +=
        matched ? " is in " + join(holding(bundle, ids, *index)) : " is in none of " + join(ids);
  }
  reasons.push_back(std::move(reason));
}

void trace_list(std::string_view what, std::string_view value, const std::vector<std::string>& list,
                bool matched, std::vector<std::string>& reasons) {
  std::string reason;
  if (value.empty()) {
    reason = "the request states no " + std::string(what) + " (the rule needs one of " +
             join(list) + ")";
  } else {
    reason = std::string(what) + " " + std::string(value) +
             (matched ? " is one of " : " is none of ") + join(list);
  }
  reasons.push_back(std::move(reason));
}

// A FHIRPath condition applies when it gives exactly one Boolean true; false or no value means
// the rule does not apply. A condition that cannot be judged (an evaluation error, several
// values, a value that is not a Boolean) fails closed: a deny rule applies then, a permit rule
// does not. The trace says which.
bool condition_holds(const mappings::fhirpath::Expression& condition,
                     const rapidjson::Value* resource, bool deny,
                     std::vector<std::string>* reasons) {
  const std::string quoted = reasons != nullptr ? "`" + condition.text() + "`" : std::string();
  if (resource == nullptr) {
    if (reasons) reasons->push_back("no resource to evaluate condition " + quoted + " on");
    return false;
  }
  auto result = condition.evaluate(*resource);
  if (!result) {
    if (reasons) {
      reasons->push_back("condition " + quoted + " could not be evaluated: " +
                         result.error().message + " (at " + result.error().where + ")" +
                         (deny ? "; a deny rule applies when its condition cannot be judged" : ""));
    }
    return deny;
  }
  const mappings::fhirpath::Collection& items = *result;
  const bool single_boolean =
      items.size() == 1 && items[0].kind() == mappings::fhirpath::Value::Kind::kBoolean;
  const bool holds = single_boolean ? items[0].as_boolean() : (!items.empty() && deny);
  if (reasons) {
    if (items.empty()) {
      reasons->push_back("condition " + quoted + " gives no value");
    } else if (!single_boolean) {
      reasons->push_back("condition " + quoted + " does not give a single true or false" +
                         (deny ? "; a deny rule applies when its condition cannot be judged" : ""));
    } else {
      reasons->push_back("condition " + quoted + (holds ? " is true" : " is false"));
    }
  }
  return holds;
}

// Whether `rule` applies to the request. Without `reasons` it stops at the first dimension that
// does not match; with them it checks every constrained dimension, so the trace tells the whole
// story.
bool applies(const PolicyBundle& bundle, const Rule& rule, const PolicyRequest& request,
             const Facts& facts, std::vector<std::string>* reasons) {
  const Match& m = rule.match;
  if ((m.stages & static_cast<std::uint8_t>(request.stage)) == 0) {
    if (reasons) reasons->push_back("not evaluated at " + std::string(stage_name(request.stage)));
    return false;
  }
  bool ok = true;
  auto done = [&](bool matched) {
    ok = ok && matched;
    return !ok && reasons == nullptr;  // stop early only when nobody reads the reasons
  };

  if (m.source) {
    const bool matched = facts.source && m.source->test(*facts.source);
    if (reasons) {
      trace_country(bundle, "source", request.source_country, facts.source, m.source_ids, matched,
                    *reasons);
    }
    if (done(matched)) return false;
  }
  if (m.destination) {
    const bool matched = facts.destination && m.destination->test(*facts.destination);
    if (reasons) {
      trace_country(bundle, "destination", request.destination_country, facts.destination,
                    m.destination_ids, matched, *reasons);
    }
    if (done(matched)) return false;
  }
  if (!m.resource_types.empty()) {
    const bool matched =
        !facts.resource_type.empty() && contains(m.resource_types, facts.resource_type);
    if (reasons)
      trace_list("resource type", facts.resource_type, m.resource_types, matched, *reasons);
    if (done(matched)) return false;
  }
  if (!m.purposes.empty()) {
    const bool matched = !request.purpose.empty() && contains(m.purposes, request.purpose);
    if (reasons) trace_list("purpose", request.purpose, m.purposes, matched, *reasons);
    if (done(matched)) return false;
  }
  if (!m.security_labels.empty()) {
    const Coding* found = nullptr;
    for (const Coding& wanted : m.security_labels) {
      if (facts.labels.any(
              [&](const Label& l) { return l.code == wanted.code && l.system == wanted.system; })) {
        found = &wanted;
        break;
      }
    }
    if (reasons) {
      if (request.resource == nullptr) {
        reasons->push_back("no resource to read security labels from");
      } else if (found != nullptr) {
        reasons->push_back("security label " + found->system + "|" + found->code + " is present");
      } else {
        std::string labels;
        for (const Coding& c : m.security_labels) {
          if (!labels.empty()) labels += ", ";
          labels += c.system + "|" + c.code;
        }
        reasons->push_back("none of the security labels " + labels + " is present");
      }
    }
    if (done(found != nullptr)) return false;
  }
  if (!m.confidentiality.empty()) {
    std::string_view code;
    const bool matched = facts.labels.any([&](const Label& l) {
      if (l.system != kConfidentialitySystem) return false;
      code = l.code;
      return contains(m.confidentiality, l.code);
    });
    if (reasons) {
      if (request.resource == nullptr) {
        reasons->push_back("no resource to read confidentiality from");
      } else if (code.empty()) {
        reasons->push_back("the resource has no confidentiality code (the rule needs one of " +
                           join(m.confidentiality) + ")");
      } else {
        trace_list("confidentiality", code, m.confidentiality, matched, *reasons);
      }
    }
    if (done(matched)) return false;
  }
  if (m.consent != ConsentMatch::kAny) {
    const bool matched = (m.consent == ConsentMatch::kRequired) == request.consent;
    if (reasons) {
      std::string reason(consent_words(request.consent));
      if (m.consent == ConsentMatch::kAbsent) reason += " (the rule applies only without one)";
      reasons->push_back(std::move(reason));
    }
    if (done(matched)) return false;
  }
  if (m.condition) {
    if (done(condition_holds(*m.condition, request.resource, rule.effect == Effect::kDeny,
                             reasons))) {
      return false;
    }
  }
  if (reasons && ok && reasons->empty()) {
    reasons->push_back("the rule constrains nothing else: it applies to every request at " +
                       std::string(stage_name(request.stage)));
  }
  return ok;
}

// The indexes of the rules that decide, without an allocation for the usual few.
class Deciders {
 public:
  void add(std::size_t index) {
    if (count_ < inline_.size()) {
      inline_[count_] = index;
    } else {
      more_.push_back(index);
    }
    ++count_;
  }
  void clear() {
    count_ = 0;
    more_.clear();
  }
  std::size_t size() const { return count_; }
  std::size_t operator[](std::size_t i) const {
    return i < inline_.size() ? inline_[i] : more_[i - inline_.size()];
  }

 private:
  std::array<std::size_t, 8> inline_{};
  std::vector<std::size_t> more_;
  std::size_t count_ = 0;
};

void decide_by(const PolicyBundle& bundle, const Deciders& deciders, PolicyDecision& decision) {
  decision.rule_ids.reserve(deciders.size());
  for (std::size_t i = 0; i < deciders.size(); ++i) {
    const Rule& rule = bundle.rules[deciders[i]];
    decision.rule_ids.push_back(rule.id);
    decision.audit = decision.audit || rule.audit;
    if (decision.effect != Effect::kPermit) continue;
    // Copying the one decider's obligations allocates nothing when it has none (the usual case).
    if (i == 0) {
      decision.obligations = rule.obligations;
    } else {
      decision.obligations.merge(rule.obligations);
    }
  }
}

}  // namespace

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kIngest:
      return "ingest";
    case Stage::kGrant:
      return "grant";
    case Stage::kRead:
      return "read";
  }
  return "unknown stage";
}

std::optional<Stage> stage_from_name(std::string_view name) {
  for (Stage stage : {Stage::kIngest, Stage::kGrant, Stage::kRead}) {
    if (stage_name(stage) == name) return stage;
  }
  return std::nullopt;
}

std::string_view effect_name(Effect effect) {
  return effect == Effect::kPermit ? "permit" : "deny";
}

PolicyEngine::PolicyEngine(std::shared_ptr<const PolicyBundle> bundle)
    : bundle_(std::move(bundle)) {}

PolicyDecision PolicyEngine::evaluate(const PolicyRequest& request, bool with_trace) const {
  const PolicyBundle& bundle = *bundle_;
  PolicyDecision decision;
  decision.policy_hash = bundle.hash;

  const std::optional<std::string_view> source = iso_alpha2(request.source_country);
  if (!source) {
    // No rule can be judged without the patient's jurisdiction (none, or no country code): the
    // bundle says what happens.
    decision.effect = bundle.jurisdiction.undetermined_effect;
    decision.rule_ids.emplace_back(kUndeterminedRule);
    if (decision.effect == Effect::kPermit && request.stage == Stage::kIngest) {
      decision.region = bundle.default_region;
    }
    if (with_trace) {
      decision.trace.reserve(bundle.rules.size());
      for (const Rule& rule : bundle.rules) {
        decision.trace.push_back(
            {rule.id, false, {"not evaluated: the patient's jurisdiction is undetermined"}});
      }
    }
    return decision;
  }

  const Facts facts(request);
  const bool first_applicable = bundle.combining == Combining::kFirstApplicable;
  Deciders deciders;
  bool deny_found = false;
  bool decided = false;  // first-applicable: a rule has decided
  if (with_trace) decision.trace.reserve(bundle.rules.size());

  for (std::size_t i = 0; i < bundle.rules.size(); ++i) {
    const Rule& rule = bundle.rules[i];
    std::vector<std::string>* reasons = nullptr;
    if (with_trace) {
      decision.trace.push_back({rule.id, false, {}});
      reasons = &decision.trace.back().reasons;
    }
    const bool applicable = applies(bundle, rule, request, facts, reasons);
    if (with_trace) decision.trace.back().applicable = applicable;
    if (!applicable) continue;

    if (first_applicable) {
      if (!decided) {
        deciders.add(i);
        decision.effect = rule.effect;
        decided = true;
      }
      if (!with_trace) break;
      continue;
    }
    if (rule.effect == Effect::kDeny) {
      if (!deny_found) deciders.clear();  // the permits found so far no longer decide
      deny_found = true;
      deciders.add(i);
    } else if (!deny_found) {
      deciders.add(i);
    }
  }

  if (deciders.size() == 0) {
    decision.effect = bundle.default_effect;
    decision.by_default = true;
  } else {
    if (!first_applicable) decision.effect = deny_found ? Effect::kDeny : Effect::kPermit;
    decide_by(bundle, deciders, decision);
  }
  if (decision.effect == Effect::kPermit && request.stage == Stage::kIngest) {
    decision.region = bundle.region_for(*source);
  }
  return decision;
}

namespace {

void describe_obligations(const Obligations& o, std::string& out) {
  if (o.empty()) {
    out += "  obligations: none\n";
    return;
  }
  out += "  obligations:\n";
  for (const std::string& text : o.redact_text) out += "    - redact `" + text + "`\n";
  if (o.pseudonymize_identifiers) out += "    - pseudonymize identifiers\n";
  if (!o.require_purpose.empty()) {
    out += "    - require one of the purposes " + join(o.require_purpose) + "\n";
  }
  if (o.max_days) out += "    - access for at most " + std::to_string(*o.max_days) + " days\n";
}

}  // namespace

std::string explain(const PolicyBundle& bundle, const PolicyRequest& request,
                    const PolicyDecision& decision) {
  auto or_none = [](const std::string& s) { return s.empty() ? std::string("(none)") : s; };
  std::string out;
  out += "Request\n";
  out += "  stage: " + std::string(stage_name(request.stage)) + "\n";
  std::string type = request.resource_type;
  if (type.empty() && request.resource != nullptr) {
    type = std::string(string_member(*request.resource, "resourceType"));
  }
  out += "  resource type: " + or_none(type) + "\n";
  out += "  source country: " +
         (request.source_country.empty() ? std::string("(undetermined)") : request.source_country) +
         "\n";
  out += "  destination country: " + or_none(request.destination_country) + "\n";
  out += "  purpose: " + or_none(request.purpose) + "\n";
  out += "  consent: " + std::string(consent_words(request.consent)) + "\n";

  out += "\nRules of " + bundle.id + " (" +
         (bundle.combining == Combining::kFirstApplicable ? "first-applicable" : "deny-overrides") +
         ")\n";
  if (decision.trace.empty()) out += "  (no trace was recorded)\n";
  for (const RuleTrace& t : decision.trace) {
    out += "  " + t.rule_id + ": " + (t.applicable ? "applies" : "does not apply") + "\n";
    for (const std::string& reason : t.reasons) out += "    - " + reason + "\n";
  }

  out += "\nDecision: " + std::string(effect_name(decision.effect)) + "\n";
  if (decision.by_default) {
    out += "  no rule applied: the bundle's default effect decides\n";
  }
  for (const std::string& id : decision.rule_ids) {
    if (id == kUndeterminedRule) {
      out += "  by " + id +
             ": the patient's jurisdiction could not be determined, so the bundle's effect for "
             "undetermined jurisdictions decides\n";
      continue;
    }
    auto rule = std::find_if(bundle.rules.begin(), bundle.rules.end(),
                             [&](const Rule& r) { return r.id == id; });
    out += "  by " + id;
    if (rule != bundle.rules.end() && !rule->legal_basis.empty()) {
      out += " (legal basis: " + rule->legal_basis + ")";
    }
    out += "\n";
  }
  if (decision.effect == Effect::kPermit) describe_obligations(decision.obligations, out);
  if (decision.audit) out += "  audit: this decision is flagged for audit\n";
  if (!decision.region.empty()) out += "  storage region: " + decision.region + "\n";
  out += "  policy hash: " + to_hex(decision.policy_hash) + "\n";
  return out;
}

std::string patient_address_country(const rapidjson::Value& patient) {
  if (!patient.IsObject()) return {};
  auto addresses = patient.FindMember("address");
  if (addresses == patient.MemberEnd() || !addresses->value.IsArray()) return {};
  for (const rapidjson::Value& address : addresses->value.GetArray()) {
    if (const auto country = iso_alpha2(string_member(address, "country"))) {
      return std::string(*country);
    }
  }
  return {};
}

std::string resolve_jurisdiction(const PolicyBundle& bundle, const JurisdictionFacts& facts,
                                 std::string* from) {
  // Every source is read as iso_alpha2 reads it, and answers with the alpha-2 code: "NLD" in
  // the header is "NL". A source that names no assigned country (a name such as "Netherlands")
  // does not answer, and the next one is asked.
  auto answer = [from](std::string_view country, std::string_view source) {
    if (from != nullptr) *from = std::string(source);
    return std::string(country);
  };
  for (JurisdictionSource source : bundle.jurisdiction.order) {
    std::optional<std::string_view> country;
    switch (source) {
      case JurisdictionSource::kPatientAddress:
        country = iso_alpha2(facts.patient_address_country);
        if (country) return answer(*country, "patient-address");
        break;
      case JurisdictionSource::kPatientRecord:
        country = iso_alpha2(facts.recorded_country);
        if (country) return answer(*country, "patient-record");
        break;
      case JurisdictionSource::kHeader:
        country = iso_alpha2(facts.header_country);
        if (country) return answer(*country, "header");
        break;
      case JurisdictionSource::kSourceSystem:
        country = iso_alpha2(bundle.country_of_source(facts.source_system));
        if (country) return answer(*country, "source-system");
        break;
    }
  }
  if (const auto assumed = iso_alpha2(bundle.jurisdiction.undetermined_country)) {
    return answer(*assumed, "assumed");
  }
  return answer({}, "undetermined");
}

}  // namespace fl::gateway::policy
