#include "fl/adapters/kafka/dead_letter_message.h"

#include <algorithm>
#include <optional>

namespace fl::kafka {
namespace {

// librdkafka adds a record's framing (about 40 bytes) and per header two varints to what it
// compares with message.max.bytes; these bounds are generous so the estimate never falls short.
constexpr std::size_t kRecordOverhead = 512;
constexpr std::size_t kHeaderOverhead = 24;
// An error detail names a JSON pointer and a reason; a longer one is cut (never mid-character).
constexpr std::size_t kMaxDetailBytes = 2048;
constexpr std::size_t kMaxDroppedListBytes = 1024;
// What pack_original adds: the key's length, the header count, and two lengths per header (the
// per-header part is within kHeaderOverhead already).
constexpr std::size_t kPackOverhead = 16;

constexpr std::string_view kOurs[] = {
    kErrorCodeHeader,       kErrorDetailHeader,       kOriginTopicHeader,
    kOriginPartitionHeader, kOriginOffsetHeader,      kOriginalBytesHeader,
    kOriginalSha256Header,  kOriginalTruncatedHeader, kOriginalDroppedHeadersHeader,
    kOriginalSealedHeader};

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

// Dead letters of one input partition stay together and in order; the sender's own key, which
// may be an identifier, travels sealed.
std::string origin_key(const ports::DeadLetter& letter) {
  return letter.event.origin.topic + "/" + std::to_string(letter.event.origin.partition);
}

void put_length(std::string& out, std::size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xFF));
}

}  // namespace

std::string pack_original(const OriginalEvent& original) {
  std::string out;
  put_length(out, original.key.size());
  out += original.key;
  put_length(out, original.headers.size());
  for (const auto& [name, value] : original.headers) {
    put_length(out, name.size());
    out += name;
    put_length(out, value.size());
    out += value;
  }
  out += original.value;
  return out;
}

Result<OriginalEvent> unpack_original(std::string_view packed) {
  std::size_t at = 0;
  const Error bad{ErrorCode::kInvalidInput, "not a packed dead letter", "dead-letter"};
  auto length = [&]() -> std::optional<std::size_t> {
    if (packed.size() - at < 4) return std::nullopt;
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(packed[at++]);
    return n;
  };
  auto text = [&]() -> std::optional<std::string> {
    auto n = length();
    if (!n || packed.size() - at < *n) return std::nullopt;
    std::string out(packed.substr(at, *n));
    at += *n;
    return out;
  };
  OriginalEvent out;
  auto key = text();
  auto count = key ? length() : std::nullopt;
  if (!count) return bad;
  out.key = std::move(*key);
  for (std::size_t i = 0; i < *count; ++i) {
    auto name = text();
    auto value = name ? text() : std::nullopt;
    if (!value) return bad;
    out.headers.emplace_back(std::move(*name), std::move(*value));
  }
  out.value = std::string(packed.substr(at));
  return out;
}

bool is_dead_letter_header(std::string_view name) {
  return std::find(std::begin(kOurs), std::end(kOurs), name) != std::end(kOurs);
}

KafkaMessage dead_letter_message(const ports::DeadLetter& letter, std::size_t max_bytes,
                                 ports::TopicSealer& sealer) {
  KafkaMessage m;
  m.headers = our_headers(letter);
  m.headers.emplace_back(kOriginalSealedHeader, sealer.key_id());
  std::size_t used = kRecordOverhead + sealer.overhead() + kPackOverhead;
  for (const auto& h : m.headers) used += size_of(h);
  // Room for the two headers that say what was cut, should they be needed.
  used += 2 * kHeaderOverhead + kOriginalTruncatedHeader.size() +
          kOriginalDroppedHeadersHeader.size() + std::string_view("value,key,headers").size() +
          kMaxDroppedListBytes;
  const std::size_t budget = std::max(max_bytes, kMinDeadLetterBytes);

  OriginalEvent original;
  std::vector<std::string_view> cut;
  std::string dropped;  // names of the input headers left out for size
  bool dropped_more = false;
  for (const auto& header : letter.event.headers) {
    if (is_dead_letter_header(header.first)) continue;  // forged: ours are the only ones
    if (used + size_of(header) <= budget) {
      original.headers.push_back(header);
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
    original.key = letter.event.key;
    used += original.key.size();
  } else {
    cut.emplace_back("key");
  }
  const std::size_t room = used < budget ? budget - used : 0;
  if (letter.event.value.size() <= room) {
    original.value = letter.event.value;
  } else {
    original.value = letter.event.value.substr(0, room);
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
  auto sealed = sealer.seal(kDeadLetterContext, as_bytes(pack_original(original)));
  if (!sealed) return minimal_dead_letter_message(letter);
  m.key = origin_key(letter);
  m.value = std::string(as_chars(*sealed));
  return m;
}

KafkaMessage minimal_dead_letter_message(const ports::DeadLetter& letter) {
  KafkaMessage m;
  m.key = origin_key(letter);
  m.headers = our_headers(letter);
  m.headers.emplace_back(kOriginalTruncatedHeader, "value,key,headers");
  return m;
}

}  // namespace fl::kafka
