#include "fl/gateway/consent.h"

#include "fl/gateway/stages/validate_stage.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <regex>
#include <set>
#include <string_view>
#include <tuple>

namespace fl::gateway {
namespace {

using rapidjson::Value;

constexpr int kMaxProvisionDepth = 32;
constexpr std::string_view kConsentScope = "http://terminology.hl7.org/CodeSystem/consentscope";

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int number(const std::string& text) {
  int v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

bool has_items(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsArray() && !it->value.Empty();
}

std::string string_at(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// Every code of a CodeableConcept or Coding list.
std::vector<std::string> codes_of(const Value& concept_or_coding) {
  std::vector<std::string> out;
  if (concept_or_coding.IsObject() && concept_or_coding.HasMember("coding") &&
      concept_or_coding["coding"].IsArray()) {
    for (const auto& c : concept_or_coding["coding"].GetArray()) {
      if (c.IsObject()) out.push_back(string_at(c, "code"));
    }
  } else if (concept_or_coding.IsObject()) {
    out.push_back(string_at(concept_or_coding, "code"));
  }
  return out;
}

struct Frame {
  bool permit = true;
  std::vector<std::string> actors;  // references
  std::vector<std::string> purposes;
  const Value* period = nullptr;
};

struct Deny {
  std::vector<std::string> actors;    // empty: every actor
  std::vector<std::string> purposes;  // empty: every purpose
};

class Compiler {
 public:
  Compiler(const ConsentSettings& settings, std::int64_t now) : settings_(settings), now_(now) {}

  Status walk(const Value& provision, const Frame& parent, const std::string& where, bool root,
              int depth = 0) {
    if (!provision.IsObject()) return invalid(where, "expected a provision object");
    // A Consent from outside must not exhaust a request thread's stack.
    if (depth >= kMaxProvisionDepth) {
      return invalid(
          where, "provisions nested deeper than " + std::to_string(kMaxProvisionDepth) + " levels");
    }
    Frame frame = parent;
    const std::string type = string_at(provision, "type");
    if (!type.empty()) {
      if (type != "permit" && type != "deny") {
        return invalid(where + "/type", "expected permit or deny");
      }
      frame.permit = type == "permit";
    }
    // R4 requires a nested provision's type, yet published examples leave it out: under a
    // deny it denies; under a permit it is refused rather than guessed into a grant.
    const bool untyped_permit = type.empty() && !root && frame.permit;
    if (has_items(provision, "actor")) {
      frame.actors.clear();
      for (const auto& a : provision["actor"].GetArray()) {
        const std::string ref =
            a.IsObject() && a.HasMember("reference") && a["reference"].IsObject()
                ? string_at(a["reference"], "reference")
                : "";
        frame.actors.push_back(ref);
      }
    }
    if (has_items(provision, "purpose")) {
      frame.purposes.clear();
      for (const auto& p : provision["purpose"].GetArray()) {
        if (p.IsObject()) frame.purposes.push_back(string_at(p, "code"));
      }
    }
    if (auto it = provision.FindMember("period"); it != provision.MemberEnd()) {
      frame.period = &it->value;
    }
    bool about_reading = true;
    if (has_items(provision, "action")) {
      about_reading = false;
      for (const auto& a : provision["action"].GetArray()) {
        for (const auto& code : codes_of(a)) {
          about_reading = about_reading || code == "access" || code == "use";
        }
      }
    }
    std::vector<std::string> narrowing;
    for (const char* element : {"class", "code", "securityLabel", "data"}) {
      if (has_items(provision, element)) narrowing.emplace_back(element);
    }
    if (provision.HasMember("dataPeriod")) narrowing.emplace_back("dataPeriod");

    if (!frame.permit) {
      // A deny counts whatever its narrowing: the grant it would leave could not exclude it.
      denies_.push_back(Deny{.actors = frame.actors, .purposes = frame.purposes});
    } else if (untyped_permit) {
      refused_.push_back({"", "", where + ": a nested provision that does not say permit or deny"});
    } else if (about_reading) {
      permit(frame, narrowing, where);
    }
    if (has_items(provision, "provision")) {
      std::size_t i = 0;
      for (const auto& child : provision["provision"].GetArray()) {
        if (auto s =
                walk(child, frame, where + "/provision/" + std::to_string(i++), false, depth + 1);
            !s) {
          return s;
        }
      }
    }
    return Ok{};
  }

  void finish(CompiledConsent& out) {
    for (auto& g : candidates_) {
      const bool denied = std::any_of(denies_.begin(), denies_.end(), [&](const Deny& d) {
        const bool actor = d.actors.empty() ||
                           std::find(d.actors.begin(), d.actors.end(), g.actor) != d.actors.end();
        const bool purpose = d.purposes.empty() || std::find(d.purposes.begin(), d.purposes.end(),
                                                             g.purpose) != d.purposes.end();
        return actor && purpose;
      });
      if (denied) {
        out.refused.push_back({g.actor, g.purpose, "a deny provision excludes it"});
        continue;
      }
      auto same = std::find_if(out.grants.begin(), out.grants.end(), [&](const ConsentGrant& k) {
        return k.grantee == g.grantee && k.purpose == g.purpose;
      });
      if (same == out.grants.end()) {
        out.grants.push_back(g);
      } else {
        same->expires_at = std::max(same->expires_at, g.expires_at);
      }
    }
    out.refused.insert(out.refused.end(), refused_.begin(), refused_.end());
  }

  const Error& error() const { return error_; }

 private:
  Status invalid(const std::string& where, const std::string& what) {
    error_ = Error{ErrorCode::kInvalidInput, what, where};
    return error_;
  }

  void permit(const Frame& frame, const std::vector<std::string>& narrowing,
              const std::string& where) {
    if (frame.actors.empty()) {
      refused_.push_back({"", "", where + ": a permit names no actor to grant to"});
      return;
    }
    std::string narrowed;
    for (const auto& n : narrowing) narrowed += (narrowed.empty() ? "" : ", ") + n;
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    if (frame.period != nullptr && frame.period->IsObject()) {
      const std::string s = string_at(*frame.period, "start");
      const std::string e = string_at(*frame.period, "end");
      if (!s.empty()) start = fhir_instant(s, false);
      if (!e.empty()) end = fhir_instant(e, true);
      if ((!s.empty() && !start) || (!e.empty() && !end)) {
        refused_.push_back({"", "", where + "/period: not a FHIR dateTime"});
        return;
      }
    }
    const auto& purposes = frame.purposes.empty() ? settings_.default_purposes : frame.purposes;
    for (const auto& actor : frame.actors) {
      if (purposes.empty()) {
        refused_.push_back(
            {actor, "", "names no purpose of use and /consent/defaultPurposes is empty"});
        continue;
      }
      for (const auto& purpose : purposes) {
        if (!narrowed.empty()) {
          refused_.push_back({actor, purpose,
                              "narrowed to " + narrowed +
                                  ": a ledger grant would cover all of the patient's data"});
          continue;
        }
        auto participant = settings_.actors.find(actor);
        if (participant == settings_.actors.end()) {
          refused_.push_back({actor, purpose, "not a ledger participant (/consent/actors)"});
          continue;
        }
        if (start && *start > now_) {
          refused_.push_back({actor, purpose, "not in effect yet (period.start)"});
          continue;
        }
        if (end && *end <= now_) {
          refused_.push_back({actor, purpose, "its period has ended"});
          continue;
        }
        const std::int64_t expires = end ? *end : now_ + settings_.default_lifetime_seconds;
        candidates_.push_back(ConsentGrant{.grantee = participant->second,
                                           .actor = actor,
                                           .purpose = purpose,
                                           .expires_at = static_cast<std::uint64_t>(expires)});
      }
    }
  }

  const ConsentSettings& settings_;
  std::int64_t now_;
  std::vector<ConsentGrant> candidates_;
  std::vector<Deny> denies_;
  std::vector<ConsentRefusal> refused_;
  Error error_{ErrorCode::kInvalidInput, "", ""};
};

}  // namespace

std::optional<std::int64_t> fhir_instant(std::string_view text, bool end_of) {
  static const std::regex kForm(
      R"(^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, kForm)) return std::nullopt;
  const int year = number(m[1].str());
  const int month = m[2].matched ? number(m[2].str()) : 1;
  const int day = m[3].matched ? number(m[3].str()) : 1;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  if (!m[2].matched) {
    return days_from_civil(year + (end_of ? 1 : 0), 1, 1) * 86400;
  }
  if (!m[3].matched) {
    const int y = end_of && month == 12 ? year + 1 : year;
    const unsigned next = end_of ? (month == 12 ? 1 : static_cast<unsigned>(month) + 1)
                                 : static_cast<unsigned>(month);
    return days_from_civil(y, next, 1) * 86400;
  }
  std::int64_t at =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400;
  if (!m[4].matched) return at + (end_of ? 86400 : 0);
  at +=
      number(m[4].str()) * 3600 + number(m[5].str()) * 60 + (m[6].matched ? number(m[6].str()) : 0);
  if (m[7].matched && m[7].str() != "Z") {
    const std::string z = m[7].str();
    const int offset = number(z.substr(1, 2)) * 3600 + number(z.substr(4, 2)) * 60;
    at += z[0] == '+' ? -offset : offset;
  }
  return at;
}

Result<CompiledConsent> compile_consent(const Value& consent, const ConsentSettings& settings,
                                        std::int64_t now) {
  auto invalid = [](std::string what, std::string where) {
    return Error{ErrorCode::kInvalidInput, std::move(what), std::move(where)};
  };
  if (!consent.IsObject() || string_at(consent, "resourceType") != "Consent") {
    return invalid("expected a FHIR Consent resource", "/resourceType");
  }
  CompiledConsent out;
  out.id = string_at(consent, "id");
  if (!is_valid_fhir_id(out.id)) {
    return invalid("a Consent needs an id: what it grants is recorded under it", "/id");
  }
  out.status = string_at(consent, "status");
  static const std::set<std::string> kStatuses{"draft",    "proposed", "active",
                                               "rejected", "inactive", "entered-in-error"};
  if (!kStatuses.contains(out.status)) {
    return invalid(
        "expected a status: draft, proposed, active, rejected, inactive, entered-in-error",
        "/status");
  }
  bool privacy = false;
  if (auto it = consent.FindMember("scope"); it != consent.MemberEnd() && it->value.IsObject() &&
                                             it->value.HasMember("coding") &&
                                             it->value["coding"].IsArray()) {
    for (const auto& c : it->value["coding"].GetArray()) {
      privacy = privacy || (c.IsObject() && string_at(c, "code") == "patient-privacy" &&
                            string_at(c, "system") == kConsentScope);
    }
  }
  if (!privacy) {
    return invalid(
        "only a patient-privacy Consent (" + std::string(kConsentScope) + ") becomes grants",
        "/scope");
  }
  if (auto it = consent.FindMember("patient"); it != consent.MemberEnd() && it->value.IsObject()) {
    out.patient = string_at(it->value, "reference");
  }
  if (!out.patient.starts_with("Patient/") || !is_valid_fhir_id(out.patient.substr(8))) {
    return invalid("expected a reference Patient/<id>", "/patient/reference");
  }
  out.active = out.status == "active";
  auto provision = consent.FindMember("provision");
  if (!out.active || provision == consent.MemberEnd()) return out;

  Frame root;
  if (auto rule = consent.FindMember("policyRule"); rule != consent.MemberEnd()) {
    for (const auto& code : codes_of(rule->value)) root.permit = root.permit && code != "OPTOUT";
  }
  Compiler compiler(settings, now);
  if (auto s = compiler.walk(provision->value, root, "/provision", true); !s) return s.error();
  compiler.finish(out);
  return out;
}

}  // namespace fl::gateway
