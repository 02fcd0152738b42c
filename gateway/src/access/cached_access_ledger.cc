#include "fl/gateway/cached_access_ledger.h"

#include <array>
#include <utility>

namespace fl::gateway {

AccessCache::AccessCache(ports::Clock& clock, std::chrono::milliseconds ttl)
    : clock_(clock), ttl_(ttl) {}

AccessCache::Ticket AccessCache::ticket() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return Ticket{.generation = generation_, .asked = clock_.now()};
}

bool AccessCache::fresh(std::chrono::steady_clock::time_point asked) const {
  return clock_.now() - asked < ttl_;
}

bool AccessCache::storable(const Ticket& t) const {
  return enabled() && t.generation == generation_ && fresh(t.asked);
}

std::optional<ports::ParticipantState> AccessCache::participant(const ports::Address& who) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = participants_.find(who);
  if (it == participants_.end() || !fresh(it->second.asked)) return std::nullopt;
  return it->second.value;
}

void AccessCache::put_participant(const Ticket& t, const ports::Address& who,
                                  ports::ParticipantState state) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!storable(t)) return;
  participants_.insert_or_assign(who, Entry<ports::ParticipantState>{std::move(state), t.asked});
  stored();
}

std::optional<bool> AccessCache::can_read(const ports::Hash32& patient,
                                          const ports::Address& reader,
                                          std::string_view purpose) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = grants_.find(GrantKey{patient, reader, std::string(purpose)});
  if (it == grants_.end() || !fresh(it->second.asked)) return std::nullopt;
  return it->second.value;
}

void AccessCache::put_can_read(const Ticket& t, const ports::Hash32& patient,
                               const ports::Address& reader, std::string_view purpose,
                               bool granted) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!storable(t)) return;
  grants_.insert_or_assign(GrantKey{patient, reader, std::string(purpose)},
                           Entry<bool>{granted, t.asked});
  stored();
}

std::optional<bool> AccessCache::erased(const ports::Hash32& patient) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = erased_.find(patient);
  if (it == erased_.end() || !fresh(it->second.asked)) return std::nullopt;
  return it->second.value;
}

void AccessCache::put_erased(const Ticket& t, const ports::Hash32& patient, bool erased) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!storable(t)) return;
  erased_.insert_or_assign(patient, Entry<bool>{erased, t.asked});
  stored();
}

std::optional<std::optional<ports::PatientCountry>> AccessCache::country(
    const ports::Hash32& patient) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = countries_.find(patient);
  if (it == countries_.end() || !fresh(it->second.asked)) return std::nullopt;
  return it->second.value;
}

void AccessCache::put_country(const Ticket& t, const ports::Hash32& patient,
                              std::optional<ports::PatientCountry> country) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!storable(t)) return;
  countries_.insert_or_assign(
      patient, Entry<std::optional<ports::PatientCountry>>{std::move(country), t.asked});
  stored();
}

void AccessCache::forget_country(const ports::Hash32& patient) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  countries_.erase(patient);
}

std::optional<std::vector<ports::ConsentedGrant>> AccessCache::consented(
    const ports::Hash32& patient) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = consented_.find(patient);
  if (it == consented_.end() || !fresh(it->second.asked)) return std::nullopt;
  return it->second.value;
}

void AccessCache::put_consented(const Ticket& t, const ports::Hash32& patient,
                                std::vector<ports::ConsentedGrant> grants) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!storable(t)) return;
  consented_.insert_or_assign(
      patient, Entry<std::vector<ports::ConsentedGrant>>{std::move(grants), t.asked});
  stored();
}

void AccessCache::stored() {
  if (++stores_ % kSweepEvery != 0) return;
  const auto stale = [this](const auto& entry) { return !fresh(entry.second.asked); };
  std::erase_if(participants_, stale);
  std::erase_if(grants_, stale);
  std::erase_if(erased_, stale);
  std::erase_if(countries_, stale);
  std::erase_if(consented_, stale);
}

void AccessCache::forget_participant(const ports::Address& who) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  participants_.erase(who);
}

void AccessCache::forget_grants(const ports::Hash32& patient) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  // Grant keys sort by patient first: the patient's entries are one range.
  auto first = grants_.lower_bound(GrantKey{patient, ports::Address{}, std::string()});
  auto last = first;
  while (last != grants_.end() && std::get<0>(last->first) == patient) ++last;
  grants_.erase(first, last);
  consented_.erase(patient);
}

void AccessCache::forget_patient(const ports::Hash32& patient) {
  forget_grants(patient);
  const std::lock_guard<std::mutex> lock(mutex_);
  erased_.erase(patient);
  countries_.erase(patient);
}

void AccessCache::forget_all() {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  participants_.clear();
  grants_.clear();
  erased_.clear();
  countries_.clear();
  consented_.clear();
}

std::size_t AccessCache::size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return participants_.size() + grants_.size() + erased_.size() + countries_.size() +
         consented_.size();
}

CachedAccessLedger::CachedAccessLedger(ports::AccessLedger& inner, AccessCache& cache)
    : inner_(inner), cache_(cache) {}

Result<ports::ParticipantState> CachedAccessLedger::participant(const ports::Address& who) {
  if (auto known = cache_.participant(who)) return std::move(*known);
  const auto ticket = cache_.ticket();
  auto state = inner_.participant(who);
  // Only an active registration is kept: a participant registered a moment ago is not refused.
  if (state && state->active) cache_.put_participant(ticket, who, *state);
  return state;
}

Result<bool> CachedAccessLedger::can_read(const ports::Hash32& patient_key,
                                          const ports::Address& reader, std::string_view purpose) {
  if (auto known = cache_.can_read(patient_key, reader, purpose)) return *known;
  const auto ticket = cache_.ticket();
  auto granted = inner_.can_read(patient_key, reader, purpose);
  // Only a grant is kept: a denial asks again, so a grant just mined is seen at once.
  if (granted && *granted) cache_.put_can_read(ticket, patient_key, reader, purpose, true);
  return granted;
}

Result<ports::Hash32> CachedAccessLedger::sent(Result<ports::Hash32> tx,
                                               const ports::Hash32& patient_key) {
  // Dropped at send (a read may run between send and mining, and would see the old state until
  // it is mined) and again once mined (wait_mined), so the new state is read from then on.
  cache_.forget_patient(patient_key);
  if (tx) pending_.insert_or_assign(*tx, patient_key);
  return tx;
}

Result<ports::Hash32> CachedAccessLedger::send_grant(const ports::Hash32& patient_key,
                                                     const ports::Address& grantee,
                                                     std::string_view purpose,
                                                     std::uint64_t expires_at) {
  return sent(inner_.send_grant(patient_key, grantee, purpose, expires_at), patient_key);
}

Result<ports::Hash32> CachedAccessLedger::send_revoke(const ports::Hash32& patient_key,
                                                      const ports::Address& grantee,
                                                      std::string_view purpose) {
  return sent(inner_.send_revoke(patient_key, grantee, purpose), patient_key);
}

Result<ports::Hash32> CachedAccessLedger::send_erasure(const ports::Hash32& patient_key) {
  return sent(inner_.send_erasure(patient_key), patient_key);
}

Result<std::uint64_t> CachedAccessLedger::wait_mined(const ports::Hash32& tx) {
  auto block = inner_.wait_mined(tx);
  if (auto it = pending_.find(tx); it != pending_.end()) {
    cache_.forget_patient(it->second);
    if (block) pending_.erase(it);  // unconfirmed: may be waited for again
  }
  return block;
}

CachedErasureMarks::CachedErasureMarks(ports::PointerLedger& inner, AccessCache& cache)
    : inner_(inner), cache_(cache) {}

Result<ports::AnchorTicket> CachedErasureMarks::submit(std::span<const ports::Pointer> batch,
                                                       const ports::BeforeSend& before_send) {
  return inner_.submit(batch, before_send);
}

Result<std::optional<ports::RootAnchor>> CachedErasureMarks::root_anchor(
    const ports::Hash32& root) {
  return inner_.root_anchor(root);
}

std::string CachedErasureMarks::sender() const { return inner_.sender(); }

Status CachedErasureMarks::settle(const std::string& account) { return inner_.settle(account); }

Result<ports::AnchorConfirmation> CachedErasureMarks::await(const ports::AnchorTicket& ticket) {
  return inner_.await(ticket);
}

Result<std::vector<std::uint64_t>> CachedErasureMarks::latest_versions(
    std::span<const ports::Hash32> resource_keys) {
  return inner_.latest_versions(resource_keys);
}

Result<std::vector<bool>> CachedErasureMarks::erased(std::span<const ports::Hash32> patient_keys) {
  std::vector<bool> out(patient_keys.size());
  std::vector<ports::Hash32> unknown;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < patient_keys.size(); ++i) {
    if (auto known = cache_.erased(patient_keys[i])) {
      out[i] = *known;
    } else {
      unknown.push_back(patient_keys[i]);
      where.push_back(i);
    }
  }
  if (unknown.empty()) return out;
  const auto ticket = cache_.ticket();
  auto asked = inner_.erased(unknown);
  if (!asked) return asked.error();
  for (std::size_t j = 0; j < unknown.size(); ++j) {
    const bool erased = (*asked)[j];
    out[where[j]] = erased;
    cache_.put_erased(ticket, unknown[j], erased);
  }
  return out;
}

namespace {

// Before the write (a read in flight then does not store what it found) and after it (a read
// that started in between may have stored the old record).
template <typename Records, typename Write>
auto forgetting_around(AccessCache& cache, const Records& records, Write write) {
  for (const auto& r : records) cache.forget_country(r.first);
  auto written = write();
  for (const auto& r : records) cache.forget_country(r.first);
  return written;
}

}  // namespace

CachedConsentRecords::CachedConsentRecords(ports::ConsentRecords& inner, AccessCache& cache)
    : inner_(inner), cache_(cache) {}

Result<std::optional<std::string>> CachedConsentRecords::consent_record(
    const ports::Hash32& consent_key) {
  return inner_.consent_record(consent_key);
}

Status CachedConsentRecords::put_consent_record(const ports::Hash32& consent_key,
                                                const std::string& json) {
  return inner_.put_consent_record(consent_key, json);
}

Result<std::vector<ports::ConsentedGrant>> CachedConsentRecords::consented_grants(
    const ports::Hash32& patient_key) {
  if (auto known = cache_.consented(patient_key)) return std::move(*known);
  const auto ticket = cache_.ticket();
  auto asked = inner_.consented_grants(patient_key);
  if (!asked) return asked.error();
  cache_.put_consented(ticket, patient_key, *asked);
  return asked;
}

Status CachedConsentRecords::put_consented_grants(const ports::Hash32& patient_key,
                                                  const ports::Hash32& consent_key,
                                                  std::span<const ports::ConsentedGrant> grants) {
  cache_.forget_grants(patient_key);
  auto put = inner_.put_consented_grants(patient_key, consent_key, grants);
  cache_.forget_grants(patient_key);
  return put;
}

CachedPatientDirectory::CachedPatientDirectory(ports::PatientDirectory& inner, AccessCache& cache)
    : inner_(inner), cache_(cache) {}

Result<std::vector<std::optional<ports::PatientCountry>>>
CachedPatientDirectory::recorded_countries(std::span<const ports::Hash32> patient_keys) {
  std::vector<std::optional<ports::PatientCountry>> out(patient_keys.size());
  std::vector<ports::Hash32> unknown;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < patient_keys.size(); ++i) {
    if (auto known = cache_.country(patient_keys[i])) {
      out[i] = std::move(*known);
    } else {
      unknown.push_back(patient_keys[i]);
      where.push_back(i);
    }
  }
  if (unknown.empty()) return out;
  const auto ticket = cache_.ticket();
  auto asked = inner_.recorded_countries(unknown);
  if (!asked) return asked.error();
  for (std::size_t j = 0; j < unknown.size(); ++j) {
    cache_.put_country(ticket, unknown[j], (*asked)[j]);
    out[where[j]] = std::move((*asked)[j]);
  }
  return out;
}

Status CachedPatientDirectory::record_countries(
    const std::string& region, std::span<const std::pair<ports::Hash32, std::string>> countries,
    std::int64_t now_ms) {
  return forgetting_around(cache_, countries,
                           [&] { return inner_.record_countries(region, countries, now_ms); });
}

Result<ports::CountryAnswers> CachedPatientDirectory::reachable_countries(
    std::span<const ports::Hash32> patient_keys, std::span<const std::string> skip) {
  return inner_.reachable_countries(patient_keys, skip);
}

Result<std::vector<std::string>> CachedPatientDirectory::record_countries_reachable(
    const std::string& region, std::span<const std::pair<ports::Hash32, std::string>> countries,
    std::int64_t now_ms, std::span<const std::string> skip) {
  return forgetting_around(cache_, countries, [&] {
    return inner_.record_countries_reachable(region, countries, now_ms, skip);
  });
}

Status CachedPatientDirectory::forget_countries_before(
    const std::string& region, std::span<const std::pair<ports::Hash32, std::int64_t>> records) {
  return forgetting_around(cache_, records,
                           [&] { return inner_.forget_countries_before(region, records); });
}

Result<bool> CachedPatientDirectory::forget_patient(const ports::Hash32& patient_key) {
  const std::array<std::pair<ports::Hash32, int>, 1> one{{{patient_key, 0}}};
  return forgetting_around(cache_, one, [&] { return inner_.forget_patient(patient_key); });
}

Result<std::vector<std::optional<ports::Hash32>>> CachedPatientDirectory::linked_persons(
    std::span<const ports::Hash32> records) {
  return inner_.linked_persons(records);
}

Result<std::vector<ports::Hash32>> CachedPatientDirectory::link_persons(
    std::span<const std::pair<ports::Hash32, ports::Hash32>> links) {
  return inner_.link_persons(links);
}

}  // namespace fl::gateway
