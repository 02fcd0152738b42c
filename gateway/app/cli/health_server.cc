#include "cli/health_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <functional>
#include <memory>
#include <string>

namespace fl::cli {
namespace {

using Poco::Net::HTTPResponse;

void answer(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
            const std::string& body) {
  response.setStatus(status);
  response.setContentType("application/json");
  response.set("Cache-Control", "no-store");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

class ProbeHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  ProbeHandler(const gateway::Health& health, ports::Clock& clock,
               const std::function<std::string()>& metrics)
      : health_(health), clock_(clock), metrics_(metrics) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      response.set("Allow", "GET, HEAD");
      answer(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, R"({"error":"method not allowed"})");
    } else if (path == "/healthz") {
      answer(response, HTTPResponse::HTTP_OK, R"({"live":true})");
    } else if (path == "/metrics") {
      const std::string body = metrics_ ? metrics_() : std::string();
      response.setStatus(HTTPResponse::HTTP_OK);
      response.setContentType("text/plain; version=0.0.4; charset=utf-8");
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      response.send() << body;
    } else if (path == "/readyz") {
      bool ready = false;
      const std::string body = health_.readiness_json(clock_.now(), ready);
      answer(response, ready ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
             body);
    } else {
      answer(response, HTTPResponse::HTTP_NOT_FOUND,
             R"({"error":"try /healthz, /readyz or /metrics"})");
    }
  }

 private:
  const gateway::Health& health_;
  ports::Clock& clock_;
  const std::function<std::string()>& metrics_;  // the factory's, which outlives the handler
};

class ProbeFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  ProbeFactory(const gateway::Health& health, ports::Clock& clock,
               std::function<std::string()> metrics)
      : health_(health), clock_(clock), metrics_(std::move(metrics)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return std::make_unique<ProbeHandler>(health_, clock_, metrics_).release();  // Poco deletes it
  }

 private:
  const gateway::Health& health_;
  ports::Clock& clock_;
  std::function<std::string()> metrics_;
};

class PocoHealthServer final : public HealthServer {
 public:
  PocoHealthServer(Poco::Net::ServerSocket socket, const gateway::Health& health,
                   ports::Clock& clock, std::function<std::string()> metrics)
      : port_(socket.address().port()),
        server_(make_server(std::move(socket), health, clock, std::move(metrics))) {
    server_.start();
  }
  ~PocoHealthServer() override { server_.stopAll(true); }
  int port() const override { return port_; }

 private:
  static Poco::Net::HTTPServer make_server(Poco::Net::ServerSocket socket,
                                           const gateway::Health& health, ports::Clock& clock,
                                           std::function<std::string()> metrics) {
    // Poco's reference counts own both from here (HTTPServerParams is reference counted and
    // cannot be deleted by anyone else).
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(2);
    params->setMaxQueued(16);
    params->setKeepAlive(false);
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory(
        std::make_unique<ProbeFactory>(health, clock, std::move(metrics)).release());
    return Poco::Net::HTTPServer(factory, socket, params);
  }

  int port_;
  Poco::Net::HTTPServer server_;
};

}  // namespace

Result<std::unique_ptr<HealthServer>> start_health_server(int port, const gateway::Health& health,
                                                          ports::Clock& clock,
                                                          std::function<std::string()> metrics) {
  try {
    Poco::Net::ServerSocket socket(static_cast<Poco::UInt16>(port));
    return std::unique_ptr<HealthServer>(
        std::make_unique<PocoHealthServer>(std::move(socket), health, clock, std::move(metrics)));
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kUnavailable, "cannot listen for the probes: " + e.displayText(),
                 "port " + std::to_string(port)};
  }
}

}  // namespace fl::cli
