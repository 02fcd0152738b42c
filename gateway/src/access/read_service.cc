#include "fl/gateway/read_service.h"

#include "fl/gateway/pseudonyms.h"

#include <rapidjson/document.h>

#include <utility>

namespace fl::gateway {

ReadService::ReadService(const ReadServicePorts& ports, ReadSettings settings)
    : ports_(ports),
      settings_(std::move(settings)),
      reader_(ports.keys, ports.blobs, ports.master_keys, ports.pointers, settings_.regions) {}

ReadService::~ReadService() = default;

Result<ReadReport> ReadService::read(const ReadQuery& query) {
  if (query.participant && query.purpose.empty()) {
    return Error{ErrorCode::kInvalidInput, "a participant's read needs a purpose of use", ""};
  }
  auto stored = reader_.read(query.source, query.reference, query.version);
  if (!stored) return stored.error();

  ReadRequest request;
  request.context.now = ports::unix_seconds(ports_.clock.wall());
  request.context.gateway = settings_.gateway;
  request.context.operator_name = query.operator_name;
  request.context.purpose = query.purpose;
  request.context.consent = query.consent;
  request.patient_key = stored->record.pointer.patient_key;
  request.resource_key = stored->record.pointer.resource_key;
  request.operator_read = !query.participant;
  if (query.participant) {
    auto state = ports_.access.participant(*query.participant);
    if (!state) return state.error();
    request.context.participant = state->address;
    // An inactive registration names no jurisdiction: no rule for a destination applies.
    request.context.jurisdiction = state->active ? state->jurisdiction : std::string();
    auto granted = ports_.access.can_read(request.patient_key, *query.participant, query.purpose);
    if (!granted) return granted.error();
    request.granted = *granted;
  }
  rapidjson::Document resource;
  resource.Parse(stored->json.c_str(), stored->json.size());
  if (resource.HasParseError()) {
    return Error{ErrorCode::kIntegrity, "the stored resource is not JSON", query.reference};
  }
  Pseudonyms pseudonyms(ports_.keys);
  const auto pseudonym = [&](std::string_view system, std::string_view value) {
    auto key = pseudonyms.identifier(system, value);
    // The pepper was just used to find the resource, so it is there; redact rather than leak.
    return key ? to_hex(*key) : std::string("redacted");
  };
  auto verdict = decide_read(settings_.engine, ports_.directory, ports_.audit, pseudonym, request,
                             resource, settings_.shadow);
  if (!verdict) return verdict.error();
  ReadReport out;
  out.record = std::move(stored->record);
  out.permit = verdict->permit;
  out.released = std::move(verdict->released);
  out.reason = std::move(verdict->reason);
  out.audit_event = std::move(verdict->audit_event);
  out.shadow_event = std::move(verdict->shadow_event);
  out.decision = std::move(verdict->decision);
  return out;
}

}  // namespace fl::gateway
