// The ledger's answers to the read path, reused for a short time: a participant's registration,
// a grant check (canRead) and a patient's erasure mark each cost an eth_call per read, and the
// API serves thousands of reads a second. AccessCache holds them, shared by every request
// thread; CachedAccessLedger and CachedErasureMarks are the decorators of the ports that fill
// and read it, one per thread around that thread's own adapter.
//
// Only answers that let a read go on are kept: an active registration, a grant, and an erasure
// mark either way (erasure is final, and a stale "not erased" is safe, below). A denial always
// asks the ledger again, so a grant or registration is seen as soon as it is mined.
//
// How stale an answer can be: an entry is served at most `ttl` after the eth_call that produced
// it was started. Sooner, whoever sees a change drops the entries it affects: the decorators
// when their own thread sends a grant, revocation or erasure mark (at send and again once it is
// mined), and the API's ledger poller for the contract's GrantChanged, ParticipantChanged and
// Erased events (forget_*). An answer read before a drop and stored after it is not kept (the
// generation check), so a drop is never undone by a read that was in flight.
//
// An erasure never depends on this cache to withhold data: the master keys are destroyed
// before the ledger mark is sent, and every read fetches the patient's master key from its
// region's store, so a stale "not erased" ends in kErased there.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/clock.h"
#include "fl/ports/consent_records.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace fl::gateway {

class AccessCache {
 public:
  // `ttl` zero: nothing is kept, every question goes to the ledger.
  AccessCache(ports::Clock& clock, std::chrono::milliseconds ttl);

  bool enabled() const { return ttl_.count() > 0; }

  // A ticket taken before asking the ledger: its answer is stored only if nothing was dropped
  // in between, and it ages from the ticket's time.
  struct Ticket {
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point asked;
  };
  Ticket ticket() const;

  std::optional<ports::ParticipantState> participant(const ports::Address& who) const;
  void put_participant(const Ticket& t, const ports::Address& who, ports::ParticipantState state);
  std::optional<bool> can_read(const ports::Hash32& patient, const ports::Address& reader,
                               std::string_view purpose) const;
  void put_can_read(const Ticket& t, const ports::Hash32& patient, const ports::Address& reader,
                    std::string_view purpose, bool granted);
  std::optional<bool> erased(const ports::Hash32& patient) const;
  void put_erased(const Ticket& t, const ports::Hash32& patient, bool erased);
  // The patient's recorded country (none recorded is an answer too). Not on the ledger: the
  // pipeline records it when it stores the patient's data; see CachedPatientDirectory.
  std::optional<std::optional<ports::PatientCountry>> country(const ports::Hash32& patient) const;
  void put_country(const Ticket& t, const ports::Hash32& patient,
                   std::optional<ports::PatientCountry> country);
  void forget_country(const ports::Hash32& patient);
  // The grants the patient's Consents hold; dropped with the patient's grants (a Consent's
  // grants change on the ledger with it, so its GrantChanged events drop them too).
  std::optional<std::vector<ports::ConsentedGrant>> consented(const ports::Hash32& patient) const;
  void put_consented(const Ticket& t, const ports::Hash32& patient,
                     std::vector<ports::ConsentedGrant> grants);

  // What a change on the ledger makes stale.
  void forget_participant(const ports::Address& who);
  void forget_grants(const ports::Hash32& patient);   // every reader and purpose
  void forget_patient(const ports::Hash32& patient);  // grants, erasure mark and country
  void forget_all();

  std::size_t size() const;

 private:
  template <typename V>
  struct Entry {
    V value;
    std::chrono::steady_clock::time_point asked;
  };
  using GrantKey = std::tuple<ports::Hash32, ports::Address, std::string>;

  bool fresh(std::chrono::steady_clock::time_point asked) const;
  bool storable(const Ticket& t) const;  // with mutex_ held
  // Every kSweepEvery stores, drops the entries past their TTL, so a long-running API keeps
  // only what it asked within the TTL (plus what the last few stores added). With mutex_ held.
  void stored();
  static constexpr std::uint64_t kSweepEvery = 1024;
  std::uint64_t stores_ = 0;

  ports::Clock& clock_;
  const std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;  // moves on with every drop
  std::map<ports::Address, Entry<ports::ParticipantState>> participants_;
  std::map<GrantKey, Entry<bool>> grants_;
  std::map<ports::Hash32, Entry<bool>> erased_;
  std::map<ports::Hash32, Entry<std::optional<ports::PatientCountry>>> countries_;
  std::map<ports::Hash32, Entry<std::vector<ports::ConsentedGrant>>> consented_;
};

// An AccessLedger that answers participant() and can_read() from the cache when it can; the
// transactions pass through and drop what they change. One thread per instance, like `inner`.
class CachedAccessLedger final : public ports::AccessLedger {
 public:
  CachedAccessLedger(ports::AccessLedger& inner, AccessCache& cache);

  Result<ports::ParticipantState> participant(const ports::Address& who) override;
  Result<bool> can_read(const ports::Hash32& patient_key, const ports::Address& reader,
                        std::string_view purpose) override;
  Result<ports::Hash32> send_grant(const ports::Hash32& patient_key, const ports::Address& grantee,
                                   std::string_view purpose, std::uint64_t expires_at) override;
  Result<ports::Hash32> send_revoke(const ports::Hash32& patient_key, const ports::Address& grantee,
                                    std::string_view purpose) override;
  Result<ports::Hash32> send_erasure(const ports::Hash32& patient_key) override;
  Result<std::uint64_t> wait_mined(const ports::Hash32& tx) override;

 private:
  Result<ports::Hash32> sent(Result<ports::Hash32> tx, const ports::Hash32& patient_key);

  ports::AccessLedger& inner_;
  AccessCache& cache_;
  std::map<ports::Hash32, ports::Hash32> pending_;  // sent tx -> the patient it changes
};

// A PointerLedger whose erased() answers from the cache when it can; everything else passes
// through. One thread per instance, like `inner`.
class CachedErasureMarks final : public ports::PointerLedger {
 public:
  CachedErasureMarks(ports::PointerLedger& inner, AccessCache& cache);

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend& before_send) override;
  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32& root) override;
  std::string sender() const override;
  Status settle(const std::string& account) override;
  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override;
  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override;
  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override;

 private:
  ports::PointerLedger& inner_;
  AccessCache& cache_;
};

// ConsentRecords whose consented_grants() answer from the cache when they can; what this
// instance writes drops the patient's entry. One thread per instance, like `inner`.
class CachedConsentRecords final : public ports::ConsentRecords {
 public:
  CachedConsentRecords(ports::ConsentRecords& inner, AccessCache& cache);

  Result<std::optional<std::string>> consent_record(const ports::Hash32& consent_key) override;
  Status put_consent_record(const ports::Hash32& consent_key, const std::string& json) override;
  Result<std::vector<ports::ConsentedGrant>> consented_grants(
      const ports::Hash32& patient_key) override;
  Status put_consented_grants(const ports::Hash32& patient_key, const ports::Hash32& consent_key,
                              std::span<const ports::ConsentedGrant> grants) override;

 private:
  ports::ConsentRecords& inner_;
  AccessCache& cache_;
};

// A PatientDirectory whose recorded_countries() answers from the cache when it can (a read
// asks every region for the patient's country, for the policy); what this instance records or
// forgets drops the patients' entries. A country recorded by another process (the pipeline,
// when it stores a Patient whose address moved) is seen at most the cache's TTL late: no event
// on the ledger marks it. Erasure does not depend on it (the master key is read every time).
// One thread per instance, like `inner`.
class CachedPatientDirectory final : public ports::PatientDirectory {
 public:
  CachedPatientDirectory(ports::PatientDirectory& inner, AccessCache& cache);

  Result<std::vector<std::optional<ports::PatientCountry>>> recorded_countries(
      std::span<const ports::Hash32> patient_keys) override;
  Status record_countries(const std::string& region,
                          std::span<const std::pair<ports::Hash32, std::string>> countries,
                          std::int64_t now_ms) override;
  Result<ports::CountryAnswers> reachable_countries(std::span<const ports::Hash32> patient_keys,
                                                    std::span<const std::string> skip) override;
  Result<std::vector<std::string>> record_countries_reachable(
      const std::string& region, std::span<const std::pair<ports::Hash32, std::string>> countries,
      std::int64_t now_ms, std::span<const std::string> skip) override;
  Status forget_countries_before(
      const std::string& region,
      std::span<const std::pair<ports::Hash32, std::int64_t>> records) override;
  Result<bool> forget_patient(const ports::Hash32& patient_key) override;
  Result<std::vector<std::optional<ports::Hash32>>> linked_persons(
      std::span<const ports::Hash32> records) override;
  Result<std::vector<ports::Hash32>> link_persons(
      std::span<const std::pair<ports::Hash32, ports::Hash32>> links) override;

 private:
  ports::PatientDirectory& inner_;
  AccessCache& cache_;
};

}  // namespace fl::gateway
