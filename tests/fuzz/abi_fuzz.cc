// Solidity ABI decoding on arbitrary data. The input's first line is a parameter list
// ("uint256,(bytes32,uint64)[],string"), the rest is the encoded data. It runs the type parser,
// abi::decode (whose values must encode and decode back to themselves), decode_call and
// decode_error for a function with those parameters, decode_log for an event with them, and the
// word helpers of abi.h. Seeds: corpus/abi and, at run time, the ethereum/tests ABI vectors and
// the Solidity spec examples.
#include "fl/ledger/abi.h"
#include "fl/ledger/abi_codec.h"

#include "fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace abi = fl::ledger::abi;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fl::fuzz::as_text(data, size);
  const std::size_t newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const fl::ByteView encoded = newline == std::string_view::npos
                                   ? fl::ByteView()
                                   : fl::ByteView(data, size).subspan(newline + 1);

  for (std::size_t i = 0; i < 4; ++i) {
    auto word = abi::word_at(encoded, i);
    auto number = abi::uint64_at(encoded, i);
    FL_FUZZ_CHECK(word.has_value() == (encoded.size() >= 32 * (i + 1)));
    if (number) FL_FUZZ_CHECK(word.has_value());
  }

  auto tuple = abi::parse_type("(" + std::string(header) + ")");
  if (tuple) {
    FL_FUZZ_CHECK(tuple->kind == abi::Type::Kind::kTuple);
    const std::vector<abi::Type>& types = tuple->components;
    auto values = abi::decode(types, encoded);
    if (values) {
      FL_FUZZ_CHECK(values->size() == types.size());
      for (const auto& value : *values) FL_FUZZ_CHECK(!abi::to_string(value).empty());
      auto again = abi::encode(types, *values);
      FL_FUZZ_CHECK(again.has_value());
      auto decoded_again = abi::decode(types, *again);
      FL_FUZZ_CHECK(decoded_again.has_value() && *decoded_again == *values);
    } else {
      FL_FUZZ_CHECK(values.error().code == fl::ErrorCode::kInvalidInput);
    }
  }

  auto function = abi::parse_signature("f(" + std::string(header) + ")");
  if (function) {
    auto args = function->decode_call(encoded);
    if (args) FL_FUZZ_CHECK(args->size() == function->inputs.size());
    auto error = abi::decode_error(encoded, {*function});
    if (error) FL_FUZZ_CHECK(!abi::to_string(*error).empty());
  }

  auto event = abi::parse_event("E(" + std::string(header) + ")");
  if (event) {
    fl::ledger::LogEntry log;
    log.topics.push_back(event->topic());
    for (const auto& param : event->inputs) {
      if (!param.indexed) continue;
      fl::ledger::Hash32 topic{};
      for (std::size_t i = 0; i < topic.size() && i < encoded.size(); ++i) topic[i] = encoded[i];
      log.topics.push_back(topic);
    }
    log.data.assign(encoded.begin(), encoded.end());
    auto named = abi::decode_log(*event, log);
    if (named) FL_FUZZ_CHECK(named->size() == event->inputs.size());
  }
  return 0;
}
