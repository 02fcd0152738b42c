// The mapping-set engine on small hand-written sets: each action's behaviour, the rule
// machinery (resourceTypes, when, select, required), the preview's change list, and compile
// errors reported all at once with file and JSON pointer. Files are served from memory.
#include "fl/mappings/mapping_set.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>

namespace fl::mappings {
namespace {

constexpr const char* kLabMap = R"({
  "resourceType": "ConceptMap", "url": "https://acme.example/cm/lab", "status": "active",
  "group": [{
    "source": "https://acme.example/lab", "target": "http://loinc.org",
    "element": [
      {"code": "GLU", "target": [{"code": "2345-7", "display": "Glucose", "equivalence": "equivalent"}]},
      {"code": "K", "target": [{"code": "2823-3", "equivalence": "wider"}]},
      {"code": "NARROW", "target": [{"code": "1111-1", "equivalence": "narrower"}]},
      {"code": "NONE", "target": [{"equivalence": "unmatched"}]},
      {"code": "COND", "target": [{"code": "2222-2", "equivalence": "equal",
                                   "dependsOn": [{"property": "specimen", "value": "urine"}]}]}
    ]
  }]
})";

constexpr const char* kGenderMap = R"({
  "resourceType": "ConceptMap", "url": "https://acme.example/cm/gender", "status": "active",
  "group": [{
    "source": "https://acme.example/gender", "target": "http://hl7.org/fhir/administrative-gender",
    "element": [
      {"code": "M", "target": [{"code": "male", "equivalence": "equal"}]},
      {"code": "F", "target": [{"code": "female", "equivalence": "equal"}]}
    ],
    "unmapped": {"mode": "fixed", "code": "unknown"}
  }]
})";

class MappingSetTest : public ::testing::Test {
 protected:
  // A set with the given rules (a JSON array) for Patient and Observation.
  CompiledMappingSet compile(const std::string& rules) {
    files["/cfg/acme/mapping.json"] =
        R"({"id": "acme", "version": "1", "source": "acme",
            "resourceTypes": ["Patient", "Observation"],
            "conceptMaps": ["conceptmaps/lab.json", "conceptmaps/gender.json"],
            "rules": )" +
        rules + "}";
    files["/cfg/acme/conceptmaps/lab.json"] = kLabMap;
    files["/cfg/acme/conceptmaps/gender.json"] = kGenderMap;
    return compile_mapping_set("/cfg/acme/mapping.json", reader(), "acme");
  }

  ReadFile reader() {
    return [this](const std::string& path) -> Result<std::string> {
      if (path.starts_with("/usr/share/zoneinfo/")) {
        // The system's tzdata, read for real: the zone rules are third-party data.
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) return Error{ErrorCode::kNotFound, "no such zone", path};
        std::string bytes;
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) {
          bytes.append(buffer, n);
        }
        std::fclose(f);
        return bytes;
      }
      auto it = files.find(path);
      if (it == files.end()) return Error{ErrorCode::kNotFound, "no such file", path};
      return it->second;
    };
  }

  // Compiles `rules`, maps `resource` and returns the result as compact JSON (or the error).
  std::string map(const std::string& rules, const std::string& resource) {
    auto compiled = compile(rules);
    if (!compiled.set) {
      std::string out = "COMPILE:";
      for (const auto& d : compiled.diagnostics) out += " " + to_string(d);
      return out;
    }
    rapidjson::Document doc;
    doc.Parse(resource.c_str());
    auto applied = compiled.set->apply(doc, doc.GetAllocator());
    if (!applied) return "ERROR: " + applied.error().message + " @" + applied.error().where;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    return buffer.GetString();
  }

  std::map<std::string, std::string> files;
};

// --- translate-code ---

TEST_F(MappingSetTest, TranslateAddsTheLoincCodingBesideTheLocalOne) {
  const std::string out = map(
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code",
           "conceptMap": "https://acme.example/cm/lab"}])J",
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"GLU"}]}})");

  EXPECT_EQ(
      out,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"GLU"},)"
      R"({"system":"http://loinc.org","code":"2345-7","display":"Glucose"}]}})");
}

TEST_F(MappingSetTest, TranslateReplaceOverwritesTheSelectedCoding) {
  const std::string out = map(
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code.coding",
           "conceptMap": "https://acme.example/cm/lab", "result": "replace"}])J",
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","version":"3","code":"K","display":"Kalium"}]}})");

  EXPECT_EQ(
      out,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]}})");
}

TEST_F(MappingSetTest, NarrowerTargetsAreNotUsedUnlessTheRuleAcceptsThem) {
  const std::string obs =
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"NARROW"}]}})";

  const std::string strict = map(
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code",
           "conceptMap": "https://acme.example/cm/lab", "onUnmapped": "fail"}])J",
      obs);
  const std::string lenient = map(
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code",
           "conceptMap": "https://acme.example/cm/lab", "accept": ["equivalent", "narrower"]}])J",
      obs);

  EXPECT_EQ(strict,
            "ERROR: mapping rule 'loinc': a code of system 'https://acme.example/lab' has no "
            "accepted translation in ConceptMap https://acme.example/cm/lab @/code/coding/0");
  EXPECT_NE(lenient.find(R"("code":"1111-1")"), std::string::npos) << lenient;
}

TEST_F(MappingSetTest, UnmatchedAndConditionalTargetsCountAsUnmapped) {
  const std::string rules =
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code",
           "conceptMap": "https://acme.example/cm/lab", "onUnmapped": "remove"}])J";

  const std::string none = map(
      rules,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"NONE"},{"system":"http://other","code":"x"}]}})");
  const std::string conditional = map(
      rules,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"COND"}],"text":"t"}})");

  EXPECT_EQ(
      none,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"http://other","code":"x"}]}})");
  EXPECT_EQ(conditional, R"({"resourceType":"Observation","id":"o","code":{"text":"t"}})");
}

TEST_F(MappingSetTest, TranslateMapsABareCodeAndTheGroupsFixedUnmappedCode) {
  const std::string rules =
      R"J([{"id": "gender", "action": "translate-code", "select": "Patient.gender",
           "conceptMap": "https://acme.example/cm/gender",
           "sourceSystem": "https://acme.example/gender"}])J";

  EXPECT_EQ(map(rules, R"({"resourceType":"Patient","id":"p","gender":"F"})"),
            R"({"resourceType":"Patient","id":"p","gender":"female"})");
  EXPECT_EQ(map(rules, R"({"resourceType":"Patient","id":"p","gender":"X"})"),
            R"({"resourceType":"Patient","id":"p","gender":"unknown"})");
}

TEST_F(MappingSetTest, TranslatingTwiceChangesNothingMore) {
  const std::string rules =
      R"J([{"id": "a", "action": "translate-code", "select": "Observation.code", "conceptMap": "https://acme.example/cm/lab"},
          {"id": "b", "action": "translate-code", "select": "Observation.code", "conceptMap": "https://acme.example/cm/lab"}])J";

  const std::string out = map(
      rules,
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"GLU"}]}})");

  EXPECT_EQ(out.find("2345-7"), out.rfind("2345-7")) << out;
}

// --- set, copy, remove, rename ---

TEST_F(MappingSetTest, SetReplacesOnlyIfAbsentOrAppendsOnce) {
  const std::string rules =
      R"J([{"id": "status", "action": "set", "resourceTypes": ["Observation"], "element": "status", "value": "final", "mode": "ifAbsent"},
          {"id": "source", "action": "set", "element": "meta.source", "value": "urn:acme"},
          {"id": "cat", "action": "set", "resourceTypes": ["Observation"], "element": "category", "mode": "append",
           "value": {"text": "lab"}},
          {"id": "cat-again", "action": "set", "resourceTypes": ["Observation"], "element": "category", "mode": "append",
           "value": {"text": "lab"}}])J";

  EXPECT_EQ(
      map(rules, R"({"resourceType":"Observation","id":"o","status":"preliminary"})"),
      R"({"resourceType":"Observation","id":"o","status":"preliminary","meta":{"source":"urn:acme"},"category":[{"text":"lab"}]})");
  EXPECT_EQ(map(rules, R"({"resourceType":"Patient","id":"p"})"),
            R"({"resourceType":"Patient","id":"p","meta":{"source":"urn:acme"}})");
}

TEST_F(MappingSetTest, CopyWritesWhatAnExpressionGivesOnEachSelectedElement) {
  const std::string out = map(
      R"J([{"id": "issued", "action": "copy", "select": "Observation", "from": "effective.ofType(dateTime)",
           "element": "issued", "mode": "ifAbsent"},
          {"id": "names", "action": "copy", "select": "Observation.component", "from": "code.coding.code",
           "element": "code.text"}])J",
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-01-05T10:00:00Z",)"
      R"("component":[{"code":{"coding":[{"code":"a"}]}},{"code":{"coding":[{"code":"b"}]}}]})");

  EXPECT_EQ(
      out,
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-01-05T10:00:00Z",)"
      R"("component":[{"code":{"coding":[{"code":"a"}],"text":"a"}},{"code":{"coding":[{"code":"b"}],"text":"b"}}],)"
      R"("issued":"2024-01-05T10:00:00Z"})");
}

TEST_F(MappingSetTest, RemoveKeepsAPrimitiveListAndItsExtensionsAligned) {
  const std::string out = map(
      R"J([{"id": "drop", "action": "remove", "select": "Patient.name.given.where($this.startsWith('X'))"}])J",
      R"({"resourceType":"Patient","id":"p","name":[{"given":["Xa","Bo","Xc"],)"
      R"("_given":[{"id":"1"},{"id":"2"},{"id":"3"}]}]})");

  EXPECT_EQ(
      out,
      R"({"resourceType":"Patient","id":"p","name":[{"given":["Bo"],"_given":[{"id":"2"}]}]})");
}

TEST_F(MappingSetTest, RemoveDropsAListItLeavesEmptyAndRefusesTheId) {
  EXPECT_EQ(map(R"J([{"id": "drop", "action": "remove", "select": "Patient.extension"}])J",
                R"({"resourceType":"Patient","id":"p","extension":[{"url":"a"},{"url":"b"}]})"),
            R"({"resourceType":"Patient","id":"p"})");
  EXPECT_EQ(map(R"J([{"id": "drop", "action": "remove", "select": "Patient.id"}])J",
                R"({"resourceType":"Patient","id":"p"})"),
            "ERROR: mapping rule 'drop': cannot remove the resource's type or id @/id");
}

TEST_F(MappingSetTest, RenameMovesAMemberTheModelDoesNotKnowWithItsTwin) {
  EXPECT_EQ(
      map(R"J([{"id": "fix", "action": "rename", "from": "birthdate", "to": "birthDate"}])J",
          R"({"resourceType":"Patient","id":"p","birthdate":"1980","_birthdate":{"id":"x"}})"),
      R"({"resourceType":"Patient","id":"p","birthDate":"1980","_birthDate":{"id":"x"}})");
}

// --- normalize-system ---

TEST_F(MappingSetTest, SystemsTableAndWellKnownOidsBecomeUrls) {
  const std::string out = map(
      R"J([{"id": "oids", "action": "normalize-system", "select": "Patient.identifier | Patient.maritalStatus",
           "systems": {"urn:oid:1.2.3.4": "https://acme.example/mrn"}}])J",
      R"({"resourceType":"Patient","id":"p","identifier":[{"system":"urn:oid:1.2.3.4","value":"1"},)"
      R"({"system":"urn:oid:2.16.840.1.113883.4.1","value":"2"}],)"
      R"("maritalStatus":{"coding":[{"system":"2.16.840.1.113883.5.2","code":"M"}]}})");

  EXPECT_EQ(
      out,
      R"({"resourceType":"Patient","id":"p","identifier":[{"system":"https://acme.example/mrn","value":"1"},)"
      R"({"system":"http://hl7.org/fhir/sid/us-ssn","value":"2"}],)"
      R"("maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]}})");
}

TEST_F(MappingSetTest, AnOidWithoutAUrlCanFailTheEvent) {
  EXPECT_EQ(
      map(R"J([{"id": "oids", "action": "normalize-system", "select": "Patient.identifier", "onUnknownOid": "fail"}])J",
          R"({"resourceType":"Patient","id":"p","identifier":[{"system":"urn:oid:9.9","value":"1"}]})"),
      "ERROR: mapping rule 'oids': system 'urn:oid:9.9' is an OID the rule has no URL for "
      "@/identifier/0/system");
}

// --- normalize-date ---

TEST_F(MappingSetTest, LocalTimesGetTheZonesOffsetOfThatDay) {
  const std::string rules =
      R"J([{"id": "dates", "action": "normalize-date", "select": "Observation.effective | Observation.issued",
           "timeZone": "Europe/Paris", "formats": ["dd/MM/yyyy HH:mm"]}])J";

  EXPECT_EQ(
      map(rules, R"({"resourceType":"Observation","id":"o","effectiveDateTime":"20240705103000"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-07-05T10:30:00+02:00"})");
  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-01-05 10:30"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-01-05T10:30:00+01:00"})");
  EXPECT_EQ(map(rules, R"({"resourceType":"Observation","id":"o","issued":"05/01/2024 23:59"})"),
            R"({"resourceType":"Observation","id":"o","issued":"2024-01-05T23:59:00+01:00"})");
  // 02:30 on 31 March 2024 did not exist in Paris; 02:30 on 27 October 2024 happened twice.
  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-03-31T02:30:00"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-03-31T02:30:00+01:00"})");
  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-10-27T02:30:00"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-10-27T02:30:00+02:00"})");
}

TEST_F(MappingSetTest, OffsetsAreKeptOrMadeUtcAndDatesKeepTheirPrecision) {
  const std::string utc =
      R"J([{"id": "d", "action": "normalize-date", "select": "Observation.effective", "timeZone": "America/New_York", "toUtc": true}])J";
  const std::string keep =
      R"J([{"id": "d", "action": "normalize-date", "select": "Patient.birthDate | Patient.deceased"}])J";

  EXPECT_EQ(
      map(utc,
          R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-07-05T10:30:00.250-04:00"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-07-05T14:30:00.250Z"})");
  EXPECT_EQ(
      map(utc, R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-12-31 22:00"})"),
      R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2025-01-01T03:00:00Z"})");
  EXPECT_EQ(
      map(keep,
          R"({"resourceType":"Patient","id":"p","birthDate":"19800105","deceasedDateTime":"2020-02"})"),
      R"({"resourceType":"Patient","id":"p","birthDate":"1980-01-05","deceasedDateTime":"2020-02"})");
}

TEST_F(MappingSetTest, AnUnreadableDateFailsTheEventWithoutQuotingIt) {
  const std::string fail =
      R"J([{"id": "d", "action": "normalize-date", "select": "Patient.birthDate"}])J";
  const std::string keep =
      R"J([{"id": "d", "action": "normalize-date", "select": "Patient.birthDate", "onInvalid": "keep"}])J";
  const std::string patient = R"({"resourceType":"Patient","id":"p","birthDate":"1980-02-30"})";

  const std::string failed = map(fail, patient);

  EXPECT_EQ(failed,
            "ERROR: mapping rule 'd': the value is not a date or time in ISO 8601 or a layout the "
            "rule lists @/birthDate");
  EXPECT_EQ(map(keep, patient), patient);
}

TEST_F(MappingSetTest, ATimeWithoutZoneNeedsTheRulesTimeZone) {
  EXPECT_EQ(
      map(R"J([{"id": "d", "action": "normalize-date", "select": "Observation.effective"}])J",
          R"({"resourceType":"Observation","id":"o","effectiveDateTime":"2024-07-05T10:30"})"),
      "ERROR: mapping rule 'd': a time without a zone, and the rule names no 'timeZone' "
      "@/effectiveDateTime");
}

// --- normalize-unit ---

TEST_F(MappingSetTest, UnitsBecomeUcumCodesAndPoundsBecomeKilograms) {
  const std::string rules =
      R"J([{"id": "u", "action": "normalize-unit", "select": "Observation.value.ofType(Quantity)",
           "units": {"mg/dl": "mg/dL", "lbs": "[lb_av]"}, "convert": {"[lb_av]": "kg"}, "decimals": 1}])J";

  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":95,"unit":"MG/DL"}})"),
      R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":95,"unit":"MG/DL","system":"http://unitsofmeasure.org","code":"mg/dL"}})");
  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":150,"unit":"lbs"}})"),
      R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":68.0,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}})");
  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":1,"unit":"furlongs"}})"),
      "ERROR: mapping rule 'u': the unit is not UCUM and the rule's \"units\" has no entry "
      "for it @/valueQuantity");
}

// --- labels, require, rule machinery ---

TEST_F(MappingSetTest, LabelsAreAddedOnce) {
  const std::string rules =
      R"J([{"id": "t", "action": "add-tag", "coding": {"system": "urn:src", "code": "acme"}},
          {"id": "s", "action": "add-security-label", "resourceTypes": ["Patient"],
           "coding": {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}}])J";

  EXPECT_EQ(
      map(rules,
          R"({"resourceType":"Patient","id":"p","meta":{"tag":[{"system":"urn:src","code":"acme"}]}})"),
      R"({"resourceType":"Patient","id":"p","meta":{"tag":[{"system":"urn:src","code":"acme"}],)"
      R"("security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}})");
}

TEST_F(MappingSetTest, RequireAndRequiredFailTheEventWithTheRuleId) {
  const std::string require =
      R"J([{"id": "subject", "action": "require", "resourceTypes": ["Observation"],
           "select": "Observation.subject.exists() and Observation.effective.exists()",
           "message": "lab results need a subject and a time"}])J";
  const std::string required =
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code", "required": true,
           "conceptMap": "https://acme.example/cm/lab"}])J";

  EXPECT_EQ(map(require,
                R"({"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p"}})"),
            "ERROR: mapping rule 'subject': lab results need a subject and a time @");
  EXPECT_EQ(map(required, R"({"resourceType":"Observation","id":"o"})"),
            "ERROR: mapping rule 'loinc': a required element is missing @");
}

TEST_F(MappingSetTest, WhenGuardsARuleAndOtherTypesAreLeftAlone) {
  const std::string rules =
      R"J([{"id": "final", "action": "set", "resourceTypes": ["Observation"], "when": "Observation.value.exists()",
           "element": "status", "value": "final"}])J";

  EXPECT_EQ(map(rules, R"({"resourceType":"Observation","id":"o"})"),
            R"({"resourceType":"Observation","id":"o"})");
  EXPECT_EQ(map(rules, R"({"resourceType":"Observation","id":"o","valueString":"x"})"),
            R"({"resourceType":"Observation","id":"o","valueString":"x","status":"final"})");
}

TEST_F(MappingSetTest, APreviewListsEachRulesChangedPaths) {
  auto compiled = compile(
      R"J([{"id": "loinc", "action": "translate-code", "select": "Observation.code", "conceptMap": "https://acme.example/cm/lab"},
          {"id": "noop", "action": "remove", "select": "Observation.note"},
          {"id": "unit", "action": "normalize-unit", "select": "Observation.value", "units": {"mg/dl": "mg/dL"}}])J");
  ASSERT_TRUE(compiled.set);
  rapidjson::Document doc;
  doc.Parse(
      R"({"resourceType":"Observation","id":"o","code":{"coding":[{"system":"https://acme.example/lab","code":"GLU"}]},)"
      R"("valueQuantity":{"value":1,"unit":"mg/dl"}})");

  auto report = compiled.set->apply(doc, doc.GetAllocator(), {.record_changes = true});

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->rules_run, 3u);
  ASSERT_EQ(report->rules.size(), 2u);
  EXPECT_EQ(report->rules[0].rule_id, "loinc");
  ASSERT_EQ(report->rules[0].changes.size(), 1u);
  EXPECT_EQ(report->rules[0].changes[0].kind, Change::Kind::kAdd);
  EXPECT_EQ(report->rules[0].changes[0].path, "/code/coding/1");
  EXPECT_EQ(report->rules[1].rule_id, "unit");
  ASSERT_EQ(report->rules[1].changes.size(), 2u);
  EXPECT_EQ(report->rules[1].changes[0].path, "/valueQuantity/system");
  EXPECT_EQ(report->rules[1].changes[1].path, "/valueQuantity/code");
  EXPECT_EQ(report->rules[1].changes[1].after, "\"mg/dL\"");
}

TEST_F(MappingSetTest, TheCanonicalTextCoversTheSetAndItsConceptMaps) {
  auto a = compile(R"J([])J");
  files["/cfg/acme/conceptmaps/gender.json"] =
      std::string(kGenderMap).replace(std::string(kGenderMap).find("female"), 6, "woman");
  auto b = compile_mapping_set("/cfg/acme/mapping.json", reader(), "acme");

  ASSERT_TRUE(a.set && b.set);
  EXPECT_NE(a.set->canonical_text(), b.set->canonical_text());
  EXPECT_NE(a.set->canonical_text().find("\"female\""), std::string::npos);
}

// --- compile errors ---

TEST_F(MappingSetTest, EveryProblemIsReportedWithFileAndPointer) {
  auto compiled = compile(
      R"J([{"id": "a", "action": "translate-code", "select": "Observation.code.where(", "conceptMap": "https://nope"},
          {"id": "a", "action": "normalize-unit", "units": {"mg/dl": "mg/dLx"}, "timeZone": "Europe/Paris"},
          {"id": "c", "action": "frobnicate"},
          {"id": "d", "action": "normalize-date", "timeZone": "Mars/Olympus"},
          {"id": "e", "action": "set", "element": "status", "resourceTypes": ["Encounter"], "value": 1},
          {"action": "remove"}])J");

  std::vector<std::string> lines;
  for (const auto& d : compiled.diagnostics) lines.push_back(d.pointer + ": " + d.message);
  const std::string all = ::testing::PrintToString(lines);

  EXPECT_FALSE(compiled.set);
  for (const auto& d : compiled.diagnostics) EXPECT_EQ(d.file, "/cfg/acme/mapping.json") << all;
  const std::vector<std::string> expected_pointers{
      "/rules/0/select",   "/rules/0/conceptMap",      "/rules/1/id",
      "/rules/1/timeZone", "/rules/1/units/mg~1dl",    "/rules/2/action",
      "/rules/3/timeZone", "/rules/4/resourceTypes/0", "/rules/5"};
  for (const std::string& pointer : expected_pointers) {
    const bool found = std::any_of(compiled.diagnostics.begin(), compiled.diagnostics.end(),
                                   [&](const Diagnostic& d) { return d.pointer == pointer; });
    EXPECT_TRUE(found) << pointer << " missing from " << all;
  }
  EXPECT_EQ(compiled.diagnostics.size(), expected_pointers.size()) << all;
}

TEST_F(MappingSetTest, TheFolderNamesTheSourceAndConceptMapsAreChecked) {
  files["/cfg/other/mapping.json"] =
      R"({"id": "x", "version": "1", "source": "acme", "resourceTypes": ["Patient"],
          "conceptMaps": ["cm.json", "missing.json"], "rules": []})";
  files["/cfg/other/cm.json"] =
      R"({"resourceType": "ConceptMap", "group": [{"element": [{"code": "a", "target": [{"code": "b", "equivalence": "same"}]}]}]})";

  auto compiled = compile_mapping_set("/cfg/other/mapping.json", reader(), "other");

  std::vector<std::string> lines;
  for (const auto& d : compiled.diagnostics) lines.push_back(to_string(d));
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "/cfg/other/mapping.json: /source: expected \"other\": the folder name under "
                "config/mappings/ is the source system the set is for",
                "/cfg/other/cm.json: /url: expected the ConceptMap's canonical url (rules name it)",
                "/cfg/other/cm.json: /group/0/source: expected the source code system",
                "/cfg/other/cm.json: /group/0/element/0/target/0/equivalence: expected an R4 "
                "equivalence (relatedto, equivalent, equal, wider, subsumes, narrower, "
                "specializes, inexact, unmatched, disjoint)",
                "/cfg/other/mapping.json: /conceptMaps/1: cannot read ConceptMap file "
                "/cfg/other/missing.json: no such file"}));
}

}  // namespace
}  // namespace fl::mappings
