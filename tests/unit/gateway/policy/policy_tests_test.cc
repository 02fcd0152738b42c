// `fhir-ledger policy test`'s runner: the shipped bundle's cases pass, a wrong expectation is a
// failure that says what was expected and what came, and a malformed case is reported at its
// JSON pointer instead of being skipped.
#include "fl/gateway/policy/policy_tests.h"

#include "fl/gateway/mapping_files.h"

#include "support/corpus.h"

#include <gtest/gtest.h>

#include <map>

namespace fl::gateway::policy {
namespace {

const std::string kShipped =
    (testing::source_root() / "config" / "policies" / "example-cross-border.json").string();
const std::string kTestsFile =
    (testing::source_root() / "config" / "policies" / "inline.tests.json").string();

// Reads from disk, except the files given here.
mappings::ReadFile reader_with(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> Result<std::string> {
    if (auto f = files.find(path); f != files.end()) return f->second;
    return file_reader()(path);
  };
}

TEST(PolicyTests, TheShippedBundlesCasesAllPassAndThereAreAtLeastForty) {
  const PolicyTestRun run = run_policy_tests(kShipped, file_reader());

  for (const auto& d : run.diagnostics) ADD_FAILURE() << mappings::to_string(d);
  EXPECT_EQ(run.bundle_id, "example-cross-border");
  EXPECT_GE(run.results.size(), 40u);
  for (const auto& r : run.results) {
    EXPECT_TRUE(r.passed) << r.pointer << " " << r.name << "\n expected: " << r.expected
                          << "\n actual:   " << r.actual;
  }
  EXPECT_EQ(run.failed(), 0u);
}

TEST(PolicyTests, AWrongExpectationFailsAndSaysWhatCame) {
  const std::string tests = R"({"bundle": "example-cross-border.json", "tests": [
    {"name": "right", "stage": "read", "resourceType": "Observation", "source": "DE",
     "destination": "FR", "purpose": "TREAT", "expect": {"effect": "permit", "rules": ["eea-within-eea"]}},
    {"name": "wrong rule", "stage": "read", "resourceType": "Observation", "source": "DE",
     "destination": "FR", "purpose": "TREAT", "expect": {"effect": "permit", "rules": ["us-hipaa-tpo"]}},
    {"name": "obligations left out", "stage": "read", "resourceType": "Observation", "source": "DE",
     "destination": "US", "purpose": "TREAT", "consent": true,
     "expect": {"effect": "permit", "rules": ["eea-to-us-consent"]}}]})";

  const PolicyTestRun run = run_policy_tests(kTestsFile, reader_with({{kTestsFile, tests}}));

  ASSERT_TRUE(run.diagnostics.empty()) << mappings::to_string(run.diagnostics.front());
  ASSERT_EQ(run.results.size(), 3u);
  EXPECT_TRUE(run.results[0].passed);
  EXPECT_FALSE(run.results[1].passed);
  EXPECT_EQ(run.results[1].expected, "permit by us-hipaa-tpo");
  EXPECT_EQ(run.results[1].actual, "permit by eea-within-eea");
  EXPECT_FALSE(run.results[2].passed);
  EXPECT_EQ(run.results[2].actual,
            "permit by eea-to-us-consent; obligations: pseudonymize identifiers, require purpose "
            "TREAT, at most 30 days");
  EXPECT_EQ(run.failed(), 2u);
}

TEST(PolicyTests, MalformedCasesAreReportedAtTheirPointerAndNothingRuns) {
  const std::string tests = R"({"bundle": "example-cross-border.json", "resources": {},
    "tests": [
    {"name": "a", "stage": "later", "resourceType": "Patient", "source": "DE", "expect": {"effect": "permit"}},
    {"name": "b", "stage": "read", "resource": "nobody", "source": "DE", "expect": {"effect": "maybe"}},
    {"name": "c", "stage": "read", "resourceType": "Patient", "expect": {"effect": "deny"}}]})";

  const PolicyTestRun run = run_policy_tests(kTestsFile, reader_with({{kTestsFile, tests}}));

  EXPECT_TRUE(run.results.empty());
  std::vector<std::string> where;
  for (const auto& d : run.diagnostics) where.push_back(d.pointer + ": " + d.message);
  EXPECT_EQ(where, (std::vector<std::string>{
                       "/tests/0/stage: expected \"ingest\", \"grant\" or \"read\"",
                       "/tests/1/resource: no resource named \"nobody\" in /resources",
                       "/tests/1/expect/effect: expected \"permit\" or \"deny\"",
                       "/tests/2: expected \"source\" (a country) or \"jurisdiction\" (the facts)",
                   }));
}

TEST(PolicyTests, ABundleWithErrorsIsReportedInsteadOfRun) {
  const std::string bundle = R"({"id": "x"})";
  const std::string bundle_file =
      (testing::source_root() / "config" / "policies" / "broken-inline.json").string();
  const std::string tests = R"({"bundle": "broken-inline.json", "tests": []})";

  const PolicyTestRun run =
      run_policy_tests(kTestsFile, reader_with({{kTestsFile, tests}, {bundle_file, bundle}}));

  EXPECT_TRUE(run.results.empty());
  ASSERT_FALSE(run.diagnostics.empty());
  EXPECT_EQ(run.diagnostics.front().file, bundle_file);
}

}  // namespace
}  // namespace fl::gateway::policy
