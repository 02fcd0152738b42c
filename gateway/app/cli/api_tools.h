// The API's dry runs for tools: POST /policy/$evaluate is `fhir-ledger policy eval` and POST
// /mappings/$preview is `fhir-ledger map preview`, as JSON, over the policy bundle and mapping
// sets this gateway runs with. The caller posts the resource and the facts; nothing is read
// from the stores, sent to the ledger or kept. Pure functions of their inputs, any thread.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/mappings/engine.h"

#include <string>
#include <string_view>

namespace fl::cli {

// `body`: {"stage": "ingest" | "grant" | "read", "resource": {...} | "resourceType": "T",
// "source": "CC" (the patient's country) | "patientCountry", "header", "sourceSystem" (resolved
// as the gateway resolves them), "destination", "purpose", "consent": bool}. The answer: the
// effect, the deciding rules, every rule's trace, the obligations' summary and the policy hash.
// kInvalidInput names the member (JSON pointer) that is wrong.
Result<std::string> evaluate_policy(const gateway::policy::PolicyEngine& engine,
                                    std::string_view body);

// `body`: a FHIR resource, or a Bundle whose entries are mapped one by one as the pipeline does,
// with the mapping set of `source`. The answer: per resource, the rules that changed it and
// each change (add, remove, replace with the path and values), and the mapped result.
// kNotFound when no mapping set is configured for `source`; kInvalidInput for a body that is
// not a JSON object.
Result<std::string> preview_mapping(const mappings::MappingCatalog& catalog,
                                    std::string_view source, std::string_view body);

}  // namespace fl::cli
