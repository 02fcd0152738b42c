// Stage 3 of the pipeline: make a resource look like the network's canonical FHIR, then write
// it as canonical JSON (RFC 8785) so equal content hashes equal. The mapping engine (issue 4)
// plugs in behind Normalizer; until then PassThroughNormalizer leaves resources unchanged.
// Called from the pipeline thread.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace fl::gateway {

class Normalizer {
 public:
  virtual ~Normalizer() = default;

  // Rewrites `resource` in place by the mapping set for `source_system`. A data error is
  // kInvalidInput with the rule id and JSON pointer in `where`.
  virtual Status normalize(std::string_view source_system, rapidjson::Value& resource,
                           rapidjson::Document::AllocatorType& allocator) = 0;

  // SHA-256 of the canonical mapping set in force, anchored with each pointer.
  virtual ports::Hash32 mapping_hash() const = 0;
};

class PassThroughNormalizer final : public Normalizer {
 public:
  Status normalize(std::string_view, rapidjson::Value&,
                   rapidjson::Document::AllocatorType&) override {
    return Ok{};
  }
  ports::Hash32 mapping_hash() const override { return {}; }
};

class NormalizeStage {
 public:
  explicit NormalizeStage(Normalizer& normalizer) : normalizer_(normalizer) {}

  // The resource after mapping, as canonical JSON text.
  Result<std::string> run(std::string_view source_system, rapidjson::Value& resource,
                          rapidjson::Document::AllocatorType& allocator);

  ports::Hash32 mapping_hash() const { return normalizer_.mapping_hash(); }

 private:
  Normalizer& normalizer_;
};

}  // namespace fl::gateway
