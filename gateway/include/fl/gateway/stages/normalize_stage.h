// Stage 3 of the pipeline: make a resource look like the network's canonical FHIR, then write
// it as canonical JSON (RFC 8785) so equal content hashes equal. MappingNormalizer
// (mapping_normalizer.h) runs the mapping set of the event's source system;
// PassThroughNormalizer leaves resources unchanged (tests, and a gateway without mapping sets).
// Called from the pipeline thread and, for the second half of a large batch, from its helper at
// the same time: a Normalizer takes calls from two threads at once.
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

  // Rewrites `resource` in place by the mapping set for `source_system` and returns the
  // SHA-256 of that set (all zero when none applied), which is anchored with the pointer. A
  // data error is kInvalidInput with the rule id in the message and the JSON pointer in `where`.
  virtual Result<ports::Hash32> normalize(std::string_view source_system,
                                          rapidjson::Value& resource,
                                          rapidjson::Document::AllocatorType& allocator) = 0;
};

class PassThroughNormalizer final : public Normalizer {
 public:
  Result<ports::Hash32> normalize(std::string_view, rapidjson::Value&,
                                  rapidjson::Document::AllocatorType&) override {
    return ports::Hash32{};
  }
};

struct Normalized {
  std::string canonical;       // the mapped resource as canonical JSON
  ports::Hash32 mapping_hash;  // of the mapping set that produced it
};

class NormalizeStage {
 public:
  explicit NormalizeStage(Normalizer& normalizer) : normalizer_(normalizer) {}

  Result<Normalized> run(std::string_view source_system, rapidjson::Value& resource,
                         rapidjson::Document::AllocatorType& allocator);

 private:
  Normalizer& normalizer_;
};

}  // namespace fl::gateway
