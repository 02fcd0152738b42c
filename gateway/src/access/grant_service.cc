#include "fl/gateway/grant_service.h"

#include "fl/base/assert.h"
#include "fl/gateway/access.h"

#include <utility>

namespace fl::gateway {
namespace {

constexpr std::uint64_t kDay = 86400;

Status check_purpose(const std::string& purpose) {
  if (purpose.empty()) {
    return Error{ErrorCode::kInvalidInput, "an access change needs a purpose of use", ""};
  }
  return Ok{};
}

// Who asks (the operator, through this gateway) on whose behalf, as the access decisions and
// their AuditEvents name them. An inactive registration names no jurisdiction: no rule for a
// destination applies to it.
AccessContext context_of(const GrantSettings& settings, std::int64_t now,
                         const std::string& operator_name, const ports::ParticipantState& grantee,
                         const std::string& purpose, bool consent) {
  AccessContext c;
  c.now = now;
  c.gateway = settings.gateway;
  c.operator_name = operator_name;
  c.participant = grantee.address;
  c.jurisdiction = grantee.active ? grantee.jurisdiction : std::string();
  c.purpose = purpose;
  c.consent = consent;
  return c;
}

// Sends `change`'s transaction (`send`), waits for it and records what became of it with
// `record`. A transaction that took effect, or may yet, but could not be recorded is reported
// as such: the operator must know both.
template <typename Send, typename Record>
TransactionReport carry_out(ports::AccessLedger& access, const std::string& change, Send send,
                            Record record) {
  const Result<ports::Hash32> tx = send();
  const Result<std::uint64_t> block = tx ? access.wait_mined(*tx) : tx.error();
  TransactionReport out;
  out.outcome = transaction_outcome(tx ? to_0x_hex(*tx) : std::string(), block);
  if (!block) out.error = block.error();
  auto audited = record(out.outcome);
  if (audited) {
    out.audit_event = std::move(*audited);
    return out;
  }
  using State = audit::Transaction::State;
  const audit::Transaction& o = out.outcome;
  const std::string done = o.state == State::kMined ? "is on chain (transaction " + o.hash + ")"
                           : o.state == State::kUnconfirmed
                               ? "was sent (transaction " + o.hash + ") and is not confirmed yet"
                               : "failed (" + o.error + ")";
  out.audit_error = Error{ErrorCode::kUnavailable,
                          "the " + change + " " + done +
                              " but its outcome could not be audited: " + audited.error().message,
                          audited.error().where};
  return out;
}

}  // namespace

GrantService::GrantService(const GrantServicePorts& ports, GrantSettings settings)
    : ports_(ports), settings_(std::move(settings)) {}

Result<GrantReport> GrantService::grant(const GrantQuery& query) {
  FL_ASSERT(ports_.directory != nullptr, "a service that grants is given the directory");
  if (auto s = check_purpose(query.purpose); !s) return s.error();
  if (!query.expires_at && (query.days == 0 || query.days > kMaxGrantDays)) {
    return Error{ErrorCode::kInvalidInput,
                 "a grant runs 1 to " + std::to_string(kMaxGrantDays) + " days",
                 std::to_string(query.days)};
  }
  const std::int64_t now = ports::unix_seconds(ports_.clock.wall());
  auto grantee = ports_.access.participant(query.grantee);
  if (!grantee) return grantee.error();

  GrantRequest request;
  request.context =
      context_of(settings_, now, query.operator_name, *grantee, query.purpose, query.consent);
  request.patient_key = query.patient_key;
  request.expires_at =
      query.expires_at ? *query.expires_at : static_cast<std::uint64_t>(now) + query.days * kDay;
  auto verdict =
      decide_grant(settings_.engine, *ports_.directory, ports_.audit, request, settings_.shadow);
  if (!verdict) return verdict.error();
  GrantReport out;
  out.permit = verdict->permit;
  out.reason = std::move(verdict->reason);
  out.audit_event = std::move(verdict->audit_event);
  out.shadow_event = std::move(verdict->shadow_event);
  out.decision = std::move(verdict->decision);
  out.expires_at = verdict->expires_at;
  out.capped = verdict->capped;
  if (!out.permit) return out;
  // The decision was audited before the transaction; its outcome is audited after it.
  out.transaction = carry_out(
      ports_.access, "grant",
      [&] {
        return ports_.access.send_grant(query.patient_key, query.grantee, query.purpose,
                                        out.expires_at);
      },
      [&](const audit::Transaction& tx) {
        return record_grant_transaction(ports_.audit, request, out.expires_at, tx, ports_.clock);
      });
  return out;
}

Result<TransactionReport> GrantService::revoke(const RevokeQuery& query) {
  if (auto s = check_purpose(query.purpose); !s) return s.error();
  const std::int64_t now = ports::unix_seconds(ports_.clock.wall());
  // For the record only: a ledger that cannot say who the grantee is does not hold the
  // revocation up (its transaction will say whether the ledger is there).
  auto grantee = ports_.access.participant(query.grantee);
  const ports::ParticipantState state =
      grantee ? *grantee
              : ports::ParticipantState{
                    .address = to_0x_hex(query.grantee), .jurisdiction = "", .active = false};
  const AccessContext context =
      context_of(settings_, now, query.operator_name, state, query.purpose, false);
  return carry_out(
      ports_.access, "revoke",
      [&] { return ports_.access.send_revoke(query.patient_key, query.grantee, query.purpose); },
      [&](const audit::Transaction& tx) {
        return record_revocation(ports_.audit, context, query.patient_key, tx, ports_.clock);
      });
}

}  // namespace fl::gateway
