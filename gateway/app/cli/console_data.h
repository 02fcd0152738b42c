// What the console (/console/, console_http.h) reads, as the JSON its views render:
//   about()        the gateway it talks to (contract, node, sources, topics) for `cast` commands
//   policies()     the active bundle and the shadow candidate as their files hold them now:
//                  policy hash, the rules as written, `policy check`'s problems with the rule
//                  they point into, `policy test`'s cases with pass/fail; and the hash of what
//                  this gateway enforces (a bundle edited since start differs from it)
//   audit(q)       the audit topic's AuditEvents (console_audit.h)
//   mappings()     the mapping sets in use, with the hash anchored beside what they map
//   dead_letters() the newest dead letters' clear headers (reason, origin): no PHI
//   dead_letter()  one dead letter's original event, opened with the KEK (it holds PHI: the
//                  HTTP layer lets only the admin scope ask), shown only once an AuditEvent
//                  (dead-letter-read) naming who opened it is on the audit topic
//   metrics()      the Prometheus exposition of /metrics
// Nothing is written anywhere; each call is safe from any request thread.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/verify.h"
#include "fl/mappings/engine.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/event_source.h"
#include "fl/ports/key_provider.h"

#include "cli/console_audit.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace fl::cli {

struct ConsoleParts {
  std::string bundle_file;           // /policy/bundle; "" none
  std::string shadow_file;           // /policy/shadow; "" none
  std::string enforced_hash;         // 0x-hex of the bundle this gateway decides with
  std::string enforced_shadow_hash;  // and of its shadow
  std::string default_source;
  std::string contract;  // 0x-hex
  std::string rpc_url;
  std::string dead_letter_topic;
  std::string audit_topic;
  AuditTail::Reader read_audit;
  // One message of the dead-letter topic; kNotFound when there is none at that place.
  std::function<Result<ports::SourceEvent>(std::int32_t partition, std::int64_t offset)>
      read_dead_letter;
  // The newest messages of the dead-letter topic: up to `per_partition` of each partition.
  std::function<Result<std::vector<ports::SourceEvent>>(std::int64_t per_partition)>
      read_recent_dead_letters;
  std::shared_ptr<ports::KeyProvider> keys;  // opens dead letters
  // Records one AuditEvent durably (written and acknowledged) before what it audits is shown.
  std::function<Status(const ports::AuditRecord&)> record_audit;
  std::string gateway_name;  // the AuditEvents' source site
  std::function<std::shared_ptr<const mappings::MappingCatalog>()> mappings;
  std::function<std::optional<ports::Hash32>(std::string_view source)> mapping_hash;
  std::function<std::string()> metrics;
};

class ConsoleData {
 public:
  explicit ConsoleData(ConsoleParts parts);

  std::string about() const;
  std::string policies() const;
  Result<std::string> audit(const AuditQuery& query) { return audit_.query(query); }
  std::string mappings() const;
  Result<std::string> recent_dead_letters() const;
  // `who`: the client id of the operator asking, for the AuditEvent.
  Result<std::string> dead_letter(std::int32_t partition, std::int64_t offset,
                                  const std::string& who) const;
  std::string metrics() const { return parts_.metrics ? parts_.metrics() : std::string(); }
  // The `cast` commands an auditor runs to check a verification on the chain themselves.
  std::string auditor_commands(const gateway::Verification& v) const;

 private:
  ConsoleParts parts_;
  AuditTail audit_;
};

// A policy bundle file as policies() describes it (one element of "bundles"); pure but for
// reading the files.
std::string describe_policy_bundle(const std::string& role, const std::string& file,
                                   const std::string& enforced_hash);

}  // namespace fl::cli
