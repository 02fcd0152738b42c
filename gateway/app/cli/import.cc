// fhir-ledger import: a backfill. Publishes NDJSON and Bundles to the input topic, waits until
// the running gateways have committed every event (a commit comes only after its receipts and
// dead letters are durable), then reads what became of each event from the receipts and
// dead-letter topics and names every failure by file and line.
#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/gateway/config.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/files.h"
#include "cli/import_events.h"
#include "cli/json_members.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>

namespace fl::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kReadTimeout = std::chrono::seconds(60);

int usage_error(const Error& error) {
  std::fprintf(stderr, "import: %s\n", error.message.c_str());
  return 2;
}

int failure(const Error& error) {
  std::fprintf(stderr, "import: %s%s%s\n", error.message.c_str(), error.where.empty() ? "" : " at ",
               error.where.c_str());
  return 1;
}

bool is_ndjson(const fs::path& path) {
  return path.extension() == ".ndjson" || path.extension() == ".jsonl";
}

// The files named, a directory's *.ndjson, *.jsonl and *.json (recursively), in name order.
Result<std::vector<fs::path>> input_files(const std::vector<std::string>& named) {
  std::vector<fs::path> out;
  for (const auto& name : named) {
    std::error_code ec;
    if (fs::is_directory(name, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(name, ec)) {
        const auto& p = entry.path();
        if (entry.is_regular_file() && (is_ndjson(p) || p.extension() == ".json")) {
          found.push_back(p);
        }
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(name, ec)) {
      out.emplace_back(name);
    } else {
      return Error{ErrorCode::kNotFound, "no such file or directory: " + name, name};
    }
  }
  return out;
}

std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

// A bar redrawn in place on a terminal; a plain line per 10% otherwise (a CI log).
class Progress {
 public:
  explicit Progress(std::size_t total)
      : total_(std::max<std::size_t>(total, 1)), tty_(isatty(STDERR_FILENO) == 1) {}

  void update(std::size_t done) {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0;
    const std::size_t percent = std::min<std::size_t>(100, done * 100 / total_);
    if (tty_) {
      if (done < total_ && now - drawn_ < std::chrono::milliseconds(200)) return;
      drawn_ = now;
      const std::size_t filled = percent * 30 / 100;
      std::fprintf(stderr, "\r[%s%s] %3zu%%  %s/%s resources  %.0f/s  ETA %.0f s   ",
                   std::string(filled, '#').c_str(), std::string(30 - filled, ' ').c_str(), percent,
                   with_commas(done).c_str(), with_commas(total_).c_str(), rate, eta);
      std::fflush(stderr);
      return;
    }
    if (const std::size_t decile = percent / 10; decile > printed_decile_) {
      printed_decile_ = decile;
      std::fprintf(stderr, "import: %zu%% (%s of %s resources handled, %.0f/s, ETA %.0f s)\n",
                   decile * 10, with_commas(done).c_str(), with_commas(total_).c_str(), rate, eta);
    }
  }

  void finish() {
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  std::size_t total_;
  bool tty_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point drawn_{};
  std::size_t printed_decile_ = 0;
};

using Placement = std::pair<std::int32_t, std::int64_t>;  // partition, offset

void string_field(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* name,
                  const std::string& value) {
  w.Key(name);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

int import_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "source", "jurisdiction", "timeout"}, {"no-wait"});
  if (!args) return usage_error(args.error());
  if (args->positional().empty()) {
    return usage_error(
        {ErrorCode::kInvalidInput, "name at least one file.ndjson, bundle.json or directory", ""});
  }
  auto config = gateway::load_gateway_config(args->get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) return usage_error(config.error());
  const auto& k = config->kafka;
  if (k.input_topics.empty()) {
    return usage_error({ErrorCode::kInvalidInput, "the config names no input topic", ""});
  }
  const std::string& topic = k.input_topics.front();
  ImportOptions options{.source = args->get("source", "bulk-import"),
                        .jurisdiction = args->get("jurisdiction")};
  if (options.source.empty()) {
    return usage_error({ErrorCode::kInvalidInput, "--source must name the sending system", ""});
  }
  if (!options.jurisdiction.empty() &&
      (options.jurisdiction.size() != 2 ||
       !std::isupper(static_cast<unsigned char>(options.jurisdiction[0])) ||
       !std::isupper(static_cast<unsigned char>(options.jurisdiction[1])))) {
    return usage_error({ErrorCode::kInvalidInput,
                        "--jurisdiction expects an ISO 3166 alpha-2 code such as US", ""});
  }
  int timeout_seconds = 3600;
  if (args->has("timeout")) {
    const std::string text = args->get("timeout");
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), timeout_seconds);
    if (ec != std::errc() || end != text.data() + text.size() || timeout_seconds < 1) {
      return usage_error({ErrorCode::kInvalidInput, "--timeout expects seconds (1 or more)", ""});
    }
  }

  auto files = input_files(args->positional());
  if (!files) return usage_error(files.error());
  ImportInput input;
  for (const auto& path : *files) {
    auto text = read_text(path);
    if (!text) return failure(text.error());
    if (is_ndjson(path)) {
      add_ndjson(path.string(), *text, options, input);
    } else {
      add_json_file(path.string(), std::move(*text), options, input);
    }
  }
  for (const auto& f : input.failures) {
    std::fprintf(stderr, "%s: not sent: %s\n", f.at.c_str(), f.reason.c_str());
  }
  std::size_t resources = 0;
  for (const auto& e : input.events) resources += e.resources;
  std::fprintf(stderr, "import: %s event(s), %s resource(s) from %zu file(s) to %s\n",
               with_commas(input.events.size()).c_str(), with_commas(resources).c_str(),
               files->size(), topic.c_str());

  // Where the receipts and dead letters of these events can start: the topics' ends now.
  auto receipts_from = kafka::end_offsets(k.bootstrap_servers, k.results_topic, kReadTimeout);
  if (!receipts_from) return failure(receipts_from.error());
  auto letters_from = kafka::end_offsets(k.bootstrap_servers, k.dead_letter_topic, kReadTimeout);
  if (!letters_from) return failure(letters_from.error());

  const auto started = Clock::now();
  std::vector<kafka::OutgoingMessage> messages;
  messages.reserve(input.events.size());
  for (const auto& e : input.events) messages.push_back({e.key, e.value, e.headers});
  auto placed = kafka::publish_placed(k.bootstrap_servers, topic, messages);
  if (!placed) return failure(placed.error());
  messages.clear();
  std::map<Placement, std::size_t> event_at;  // where each event went -> its index
  std::size_t sent_resources = resources;
  for (std::size_t i = 0; i < placed->size(); ++i) {
    const auto& p = (*placed)[i];
    if (p.refused.empty()) {
      event_at[{p.partition, p.offset}] = i;
      continue;
    }
    // Larger than the topic takes, say: this line fails, the others go on.
    input.failures.push_back({input.events[i].at, "refused-by-broker", p.refused});
    sent_resources -= input.events[i].resources;
    std::fprintf(stderr, "%s: not sent: %s\n", input.events[i].at.c_str(), p.refused.c_str());
  }

  const bool wait = !args->has("no-wait");
  bool complete = !wait;
  if (wait) {
    Progress progress(sent_resources);
    install_stop_handlers();
    const auto deadline = started + std::chrono::seconds(timeout_seconds);
    std::size_t done_events = 0;
    while (!stop_flag().load() && Clock::now() < deadline) {
      auto committed = kafka::committed_offsets(k.bootstrap_servers, k.group_id, topic,
                                                std::chrono::seconds(10));
      if (committed) {
        // Handled: the group committed past it.
        done_events = 0;
        std::size_t done_resources = 0;
        for (const auto& [at, i] : event_at) {
          auto it = committed->find(at.first);
          if (it != committed->end() && at.second < it->second) {
            ++done_events;
            done_resources += input.events[i].resources;
          }
        }
        progress.update(done_resources);
        if (done_events == event_at.size()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    progress.finish();
    complete = done_events == event_at.size();
    if (!complete) {
      std::fprintf(stderr,
                   "import: the gateway (group %s) handled %zu of %zu event(s) before %s; "
                   "is `fhir-ledger serve` running?\n",
                   k.group_id.c_str(), done_events, event_at.size(),
                   stop_flag().load() ? "the import was stopped" : "--timeout");
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  // What became of each event: its receipts (one per resource, maybe repeated after a
  // gateway's crash) and its dead letters.
  std::set<std::tuple<std::size_t, std::string, std::uint64_t>> anchored;
  std::vector<ImportFailure> dead;
  if (wait) {
    auto receipts =
        kafka::read_topic(k.bootstrap_servers, k.results_topic, kReadTimeout, *receipts_from);
    if (!receipts) return failure(receipts.error());
    for (const auto& r : *receipts) {
      rapidjson::Document doc;
      doc.Parse(r.value.data(), r.value.size());
      if (doc.HasParseError() || !doc.IsObject()) continue;
      auto origin = doc.FindMember("origin");
      if (origin == doc.MemberEnd() || member_string(origin->value, "topic") != topic) continue;
      const auto partition = member_int64(origin->value, "partition");
      const auto offset = member_int64(origin->value, "offset");
      if (!partition || !offset) continue;
      auto it = event_at.find({static_cast<std::int32_t>(*partition), *offset});
      if (it == event_at.end()) continue;
      anchored.emplace(it->second, member_string(doc, "resourceKey"), member_uint(doc, "version"));
    }
    auto letters =
        kafka::read_topic(k.bootstrap_servers, k.dead_letter_topic, kReadTimeout, *letters_from);
    if (!letters) return failure(letters.error());
    for (const auto& l : *letters) {
      if (l.header(kafka::kOriginTopicHeader) != topic) continue;
      try {
        auto it = event_at.find({std::stoi(l.header(kafka::kOriginPartitionHeader)),
                                 std::stoll(l.header(kafka::kOriginOffsetHeader))});
        if (it == event_at.end()) continue;
        dead.push_back({input.events[it->second].at, l.header(kafka::kErrorCodeHeader),
                        l.header(kafka::kErrorDetailHeader)});
      } catch (const std::exception&) {
        continue;  // not one of ours: its origin headers are not numbers
      }
    }
    std::sort(dead.begin(), dead.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    for (const auto& d : dead) {
      std::fprintf(stderr, "%s: dead-lettered (%s): %s\n", d.at.c_str(), d.code.c_str(),
                   d.reason.c_str());
    }
  }

  std::vector<ImportFailure> failures = input.failures;
  failures.insert(failures.end(), dead.begin(), dead.end());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("files");
  w.Uint64(files->size());
  w.Key("events");
  w.Uint64(input.events.size());
  w.Key("resources");
  w.Uint64(resources);
  w.Key("complete");
  w.Bool(complete);
  if (wait) {
    w.Key("anchored");
    w.Uint64(anchored.size());
    w.Key("deadLettered");
    w.Uint64(dead.size());
  }
  w.Key("notSent");
  w.Uint64(input.failures.size());
  w.Key("failures");
  w.StartArray();
  for (const auto& f : failures) {
    w.StartObject();
    string_field(w, "at", f.at);
    string_field(w, "code", f.code);
    string_field(w, "reason", f.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("seconds");
  w.Double(static_cast<double>(static_cast<std::int64_t>(seconds * 1000)) / 1000);
  if (wait) {
    w.Key("resourcesPerSecond");
    w.Double(seconds > 0 ? static_cast<double>(static_cast<std::int64_t>(
                               static_cast<double>(anchored.size()) / seconds * 10)) /
                               10
                         : 0);
  }
  w.EndObject();
  std::printf("%s\n", buffer.GetString());
  std::fprintf(stderr, "import: %s anchored, %zu dead-lettered, %zu not sent, in %.1f s\n",
               wait ? with_commas(anchored.size()).c_str() : "(not waited for)", dead.size(),
               input.failures.size(), seconds);
  return complete && failures.empty() ? 0 : 1;
}

}  // namespace fl::cli
