#include "fl/gateway/erase_service.h"

#include "fl/base/log.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/keys/master_keys.h"

#include <array>
#include <chrono>
#include <utility>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr auto kAuditFlushTimeout = 10s;

// A step before the ledger mark failed: what is done stays done, and the rest is still to do.
Error retryable(const Error& e) {
  return Error{e.code, e.message + " (nothing is lost by running erase again)", e.where};
}

}  // namespace

EraseService::EraseService(const EraseServicePorts& ports, EraseSettings settings)
    : ports_(ports), settings_(std::move(settings)) {}

Result<EraseReport> EraseService::erase(const EraseQuery& query) {
  EraseReport out;
  out.patient_key = to_0x_hex(query.patient_key);
  out.erased_at = audit::rfc3339_utc(ports::unix_seconds(ports_.clock.wall()));

  // Keys first: destroying them is the erasure. The mark left in their place also stops the
  // gateway from making a new key for this patient before the ledger mark is mined.
  MasterKeys master_keys(ports_.keys, ports_.master_keys);
  std::string regions;  // "eu=destroyed,us=none", for the AuditEvent and the log
  for (const auto& region : settings_.regions) {
    auto destroyed = master_keys.erase(region, query.patient_key, out.erased_at);
    if (!destroyed) return retryable(destroyed.error());
    out.regions.emplace_back(region, *destroyed);
    regions += (regions.empty() ? "" : ",") + region + "=" + (*destroyed ? "destroyed" : "none");
  }
  // The recorded country is personal data too, and would outlive the keys otherwise.
  auto forgot = ports_.directory.forget_patient(query.patient_key);
  if (!forgot) return retryable(forgot.error());
  out.directory_record = *forgot;
  auto tx = ports_.access.send_erasure(query.patient_key);
  if (!tx) return tx.error();
  auto block = ports_.access.wait_mined(*tx);
  if (!block) return block.error();
  out.tx = to_0x_hex(*tx);
  out.block = *block;

  audit::Common common;
  common.recorded = out.erased_at;
  common.gateway = settings_.gateway;
  common.agents.push_back(audit::Agent{
      .address = "", .jurisdiction = "", .display = query.operator_name, .requestor = true});
  common.patient_key = out.patient_key;
  common.details = {{"ledgerTransaction", out.tx},
                    {"regions", regions},
                    {"directoryRecord", out.directory_record ? "forgotten" : "none"}};
  out.audit_event = audit::erasure_event(common, query.reason);
  log::info("erasure.done", {{"patientKey", out.patient_key},
                             {"regions", regions},
                             {"tx", out.tx},
                             {"auditEvent", out.audit_event}});
  const std::array<ports::AuditRecord, 1> records{
      ports::AuditRecord{.key = out.patient_key, .json = out.audit_event}};
  if (auto s = ports_.audit.record(records); !s) return s.error();
  if (auto s = ports_.audit.flush(kAuditFlushTimeout); !s) return s.error();
  return out;
}

}  // namespace fl::gateway
