// The probes of `service.healthPort`: GET /healthz answers 200 while the process serves; GET
// /readyz answers the pipeline's Health (200 ready, 503 not), for Kubernetes probes and
// operators; GET /metrics the Prometheus text exposition. It listens on all interfaces, since a
// probe comes from the node. One small Poco HTTPServer with two threads at most; it stops when
// destroyed.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/health.h"
#include "fl/ports/clock.h"

#include <functional>
#include <memory>
#include <string>

namespace fl::cli {

class HealthServer {
 public:
  virtual ~HealthServer() = default;
  virtual int port() const = 0;
};

// `health` and `clock` outlive the server; `metrics` writes the exposition (thread-safe). Port 0
// asks the system for a free one.
Result<std::unique_ptr<HealthServer>> start_health_server(int port, const gateway::Health& health,
                                                          ports::Clock& clock,
                                                          std::function<std::string()> metrics);

}  // namespace fl::cli
