#include "fl/adapters/kafka/dead_letter_message.h"

#include <algorithm>

namespace fl::kafka {
namespace {

// librdkafka adds a record's framing (about 40 bytes) and per header two varints to what it
// compares with message.max.bytes; these bounds are generous so the estimate never falls short.
constexpr std::size_t kRecordOverhead = 512;
constexpr std::size_t kHeaderOverhead = 24;
// An error detail names a JSON pointer and a reason; a longer one is cut (never mid-character).
constexpr std::size_t kMaxDetailBytes = 2048;
constexpr std::size_t kMaxDroppedListBytes = 1024;

constexpr std::string_view kOurs[] = {
    kErrorCodeHeader,       kErrorDetailHeader,       kOriginTopicHeader,
    kOriginPartitionHeader, kOriginOffsetHeader,      kOriginalBytesHeader,
    kOriginalSha256Header,  kOriginalTruncatedHeader, kOriginalDroppedHeadersHeader};

// The longest prefix of `text` of at most `max` bytes that does not end inside a UTF-8 sequence.
std::string utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::size_t size_of(const std::pair<std::string, std::string>& header) {
  return header.first.size() + header.second.size() + kHeaderOverhead;
}

Headers our_headers(const ports::DeadLetter& letter) {
  Headers h;
  h.emplace_back(kErrorCodeHeader, letter.error_code);
  h.emplace_back(kErrorDetailHeader, utf8_prefix(letter.error_detail, kMaxDetailBytes));
  h.emplace_back(kOriginTopicHeader, letter.event.origin.topic);
  h.emplace_back(kOriginPartitionHeader, std::to_string(letter.event.origin.partition));
  h.emplace_back(kOriginOffsetHeader, std::to_string(letter.event.origin.offset));
  h.emplace_back(kOriginalBytesHeader, std::to_string(letter.event.value.size()));
  if (!letter.original_sha256.empty()) {
    h.emplace_back(kOriginalSha256Header, letter.original_sha256);
  }
  return h;
}

}  // namespace

bool is_dead_letter_header(std::string_view name) {
  return std::find(std::begin(kOurs), std::end(kOurs), name) != std::end(kOurs);
}

KafkaMessage dead_letter_message(const ports::DeadLetter& letter, std::size_t max_bytes) {
  KafkaMessage m;
  m.headers = our_headers(letter);
  std::size_t used = kRecordOverhead;
  for (const auto& h : m.headers) used += size_of(h);
  // Room for the two headers that say what was cut, should they be needed.
  used += 2 * kHeaderOverhead + kOriginalTruncatedHeader.size() +
          kOriginalDroppedHeadersHeader.size() + std::string_view("value,key,headers").size() +
          kMaxDroppedListBytes;
  const std::size_t budget = std::max(max_bytes, kMinDeadLetterBytes);

  std::vector<std::string_view> cut;
  std::string dropped;  // names of the input headers left out for size
  bool dropped_more = false;
  for (const auto& header : letter.event.headers) {
    if (is_dead_letter_header(header.first)) continue;  // forged: ours are the only ones
    if (used + size_of(header) <= budget) {
      m.headers.push_back(header);
      used += size_of(header);
      continue;
    }
    const std::string name = utf8_prefix(header.first, 128);
    if (dropped.size() + name.size() + 1 <= kMaxDroppedListBytes) {
      if (!dropped.empty()) dropped.push_back(',');
      dropped += name;
    } else {
      dropped_more = true;
    }
  }
  if (used + letter.event.key.size() <= budget) {
    m.key = letter.event.key;
    used += m.key.size();
  } else {
    cut.emplace_back("key");
  }
  const std::size_t room = used < budget ? budget - used : 0;
  if (letter.event.value.size() <= room) {
    m.value = letter.event.value;
  } else {
    m.value = letter.event.value.substr(0, room);
    cut.insert(cut.begin(), "value");
  }
  if (!dropped.empty() || dropped_more) {
    cut.emplace_back("headers");
    if (dropped_more) dropped += dropped.empty() ? "..." : ",...";
    m.headers.emplace_back(kOriginalDroppedHeadersHeader, dropped);
  }
  if (!cut.empty()) {
    std::string what;
    for (std::string_view c : cut) {
      if (!what.empty()) what.push_back(',');
      what += c;
    }
    m.headers.emplace_back(kOriginalTruncatedHeader, what);
  }
  return m;
}

KafkaMessage minimal_dead_letter_message(const ports::DeadLetter& letter) {
  KafkaMessage m;
  m.headers = our_headers(letter);
  m.headers.emplace_back(kOriginalTruncatedHeader, "value,key,headers");
  return m;
}

}  // namespace fl::kafka
