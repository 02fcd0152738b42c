// Country codes (issue 14): FHIR R4's Address.country is "ISO 3166 2 letter code or 3 letter
// code" (or a name). Every assigned alpha-2 and alpha-3 code, in any letter case, is read as its
// alpha-2 code; unassigned codes and names are no country. The shipped bundle decides a Dutch
// patient written "NLD" or "nld" exactly as one written "NL", and a name falls through to the
// next jurisdiction source.
#include "fl/gateway/policy/policy_bundle.h"

#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_tests.h"

#include "support/corpus.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::policy {
namespace {

using Strings = std::vector<std::string>;

std::string alpha2_of(std::string_view code) {
  const auto alpha2 = iso_alpha2(code);
  return alpha2 ? std::string(*alpha2) : "(none)";
}

TEST(IsoAlpha2, ReadsAssignedAlpha3CodesAsTheirAlpha2Code) {
  // A sample checked one by one against ISO 3166-1, including the ones easy to get wrong: the
  // two Koreas, the two Congos, and codes renamed since (ROU, not ROM; TLS, not TMP).
  const std::map<std::string_view, std::string_view> sample = {
      {"NLD", "NL"}, {"DEU", "DE"}, {"GBR", "GB"}, {"USA", "US"}, {"BRA", "BR"}, {"CHE", "CH"},
      {"KOR", "KR"}, {"PRK", "KP"}, {"COD", "CD"}, {"COG", "CG"}, {"AUT", "AT"}, {"AUS", "AU"},
      {"ROU", "RO"}, {"TLS", "TL"}, {"SRB", "RS"}, {"MNE", "ME"}, {"SSD", "SS"}, {"CUW", "CW"},
      {"SXM", "SX"}, {"BES", "BQ"}, {"ALA", "AX"}, {"ESH", "EH"}, {"GRC", "GR"}, {"ESP", "ES"},
      {"IRL", "IE"}, {"ISL", "IS"}, {"LIE", "LI"}, {"NOR", "NO"}, {"RUS", "RU"}, {"JPN", "JP"},
      {"TWN", "TW"}, {"PSE", "PS"}, {"VAT", "VA"}, {"MKD", "MK"}, {"SWZ", "SZ"}, {"UMI", "UM"},
      {"ZAF", "ZA"}, {"AFG", "AF"}, {"ZWE", "ZW"}, {"AND", "AD"}, {"ATA", "AQ"}};

  for (const auto& [alpha3, alpha2] : sample) EXPECT_EQ(alpha2_of(alpha3), alpha2) << alpha3;
}

TEST(IsoAlpha2, ReadsAnyLetterCaseAndKeepsAssignedAlpha2Codes) {
  for (std::string_view code : {"NL", "nl", "Nl", "nL", "NLD", "nld", "Nld", "nLd"}) {
    EXPECT_EQ(alpha2_of(code), "NL") << code;
  }
  EXPECT_EQ(alpha2_of("gb"), "GB");
  EXPECT_EQ(alpha2_of("usa"), "US");
}

TEST(IsoAlpha2, UnassignedCodesNamesAndEverythingElseAreNoCountry) {
  using std::string_view_literals::operator""sv;
  for (std::string_view code :
       {"XXX"sv,         "XKX"sv,     "XK"sv,   "UK"sv,        "EU"sv,  "EL"sv,  "ROM"sv,
        "TMP"sv,         "ZAR"sv,     "ANT"sv,  "SCG"sv,       "AAA"sv, "ZZZ"sv, "Netherlands"sv,
        "Deutschland"sv, "Germany"sv, "N"sv,    ""sv,          " NL"sv, "NL "sv, "N L"sv,
        "NLDX"sv,        "N1"sv,      "NL\n"sv, "\xc3\x84T"sv, "NL\0"sv}) {
    EXPECT_EQ(alpha2_of(code), "(none)") << code;
  }
}

TEST(IsoAlpha2, EveryAssignedAlpha2CodeIsOneAndTheTableHas249Countries) {
  int assigned = 0;
  int alpha3_found = 0;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      const std::string code{a, b};
      if (!is_iso_country(code)) {
        EXPECT_FALSE(iso_alpha2(code)) << code;
        continue;
      }
      ++assigned;
      EXPECT_EQ(alpha2_of(code), code);
    }
  }
  // Every three-letter code: each alpha-3 code names a distinct assigned alpha-2 code.
  std::map<std::string, std::string> alpha3_of;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      for (char c = 'A'; c <= 'Z'; ++c) {
        const std::string code{a, b, c};
        const auto alpha2 = iso_alpha2(code);
        if (!alpha2) continue;
        ++alpha3_found;
        EXPECT_TRUE(is_iso_country(*alpha2)) << code;
        const auto [it, added] = alpha3_of.emplace(std::string(*alpha2), code);
        EXPECT_TRUE(added) << code << " and " << it->second << " both give " << *alpha2;
      }
    }
  }

  EXPECT_EQ(assigned, 249);
  EXPECT_EQ(alpha3_found, 249);
}

TEST(IsoAlpha2, BundlesKeepNamingCountriesInUpperCaseAlpha2) {
  EXPECT_TRUE(is_iso_country("NL"));
  EXPECT_FALSE(is_iso_country("NLD"));
  EXPECT_FALSE(is_iso_country("nl"));
  EXPECT_FALSE(country_index("NLD"));
}

// --- the shipped bundle ------------------------------------------------------------------------

const std::string kShipped =
    (testing::source_root() / "config" / "policies" / "example-cross-border.json").string();
const std::string kTestsFile =
    (testing::source_root() / "config" / "policies" / "country-codes.tests.json").string();

// Runs `cases` (the "tests" array of a tests file) against the shipped bundle, as `fhir-ledger
// policy test` would, and checks that each passes and that there are `count` of them.
void expect_all_pass(const std::string& cases, std::size_t count) {
  const std::string tests = R"({"bundle": "example-cross-border.json", "tests": [)" + cases + "]}";
  const mappings::ReadFile read = [&](const std::string& path) -> Result<std::string> {
    if (path == kTestsFile) return tests;
    return file_reader()(path);
  };

  const PolicyTestRun run = run_policy_tests(kTestsFile, read);

  for (const auto& d : run.diagnostics) ADD_FAILURE() << mappings::to_string(d);
  ASSERT_EQ(run.results.size(), count);
  for (const auto& r : run.results) {
    EXPECT_TRUE(r.passed) << r.pointer << " " << r.name << "\n expected: " << r.expected
                          << "\n actual:   " << r.actual;
  }
}

// A Patient inline, with one address whose country is `country`.
std::string patient_in(std::string_view country) {
  return R"({"resourceType": "Patient", "id": "p", "address": [{"city": "Utrecht", "country": ")" +
         std::string(country) + R"("}]})";
}

std::string ingest_case(std::string_view name, const std::string& resource,
                        std::string_view jurisdiction, std::string_view expect) {
  return R"({"name": ")" + std::string(name) + R"(", "stage": "ingest", "resource": )" + resource +
         R"(, "jurisdiction": )" + std::string(jurisdiction) + R"(, "expect": )" +
         std::string(expect) + "}";
}

// What the shipped bundle decides for a Dutch patient: stored in the EU region, source NL.
constexpr std::string_view kDutch =
    R"({"effect": "permit", "rules": ["eea-store-in-eu"], "region": "eu", "source": "NL"})";

TEST(ShippedBundleCountries, APatientOfNldOrNldInLowerCaseIsDecidedLikeNl) {
  std::string cases;
  for (std::string_view country : {"NL", "NLD", "nld", "Nld", "nl"}) {
    if (!cases.empty()) cases += ",";
    cases += ingest_case(std::string("address ") + std::string(country), patient_in(country), "{}",
                         kDutch);
  }

  expect_all_pass(cases, 5);
}

TEST(ShippedBundleCountries, Alpha3CodesFromEverySourceAreReadAsAlpha2) {
  const std::string observation = R"({"resourceType": "Observation", "status": "final"})";
  const std::string cases =
      ingest_case("header NLD", observation, R"({"header": "NLD"})", kDutch) + "," +
      ingest_case("recorded nld", observation, R"({"recorded": "nld"})", kDutch) + "," +
      ingest_case("a US patient written USA", patient_in("USA"), "{}",
                  R"({"effect": "permit", "rules": ["us-store-in-us"], "region": "us",
                      "source": "US"})") +
      "," +
      // An alpha-3 source given directly, and an alpha-3 destination at read time.
      R"({"name": "source nld", "stage": "ingest", "resourceType": "Observation", "source": "nld",
          "expect": {"effect": "permit", "rules": ["eea-store-in-eu"], "region": "eu",
                     "source": "NL"}},
         {"name": "DEU to NLD for treatment", "stage": "read", "resourceType": "Observation",
          "source": "DEU", "destination": "nld", "purpose": "TREAT",
          "expect": {"effect": "permit", "rules": ["eea-within-eea"]}})";

  expect_all_pass(cases, 5);
}

TEST(ShippedBundleCountries, AnUnassignedAlpha3CodeIsNoCountry) {
  // With no other source, the jurisdiction is undetermined and the bundle denies.
  constexpr std::string_view kUndetermined =
      R"({"effect": "deny", "rules": ["undetermined-jurisdiction"]})";
  const std::string cases =
      ingest_case("address XXX", patient_in("XXX"), "{}", kUndetermined) + "," +
      ingest_case("address XKX", patient_in("XKX"), "{}", kUndetermined) + "," +
      ingest_case("header XKX", R"({"resourceType": "Observation"})", R"({"header": "XKX"})",
                  kUndetermined);

  expect_all_pass(cases, 3);
}

TEST(ShippedBundleCountries, ANameIsNotGuessedTheNextSourceDecides) {
  const std::string cases =
      ingest_case("Netherlands, header NL", patient_in("Netherlands"), R"({"header": "NL"})",
                  kDutch) +
      "," +
      ingest_case("Deutschland, US clinic", patient_in("Deutschland"),
                  R"({"sourceSystem": "us-clinic"})",
                  R"({"effect": "permit", "rules": ["us-store-in-us"], "region": "us",
                      "source": "US"})") +
      "," +
      ingest_case("Nederland, nothing else", patient_in("Nederland"), "{}",
                  R"({"effect": "deny", "rules": ["undetermined-jurisdiction"]})");

  expect_all_pass(cases, 3);
}

}  // namespace
}  // namespace fl::gateway::policy
