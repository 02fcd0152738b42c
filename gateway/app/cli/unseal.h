// Opening what the gateway writes sealed to its topics (ports/topic_sealer.h): a receipt's
// source and reference, a dead letter's original event. Shared by `report` and `unseal`.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"

#include <string>
#include <string_view>

namespace fl::cli {

struct ReceiptReference {
  std::string source;
  std::string reference;
};

// `sealed_hex` is a receipt's sealedReference ("0x..." hex).
Result<ReceiptReference> open_receipt_reference(ports::KeyProvider& keys,
                                                std::string_view sealed_hex);

}  // namespace fl::cli
