// One service the gateway depends on, asked whether it answers (a Redis region, the EVM node,
// the Kafka brokers): what the readiness probe reports, checked on a timer beside the pipeline
// rather than inferred from its traffic, so a service that went away while idle shows too.
#pragma once

#include "fl/base/result.h"

#include <chrono>
#include <string>

namespace fl::ports {

class DependencyProbe {
 public:
  virtual ~DependencyProbe() = default;
  // "redis:eu", "ledger", "kafka": how /readyz names it.
  virtual std::string name() const = 0;
  // Ok when it answered within `timeout`; the error otherwise (no PHI: our own texts).
  virtual Status check(std::chrono::milliseconds timeout) = 0;
};

}  // namespace fl::ports
