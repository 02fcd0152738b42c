// The mapping sets shipped in config/mappings/, tested three ways:
//  1. every set compiles without a single diagnostic (what `fhir-ledger map check` runs);
//  2. every golden case under config/mappings/<set>/cases/ gives its expected output, or fails
//     with its expected rule and JSON pointer (convention in mappings/README.md);
//  3. real resources - the vendored Synthea bundles and R4 spec examples - are first rewritten
//     the way each source system sends them ("localized": local codes, OIDs, basic-format local
//     times, lower-case units), then mapped; the mapping must restore the canonical content, and
//     everything it produces must be valid against the FHIR R4 JSON schema.
// The localizers take their code tables from the shipped ConceptMaps, so a new map entry is
// exercised by every real resource that carries its target code.
#include "fl/mappings/canonical_json.h"
#include "fl/mappings/engine.h"
#include "fl/mappings/mapping_set.h"

#include "support/corpus.h"
#include "support/fhir_schema.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kSourceTagSystem =
    "https://fhir-ledger.example/fhir/CodeSystem/source-system";
// What the two source systems send, as their mapping.json files describe it.
constexpr std::string_view kLabCodesOid = "urn:oid:2.999.2.1";
constexpr std::string_view kLabCodesUrl = "https://lab.acme-hospital.example/codes";
constexpr std::string_view kMrnOid = "urn:oid:2.999.1.1";
constexpr std::string_view kMrnUrl = "https://riverside-hospital.example/fhir/sid/mrn";
constexpr std::string_view kVisitOid = "urn:oid:2.999.1.2";
constexpr std::string_view kVisitUrl = "https://riverside-hospital.example/fhir/sid/visit-number";
constexpr std::string_view kSsnOid = "urn:oid:2.16.840.1.113883.4.1";
constexpr std::string_view kSsnUrl = "http://hl7.org/fhir/sid/us-ssn";
constexpr std::string_view kRiversideExtensions =
    "https://adt.riverside-hospital.example/fhir/StructureDefinition/";
constexpr std::string_view kSexSystem = "https://adt.riverside-hospital.example/codes/sex";

const ReadFile kReadFile = [](const std::string& path) -> Result<std::string> {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot open " + path, path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
};

fs::path mappings_root() { return testing::source_root() / "config" / "mappings"; }

std::vector<std::string> mapping_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(mappings_root())) {
    if (entry.is_directory() && fs::exists(entry.path() / "mapping.json")) {
      files.push_back((entry.path() / "mapping.json").string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Compiled once: the catalog is immutable and every test reads it.
const CompiledCatalog& shipped() {
  static const CompiledCatalog compiled = compile_catalog(mapping_files(), kReadFile);
  return compiled;
}

const MappingSet& shipped_set(std::string_view source) {
  const MappingSet* set = shipped().catalog != nullptr ? shipped().catalog->find(source) : nullptr;
  if (set == nullptr) {
    ADD_FAILURE() << "no shipped mapping set " << source;
    std::abort();
  }
  return *set;
}

rapidjson::Document parse_json(const std::string& text, const std::string& what) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << what << ": not JSON at offset " << doc.GetErrorOffset();
  return doc;
}

rapidjson::Document load_json(const fs::path& path) {
  return parse_json(testing::read_file(path), path.string());
}

std::string canonical(const rapidjson::Value& value) {
  auto text = canonicalize(value);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string();
}

std::string_view str(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto m = object.FindMember(name);
  if (m == object.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

void set_str(rapidjson::Value& object, const char* name, std::string_view value,
             rapidjson::Document::AllocatorType& allocator) {
  rapidjson::Value v(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator);
  if (auto m = object.FindMember(name); m != object.MemberEnd()) {
    m->value = v;
  } else {
    object.AddMember(rapidjson::Value(name, allocator), v, allocator);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Compiling

TEST(ShippedMappingSets, EveryMappingFileCompilesWithoutDiagnostics) {
  const std::vector<std::string> files = mapping_files();

  const CompiledCatalog& compiled = shipped();

  std::string problems;
  for (const Diagnostic& d : compiled.diagnostics) problems += to_string(d) + "\n";
  EXPECT_TRUE(compiled.diagnostics.empty()) << problems;
  ASSERT_NE(compiled.catalog, nullptr);
  EXPECT_GE(files.size(), 2u);
  EXPECT_EQ(compiled.catalog->sets().size(), files.size());
  EXPECT_NE(compiled.catalog->find("acme-lab"), nullptr);
  EXPECT_NE(compiled.catalog->find("riverside-adt"), nullptr);
}

// The rule id an engine error names ("mapping rule '<id>': ...").
std::string rule_of(const Error& error) {
  constexpr std::string_view kPrefix = "mapping rule '";
  if (!error.message.starts_with(kPrefix)) return "?";
  const std::size_t end = error.message.find('\'', kPrefix.size());
  return error.message.substr(kPrefix.size(), end - kPrefix.size());
}

// Found while writing the shipped sets: FHIRPath's '|' removes items equal in value, so a
// selector "period.start | period.end" skipped an end equal to its start (and Encounter-emerg's
// equal times across period, statusHistory and location), leaving local times unmapped.
TEST(MappingSelect, EveryOperandOfAUnionIsMappedEvenWhenValuesAreEqual) {
  const std::map<std::string, std::string> files{
      {"m/mapping.json",
       R"J({"id": "m", "version": "1", "source": "m", "resourceTypes": ["Encounter"], "rules": [
          {"id": "times", "action": "normalize-date", "timeZone": "America/New_York",
           "select": "Encounter.period.start | Encounter.period.end | Encounter.location.period.start"}]})J"}};
  const ReadFile read = [&](const std::string& path) -> Result<std::string> {
    if (auto it = files.find(path); it != files.end()) return it->second;
    return kReadFile(path);  // the time zone
  };
  CompiledMappingSet compiled = compile_mapping_set("m/mapping.json", read);
  ASSERT_NE(compiled.set, nullptr);
  rapidjson::Document encounter = parse_json(
      R"J({"resourceType": "Encounter", "status": "finished",
           "period": {"start": "20240105103000", "end": "20240105103000"},
           "location": [{"location": {"display": "ED"}, "period": {"start": "20240105103000"}}]})J",
      "encounter");

  auto applied = compiled.set->apply(encounter, encounter.GetAllocator());

  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(str(encounter["period"], "start"), "2024-01-05T10:30:00-05:00");
  EXPECT_EQ(str(encounter["period"], "end"), "2024-01-05T10:30:00-05:00");
  EXPECT_EQ(str(encounter["location"][0]["period"], "start"), "2024-01-05T10:30:00-05:00");
}

// Found with riverside-adt's marital-status rule (onUnmapped remove): a CodeableConcept whose
// only coding was removed stayed behind as {}, which FHIR forbids (ele-1).
TEST(MappingSelect, ACodeableConceptLeftEmptyByRemovingUnmappedCodesIsRemoved) {
  const MappingSet& adt = shipped_set("riverside-adt");
  rapidjson::Document patient = parse_json(
      R"J({"resourceType": "Patient", "id": "p", "maritalStatus": {"coding": [
           {"system": "https://adt.riverside-hospital.example/codes/marital-status", "code": "CIV"}]}})J",
      "patient");

  auto applied = adt.apply(patient, patient.GetAllocator());

  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE(patient.HasMember("maritalStatus")) << canonical(patient);
}

// ---------------------------------------------------------------------------------------------
// 2. Golden cases: <name>.input.json with either <name>.expected.json (the mapped resource,
// compared after canonicalization) or <name>.error.json ({"rule": id, "where": JSON pointer}:
// the event fails in that rule at that element).

struct GoldenCase {
  std::string source;
  fs::path input;
  std::optional<fs::path> expected;
  std::optional<fs::path> error;
};

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const std::string& file : mapping_files()) {
    const fs::path folder = fs::path(file).parent_path();
    if (!fs::exists(folder / "cases")) continue;
    for (const auto& entry : fs::directory_iterator(folder / "cases")) {
      const std::string name = entry.path().filename().string();
      constexpr std::string_view kSuffix = ".input.json";
      if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
      const std::string stem = name.substr(0, name.size() - kSuffix.size());
      GoldenCase c{folder.filename().string(), entry.path(), std::nullopt, std::nullopt};
      if (fs::exists(folder / "cases" / (stem + ".expected.json"))) {
        c.expected = folder / "cases" / (stem + ".expected.json");
      }
      if (fs::exists(folder / "cases" / (stem + ".error.json"))) {
        c.error = folder / "cases" / (stem + ".error.json");
      }
      cases.push_back(std::move(c));
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const GoldenCase& a, const GoldenCase& b) { return a.input < b.input; });
  return cases;
}

TEST(ShippedMappingSets, EverySetHasAtLeastThreeGoldenCasesAndOneThatFails) {
  std::map<std::string, std::pair<int, int>> per_set;  // source -> (cases, failing cases)
  for (const std::string& file : mapping_files()) {
    per_set[fs::path(file).parent_path().filename().string()];
  }

  for (const GoldenCase& c : golden_cases()) {
    ++per_set[c.source].first;
    if (c.error) ++per_set[c.source].second;
  }

  for (const auto& [source, counts] : per_set) {
    EXPECT_GE(counts.first, 3) << source;
    EXPECT_GE(counts.second, 1) << source;
  }
}

TEST(ShippedMappingSets, GoldenCasesGiveTheirExpectedOutputOrError) {
  ASSERT_NE(shipped().catalog, nullptr);
  int checked = 0;

  for (const GoldenCase& c : golden_cases()) {
    SCOPED_TRACE(c.input.string());
    const MappingSet& set = shipped_set(c.source);
    rapidjson::Document resource = load_json(c.input);

    auto applied = set.apply(resource, resource.GetAllocator());

    // A new case starts with its input alone: the failure shows what the set makes of it, to be
    // checked by hand and saved as the expected file.
    if (c.expected.has_value() == c.error.has_value()) {
      ADD_FAILURE() << "a case needs exactly one of <name>.expected.json and <name>.error.json; "
                    << "the set gives "
                    << (applied ? canonical(resource)
                                : rule_of(applied.error()) + " at \"" + applied.error().where +
                                      "\": " + applied.error().message);
      continue;
    }

    if (c.error) {
      const rapidjson::Document error = load_json(*c.error);
      ASSERT_FALSE(applied) << "mapped to " << canonical(resource);
      EXPECT_EQ(applied.error().code, ErrorCode::kInvalidInput);
      const std::string rule(str(error, "rule"));
      EXPECT_TRUE(applied.error().message.starts_with("mapping rule '" + rule + "': "))
          << applied.error().message;
      EXPECT_EQ(applied.error().where, str(error, "where")) << applied.error().message;
    } else {
      ASSERT_TRUE(applied) << applied.error().message << " at " << applied.error().where;
      const rapidjson::Document expected = load_json(*c.expected);
      EXPECT_EQ(canonical(resource), canonical(expected));
      // The gateway may see an event twice (re-delivery); mapping a mapped resource again
      // must change nothing.
      auto again = set.apply(resource, resource.GetAllocator());
      ASSERT_TRUE(again) << again.error().message;
      EXPECT_EQ(canonical(resource), canonical(expected)) << "mapping twice changed the result";
    }
    ++checked;
  }

  EXPECT_GE(checked, 6);
}

// ---------------------------------------------------------------------------------------------
// 3. Real resources through what the source systems send.

// Date and time helpers. The source systems' clocks are New York local time; libc's tz code
// (TZ=America/New_York) turns instants into that wall-clock time independently of the engine.
void use_new_york_time() {
  static const bool done = [] {
    setenv("TZ", "America/New_York", 1);
    tzset();
    return true;
  }();
  (void)done;
}

struct Instant {
  std::int64_t seconds = 0;  // since the epoch, UTC
  std::string fraction;      // digits after the point
};

// A FHIR dateTime or instant with a time and an offset; nullopt for anything else.
std::optional<Instant> parse_instant(std::string_view text) {
  std::tm tm{};
  int offset_h = 0, offset_m = 0;
  char sign = 0;
  if (text.size() < 20) return std::nullopt;
  if (std::sscanf(std::string(text.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  std::size_t at = 19;
  Instant out;
  if (text[at] == '.') {
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') out.fraction += text[at++];
  }
  const std::string_view zone = text.substr(at);
  if (zone != "Z") {
    if (zone.size() != 6 ||
        std::sscanf(std::string(zone).c_str(), "%c%2d:%2d", &sign, &offset_h, &offset_m) != 3) {
      return std::nullopt;
    }
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const int offset = (sign == '-' ? -1 : 1) * (offset_h * 3600 + offset_m * 60);
  out.seconds = static_cast<std::int64_t>(timegm(&tm)) - offset;
  return out;
}

// What the source system sends for a FHIR date or dateTime: the basic ISO form in New York
// local time without a zone ("20240105103000"), or the date digits alone.
std::string to_local_basic(std::string_view fhir) {
  auto instant = parse_instant(fhir);
  if (!instant) {
    std::string digits;
    for (char c : fhir) {
      if (c != '-') digits += c;
    }
    return digits;
  }
  use_new_york_time();
  const std::time_t t = static_cast<std::time_t>(instant->seconds);
  std::tm local{};
  localtime_r(&t, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d%H%M%S", &local);
  std::string out = buffer;
  if (!instant->fraction.empty()) out += "." + instant->fraction;
  return out;
}

struct DateCheck {
  int same_instant = 0;
  int ambiguous = 0;  // sent in the repeated hour when clocks go back: either reading is right
};

// The mapped value must say the same as the original: the same instant with an offset, or the
// same date when there was no time.
void expect_same_moment(std::string_view original, std::string_view sent, std::string_view mapped,
                        const std::string& where, DateCheck& check) {
  auto before = parse_instant(original);
  if (!before) {
    EXPECT_EQ(mapped, original) << where;
    return;
  }
  auto after = parse_instant(mapped);
  ASSERT_TRUE(after) << where << ": not a time with an offset: " << mapped;
  EXPECT_EQ(after->fraction, before->fraction) << where;
  if (after->seconds == before->seconds) {
    ++check.same_instant;
    return;
  }
  EXPECT_EQ(to_local_basic(mapped), sent)
      << where << ": " << original << " came back as " << mapped;
  EXPECT_EQ(std::abs(after->seconds - before->seconds), 3600) << where;
  ++check.ambiguous;
}

// Every resource of the vendored Synthea bundles and R4 spec examples.
struct RealResource {
  std::string origin;  // file (and entry) it came from
  rapidjson::Document json;
};

std::vector<RealResource> real_resources() {
  std::vector<RealResource> out;
  std::vector<fs::path> files;
  for (const char* folder : {"synthea", "fhir-examples/spec-r4"}) {
    for (const auto& entry : fs::directory_iterator(testing::corpus_path(folder))) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    rapidjson::Document doc = load_json(file);
    if (str(doc, "resourceType") != "Bundle") {
      out.push_back({file.filename().string(), std::move(doc)});
      continue;
    }
    const rapidjson::Value& entries = doc["entry"];
    for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
      RealResource r{file.filename().string() + "#entry/" + std::to_string(i), {}};
      r.json.CopyFrom(entries[i]["resource"], r.json.GetAllocator());
      out.push_back(std::move(r));
    }
  }
  return out;
}

// (target system, target code) -> (source system, source code), for the targets a ConceptMap
// lists as equivalent or equal: the codes a source system sends for a canonical one.
using InverseMap =
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>>;

void add_inverse(const fs::path& concept_map, InverseMap& inverse) {
  const rapidjson::Document map = load_json(concept_map);
  for (const auto& group : map["group"].GetArray()) {
    const std::string source(str(group, "source"));
    const std::string target(str(group, "target"));
    if (!group.HasMember("element")) continue;
    for (const auto& element : group["element"].GetArray()) {
      if (!element.HasMember("target")) continue;
      for (const auto& t : element["target"].GetArray()) {
        const std::string_view equivalence = str(t, "equivalence");
        if (equivalence != "equivalent" && equivalence != "equal") continue;
        inverse.emplace(std::pair{target, std::string(str(t, "code"))},
                        std::pair{source, std::string(str(element, "code"))});
      }
    }
  }
}

bool has_coding(const rapidjson::Value& codings, std::string_view system, std::string_view code) {
  if (!codings.IsArray()) return false;
  return std::any_of(codings.Begin(), codings.End(), [&](const rapidjson::Value& c) {
    return str(c, "system") == system && str(c, "code") == code;
  });
}

bool has_tag(const rapidjson::Value& resource, const char* list, std::string_view system,
             std::string_view code) {
  if (!resource.HasMember("meta") || !resource["meta"].HasMember(list)) return false;
  return has_coding(resource["meta"][list], system, code);
}

std::string compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

struct SetReport {
  int sent = 0;
  int mapped = 0;
  std::map<std::string, int> dead_lettered;  // by rule id
  DateCheck dates;
};

// -- acme-lab --------------------------------------------------------------------------------

struct LabSent {
  std::optional<std::string> expected_rule;  // the rule that must fail the event, if any
  std::string expected_where;
};

// Rewrites a canonical lab result the way ACME's LIS sends it. LOINC codes the ConceptMap maps
// as equivalent become the local code; other LOINC codes become a local code the map does not
// list (a test the lab added without telling anyone), which must dead-letter.
LabSent localize_lab(rapidjson::Document& r, const InverseMap& inverse) {
  auto& a = r.GetAllocator();
  LabSent out;
  const bool complete = r.HasMember("subject") &&
                        (r.HasMember("effectiveDateTime") || r.HasMember("effectivePeriod") ||
                         r.HasMember("effectiveInstant") || r.HasMember("effectiveTiming"));
  if (!complete) out.expected_rule = "require-subject-and-time";
  rapidjson::Value& codings = r["code"]["coding"];
  for (rapidjson::SizeType i = 0; i < codings.Size(); ++i) {
    if (str(codings[i], "system") != kLoinc) continue;
    const std::string loinc(str(codings[i], "code"));
    auto local = inverse.find({std::string(kLoinc), loinc});
    if (local == inverse.end() && !out.expected_rule) {
      out.expected_rule = "code-to-loinc";
      out.expected_where = "/code/coding/" + std::to_string(i);
    }
    set_str(codings[i], "system", kLabCodesOid, a);
    set_str(codings[i], "code", local != inverse.end() ? local->second.second : "T" + loinc, a);
  }
  if (str(r, "status") == "final") r.RemoveMember("status");
  auto local_unit = [&](rapidjson::Value& q) {
    if (!q.IsObject() || str(q, "system") != kUcum || str(q, "code").empty()) return;
    std::string unit(str(q, "code"));
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    set_str(q, "unit", unit, a);
    q.RemoveMember("system");
    q.RemoveMember("code");
  };
  if (r.HasMember("valueQuantity")) local_unit(r["valueQuantity"]);
  if (r.HasMember("referenceRange")) {
    for (auto& range : r["referenceRange"].GetArray()) {
      if (range.HasMember("low")) local_unit(range["low"]);
      if (range.HasMember("high")) local_unit(range["high"]);
    }
  }
  auto local_time = [&](rapidjson::Value& holder, const char* name) {
    if (holder.IsObject() && !str(holder, name).empty()) {
      set_str(holder, name, to_local_basic(str(holder, name)), a);
    }
  };
  local_time(r, "effectiveDateTime");
  local_time(r, "issued");
  if (r.HasMember("effectivePeriod")) {
    local_time(r["effectivePeriod"], "start");
    local_time(r["effectivePeriod"], "end");
  }
  return out;
}

void expect_lab_restored(const rapidjson::Value& original, const rapidjson::Value& sent,
                         const rapidjson::Value& mapped, const std::string& origin,
                         DateCheck& dates) {
  SCOPED_TRACE(origin);
  const rapidjson::Value& codings = mapped["code"]["coding"];
  for (const auto& c : original["code"]["coding"].GetArray()) {
    if (str(c, "system") == kLoinc) {
      EXPECT_TRUE(has_coding(codings, kLoinc, str(c, "code"))) << compact(mapped["code"]);
    }
  }
  for (const auto& c : codings.GetArray()) {
    EXPECT_FALSE(str(c, "system").starts_with("urn:oid:")) << compact(c);
  }
  EXPECT_TRUE(std::any_of(codings.Begin(), codings.End(),
                          [](const auto& c) { return str(c, "system") == kLabCodesUrl; }));
  EXPECT_EQ(str(mapped, "status"), str(original, "status"));
  if (original.HasMember("valueQuantity") && str(original["valueQuantity"], "system") == kUcum) {
    const rapidjson::Value& q = mapped["valueQuantity"];
    EXPECT_EQ(str(q, "system"), kUcum);
    EXPECT_EQ(str(q, "code"), str(original["valueQuantity"], "code"));
    EXPECT_EQ(q["value"], original["valueQuantity"]["value"]);
  }
  for (const char* name : {"effectiveDateTime", "issued"}) {
    if (original.HasMember(name)) {
      expect_same_moment(str(original, name), str(sent, name), str(mapped, name), name, dates);
    }
  }
  if (original.HasMember("effectivePeriod")) {
    for (const char* name : {"start", "end"}) {
      if (!original["effectivePeriod"].HasMember(name)) continue;
      expect_same_moment(str(original["effectivePeriod"], name), str(sent["effectivePeriod"], name),
                         str(mapped["effectivePeriod"], name), std::string("period.") + name,
                         dates);
    }
  }
  EXPECT_TRUE(has_tag(mapped, "tag", kSourceTagSystem, "acme-lab"));
}

bool has_loinc_code(const rapidjson::Value& r) {
  const std::string_view type = str(r, "resourceType");
  if (type != "Observation" && type != "DiagnosticReport") return false;
  if (!r.HasMember("code") || !r["code"].HasMember("coding")) return false;
  const rapidjson::Value& codings = r["code"]["coding"];
  return std::any_of(codings.Begin(), codings.End(),
                     [](const auto& c) { return str(c, "system") == kLoinc; });
}

// -- riverside-adt ---------------------------------------------------------------------------

const std::map<std::string, std::string, std::less<>> kGenderLetter{
    {"male", "M"}, {"female", "F"}, {"other", "O"}, {"unknown", "U"}};

bool is_mrn(const rapidjson::Value& identifier) {
  if (!identifier.HasMember("type") || !identifier["type"].HasMember("coding")) return false;
  return has_coding(identifier["type"]["coding"], "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "MR");
}

rapidjson::Value extension(std::string_view name, rapidjson::Value value, const char* value_name,
                           rapidjson::Document::AllocatorType& a) {
  rapidjson::Value ext(rapidjson::kObjectType);
  const std::string url = std::string(kRiversideExtensions) + std::string(name);
  ext.AddMember("url", rapidjson::Value(url.c_str(), a), a);
  ext.AddMember(rapidjson::Value(value_name, a), value, a);
  return ext;
}

void add_extension(rapidjson::Value& resource, rapidjson::Value ext,
                   rapidjson::Document::AllocatorType& a) {
  if (!resource.HasMember("extension")) {
    resource.AddMember("extension", rapidjson::Value(rapidjson::kArrayType), a);
  }
  resource["extension"].PushBack(ext, a);
}

// Rewrites a canonical Patient or Encounter the way Riverside's ADT sends it. `n` varies what
// is sent across resources: every other Patient uses the old "birthdate" spelling, every third
// is flagged VIP.
void localize_adt(rapidjson::Document& r, int n, const InverseMap& inverse) {
  auto& a = r.GetAllocator();
  const bool patient = str(r, "resourceType") == "Patient";
  if (r.HasMember("identifier")) {
    for (auto& id : r["identifier"].GetArray()) {
      if (str(id, "system") == kSsnUrl) {
        set_str(id, "system", kSsnOid, a);
      } else if (patient && is_mrn(id)) {
        set_str(id, "system", kMrnOid, a);
      } else if (!patient) {
        set_str(id, "system", kVisitOid, a);
      }
    }
  }
  auto local_time = [&](rapidjson::Value& holder, const char* name) {
    if (holder.IsObject() && !str(holder, name).empty()) {
      set_str(holder, name, to_local_basic(str(holder, name)), a);
    }
  };
  auto local_coding = [&](rapidjson::Value& coding) {
    auto local =
        inverse.find({std::string(str(coding, "system")), std::string(str(coding, "code"))});
    if (local == inverse.end()) return;
    set_str(coding, "system", local->second.first, a);
    set_str(coding, "code", local->second.second, a);
  };
  if (patient) {
    if (auto g = kGenderLetter.find(str(r, "gender")); g != kGenderLetter.end()) {
      set_str(r, "gender", g->second, a);
    }
    if (r.HasMember("maritalStatus") && r["maritalStatus"].HasMember("coding")) {
      for (auto& c : r["maritalStatus"]["coding"].GetArray()) local_coding(c);
    }
    local_time(r, "birthDate");
    local_time(r, "deceasedDateTime");
    if (n % 2 == 1) {
      for (const char* name : {"birthDate", "_birthDate"}) {
        auto m = r.FindMember(name);
        if (m != r.MemberEnd()) m->name.SetString(name[0] == '_' ? "_birthdate" : "birthdate", a);
      }
    }
    add_extension(r, extension("vip", rapidjson::Value(n % 3 == 0), "valueBoolean", a), a);
  } else {
    local_coding(r["class"]);
    if (r.HasMember("period")) {
      local_time(r["period"], "start");
      local_time(r["period"], "end");
    }
    for (const char* list : {"statusHistory", "classHistory", "location", "participant"}) {
      if (!r.HasMember(list)) continue;
      for (auto& item : r[list].GetArray()) {
        if (item.HasMember("period")) {
          local_time(item["period"], "start");
          local_time(item["period"], "end");
        }
        if (std::string_view(list) == "classHistory") local_coding(item["class"]);
      }
    }
  }
  add_extension(r, extension("bed-board-status", rapidjson::Value("clean", a), "valueString", a),
                a);
}

void expect_adt_restored(const rapidjson::Value& original, const rapidjson::Document& sent,
                         const rapidjson::Value& mapped, int n, const std::string& origin,
                         DateCheck& dates) {
  SCOPED_TRACE(origin);
  const bool patient = str(original, "resourceType") == "Patient";
  if (original.HasMember("identifier")) {
    const auto& before = original["identifier"];
    const auto& after = mapped["identifier"];
    ASSERT_EQ(after.Size(), before.Size());
    for (rapidjson::SizeType i = 0; i < before.Size(); ++i) {
      const std::string_view system = str(after[i], "system");
      EXPECT_NE(system, kSsnOid);
      EXPECT_NE(system, kMrnOid);
      EXPECT_NE(system, kVisitOid);
      if (str(before[i], "system") == kSsnUrl) {
        EXPECT_EQ(system, kSsnUrl);
      } else if (patient && is_mrn(before[i])) {
        EXPECT_EQ(system, kMrnUrl);
      } else if (!patient) {
        EXPECT_EQ(system, kVisitUrl);
      } else {
        EXPECT_EQ(system, str(before[i], "system"));
      }
      EXPECT_EQ(str(after[i], "value"), str(before[i], "value"));
    }
  }
  if (mapped.HasMember("extension")) {
    for (const auto& ext : mapped["extension"].GetArray()) {
      EXPECT_FALSE(str(ext, "url").starts_with(kRiversideExtensions)) << compact(ext);
    }
  }
  EXPECT_TRUE(has_tag(mapped, "tag", kSourceTagSystem, "riverside-adt"));
  if (patient) {
    EXPECT_EQ(str(mapped, "gender"), str(original, "gender"));
    EXPECT_EQ(str(mapped, "birthDate"), str(original, "birthDate"));
    EXPECT_FALSE(mapped.HasMember("birthdate"));
    EXPECT_EQ(mapped.HasMember("_birthDate"), original.HasMember("_birthDate"));
    if (original.HasMember("deceasedDateTime")) {
      expect_same_moment(str(original, "deceasedDateTime"), str(sent, "deceasedDateTime"),
                         str(mapped, "deceasedDateTime"), "deceasedDateTime", dates);
    }
    if (original.HasMember("maritalStatus") && original["maritalStatus"].HasMember("coding")) {
      for (const auto& c : original["maritalStatus"]["coding"].GetArray()) {
        EXPECT_TRUE(has_coding(mapped["maritalStatus"]["coding"], str(c, "system"), str(c, "code")))
            << compact(mapped["maritalStatus"]);
      }
    }
    EXPECT_EQ(has_tag(mapped, "security",
                      "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R"),
              n % 3 == 0);
    return;
  }
  EXPECT_EQ(str(mapped["class"], "system"), str(original["class"], "system"));
  EXPECT_EQ(str(mapped["class"], "code"), str(original["class"], "code"));
  auto period_check = [&](const rapidjson::Value& before, const rapidjson::Value& was_sent,
                          const rapidjson::Value& after, const std::string& where) {
    for (const char* name : {"start", "end"}) {
      if (!before.HasMember(name)) continue;
      expect_same_moment(str(before, name), str(was_sent, name), str(after, name),
                         where + "." + name, dates);
    }
  };
  if (original.HasMember("period")) {
    period_check(original["period"], sent["period"], mapped["period"], "period");
  }
  for (const char* list : {"statusHistory", "classHistory", "location", "participant"}) {
    if (!original.HasMember(list)) continue;
    for (rapidjson::SizeType i = 0; i < original[list].Size(); ++i) {
      if (!original[list][i].HasMember("period")) continue;
      period_check(original[list][i]["period"], sent[list][i]["period"], mapped[list][i]["period"],
                   std::string(list) + "/" + std::to_string(i));
    }
  }
}

TEST(ShippedMappingSets, RealResourcesSentTheSourceSystemsWayComeBackCanonicalAndValidR4) {
  ASSERT_NE(shipped().catalog, nullptr);
  const MappingSet& lab = shipped_set("acme-lab");
  const MappingSet& adt = shipped_set("riverside-adt");
  InverseMap lab_codes;
  add_inverse(mappings_root() / "acme-lab" / "conceptmaps" / "acme-lab-to-loinc.json", lab_codes);
  InverseMap adt_codes;
  for (const char* map : {"riverside-marital-status.json", "riverside-patient-class.json"}) {
    add_inverse(mappings_root() / "riverside-adt" / "conceptmaps" / map, adt_codes);
  }
  std::vector<std::string> outputs;  // every mapped resource, validated in one batch
  std::vector<std::string> output_origins;
  SetReport lab_report, adt_report;
  int adt_index = 0;

  for (RealResource& real : real_resources()) {
    const std::string_view type = str(real.json, "resourceType");
    if (has_loinc_code(real.json)) {
      rapidjson::Document sent;
      sent.CopyFrom(real.json, sent.GetAllocator());
      const LabSent expectation = localize_lab(sent, lab_codes);
      rapidjson::Document mapped;
      mapped.CopyFrom(sent, mapped.GetAllocator());
      ++lab_report.sent;

      auto applied = lab.apply(mapped, mapped.GetAllocator());

      if (expectation.expected_rule) {
        ASSERT_FALSE(applied) << real.origin << " should dead-letter in "
                              << *expectation.expected_rule;
        EXPECT_EQ(rule_of(applied.error()), *expectation.expected_rule)
            << real.origin << ": " << applied.error().message;
        EXPECT_EQ(applied.error().where, expectation.expected_where) << real.origin;
        ++lab_report.dead_lettered[rule_of(applied.error())];
        continue;
      }
      ASSERT_TRUE(applied) << real.origin << ": " << applied.error().message << " at "
                           << applied.error().where;
      expect_lab_restored(real.json, sent, mapped, real.origin, lab_report.dates);
      ++lab_report.mapped;
      outputs.push_back(compact(mapped));
      output_origins.push_back("acme-lab " + real.origin);
    } else if (type == "Patient" || type == "Encounter") {
      const int n = adt_index++;
      rapidjson::Document sent;
      sent.CopyFrom(real.json, sent.GetAllocator());
      localize_adt(sent, n, adt_codes);
      rapidjson::Document mapped;
      mapped.CopyFrom(sent, mapped.GetAllocator());
      ++adt_report.sent;

      auto applied = adt.apply(mapped, mapped.GetAllocator());

      ASSERT_TRUE(applied) << real.origin << ": " << applied.error().message << " at "
                           << applied.error().where;
      expect_adt_restored(real.json, sent, mapped, n, real.origin, adt_report.dates);
      ++adt_report.mapped;
      outputs.push_back(compact(mapped));
      output_origins.push_back("riverside-adt " + real.origin);
    }
  }
  // The golden cases' expected outputs must be valid R4 too; they ride in the same batch.
  for (const GoldenCase& c : golden_cases()) {
    if (!c.expected) continue;
    outputs.push_back(compact(load_json(*c.expected)));
    output_origins.push_back(c.expected->string());
  }
  auto verdicts = testing::validate_fhir_r4(outputs);

  ASSERT_TRUE(verdicts) << verdicts.error().message;
  ASSERT_EQ(verdicts->size(), outputs.size());
  int valid = 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_TRUE((*verdicts)[i].valid) << output_origins[i] << ": " << to_string((*verdicts)[i]);
    valid += (*verdicts)[i].valid ? 1 : 0;
  }
  // Enough real data went through each set for the test to mean something.
  EXPECT_GE(lab_report.mapped, 40);
  EXPECT_GE(lab_report.dead_lettered["code-to-loinc"], 1);
  EXPECT_GE(adt_report.mapped, 50);
  for (const auto& [name, report] :
       {std::pair{"acme-lab", &lab_report}, std::pair{"riverside-adt", &adt_report}}) {
    std::string dead;
    for (const auto& [rule, count] : report->dead_lettered) {
      dead += " " + rule + "=" + std::to_string(count);
    }
    std::printf(
        "[ shipped  ] %s: %d real resources sent, %d mapped, dead-lettered:%s; times: %d same "
        "instant, %d ambiguous local times\n",
        name, report->sent, report->mapped, dead.empty() ? " none" : dead.c_str(),
        report->dates.same_instant, report->dates.ambiguous);
    RecordProperty(std::string(name) + "_sent", report->sent);
    RecordProperty(std::string(name) + "_mapped", report->mapped);
  }
  std::printf("[ shipped  ] FHIR R4 schema: %d of %zu mapped resources and golden outputs valid\n",
              valid, outputs.size());
  RecordProperty("schema_valid", valid);
}

}  // namespace
}  // namespace fl::mappings
