// Stage 2 of the pipeline: parse one Kafka message as FHIR R4 JSON and check its structure
// (known resourceType, id syntax, meta.versionId, size and nesting limits). A Bundle becomes one
// resource per entry. Failures are data errors (kInvalidInput) whose `where` is the JSON pointer
// of the offending element, and they go to the dead-letter topic; messages never quote content.
// Stateless apart from its limits; safe to share across threads.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/event_source.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {

struct ValidationLimits {
  std::size_t max_event_bytes = std::size_t{4} * 1024 * 1024;
  int max_json_depth = 64;
  std::size_t max_bundle_entries = 10000;
};

// One resource inside a validated event; `json` points into the event's document.
struct ResourceView {
  std::string type;
  std::string id;
  std::uint64_t version = 1;
  // "Patient/<id>" of the patient the resource is about (itself for a Patient; its subject,
  // patient or beneficiary reference otherwise), empty when it names none.
  std::string patient_reference;
  // The server base of the resource's absolute fullUrl ("https://ehr.example.org/fhir"), and of
  // an absolute patient reference; empty when there is none (urn:uuid, relative, no fullUrl).
  // The pipeline takes the source from the fhir-source header first, then from `base`.
  std::string base;
  std::string patient_base;
  // The patient's business identifiers (system, value): a Patient's own identifier list, or the
  // identifier of the reference that names the patient (a logical reference, possibly with no
  // literal reference). The pipeline links records by the configured system only.
  std::vector<std::pair<std::string, std::string>> patient_identifiers;
  // A FHIR delete (a Bundle entry with request.method DELETE): no content, `version` is the
  // tombstone's (the deleted version + 1), `json` is null. Without request.ifMatch the version
  // is 0: the tombstone follows the version anchored last, which the pipeline looks up.
  bool deleted = false;
  rapidjson::Value* json = nullptr;

  std::string reference() const { return type + "/" + id; }
};

struct ValidatedEvent {
  ports::Origin origin;
  std::string source_system;  // the fhir-source header
  std::unique_ptr<rapidjson::Document> document;
  std::vector<ResourceView> resources;
};

// True for the 146 resource types of FHIR R4 (4.0.1).
bool is_r4_resource_type(std::string_view type);

// FHIR id syntax: [A-Za-z0-9\-\.]{1,64}.
bool is_valid_fhir_id(std::string_view id);

class ValidateStage {
 public:
  explicit ValidateStage(ValidationLimits limits) : limits_(limits) {}

  Result<ValidatedEvent> run(const ports::SourceEvent& event) const;

 private:
  ValidationLimits limits_;
};

}  // namespace fl::gateway
