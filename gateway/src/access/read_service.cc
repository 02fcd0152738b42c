#include "fl/gateway/read_service.h"

#include "fl/gateway/pseudonyms.h"

#include <rapidjson/document.h>

#include <utility>

namespace fl::gateway {

ReadService::ReadService(const ReadServicePorts& ports, ReadSettings settings)
    : ports_(ports),
      settings_(std::move(settings)),
      reader_(ports.keys, ports.blobs, ports.master_keys, ports.pointers, settings_.regions,
              settings_.hints) {}

ReadService::~ReadService() = default;

Result<ReadReport> ReadService::read(const ReadQuery& query) {
  if (query.participant && query.purpose.empty()) {
    return Error{ErrorCode::kInvalidInput, "a participant's read needs a purpose of use", ""};
  }
  auto stored = reader_.read(query.source, query.reference, query.version);
  if (!stored) return stored.error();
  return decide(query, std::move(*stored));
}

Result<PatientReadReport> ReadService::read_patient(const ReadQuery& query) {
  if (query.participant && query.purpose.empty()) {
    return Error{ErrorCode::kInvalidInput, "a participant's read needs a purpose of use", ""};
  }
  Pseudonyms pseudonyms(ports_.keys);
  auto patient = pseudonyms.patient_key(query.source, query.reference);
  if (!patient) return patient.error();
  // A record linked to a person is stored under the person's key.
  auto person = ports_.directory.linked_persons(std::span(&*patient, 1));
  if (!person) return person.error();
  if (person->front()) *patient = *person->front();
  const std::string patient_hex = to_hex(*patient);
  PatientReadReport out;
  bool any = false;
  for (const auto& region : settings_.regions) {
    auto keys = ports_.blobs.patient_resources(region, patient_hex);
    if (!keys) return keys.error();
    for (const auto& hex : *keys) {
      auto bytes = parse_hex(hex);
      if (!bytes || bytes->size() != 32) continue;  // not ours
      ports::Hash32 resource_key{};
      std::copy(bytes->begin(), bytes->end(), resource_key.begin());
      any = true;
      auto stored = reader_.read_key(resource_key, std::nullopt);
      if (!stored) {
        // Erased: the whole patient is; deleted or never confirmed: nothing to release.
        if (stored.error().code == ErrorCode::kErased) return stored.error();
        if (stored.error().code == ErrorCode::kNotFound) continue;
        if (stored.error().code != ErrorCode::kIntegrity) return stored.error();
        out.failed.push_back({to_0x_hex(resource_key), stored.error().message});
        continue;
      }
      auto decided = decide(query, std::move(*stored));
      if (!decided) return decided.error();
      if (decided->permit) {
        out.released.push_back(std::move(*decided));
      } else {
        ++out.denied;
      }
    }
  }
  if (!any) return Error{ErrorCode::kNotFound, "no resource is stored for the patient", ""};
  return out;
}

Result<ReadReport> ReadService::decide(const ReadQuery& query, ReadResource stored_resource) {
  auto stored = &stored_resource;

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
    // Consent as the patient gave it: a Consent that holds this grant (consent_service.h).
    if (*granted && !query.consent && ports_.consents != nullptr &&
        request.patient_key != ports::Hash32{}) {
      auto consented = ports_.consents->consented_grants(request.patient_key);
      if (!consented) return consented.error();
      request.context.consent = ports::consents_to(*consented, *query.participant, query.purpose,
                                                   static_cast<std::uint64_t>(request.context.now));
    }
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
