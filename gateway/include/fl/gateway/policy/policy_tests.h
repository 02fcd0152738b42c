// Test cases written next to a policy bundle (config/policies/<name>.tests.json), run like
// `opa test`: each case states a request (stage, resource, source country or the facts it is
// resolved from, participant's country, purpose, consent) and the expected decision (effect,
// deciding rule ids in file order, obligations, region, audit flag). Unstated expectations are
// expected empty: a case that says nothing about obligations expects none.
#pragma once

#include "fl/gateway/policy/policy_compiler.h"

#include <string>
#include <vector>

namespace fl::gateway::policy {

struct PolicyTestResult {
  std::string name;
  std::string pointer;  // "/tests/3"
  bool passed = false;
  std::string expected;  // "permit by eea-within-eea; region eu"
  std::string actual;
};

struct PolicyTestRun {
  std::string bundle_file;
  std::string bundle_id;
  ports::Hash32 policy_hash{};
  std::vector<PolicyTestResult> results;
  // Problems with the tests file or the bundle; no case runs when there are any.
  std::vector<mappings::Diagnostic> diagnostics;

  std::size_t failed() const;
};

// `path` is a tests file, or a bundle whose tests file is beside it (<name>.tests.json). The
// tests file names its bundle ("bundle", relative to the tests file).
PolicyTestRun run_policy_tests(const std::string& path, const mappings::ReadFile& read_file);

// "permit by a, b; obligations: ...; region eu; audited" (the words tests and traces use).
std::string describe(const struct PolicyDecision& decision);

}  // namespace fl::gateway::policy
