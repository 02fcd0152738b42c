// How a dead letter is laid out on the dead-letter topic, sized to the broker's limit. Our
// headers are the only clear part and always fit: the reason, the origin (topic, partition,
// offset), the original value's size and SHA-256, and `original-sealed` naming the KEK. The
// original event (its own headers while they fit, any under our names dropped so a producer cannot
// forge a reason or an origin; then its key; then as much of its value as is left) is packed and
// sealed (ports/topic_sealer.h) into the message's value: the topic belongs to no region and holds
// no clear PHI. The message's key is the origin "topic/partition", never the sender's key. What
// had to be cut is named in `original-truncated` (and the dropped headers in
// `original-dropped-headers`), so a consumer never mistakes a prefix for the event. Pure logic;
// the Kafka adapter sends the result.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/topic_sealer.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fl::kafka {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct KafkaMessage {
  std::string key;
  std::string value;
  Headers headers;
};

// The header names the gateway owns on the dead-letter topic.
inline constexpr std::string_view kErrorCodeHeader = "error-code";
inline constexpr std::string_view kErrorDetailHeader = "error-detail";
inline constexpr std::string_view kOriginTopicHeader = "origin-topic";
inline constexpr std::string_view kOriginPartitionHeader = "origin-partition";
inline constexpr std::string_view kOriginOffsetHeader = "origin-offset";
inline constexpr std::string_view kOriginalBytesHeader = "original-bytes";
inline constexpr std::string_view kOriginalSha256Header = "original-sha256";
inline constexpr std::string_view kOriginalTruncatedHeader = "original-truncated";
inline constexpr std::string_view kOriginalDroppedHeadersHeader = "original-dropped-headers";
inline constexpr std::string_view kOriginalSealedHeader = "original-sealed";

// The sealing context of a dead letter's value.
inline constexpr std::string_view kDeadLetterContext = "dead-letter";

// The original event inside a dead letter, once opened.
struct OriginalEvent {
  std::string key;
  Headers headers;
  std::string value;
};

// key length (4, big endian) | key | header count (4) | (name length | name | value length |
// value) per header | value
std::string pack_original(const OriginalEvent& original);
Result<OriginalEvent> unpack_original(std::string_view packed);

// True for a name in the list above: an input header under it is never passed on.
bool is_dead_letter_header(std::string_view name);

// The smallest message.max.bytes a dead letter is guaranteed to fit in with its reason.
inline constexpr std::size_t kMinDeadLetterBytes = 16 * 1024;

// The message for `letter`, at most `max_bytes` as librdkafka counts message.max.bytes
// (value + key + headers + record overhead). `max_bytes` >= kMinDeadLetterBytes. Should sealing
// fail, the minimal message below.
KafkaMessage dead_letter_message(const ports::DeadLetter& letter, std::size_t max_bytes,
                                 ports::TopicSealer& sealer);

// Our headers only, with original-truncated "value,key,headers": what is sent in place of a
// message the broker refused for good (a topic whose own limit is lower than the config says).
KafkaMessage minimal_dead_letter_message(const ports::DeadLetter& letter);

}  // namespace fl::kafka
