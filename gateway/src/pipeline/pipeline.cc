#include "fl/gateway/pipeline.h"

#include "fl/base/log.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

namespace fl::gateway {

struct Pipeline::Item {
  std::size_t event = 0;  // index into the batch
  std::string reference;
  ports::Hash32 policy_hash{};
  SealedResource sealed;
};

namespace {

std::string detail_of(const Error& error) {
  return error.where.empty() ? error.message : error.message + " (at " + error.where + ")";
}

ports::DeadLetter dead_letter(const ports::SourceEvent& event, const Error& error) {
  return ports::DeadLetter{.event = event,
                           .error_code = std::string(error_code_name(error.code)),
                           .error_detail = detail_of(error)};
}

}  // namespace

Pipeline::Pipeline(PipelinePorts ports, Normalizer& normalizer, PolicyEngine& policy,
                   PipelineOptions options)
    : ports_(ports),
      validate_(options.limits),
      normalize_(normalizer),
      policy_(policy),
      protect_(ports.keys),
      options_(options) {}

Status Pipeline::run(const std::atomic<bool>& stop) {
  auto idle_since = ports_.clock.now();
  while (!stop.load()) {
    auto handled = run_once(stop);
    if (!handled) return handled.error();
    if (*handled > 0) {
      idle_since = ports_.clock.now();
      continue;
    }
    if (options_.until_caught_up && ports_.clock.now() - idle_since >= options_.idle_before_exit) {
      auto caught_up = ports_.source.caught_up();
      if (caught_up && *caught_up) return Ok{};
    }
  }
  return Ok{};
}

Result<std::size_t> Pipeline::run_once(const std::atomic<bool>& stop) {
  // 1. Consume.
  auto polled = ports_.source.poll(options_.batch_max_events, options_.batch_max_wait);
  if (!polled) {
    log::warn("consume.unavailable", {{"error", polled.error().message}});
    std::this_thread::sleep_for(options_.retry_backoff);
    return std::size_t{0};
  }
  if (polled->empty()) return std::size_t{0};
  if (stats_.consumed == 0) first_event_ = ports_.clock.now();
  if (auto done = process(*polled, stop); !done) return done.error();
  return polled->size();
}

double PipelineStats::latency_quantile(double q) const {
  if (latencies.empty()) return 0;
  std::vector<double> sorted = latencies;
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank),
                   sorted.end());
  return sorted[rank];
}

Status Pipeline::process(std::vector<ports::SourceEvent>& events, const std::atomic<bool>& stop) {
  const auto polled_at = ports_.clock.now();
  stats_.consumed += events.size();
  std::vector<Item> items;
  std::vector<ports::DeadLetter> dead;

  for (std::size_t i = 0; i < events.size(); ++i) {
    const ports::SourceEvent& event = events[i];
    // 2. Validate.
    auto validated = validate_.run(event);
    if (!validated) {
      dead.push_back(dead_letter(event, validated.error()));
      continue;
    }
    std::vector<Item> event_items;
    std::optional<Error> rejected;
    for (ResourceView& resource : validated->resources) {
      // 3. Normalize, then canonical JSON.
      auto canonical = normalize_.run(validated->source_system, *resource.json,
                                      validated->document->GetAllocator());
      if (!canonical) {
        rejected = canonical.error();
        break;
      }
      // 4. Decide.
      auto decision =
          policy_.decide_ingest({.resource_type = resource.type,
                                 .source_system = validated->source_system,
                                 .jurisdiction_header = event.header("fhir-jurisdiction")});
      if (!decision) {
        rejected = decision.error();
        break;
      }
      if (!decision->permit) {
        rejected = Error{ErrorCode::kPolicyDenied, "storage denied by policy",
                         decision->rule_ids.empty() ? "" : decision->rule_ids.front()};
        break;
      }
      // 5. Encrypt.
      auto sealed = protect_.run(resource.reference(), resource.version, decision->region,
                                 decision->policy_hash, *canonical);
      if (!sealed) {
        if (sealed.error().code != ErrorCode::kInvalidInput) return sealed.error();
        rejected = sealed.error();
        break;
      }
      event_items.push_back(Item{.event = i,
                                 .reference = resource.reference(),
                                 .policy_hash = decision->policy_hash,
                                 .sealed = std::move(*sealed)});
    }
    // An event is all or nothing: a Bundle with one bad entry is dead-lettered whole.
    if (rejected) {
      dead.push_back(dead_letter(event, *rejected));
      continue;
    }
    std::move(event_items.begin(), event_items.end(), std::back_inserter(items));
  }

  // 6. Store off-chain, per region, content-addressed.
  std::map<std::string, std::vector<ports::BlobWrite>> writes;
  for (const Item& item : items) {
    writes[item.sealed.region].push_back(
        {.key = to_hex(item.sealed.content_hash), .blob = item.sealed.blob});
  }
  for (const auto& [region, blobs] : writes) {
    auto stored = retry(stop, "store",
                        [&, &r = region, &b = blobs] { return ports_.blobs.put_if_absent(r, b); });
    if (!stored) return stored.error();
  }

  // 7. Anchor all pointers of the batch in one transaction.
  std::vector<ports::Pointer> pointers;
  std::set<std::tuple<ports::Hash32, std::uint64_t, ports::Hash32>> seen;
  for (const Item& item : items) {
    if (!seen.emplace(item.sealed.resource_key, item.sealed.version, item.sealed.content_hash)
             .second)
      continue;
    pointers.push_back({.resource_key = item.sealed.resource_key,
                        .version = item.sealed.version,
                        .content_hash = item.sealed.content_hash,
                        .policy_hash = item.policy_hash});
  }
  ports::AnchorConfirmation confirmation;
  if (!pointers.empty()) {
    auto anchored = retry(stop, "anchor", [&]() -> Status {
      auto ticket = ports_.ledger.submit(pointers);
      if (!ticket) return ticket.error();
      auto confirmed = ports_.ledger.await(*ticket);
      if (!confirmed) return confirmed.error();
      confirmation = *confirmed;
      return Ok{};
    });
    if (!anchored) return anchored.error();
    ++stats_.transactions;
    stats_.pointers += pointers.size();
    stats_.gas_used += confirmation.gas_used;
  }

  // 9. Report: receipts and dead letters are acknowledged before anything is committed.
  for (const Item& item : items) {
    const std::string key = to_hex(item.sealed.content_hash);
    auto sent = ports_.receipts.publish({.reference = item.reference,
                                         .resource_key = to_0x_hex(item.sealed.resource_key),
                                         .version = item.sealed.version,
                                         .content_hash = "0x" + key,
                                         .redis_key = ports_.blobs.storage_key(key),
                                         .region = item.sealed.region,
                                         .tx_hash = confirmation.tx_hash,
                                         .block = confirmation.block,
                                         .origin = events[item.event].origin});
    if (!sent) return sent.error();
  }
  for (const auto& letter : dead) {
    if (auto sent = ports_.dead_letters.send(letter); !sent) return sent.error();
  }
  auto flushed = retry(stop, "report", [&]() -> Status {
    if (auto r = ports_.receipts.flush(options_.flush_timeout); !r) return r.error();
    return ports_.dead_letters.flush(options_.flush_timeout);
  });
  if (!flushed) return flushed.error();

  // 8. Commit: only now is the batch done.
  std::vector<ports::Origin> handled;
  handled.reserve(events.size());
  for (const auto& event : events) handled.push_back(event.origin);
  auto committed = retry(stop, "commit", [&] { return ports_.source.commit(handled); });
  if (!committed) return committed.error();

  stats_.resources += items.size();
  stats_.dead_lettered += dead.size();
  ++stats_.batches;
  const auto done = ports_.clock.now();
  stats_.busy_seconds = std::chrono::duration<double>(done - first_event_).count();
  // Bounded: a long-running gateway keeps the latest million samples (8 MB).
  if (stats_.latencies.size() + events.size() > 1'000'000) stats_.latencies.clear();
  stats_.latencies.insert(stats_.latencies.end(), events.size(),
                          std::chrono::duration<double>(done - polled_at).count());
  log::debug("batch.committed", {{"events", events.size()},
                                 {"resources", items.size()},
                                 {"deadLettered", dead.size()},
                                 {"tx", confirmation.tx_hash},
                                 {"block", confirmation.block}});
  return Ok{};
}

Status Pipeline::retry(const std::atomic<bool>& stop, const char* step,
                       const std::function<Status()>& op) {
  auto backoff = options_.retry_backoff;
  for (;;) {
    Status status = op();
    if (status || status.error().code != ErrorCode::kUnavailable) return status;
    if (stop.load()) {
      return Error{ErrorCode::kUnavailable,
                   std::string("stopped while retrying ") + step + ": " + status.error().message,
                   status.error().where};
    }
    log::warn("pipeline.retry", {{"step", step},
                                 {"error", status.error().message},
                                 {"where", status.error().where},
                                 {"backoffMs", static_cast<std::int64_t>(backoff.count())}});
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.retry_backoff * 16);
  }
}

}  // namespace fl::gateway
