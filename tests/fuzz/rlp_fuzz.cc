// RLP and transaction decoding on arbitrary bytes: rlp::decode, whose strictness (canonical
// lengths only) means every accepted input must encode back to exactly itself, and the raw
// transaction decoders (decode_legacy, decode_eip1559 for a 0x02 type byte), which also recover
// the sender. Seeds: corpus/rlp and, at run time, the ethereum/tests RLP and transaction vectors.
#include "fl/ledger/rlp.h"
#include "fl/ledger/transaction.h"

#include "fuzz_support.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

fl::Bytes encode(const fl::ledger::rlp::Item& item) {
  if (!item.is_list) return fl::ledger::rlp::encode_bytes(item.bytes);
  std::vector<fl::Bytes> children;
  children.reserve(item.items.size());
  for (const auto& child : item.items) children.push_back(encode(child));
  return fl::ledger::rlp::encode_list(children);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fl::ByteView input(data, size);

  auto item = fl::ledger::rlp::decode(input);
  if (item) {
    const fl::Bytes again = encode(*item);
    FL_FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  } else {
    FL_FUZZ_CHECK(item.error().code == fl::ErrorCode::kInvalidInput);
  }

  auto legacy = fl::ledger::decode_legacy(input);
  if (legacy) {
    FL_FUZZ_CHECK(item.has_value() && item->is_list);
    // What the gateway would sign for the decoded fields is itself well-formed RLP.
    const fl::Bytes payload = fl::ledger::signing_payload(legacy->tx, legacy->chain_id.value_or(1));
    FL_FUZZ_CHECK(fl::ledger::rlp::decode(payload).has_value());
  }
  auto typed = fl::ledger::decode_eip1559(input);
  if (typed) {
    FL_FUZZ_CHECK(size > 0 && data[0] == 0x02);
    const fl::Bytes payload = fl::ledger::signing_payload(typed->tx);
    FL_FUZZ_CHECK(!payload.empty() && payload[0] == 0x02 &&
                  fl::ledger::rlp::decode(fl::ByteView(payload).subspan(1)).has_value());
  }
  return 0;
}
