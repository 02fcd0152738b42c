#include "cli/console_audit.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>
#include <string_view>

namespace fl::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kKindSystem = "urn:fhir-ledger:audit-kind";
constexpr std::size_t kMaxLimit = 1000;
constexpr std::size_t kMaxBuckets = 48;
// "(default)" in the chart: a decision no rule made (the bundle's default effect).
constexpr std::string_view kNoRule = "none";

std::string string_of(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "";
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::vector<std::string> split_ids(const std::string& joined) {
  std::vector<std::string> out;
  if (joined.empty() || joined == kNoRule) return out;
  std::size_t start = 0;
  while (start <= joined.size()) {
    const auto comma = joined.find(',', start);
    std::string id = joined.substr(start, comma == std::string::npos ? comma : comma - start);
    id.erase(0, id.find_first_not_of(' '));
    if (!id.empty()) out.push_back(std::move(id));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "YYYY-MM-DDTHH:MM:SS" (then a fraction and Z or an offset, which are ignored: the gateway
// writes UTC) as Unix seconds; nullopt when it is not that.
std::optional<std::int64_t> unix_of(std::string_view text) {
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, v);
    if (ec != std::errc() || end != text.data() + at + length) return std::nullopt;
    return v;
  };
  const auto y = number(0, 4), mo = number(5, 2), d = number(8, 2), h = number(11, 2),
             mi = number(14, 2), s = number(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *h > 23 || *mi > 59 ||
      *s > 60) {
    return std::nullopt;
  }
  constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  if (*d > kDays[static_cast<std::size_t>(*mo - 1)] || (*mo == 2 && *d == 29 && !leap)) {
    return std::nullopt;
  }
  return days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * 86400 +
         *h * 3600 + *mi * 60 + *s;
}

std::string rfc3339(std::int64_t unix) {
  // civil_from_days, the inverse of days_from_civil.
  std::int64_t z = (unix >= 0 ? unix : unix - 86399) / 86400;
  const std::int64_t secs = unix - z * 86400;
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  std::array<char, 96> out{};
  std::snprintf(out.data(), out.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y + (m <= 2 ? 1 : 0)), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return out.data();
}

void put(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put_ids(Writer& w, const char* key, const std::vector<std::string>& ids) {
  w.Key(key);
  w.StartArray();
  for (const auto& id : ids) w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  w.EndArray();
}

bool matches(const AuditSummary& e, const AuditQuery& q) {
  if (!q.kind.empty() &&
      e.kind != (q.kind == "shadow" ? std::string("policy-shadow-difference") : q.kind)) {
    return false;
  }
  if (!q.outcome.empty() && e.outcome != q.outcome) return false;
  if (!q.policy_hash.empty() && e.policy_hash != q.policy_hash &&
      e.candidate_policy_hash != q.policy_hash) {
    return false;
  }
  if (!q.rule.empty()) {
    const auto has = [&](const std::vector<std::string>& ids) {
      return std::find(ids.begin(), ids.end(), q.rule) != ids.end();
    };
    const bool decided_by_none = q.rule == kNoRule && !e.policy_hash.empty() && e.rule_ids.empty();
    if (!decided_by_none && !has(e.rule_ids) && !has(e.candidate_rule_ids)) return false;
  }
  if (!q.since.empty() && e.recorded < q.since) return false;
  if (!q.until.empty() && e.recorded >= q.until) return false;
  return true;
}

// The smallest of these bucket widths that puts first..last into at most kMaxBuckets buckets,
// the first starting at a multiple of the width.
std::int64_t bucket_seconds(std::int64_t first, std::int64_t last) {
  constexpr std::array<std::int64_t, 12> kWidths{1,     10,    60,    300,    900,     3600,
                                                 10800, 21600, 86400, 604800, 2592000, 31536000};
  for (const auto w : kWidths) {
    if ((last - (first - first % w)) / w + 1 <= static_cast<std::int64_t>(kMaxBuckets)) return w;
  }
  return kWidths.back();
}

}  // namespace

std::optional<AuditSummary> summarise_audit_event(const ports::SourceEvent& message) {
  rapidjson::Document doc;
  doc.Parse(message.value.c_str(), message.value.size());
  if (doc.HasParseError() || !doc.IsObject() || string_of(doc, "resourceType") != "AuditEvent") {
    return std::nullopt;
  }
  AuditSummary s;
  s.partition = message.origin.partition;
  s.offset = message.origin.offset;
  s.recorded = string_of(doc, "recorded");
  s.recorded_unix = unix_of(s.recorded).value_or(0);
  s.outcome = string_of(doc, "outcome");
  s.description = string_of(doc, "outcomeDesc");
  if (doc.HasMember("subtype") && doc["subtype"].IsArray()) {
    for (const auto& sub : doc["subtype"].GetArray()) {
      if (string_of(sub, "system") == kKindSystem) s.kind = string_of(sub, "code");
    }
  }
  if (doc.HasMember("entity") && doc["entity"].IsArray() && !doc["entity"].Empty()) {
    const auto& patient = doc["entity"][0];
    if (patient.IsObject() && patient.HasMember("detail") && patient["detail"].IsArray()) {
      for (const auto& d : patient["detail"].GetArray()) {
        const std::string type = string_of(d, "type");
        const std::string value = string_of(d, "valueString");
        if (type == "policy-hash") s.policy_hash = value;
        if (type == "rule-ids") s.rule_ids = split_ids(value);
        if (type == "effect") s.effect = value;
        if (type == "obligations") s.obligations = value;
        if (type == "candidate-policy-hash") s.candidate_policy_hash = value;
        if (type == "candidate-rule-ids") s.candidate_rule_ids = split_ids(value);
        if (type == "candidate-effect") s.candidate_effect = value;
        if (type == "candidate-obligations") s.candidate_obligations = value;
      }
    }
  }
  s.json = message.value;
  return s;
}

Result<AuditQuery> parse_audit_query(std::string_view query_string) {
  AuditQuery q;
  static const std::set<std::string, std::less<>> kKinds = {
      "ingest", "grant",           "grant-transaction",        "revocation",
      "read",   "erasure",         "policy-shadow-difference", "consent-failure",
      "shadow", "dead-letter-read"};
  while (!query_string.empty()) {
    const auto amp = query_string.find('&');
    const std::string_view part = query_string.substr(0, amp);
    query_string =
        amp == std::string_view::npos ? std::string_view() : query_string.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2"
    const auto eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? std::string_view()
                                                         : part.substr(eq + 1));
    const auto bad = [&](std::string expected) {
      return Error{ErrorCode::kInvalidInput, "expected " + std::move(expected),
                   "?" + std::string(name)};
    };
    static const std::set<std::string, std::less<>> kNames = {
        "kind", "outcome", "rule", "policyHash", "since", "until", "limit"};
    if (!kNames.contains(name)) {
      return Error{ErrorCode::kInvalidInput,
                   "unknown parameter: try kind, outcome, rule, policyHash, since, until, limit",
                   "?" + std::string(name)};
    }
    // Every value the console sends is plain ASCII without reserved characters: nothing to
    // percent-decode, and anything else is refused rather than guessed.
    const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
             c == ':';
    });
    if (!plain) return bad("letters, digits, '-', '.', '_' or ':'");
    if (value.empty()) continue;  // a filter left blank in the form
    if (name == "kind") {
      if (!kKinds.contains(value)) return bad("an audit kind such as ingest, grant, read");
      q.kind = value;
    } else if (name == "outcome") {
      if (value != "0" && value != "4" && value != "8") return bad("0, 4 or 8");
      q.outcome = value;
    } else if (name == "rule") {
      if (value.size() > 128) return bad("a rule id of at most 128 characters");
      q.rule = value;
    } else if (name == "policyHash") {
      if (value.size() != 66 || !value.starts_with("0x") ||
          !std::all_of(value.begin() + 2, value.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
        return bad("a 0x-hex policy hash");
      }
      q.policy_hash = value;
      std::transform(q.policy_hash.begin(), q.policy_hash.end(), q.policy_hash.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    } else if (name == "since" || name == "until") {
      // Exactly the form the events are recorded in, so that comparing the text is comparing times.
      if (value.size() != 20 || value.back() != 'Z' || !unix_of(value)) {
        return bad("a UTC time such as 2026-12-07T15:00:00Z");
      }
      (name == "since" ? q.since : q.until) = value;
    } else {  // limit
      std::size_t limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit == 0 ||
          limit > kMaxLimit) {
        return bad("1 to " + std::to_string(kMaxLimit));
      }
      q.limit = limit;
    }
  }
  return q;
}

std::string audit_answer(const std::deque<AuditSummary>& kept, const AuditQuery& query,
                         std::size_t skipped) {
  std::vector<const AuditSummary*> matched;
  for (const auto& e : kept) {
    if (matches(e, query)) matched.push_back(&e);
  }
  // Newest first: by time, then by where it was written.
  std::stable_sort(matched.begin(), matched.end(), [](const auto* a, const auto* b) {
    return a->recorded_unix != b->recorded_unix ? a->recorded_unix > b->recorded_unix
                                                : a->offset > b->offset;
  });

  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("kept");
  w.Uint64(kept.size());
  w.Key("skipped");
  w.Uint64(skipped);
  w.Key("total");
  w.Uint64(matched.size());
  w.Key("events");
  w.StartArray();
  for (std::size_t i = 0; i < matched.size() && i < query.limit; ++i) {
    const auto& e = *matched[i];
    w.StartObject();
    w.Key("partition");
    w.Int(e.partition);
    w.Key("offset");
    w.Int64(e.offset);
    put(w, "recorded", e.recorded);
    put(w, "kind", e.kind);
    put(w, "outcome", e.outcome);
    put(w, "description", e.description);
    put(w, "policyHash", e.policy_hash);
    put_ids(w, "ruleIds", e.rule_ids);
    put(w, "effect", e.effect);
    put(w, "obligations", e.obligations);
    if (!e.candidate_policy_hash.empty()) {
      w.Key("candidate");
      w.StartObject();
      put(w, "policyHash", e.candidate_policy_hash);
      put_ids(w, "ruleIds", e.candidate_rule_ids);
      put(w, "effect", e.candidate_effect);
      put(w, "obligations", e.candidate_obligations);
      w.EndObject();
    }
    w.Key("event");
    w.RawValue(e.json.c_str(), e.json.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();

  // Every match per deciding rule ("none": the default effect) in buckets of one width.
  std::int64_t first = 0;
  std::int64_t last = 0;
  for (const auto* e : matched) {
    if (e->recorded_unix == 0) continue;
    first = first == 0 ? e->recorded_unix : std::min(first, e->recorded_unix);
    last = std::max(last, e->recorded_unix);
  }
  const std::int64_t width = bucket_seconds(first, last);
  const std::int64_t start = first - first % width;
  const std::size_t buckets = first == 0 ? 0 : static_cast<std::size_t>((last - start) / width + 1);
  std::map<std::string, std::vector<std::uint64_t>> series;
  for (const auto* e : matched) {
    if (e->recorded_unix == 0 || e->policy_hash.empty()) continue;
    const auto at = static_cast<std::size_t>((e->recorded_unix - start) / width);
    const std::vector<std::string> none{std::string(kNoRule)};
    for (const auto& rule : e->rule_ids.empty() ? none : e->rule_ids) {
      auto& counts = series[rule];
      counts.resize(buckets);
      ++counts[at];
    }
  }
  w.Key("counts");
  w.StartObject();
  w.Key("bucketSeconds");
  w.Int64(width);
  w.Key("buckets");
  w.StartArray();
  for (std::size_t i = 0; i < buckets; ++i) {
    const std::string t = rfc3339(start + static_cast<std::int64_t>(i) * width);
    w.String(t.c_str(), static_cast<rapidjson::SizeType>(t.size()));
  }
  w.EndArray();
  w.Key("series");
  w.StartArray();
  for (const auto& [rule, counts] : series) {
    w.StartObject();
    put(w, "rule", rule);
    w.Key("counts");
    w.StartArray();
    for (const auto c : counts) w.Uint64(c);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

Result<std::string> AuditTail::query(const AuditQuery& query) {
  const std::lock_guard lock(mutex_);
  auto read = reader_(next_);
  if (!read) return read.error();
  for (const auto& message : *read) {
    auto& next = next_[message.origin.partition];
    next = std::max(next, message.origin.offset + 1);
    auto summary = summarise_audit_event(message);
    if (!summary) {
      ++skipped_;
      continue;
    }
    kept_.push_back(std::move(*summary));
    if (kept_.size() > kMaxKept) kept_.pop_front();
  }
  return audit_answer(kept_, query, skipped_);
}

}  // namespace fl::cli
