// The policy bundle the project ships (config/policies/example-cross-border.json), compiled once
// per test binary: what the access tests decide with.
#pragma once

#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"

#include "support/corpus.h"

#include <gtest/gtest.h>

#include <memory>

namespace fl::testing {

inline std::shared_ptr<const gateway::policy::PolicyBundle> shipped_policy_bundle() {
  static const auto bundle = [] {
    const auto path =
        (source_root() / "config" / "policies" / "example-cross-border.json").string();
    auto compiled = gateway::policy::compile_policy_bundle(path, gateway::file_reader());
    EXPECT_TRUE(compiled.bundle) << "the shipped bundle compiles";
    return compiled.bundle;
  }();
  return bundle;
}

}  // namespace fl::testing
