// In-memory fakes of every port, for unit tests of pipeline logic, with fault injection.
// Integration tests use the real adapters against real services instead.
#pragma once

#include "fl/ports/access_ledger.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/clock.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/event_source.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"
#include "fl/ports/receipts.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace fl::testing {

// A single-partition topic: poll hands out what was pushed; commit records the next offset.
class FakeEventSource final : public ports::EventSource {
 public:
  void push(std::string value, std::vector<std::pair<std::string, std::string>> headers = {}) {
    ports::SourceEvent e;
    e.origin = {.topic = "fhir.events", .partition = 0, .offset = next_offset_++};
    e.value = std::move(value);
    e.headers = std::move(headers);
    pending_.push_back(std::move(e));
  }
  Result<std::vector<ports::SourceEvent>> poll(std::size_t max_events,
                                               std::chrono::milliseconds) override {
    std::vector<ports::SourceEvent> out;
    while (!pending_.empty() && out.size() < max_events) {
      out.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    return out;
  }
  Status commit(std::span<const ports::Origin> handled) override {
    for (const auto& o : handled) {
      committed_ = std::max(committed_, o.offset + 1);
      handed_to_commit.push_back(o.offset);
    }
    ++commits_;
    return Ok{};
  }
  Result<bool> caught_up() override { return pending_.empty() && committed_ == next_offset_; }

  std::int64_t committed() const { return committed_; }
  int commits() const { return commits_; }
  // Every offset handed to commit, in the order it was.
  std::vector<std::int64_t> handed_to_commit;

 private:
  std::deque<ports::SourceEvent> pending_;
  std::int64_t next_offset_ = 0;
  std::int64_t committed_ = 0;
  int commits_ = 0;
};

class FakeDeadLetters final : public ports::DeadLetters {
 public:
  Status send(const ports::DeadLetter& letter) override {
    letters.push_back(letter);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds) override { return Ok{}; }
  std::vector<ports::DeadLetter> letters;
};

class FakeReceipts final : public ports::Receipts {
 public:
  Status publish(const ports::Receipt& receipt) override {
    receipts.push_back(receipt);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds) override { return Ok{}; }
  std::vector<ports::Receipt> receipts;
};

// Keeps what was recorded; `flushed` counts the records a flush made durable, and `fail_next`
// refuses the next record() (a broker that is down).
class FakeAuditLog final : public ports::AuditLog {
 public:
  Status record(std::span<const ports::AuditRecord> batch) override {
    if (fail_next || (fail_after && records.size() >= *fail_after)) {
      fail_next = false;
      fail_after.reset();
      return Error{ErrorCode::kUnavailable, "audit topic unavailable (injected)", "fake"};
    }
    for (const auto& r : batch) records.push_back(r);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds) override {
    flushed = records.size();
    if (on_flush) on_flush();
    return Ok{};
  }
  std::vector<ports::AuditRecord> records;
  std::size_t flushed = 0;
  bool fail_next = false;
  std::optional<std::size_t> fail_after;  // refuses one record() once this many are kept
  std::function<void()> on_flush;         // what else the test looks at when a flush happens
};

class FakeBlobStore final : public ports::BlobStore {
 public:
  // Makes the next `n` calls fail as if Redis were down.
  void fail_next(int n) { failures_left_ = n; }
  // Makes the next streamed put fail as if Redis went down after storing its first `n` writes.
  void fail_after_writes(std::size_t n) { fail_after_ = n; }
  int writes() const { return writes_; }
  bool fail_removal = false;  // remove_unclaimed fails as if Redis went down after the store
  // put_pointer_records fails for good, as if the gateway died just before writing them.
  bool crash_before_records = false;
  // The indexes make_write was called with, over every streamed put.
  const std::vector<std::size_t>& made() const { return made_; }

  // As Redis does: each write is stored as soon as it is made.
  Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                          std::size_t count,
                                                          const MakeWrite& make_write) override {
    if (failures_left_ > 0) {
      --failures_left_;
      return Error{ErrorCode::kUnavailable, "injected failure", region};
    }
    const std::optional<std::size_t> fail_after = std::exchange(fail_after_, std::nullopt);
    std::vector<std::string> claimed;
    for (std::size_t i = 0; i < count; ++i) {
      if (fail_after && i == *fail_after) {
        return Error{ErrorCode::kUnavailable, "injected failure mid-batch", region};
      }
      made_.push_back(i);
      auto b = make_write(i);
      if (!b) return b.error();
      if (blobs_.try_emplace({region, b->key}, b->blob).second) ++writes_;
      claimed.push_back(
          claims_.try_emplace({region, b->resource_key, b->version}, b->key).first->second);
    }
    return claimed;
  }
  Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) override {
    if (failures_left_ > 0 || fail_removal) {
      failures_left_ = std::max(failures_left_ - 1, 0);
      return Error{ErrorCode::kUnavailable, "injected failure", region};
    }
    for (const auto& key : keys) blobs_.erase({region, key});
    return Ok{};
  }
  // As the Redis script does: the claim goes only while it names the blob and nothing anchored
  // the version; the blob goes unless its claim stays.
  Status release_claims(const std::string& region,
                        std::span<const ports::ClaimedBlob> claims) override {
    if (failures_left_ > 0) {
      --failures_left_;
      return Error{ErrorCode::kUnavailable, "injected failure", region};
    }
    for (const auto& c : claims) {
      auto claim = claims_.find({region, c.resource_key, c.version});
      if (claim != claims_.end() && claim->second == c.key) {
        if (has_version(records_, region, c.resource_key, c.version) ||
            has_version(pending_, region, c.resource_key, c.version)) {
          continue;
        }
        claims_.erase(claim);
      }
      blobs_.erase({region, c.key});
    }
    return Ok{};
  }
  Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    if (failures_left_ > 0) {
      --failures_left_;
      return Error{ErrorCode::kUnavailable, "injected failure", region};
    }
    std::vector<std::optional<std::string>> out;
    for (const auto& v : versions) {
      auto it = claims_.find({region, v.resource_key, v.version});
      out.push_back(it == claims_.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }
  // Every blob stored in `region`, by content hash (hex).
  std::map<std::string, ports::Bytes> blobs_in(const std::string& region) const {
    std::map<std::string, ports::Bytes> out;
    for (const auto& [key, blob] : blobs_) {
      if (key.first == region) out.emplace(key.second, blob);
    }
    return out;
  }
  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    auto it = blobs_.find({region, key});
    if (it == blobs_.end()) return Error{ErrorCode::kNotFound, "no such blob", key};
    return it->second;
  }
  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    if (crash_before_records) {
      return Error{ErrorCode::kIntegrity, "injected: the gateway stops here", region};
    }
    for (const auto& r : records) {
      records_[{region, r.resource_key}][r.version] = r.json;
      if (!r.patient_key.empty()) patients_[{region, r.patient_key}].insert(r.resource_key);
      if (auto it = pending_.find({region, r.resource_key}); it != pending_.end()) {
        it->second.erase(r.version);
      }
    }
    return Ok{};
  }
  Status put_pending_anchors(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    for (const auto& r : records) pending_[{region, r.resource_key}][r.version] = r.json;
    return Ok{};
  }
  Result<std::vector<ports::AnchorRecords>> anchor_records(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    anchor_lookups += versions.size();
    if (failures_left_ > 0) {
      --failures_left_;
      return Error{ErrorCode::kUnavailable, "injected failure", region};
    }
    std::vector<ports::AnchorRecords> out;
    for (const auto& v : versions) {
      out.push_back({.record = find_version(records_, region, v.resource_key, v.version),
                     .pending = find_version(pending_, region, v.resource_key, v.version)});
    }
    return out;
  }
  // The regions pointer_records was asked, in order.
  std::vector<std::string> record_reads;
  std::size_t anchor_lookups = 0;  // versions anchor_records was asked about
  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    record_reads.push_back(region);
    auto it = records_.find({region, resource_key});
    if (it == records_.end()) return std::map<std::uint64_t, std::string>{};
    return it->second;
  }
  Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                     const std::string& patient_key) override {
    auto it = patients_.find({region, patient_key});
    if (it == patients_.end()) return std::vector<std::string>{};
    return std::vector<std::string>(it->second.begin(), it->second.end());
  }

 private:
  using Records =
      std::map<std::pair<std::string, std::string>, std::map<std::uint64_t, std::string>>;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> patients_;
  static std::optional<std::string> find_version(const Records& in, const std::string& region,
                                                 const std::string& resource_key,
                                                 std::uint64_t version) {
    auto it = in.find({region, resource_key});
    if (it == in.end()) return std::nullopt;
    auto v = it->second.find(version);
    return v == it->second.end() ? std::nullopt : std::optional(v->second);
  }
  static bool has_version(const Records& in, const std::string& region,
                          const std::string& resource_key, std::uint64_t version) {
    return find_version(in, region, resource_key, version).has_value();
  }

  Records records_;
  Records pending_;  // merkle anchors sent, not yet recorded
  std::map<std::pair<std::string, std::string>, ports::Bytes> blobs_;
  std::map<std::tuple<std::string, std::string, std::uint64_t>, std::string> claims_;
  int failures_left_ = 0;
  std::optional<std::size_t> fail_after_;
  std::vector<std::size_t> made_;
  int writes_ = 0;
};

// Master keys as the Redis store keeps them, per (region, patient key).
class FakeMasterKeyStore final : public ports::MasterKeyStore {
 public:
  Result<std::vector<std::optional<ports::MasterKeyEntry>>> master_keys(
      const std::string& region, std::span<const ports::Hash32> patient_keys) override {
    std::vector<std::optional<ports::MasterKeyEntry>> out;
    for (const auto& k : patient_keys) {
      auto it = entries.find({region, k});
      out.push_back(it == entries.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }
  Result<std::vector<ports::MasterKeyEntry>> create_master_keys(
      const std::string& region,
      std::span<const std::pair<ports::Hash32, ports::MasterKeyEntry>> fresh) override {
    std::vector<ports::MasterKeyEntry> out;
    for (const auto& [k, e] : fresh)
      out.push_back(entries.try_emplace({region, k}, e).first->second);
    return out;
  }
  Result<bool> replace_master_key(const std::string& region, const ports::Hash32& patient_key,
                                  const ports::MasterKeyEntry& expected,
                                  const ports::MasterKeyEntry& replacement) override {
    auto it = entries.find({region, patient_key});
    if (it == entries.end() || !(it->second == expected)) return false;
    it->second = replacement;
    return true;
  }
  Result<bool> erase_master_key(const std::string& region, const ports::Hash32& patient_key,
                                const std::string& erased_at) override {
    auto& e = entries[{region, patient_key}];
    const bool destroyed = !e.erased() && !e.wrapped.wrapped.empty();
    e.wrapped = {};
    e.erased_at = erased_at;
    return destroyed;
  }
  Status for_each_master_key(
      const std::string& region,
      const std::function<Status(const ports::Hash32&, const ports::MasterKeyEntry&)>& visit)
      override {
    for (const auto& [key, e] : entries) {
      if (key.first != region) continue;
      if (auto s = visit(key.second, e); !s) return s;
    }
    return Ok{};
  }
  std::map<std::pair<std::string, ports::Hash32>, ports::MasterKeyEntry> entries;
};

// Patients' recorded countries per region, as the Redis adapter keeps them: a record moves with
// the patient, and a look-up answers the newest.
class FakePatientDirectory final : public ports::PatientDirectory {
 public:
  Result<std::vector<std::optional<ports::PatientCountry>>> recorded_countries(
      std::span<const ports::Hash32> patient_keys) override {
    std::vector<std::optional<ports::PatientCountry>> out;
    for (const auto& k : patient_keys) {
      auto it = records.find(k);
      out.push_back(it == records.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }
  Status record_countries(const std::string& region,
                          std::span<const std::pair<ports::Hash32, std::string>> countries,
                          std::int64_t now_ms) override {
    for (const auto& [k, country] : countries) {
      records[k] =
          ports::PatientCountry{.country = country, .region = region, .recorded_ms = now_ms};
    }
    return Ok{};
  }
  Result<bool> forget_patient(const ports::Hash32& patient_key) override {
    return records.erase(patient_key) > 0;
  }
  Result<std::vector<std::optional<ports::Hash32>>> linked_persons(
      std::span<const ports::Hash32> records_asked) override {
    std::vector<std::optional<ports::Hash32>> out;
    for (const auto& r : records_asked) {
      auto it = links.find(r);
      out.push_back(it == links.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }
  Result<std::vector<ports::Hash32>> link_persons(
      std::span<const std::pair<ports::Hash32, ports::Hash32>> wanted) override {
    std::vector<ports::Hash32> out;
    for (const auto& [record, person] : wanted)
      out.push_back(links.try_emplace(record, person).first->second);
    return out;
  }
  std::map<ports::Hash32, ports::PatientCountry> records;
  std::map<ports::Hash32, ports::Hash32> links;  // record -> person
};

// Keeps pointers as the contract does: one per (resource key, version), re-anchors ignored.
class FakePointerLedger final : public ports::PointerLedger {
 public:
  void fail_next(int n) { failures_left_ = n; }

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend& before_send) override {
    if (before_send) {
      // Storage mode only: no proofs to note, but the caller's hook runs as the adapter's does.
      ports::AnchorTicket planned{.placements = std::vector<ports::Placement>(batch.size())};
      if (auto noted = before_send(planned); !noted) return noted.error();
    }
    if (failures_left_ > 0) {
      --failures_left_;
      return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    }
    ++transactions;
    calls.push_back("submit " + std::to_string(transactions));
    submitted.insert(submitted.end(), batch.begin(), batch.end());
    std::vector<ports::Placement> placements(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& p = batch[i];
      if (erased_patients.contains(p.patient_key)) {
        return Error{ErrorCode::kPermissionDenied, "PatientIsErased", "fake-node"};
      }
      auto [it, fresh] = pointers.try_emplace({p.resource_key, p.version}, p.content_hash);
      if (fresh) ++events;
      // As the contract does: the first content hash of a version stays, others are refused.
      if (it->second != p.content_hash) placements[i].conflict = it->second;
    }
    return ports::AnchorTicket{.tx_hashes = {"0xtx" + std::to_string(transactions)},
                               .placements = std::move(placements)};
  }
  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    calls.push_back("await " + ticket.tx_hashes.front().substr(4));
    if (await_failures_left > 0) {
      --await_failures_left;
      return Error{ErrorCode::kUnavailable, "injected: the node lost the transaction", "fake"};
    }
    return ports::AnchorConfirmation{.transactions = {{.tx_hash = ticket.tx_hashes.front(),
                                                       .block = 100 + transactions,
                                                       .gas_used = 50000}},
                                     .placements = ticket.placements};
  }
  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override {
    std::vector<std::uint64_t> out;
    for (const auto& k : resource_keys) {
      std::uint64_t latest = 0;
      for (const auto& [key, hash] : pointers) {
        if (key.first == k) latest = std::max(latest, key.second);
      }
      out.push_back(latest);
    }
    return out;
  }
  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override {
    std::vector<bool> out;
    for (const auto& k : patient_keys) out.push_back(erased_patients.contains(k));
    return out;
  }
  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32&) override {
    return std::optional<ports::RootAnchor>();  // storage mode only: no roots
  }
  std::string sender() const override { return "0x0000000000000000000000000000000000000001"; }
  Status settle(const std::string&) override { return Ok{}; }

  std::set<ports::Hash32> erased_patients;
  std::vector<std::string> calls;         // "submit N" / "await N", in order
  std::vector<ports::Pointer> submitted;  // every pointer sent, in order
  int await_failures_left = 0;
  std::map<std::pair<ports::Hash32, std::uint64_t>, ports::Hash32> pointers;
  int events = 0;
  std::uint64_t transactions = 0;

 private:
  int failures_left_ = 0;
};

// The contract's access side: registrations by address and grants by (patient key, reader,
// purpose). An address never registered answers as the contract does: no jurisdiction, not
// active. `unavailable` makes every call fail as a node that is down would.
class FakeAccessLedger final : public ports::AccessLedger {
 public:
  Result<ports::ParticipantState> participant(const ports::Address& who) override {
    ++calls;
    if (unavailable) return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    auto it = participants.find(who);
    if (it != participants.end()) return it->second;
    return ports::ParticipantState{.address = to_0x_hex(who), .jurisdiction = "", .active = false};
  }
  Result<bool> can_read(const ports::Hash32& patient_key, const ports::Address& reader,
                        std::string_view purpose) override {
    ++calls;
    if (unavailable) return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    auto it = grants.find({patient_key, reader, std::string(purpose)});
    return it != grants.end() && it->second;
  }

  // Transactions take effect when sent; each is kept in `sent` in order ("grant", "revoke",
  // "erasure") and mined in block 100 + its index unless `unmined` (kUnavailable when waited).
  Result<ports::Hash32> send_grant(const ports::Hash32& patient_key, const ports::Address& grantee,
                                   std::string_view purpose, std::uint64_t expires_at) override {
    if (unavailable) return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    grants[{patient_key, grantee, std::string(purpose)}] = true;
    expiries[{patient_key, grantee, std::string(purpose)}] = expires_at;
    return sent_tx("grant");
  }
  Result<ports::Hash32> send_revoke(const ports::Hash32& patient_key, const ports::Address& grantee,
                                    std::string_view purpose) override {
    if (unavailable) return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    grants[{patient_key, grantee, std::string(purpose)}] = false;
    return sent_tx("revoke");
  }
  Result<ports::Hash32> send_erasure(const ports::Hash32& patient_key) override {
    if (unavailable) return Error{ErrorCode::kUnavailable, "injected failure", "fake-node"};
    erased.insert(patient_key);
    return sent_tx("erasure");
  }
  Result<std::uint64_t> wait_mined(const ports::Hash32& tx) override {
    if (unmined) return Error{ErrorCode::kUnavailable, "not mined in time", "fake-node"};
    return 100 + static_cast<std::uint64_t>(tx[31]);
  }

  std::map<ports::Address, ports::ParticipantState> participants;
  std::map<std::tuple<ports::Hash32, ports::Address, std::string>, bool> grants;
  std::map<std::tuple<ports::Hash32, ports::Address, std::string>, std::uint64_t> expiries;
  std::set<ports::Hash32> erased;
  std::vector<std::string> sent;
  bool unavailable = false;
  bool unmined = false;
  int calls = 0;  // participant() and can_read() together

 private:
  ports::Hash32 sent_tx(const char* kind) {
    sent.emplace_back(kind);
    ports::Hash32 tx{};
    tx[0] = 0x7e;
    tx[31] = static_cast<std::uint8_t>(sent.size() - 1);
    return tx;
  }
};

// KEKs without a KMS: "wraps" by XOR with a pad named by the KEK id and appends the AAD, so
// unwrap can check it; enough for pipeline logic, never for real keys.
class FakeKeyProvider final : public ports::KeyProvider {
 public:
  std::string active = "test-kek-1";

  Result<std::string> active_kek_id(const std::string&) override { return active; }
  Result<ports::WrappedKey> wrap(const std::string&, ByteView aad,
                                 const SecretBytes& key) override {
    ports::WrappedKey out{.kek_id = active};
    for (std::uint8_t b : key.view()) out.wrapped.push_back(b ^ pad(active));
    out.wrapped.insert(out.wrapped.end(), aad.begin(), aad.end());
    return out;
  }
  Result<SecretBytes> unwrap(const std::string&, const ports::WrappedKey& wrapped,
                             ByteView aad) override {
    if (retired.contains(wrapped.kek_id))
      return Error{ErrorCode::kNotFound, "retired", wrapped.kek_id};
    if (wrapped.wrapped.size() != 32 + aad.size() ||
        !std::equal(aad.begin(), aad.end(), wrapped.wrapped.begin() + 32)) {
      return Error{ErrorCode::kIntegrity, "wrapped key does not verify", wrapped.kek_id};
    }
    Bytes key;
    for (std::size_t i = 0; i < 32; ++i) key.push_back(wrapped.wrapped[i] ^ pad(wrapped.kek_id));
    return SecretBytes(std::move(key));
  }
  Result<ports::KeyMaterial> pseudonym_pepper() override {
    return ports::KeyMaterial{"test-pepper", SecretBytes(Bytes(32, 0x17))};
  }
  std::vector<ports::KekInfo> keks() const override {
    return {{.id = active, .region = "*", .created = "2026-01-01T00:00:00Z", .active = true}};
  }
  std::set<std::string> retired;

 private:
  static std::uint8_t pad(const std::string& kek) {
    return static_cast<std::uint8_t>(kek.empty() ? 0 : kek.back());
  }
};

// Simulated time: it moves only when advanced or slept on. Its wall clock starts at
// 2026-12-01T00:00:00Z and moves with it.
class ManualClock final : public ports::Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return now_; }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'796'083'200)) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch());
  }
  void sleep_for(std::chrono::milliseconds d) override { now_ += d; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

}  // namespace fl::testing
