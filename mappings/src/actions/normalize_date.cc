// normalize-date: rewrites dates and times into FHIR's form. Values an EHR sends as
// "20240105103000", "2024-01-05 10:30" or in a layout the rule names become
// "2024-01-05T10:30:00+01:00": a time without a zone gets the offset the rule's IANA time zone
// had at that moment (daylight saving included), a time with an offset keeps it (or becomes UTC
// with "toUtc"). A value with no time keeps its precision ("2024-01-05"); elements of type date
// get the date only. A value that cannot be read fails the event (or is kept, with
// "onInvalid": "keep").
#include "actions/action.h"
#include "fhirpath/temporal.h"
#include "mapping/time_zone.h"

#include <array>
#include <cstdio>

namespace fl::mappings::actions {
namespace {

struct Parsed {
  int year = 0, month = 0, day = 0;  // 0 = absent
  int hour = -1, minute = 0, second = 0;
  std::string fraction;               // digits after the point, as sent
  std::optional<int> offset_minutes;  // when the value carries its zone
};

bool digits(std::string_view text, std::size_t at, std::size_t n, int& out) {
  if (at + n > text.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// "Z", "+hh:mm", "+hhmm" or "+hh" at `at`, to the end of `text`.
bool parse_offset(std::string_view text, std::size_t at, Parsed& p) {
  const std::string_view rest = text.substr(at);
  if (rest == "Z") {
    p.offset_minutes = 0;
    return true;
  }
  if (rest.size() < 3 || (rest[0] != '+' && rest[0] != '-')) return false;
  int h = 0, m = 0;
  if (!digits(rest, 1, 2, h)) return false;
  if (rest.size() == 6 && rest[3] == ':') {
    if (!digits(rest, 4, 2, m)) return false;
  } else if (rest.size() == 5) {
    if (!digits(rest, 3, 2, m)) return false;
  } else if (rest.size() != 3) {
    return false;
  }
  if (h > 14 || m > 59) return false;
  p.offset_minutes = (rest[0] == '-' ? -1 : 1) * (h * 60 + m);
  return true;
}

// ISO 8601 in its extended or basic form, with 'T' or a space between date and time.
bool parse_iso(std::string_view t, Parsed& p) {
  std::size_t at = 0;
  if (!digits(t, 0, 4, p.year)) return false;
  at = 4;
  if (at == t.size()) return true;
  const bool extended = t[at] == '-';
  if (extended) ++at;
  if (!digits(t, at, 2, p.month)) return false;
  at += 2;
  if (at == t.size()) return true;
  if (extended && t[at++] != '-') return false;
  if (!digits(t, at, 2, p.day)) return false;
  at += 2;
  if (at == t.size()) return true;
  if (t[at] == 'T' || t[at] == ' ') ++at;
  if (!digits(t, at, 2, p.hour)) return false;
  at += 2;
  if (at < t.size() && t[at] == ':') ++at;
  if (!digits(t, at, 2, p.minute)) return false;
  at += 2;
  if (at < t.size() && (t[at] == ':' || (t[at] >= '0' && t[at] <= '9'))) {
    if (t[at] == ':') ++at;
    if (!digits(t, at, 2, p.second)) return false;
    at += 2;
    if (at < t.size() && (t[at] == '.' || t[at] == ',')) {
      ++at;
      while (at < t.size() && t[at] >= '0' && t[at] <= '9') p.fraction += t[at++];
      if (p.fraction.empty()) return false;
    }
  }
  return at == t.size() || parse_offset(t, at, p);
}

// A layout of yyyy MM dd HH mm ss SSS (fraction digits) XXX (zone), other characters literal.
bool parse_layout(std::string_view layout, std::string_view t, Parsed& p) {
  std::size_t li = 0, ti = 0;
  auto token = [&](std::string_view name) { return layout.substr(li, name.size()) == name; };
  while (li < layout.size()) {
    int* field = nullptr;
    std::size_t width = 2;
    if (token("yyyy")) {
      field = &p.year;
      width = 4;
    } else if (token("MM")) {
      field = &p.month;
    } else if (token("dd")) {
      field = &p.day;
    } else if (token("HH")) {
      field = &p.hour;
    } else if (token("mm")) {
      field = &p.minute;
    } else if (token("ss")) {
      field = &p.second;
    } else if (token("SSS")) {
      li += 3;
      while (ti < t.size() && t[ti] >= '0' && t[ti] <= '9') p.fraction += t[ti++];
      if (p.fraction.empty()) return false;
      continue;
    } else if (token("XXX")) {
      li += 3;
      std::size_t end = ti;
      while (end < t.size() && (t[end] == 'Z' || t[end] == '+' || t[end] == '-' || t[end] == ':' ||
                                (t[end] >= '0' && t[end] <= '9'))) {
        ++end;
      }
      if (!parse_offset(t.substr(0, end), ti, p)) return false;
      ti = end;
      continue;
    }
    if (field != nullptr) {
      if (!digits(t, ti, width, *field)) return false;
      li += width;
      ti += width;
      continue;
    }
    if (ti >= t.size() || t[ti] != layout[li]) return false;
    ++li;
    ++ti;
  }
  return ti == t.size();
}

bool valid(const Parsed& p) {
  if (p.year < 1 || p.month < 0 || p.month > 12 || p.day < 0) return false;
  if (p.day > 0) {
    if (p.month == 0) return false;
    // The day exists when it survives a round trip through the day count.
    fhirpath::Temporal t;
    fhirpath::civil_from_days(fhirpath::days_from_civil(p.year, p.month, p.day), t);
    if (t.day != p.day || t.month != p.month) return false;
  }
  if (p.hour >= 0 && (p.day == 0 || p.hour > 23 || p.minute > 59 || p.second > 59)) return false;
  return true;
}

std::string offset_text(int minutes) {
  char out[16];
  const int a = (minutes < 0 ? -minutes : minutes) % (24 * 60);
  std::snprintf(out, sizeof out, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60, a % 60);
  return out;
}

class NormalizeDate final : public Action {
 public:
  NormalizeDate(std::optional<TimeZone> zone, std::vector<std::string> layouts, bool to_utc,
                bool keep_invalid)
      : zone_(std::move(zone)),
        layouts_(std::move(layouts)),
        to_utc_(to_utc),
        keep_invalid_(keep_invalid) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* value = target.at.value;
    if (value == nullptr) return Ok{};
    if (!value->IsString()) return context.fail(target, "expects a date or time string");
    const std::string_view text(value->GetString(), value->GetStringLength());
    Parsed p;
    bool parsed = parse_iso(text, p) && valid(p);
    for (std::size_t i = 0; !parsed && i < layouts_.size(); ++i) {
      p = Parsed{};
      parsed = parse_layout(layouts_[i], text, p) && valid(p);
    }
    if (!parsed) {
      if (keep_invalid_) return Ok{};
      return context.fail(target,
                          "the value is not a date or time in ISO 8601 or a layout the "
                          "rule lists");
    }
    const std::string out = format(p, target.fhir_type);
    if (out.empty()) {
      return context.fail(target, "a time without a zone, and the rule names no 'timeZone'");
    }
    if (target.fhir_type == "instant" && p.hour < 0) {
      return context.fail(target, "an instant needs a time; the value has a date only");
    }
    value->SetString(out.c_str(), static_cast<rapidjson::SizeType>(out.size()), context.allocator);
    return Ok{};
  }

 private:
  std::string format(Parsed p, std::string_view fhir_type) const {
    char buffer[64];
    if (p.hour < 0 || fhir_type == "date") {
      if (p.month == 0)
        std::snprintf(buffer, sizeof buffer, "%04d", p.year);
      else if (p.day == 0)
        std::snprintf(buffer, sizeof buffer, "%04d-%02d", p.year, p.month);
      else
        std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", p.year, p.month, p.day);
      return buffer;
    }
    const std::int64_t local = fhirpath::days_from_civil(p.year, p.month, p.day) * 86400 +
                               p.hour * 3600 + p.minute * 60 + p.second;
    int offset_seconds = 0;
    if (p.offset_minutes) {
      offset_seconds = *p.offset_minutes * 60;
    } else if (zone_) {
      offset_seconds = zone_->offset_for_local(local);
    } else {
      return {};
    }
    std::int64_t shown = local;
    if (to_utc_) shown -= offset_seconds;
    const std::int64_t days = shown >= 0 ? shown / 86400 : (shown - 86399) / 86400;
    const std::int64_t secs = shown - days * 86400;
    fhirpath::Temporal day;
    fhirpath::civil_from_days(days, day);
    p.year = day.year;
    p.month = day.month;
    p.day = day.day;
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d", p.year, p.month, p.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
    std::string out = buffer;
    if (!p.fraction.empty()) out += "." + p.fraction;
    out += to_utc_ ? "Z" : offset_text(offset_seconds / 60);
    return out;
  }

  std::optional<TimeZone> zone_;
  std::vector<std::string> layouts_;
  bool to_utc_;
  bool keep_invalid_;
};

}  // namespace

std::unique_ptr<Action> compile_normalize_date(const rapidjson::Value& rule,
                                               const CompileContext& context) {
  const std::size_t errors = context.error_count();
  std::optional<TimeZone> zone;
  auto name = context.string(rule, "timeZone", false);
  // A name the schema's pattern refused (it allows no "..") is not looked up at all.
  if (name && name->find("..") == std::string::npos && name->front() != '/') {
    auto bytes = context.read_file()("/usr/share/zoneinfo/" + *name);
    if (bytes) zone = TimeZone::parse_tzif(*bytes);
    if (!zone) {
      context.error("timeZone",
                    "expected an IANA time zone such as \"Europe/Paris\" (looked in "
                    "/usr/share/zoneinfo; install tzdata)");
    }
  }
  // The schema requires each layout to contain yyyy.
  std::vector<std::string> layouts;
  if (auto m = rule.FindMember("formats"); m != rule.MemberEnd() && m->value.IsArray()) {
    for (const auto& f : m->value.GetArray()) {
      if (f.IsString()) layouts.emplace_back(f.GetString(), f.GetStringLength());
    }
  }
  const bool to_utc = context.boolean(rule, "toUtc").value_or(false);
  const std::string invalid = context.string(rule, "onInvalid", false).value_or("fail");
  if (context.error_count() != errors) return nullptr;
  return std::make_unique<NormalizeDate>(std::move(zone), std::move(layouts), to_utc,
                                         invalid == "keep");
}

}  // namespace fl::mappings::actions
