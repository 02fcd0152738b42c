// The participants' HTTP API (/api in the configuration), served by `fhir-ledger serve`:
//   GET /fhir/{type}/{id}                   the latest version, governed: the token, its scope,
//   GET /fhir/{type}/{id}/_history/{vid}    the ledger grant for the purpose of use
//                                           (X-Purpose-Of-Use, else /api/defaultPurpose), the
//                                           policy for the participant's jurisdiction, the blob's
//                                           hash against the ledger, the obligations; the answer
//                                           names the anchoring transaction and content hash so
//                                           that a client can check the chain itself
//   GET /ledger/{type}/{id}[?version=N]     `ledger verify` as JSON, for auditors
//   POST /fhir/Consent                      a FHIR Consent applied: the grants and revocations
//   POST /fhir/Consent/$dry-run             it implies (consent_service.h), or only their diff
//   POST /fhir/Patient/{id}/$erase          the erasure (erase_service.h); scope fhir-ledger/admin
//   POST /policy/$evaluate                  `policy eval` and `map preview` as JSON (api_tools.h);
//   POST /mappings/$preview                 scope fhir-ledger/tools, compliance or admin
//   GET /console/...                        the console: its page (console_http.h) and its data
//                                           (/console/api/..., scope fhir-ledger/compliance,
//                                           tools or admin; console_data.h)
// The reference's id space is the X-FHIR-Source header's, else /identity/defaultSource. Errors
// are FHIR OperationOutcomes: 400 malformed, 401 no or bad token, 403 denied (with the rules and
// policy hash, never data), 404, 409 the blob does not match the ledger, 410 erased, 503 a
// dependency down. Nothing about a resource's content is logged.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/config.h"
#include "fl/gateway/consent_service.h"
#include "fl/gateway/erase_service.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/gateway/read_service.h"
#include "fl/gateway/verify.h"
#include "fl/mappings/engine.h"
#include "fl/ports/clock.h"
#include "fl/ports/metrics.h"

#include "cli/bearer_tokens.h"
#include "cli/console_data.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fl::cli {

// What one request thread works with: its own adapters, which are not shared between threads.
class ApiWorker {
 public:
  virtual ~ApiWorker() = default;
  virtual gateway::ReadService& reads() = 0;
  // The consent use case; null when this API does not take Consents (answered 501).
  virtual gateway::ConsentService* consents() { return nullptr; }
  // The erase use case for the patient `reference` ("Patient/<id>") of `source`.
  virtual Result<gateway::EraseReport> erase(const std::string& source,
                                             const std::string& reference,
                                             const std::string& operator_name,
                                             const std::string& reason) = 0;
  // The verify use case for a reference of `source`.
  virtual Result<gateway::Verification> verify(const std::string& source,
                                               const std::string& reference,
                                               std::optional<std::uint64_t> version) = 0;
};

class ApiServer {
 public:
  virtual ~ApiServer() = default;
  virtual int port() const = 0;
};

struct ApiServerParts {
  gateway::ApiSettings settings;
  std::string default_source;
  std::unique_ptr<TokenVerifier> tokens;
  // Called /api/workers times at start; a worker that cannot be built fails the start.
  std::function<Result<std::unique_ptr<ApiWorker>>()> make_worker;
  ports::Clock* clock = &ports::real_clock();
  // What the tools' dry runs evaluate; null: the route answers 501.
  std::shared_ptr<const gateway::policy::PolicyEngine> engine;
  // The mapping sets in use now (serve reloads them); may answer null.
  std::function<std::shared_ptr<const mappings::MappingCatalog>()> mappings;
  ports::Metrics* metrics = nullptr;  // reads, Consents and erasures by decision; none when null
  // What the console's views read; null: /console/api/ answers 404.
  std::shared_ptr<ConsoleData> console;
};

Result<std::unique_ptr<ApiServer>> start_api_server(ApiServerParts parts);

}  // namespace fl::cli
