#include "cli/api_server.h"

#include "fl/base/log.h"
#include "fl/gateway/operation_outcome.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/smart_scopes.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/ledger/signer.h"

#include "cli/api_tools.h"
#include "cli/console_http.h"
#include "cli/session.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <openssl/ssl.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

namespace fl::cli {
namespace {

using Poco::Net::HTTPResponse;
using Status = HTTPResponse::HTTPStatus;

// The largest request body taken (a Consent); larger ones are refused before they are read.
constexpr std::size_t kMaxBodyBytes = 1 << 20;

// Lends each request thread a worker of its own for the length of one request.
class WorkerPool {
 public:
  explicit WorkerPool(std::vector<std::unique_ptr<ApiWorker>> workers)
      : owned_(std::move(workers)) {
    for (auto& w : owned_) free_.push_back(w.get());
  }

  class Lease {
   public:
    Lease(WorkerPool& pool, ApiWorker* worker) : pool_(pool), worker_(worker) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.give_back(worker_); }
    ApiWorker& operator*() const { return *worker_; }
    ApiWorker* operator->() const { return worker_; }

   private:
    WorkerPool& pool_;
    ApiWorker* worker_;
  };

  Lease take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !free_.empty(); });
    ApiWorker* w = free_.back();
    free_.pop_back();
    return Lease(*this, w);
  }

 private:
  void give_back(ApiWorker* w) {
    {
      const std::lock_guard lock(mutex_);
      free_.push_back(w);
    }
    available_.notify_one();
  }

  std::vector<std::unique_ptr<ApiWorker>> owned_;
  std::vector<ApiWorker*> free_;
  std::mutex mutex_;
  std::condition_variable available_;
};

struct Shared {
  ApiServerParts parts;
  std::unique_ptr<WorkerPool> pool;
  // Held while a transaction is sent: every worker signs with the gateway's one account.
  std::mutex sending;
};

void send_body(Poco::Net::HTTPServerResponse& response, Status status,
               const std::string& content_type, const std::string& body) {
  response.setStatus(status);
  response.setContentType(content_type);
  // Answers carry PHI or decisions about it: never cached by a shared cache.
  response.set("Cache-Control", "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  // The body in one write, not through the stream's 4 KiB buffer.
  response.sendBuffer(body.data(), body.size());
}

void send_outcome(Poco::Net::HTTPServerResponse& response, Status status, std::string_view code,
                  const std::string& diagnostics) {
  if (status == HTTPResponse::HTTP_UNAUTHORIZED) {
    response.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  }
  send_body(response, status, "application/fhir+json",
            gateway::operation_outcome(code, diagnostics));
}

// An error of the services as the HTTP status and FHIR IssueType it stands for.
std::pair<Status, std::string_view> status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return {HTTPResponse::HTTP_BAD_REQUEST, "invalid"};
    case ErrorCode::kNotFound:
      return {HTTPResponse::HTTP_NOT_FOUND, "not-found"};
    case ErrorCode::kErased:
      return {HTTPResponse::HTTP_GONE, "deleted"};
    case ErrorCode::kIntegrity:
      return {HTTPResponse::HTTP_CONFLICT, "conflict"};
    case ErrorCode::kPolicyDenied:
    case ErrorCode::kPermissionDenied:
      return {HTTPResponse::HTTP_FORBIDDEN, "forbidden"};
    case ErrorCode::kUnavailable:
      return {HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "transient"};
    default:
      return {HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "exception"};
  }
}

// The path's parts: /fhir/{type}/{id}[/_history/{vid}] or /ledger/{type}/{id}.
struct Route {
  std::string root;  // "fhir" or "ledger"
  std::string type;
  std::string id;
  std::optional<std::uint64_t> version;
  bool everything = false;  // GET /fhir/Patient/{id}/$everything
};

std::optional<std::uint64_t> parse_version(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0) {
    return std::nullopt;
  }
  return v;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// The value of `name` in a query string, "" when absent.
std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.starts_with(name) && part.size() > name.size() && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

std::string hex_list(const std::vector<ports::Hash32>& hashes) {
  std::string out;
  for (const auto& h : hashes) out += (out.empty() ? "" : ",") + to_0x_hex(h);
  return out;
}

class ApiHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ApiHandler(Shared& shared) : shared_(shared) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const auto started = shared_.parts.clock->now();
    Status status = HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
    try {
      status = handle(request, response);
    } catch (const std::exception& e) {
      // A bug, not the caller's fault; the message may name internals but never content.
      log::error("api.failed", {{"error", std::string(e.what())}});
      if (!response.sent()) {
        send_outcome(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "exception",
                     "internal error");
      }
    }
    const auto elapsed =
        std::chrono::duration<double, std::milli>(shared_.parts.clock->now() - started);
    log::debug("api.request", {{"method", request.getMethod()},
                               {"status", static_cast<int>(status)},
                               {"ms", elapsed.count()}});
  }

 private:
  Status fail(Poco::Net::HTTPServerResponse& response, Status status, std::string_view code,
              const std::string& diagnostics) {
    send_outcome(response, status, code, diagnostics);
    return status;
  }

  Status fail(Poco::Net::HTTPServerResponse& response, const Error& error) {
    const auto [status, code] = status_of(error.code);
    return fail(response, status, code, error.message);
  }

  Status handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    if (request.getMethod() == "POST") return post(request, response);
    if (request.getMethod() != "GET") {
      response.set("Allow", "GET, POST");
      return fail(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "not-supported",
                  "GET reads, POST takes a Consent");
    }
    if ((request.hasContentLength() && request.getContentLength() > 0) ||
        request.getChunkedTransferEncoding()) {
      // The body is not read: the connection cannot carry another request after it.
      response.setKeepAlive(false);
      return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid", "a GET takes no body");
    }
    const std::string& uri = request.getURI();
    const auto q = uri.find('?');
    const std::string_view path = std::string_view(uri).substr(0, q);
    const std::string_view query =
        q == std::string::npos ? std::string_view() : std::string_view(uri).substr(q + 1);
    if (path == "/console" || path.starts_with("/console/")) {
      return console(request, response, path, query);
    }
    auto route = parse_route(path, query);
    if (!route) return fail(response, route.error());

    const auto now = ports::unix_seconds(shared_.parts.clock->wall());
    auto caller = shared_.parts.tokens->verify(request.get("Authorization", ""), now);
    if (!caller) {
      return fail(response, HTTPResponse::HTTP_UNAUTHORIZED, "login", caller.error().message);
    }
    const auto& clients = shared_.parts.settings.clients;
    auto client = clients.find(caller->client_id);
    if (client == clients.end()) {
      return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                  "the client is not mapped to a ledger participant (/api/clients)");
    }
    std::string source = request.get("X-FHIR-Source", shared_.parts.default_source);
    if (source.empty() || source.size() > 256) {
      return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                  "X-FHIR-Source expects 1 to 256 characters");
    }
    const std::string reference = route->type + "/" + route->id;
    if (route->root == "ledger") return ledger(response, *route, source, reference);

    if (!gateway::scopes_permit_read(caller->scopes, route->type)) {
      return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                  "the token's scope does not cover reading " + route->type);
    }
    const std::string purpose =
        request.get("X-Purpose-Of-Use", shared_.parts.settings.default_purpose);
    static const std::regex kPurpose("^[A-Z]{2,16}$");
    if (!std::regex_match(purpose, kPurpose)) {
      return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                  "X-Purpose-Of-Use expects a v3-PurposeOfUse code such as TREAT");
    }
    auto participant = ledger::parse_address(client->second);
    if (!participant) {
      return fail(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "exception",
                  "the client's participant address is malformed");
    }
    if (route->everything) {
      return everything(response, *caller, source, reference, *participant, purpose);
    }
    auto worker = shared_.pool->take();
    auto read = worker->reads().read({.source = source,
                                      .reference = reference,
                                      .version = route->version,
                                      .participant = *participant,
                                      .purpose = purpose,
                                      .consent = false,
                                      .operator_name = "api:" + caller->client_id});
    count("read", !read ? error_code_name(read.error().code) : read->permit ? "permit" : "deny");
    if (!read) return fail(response, read.error());
    if (!read->permit) {
      return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden", "denied: " + read->reason);
    }
    const auto& record = read->record;
    response.set("ETag", "W/\"" + std::to_string(record.pointer.version) + "\"");
    response.set("X-Ledger-Transaction", record.tx_hash);
    response.set("X-Ledger-Block", std::to_string(record.block));
    response.set("X-Ledger-Resource-Key", to_0x_hex(record.pointer.resource_key));
    response.set("X-Ledger-Content-Hash", to_0x_hex(record.pointer.content_hash));
    response.set("X-Ledger-Mode", std::string(gateway::anchor_mode_name(record.pointer.mode)));
    if (record.proof) {
      response.set("X-Ledger-Merkle-Root", to_0x_hex(record.proof->root));
      response.set("X-Ledger-Merkle-Proof",
                   "index=" + std::to_string(record.proof->index) +
                       ";leaves=" + std::to_string(record.proof->leaf_count) +
                       ";siblings=" + hex_list(record.proof->siblings));
    }
    send_body(response, HTTPResponse::HTTP_OK, "application/fhir+json", read->released);
    return HTTPResponse::HTTP_OK;
  }

  // What a POST asks for, from its path.
  enum class PostOp { kConsent, kConsentDryRun, kErase, kEvaluate, kPreview };
  struct PostRoute {
    PostOp op;
    std::string patient;  // kErase: "Patient/<id>"
  };

  static Result<PostRoute> post_route(std::string_view path) {
    if (path == "/fhir/Consent") return PostRoute{PostOp::kConsent, ""};
    if (path == "/fhir/Consent/$dry-run") return PostRoute{PostOp::kConsentDryRun, ""};
    if (path == "/policy/$evaluate") return PostRoute{PostOp::kEvaluate, ""};
    if (path == "/mappings/$preview") return PostRoute{PostOp::kPreview, ""};
    const auto parts = segments(path);
    if (parts.size() == 4 && parts[0] == "fhir" && parts[1] == "Patient" && parts[3] == "$erase") {
      if (!gateway::is_valid_fhir_id(parts[2])) {
        return Error{ErrorCode::kInvalidInput, "not a FHIR id ([A-Za-z0-9-.]{1,64})", ""};
      }
      return PostRoute{PostOp::kErase, "Patient/" + std::string(parts[2])};
    }
    return Error{ErrorCode::kNotFound,
                 "POST takes /fhir/Consent, /fhir/Consent/$dry-run, /fhir/Patient/{id}/$erase, "
                 "/policy/$evaluate or /mappings/$preview",
                 ""};
  }

  // The scopes of the console's users: operators, compliance officers, integration engineers.
  static bool console_scope(std::string_view scopes) {
    return gateway::scopes_include(scopes, gateway::kToolsScope) ||
           gateway::scopes_include(scopes, gateway::kComplianceScope) ||
           gateway::scopes_include(scopes, gateway::kAdminScope);
  }

  // Whether the token's scope covers the operation.
  static bool post_allowed(PostOp op, std::string_view scopes) {
    using gateway::scopes_permit;
    switch (op) {
      case PostOp::kConsentDryRun:
        return scopes_permit(scopes, "Consent", 'r') || scopes_permit(scopes, "Consent", 'c');
      case PostOp::kConsent:
        return scopes_permit(scopes, "Consent", 'c') || scopes_permit(scopes, "Consent", 'u');
      case PostOp::kErase:
        return gateway::scopes_include(scopes, gateway::kAdminScope);
      case PostOp::kEvaluate:
      case PostOp::kPreview:
        return console_scope(scopes);
    }
    return false;
  }

  // POST: a Consent (or its dry run), an erasure, or a tool's dry run; a JSON body of at most
  // kMaxBodyBytes (an erasure's is optional: a Parameters resource with a `reason`).
  Status post(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    const std::string& uri = request.getURI();
    auto route = post_route(std::string_view(uri).substr(0, uri.find('?')));
    if (!route && route.error().code == ErrorCode::kNotFound) {
      response.set("Allow", "GET");
      return fail(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "not-supported",
                  route.error().message);
    }
    if (!route) return fail(response, route.error());
    const bool body_optional = route->op == PostOp::kErase;
    const bool has_body = request.hasContentLength() && request.getContentLength64() > 0;
    // Until the body is read, a refusal ends the connection: what is left of the body must not
    // be taken for the next request on it.
    response.setKeepAlive(false);
    if (has_body || !body_optional) {
      const std::string type =
          request.getContentType().substr(0, request.getContentType().find(';'));
      if (type != "application/fhir+json" && type != "application/json") {
        return fail(response, HTTPResponse::HTTP_UNSUPPORTEDMEDIATYPE, "not-supported",
                    "expected Content-Type application/fhir+json");
      }
      if (!request.hasContentLength()) {
        return fail(response, HTTPResponse::HTTP_LENGTH_REQUIRED, "invalid",
                    "the body is sent with its Content-Length");
      }
    } else if (request.getChunkedTransferEncoding()) {
      return fail(response, HTTPResponse::HTTP_LENGTH_REQUIRED, "invalid",
                  "the body is sent with its Content-Length");
    }
    if (request.getContentLength64() > static_cast<Poco::Int64>(kMaxBodyBytes)) {
      return fail(response, HTTPResponse::HTTP_REQUESTENTITYTOOLARGE, "too-costly",
                  "a body is at most " + std::to_string(kMaxBodyBytes) + " bytes");
    }
    const auto now = ports::unix_seconds(shared_.parts.clock->wall());
    auto caller = shared_.parts.tokens->verify(request.get("Authorization", ""), now);
    if (!caller) {
      return fail(response, HTTPResponse::HTTP_UNAUTHORIZED, "login", caller.error().message);
    }
    if (!post_allowed(route->op, caller->scopes)) {
      return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                  "the token's scope does not cover this operation");
    }
    std::string body(has_body ? static_cast<std::size_t>(request.getContentLength64()) : 0, '\0');
    if (has_body) {
      request.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
      if (static_cast<std::size_t>(request.stream().gcount()) != body.size()) {
        return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                    "the body ended before its Content-Length");
      }
    }
    response.setKeepAlive(request.getKeepAlive());
    std::string source = request.get("X-FHIR-Source", shared_.parts.default_source);
    if (source.empty() || source.size() > 256) {
      return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                  "X-FHIR-Source expects 1 to 256 characters");
    }
    const std::string who = "api:" + caller->client_id;
    switch (route->op) {
      case PostOp::kConsent:
      case PostOp::kConsentDryRun:
        return consent(response, source, body, route->op == PostOp::kConsentDryRun, who);
      case PostOp::kErase:
        return erase(response, source, route->patient, body, who);
      case PostOp::kEvaluate:
      case PostOp::kPreview:
        return tool(response, route->op, source, body);
    }
    return fail(response, HTTPResponse::HTTP_NOT_FOUND, "not-found", "no such operation");
  }

  Status consent(Poco::Net::HTTPServerResponse& response, const std::string& source,
                 const std::string& body, bool dry_run, const std::string& who) {
    auto worker = shared_.pool->take();
    gateway::ConsentService* consents = worker->consents();
    if (consents == nullptr) {
      return fail(response, HTTPResponse::HTTP_NOT_IMPLEMENTED, "not-supported",
                  "this gateway does not take Consents");
    }
    std::unique_lock one_at_a_time(shared_.sending, std::defer_lock);
    if (!dry_run) one_at_a_time.lock();
    auto report =
        consents->apply({.source = source, .json = body, .dry_run = dry_run, .operator_name = who});
    if (!dry_run) count("consent", report ? "applied" : error_code_name(report.error().code));
    if (!report) return fail_where(response, report.error());
    send_body(response, HTTPResponse::HTTP_OK, "application/json", gateway::to_json(*report));
    return HTTPResponse::HTTP_OK;
  }

  // The erasure, as `fhir-ledger erase` does it; the report as the command prints it.
  Status erase(Poco::Net::HTTPServerResponse& response, const std::string& source,
               const std::string& patient, const std::string& body, const std::string& who) {
    std::string reason;
    if (!body.empty()) {
      auto parsed = erase_reason(body);
      if (!parsed) return fail_where(response, parsed.error());
      reason = std::move(*parsed);
    }
    auto worker = shared_.pool->take();
    const std::lock_guard one_at_a_time(shared_.sending);
    auto erased = worker->erase(source, patient, who, reason);
    count("erase", erased ? "erased" : error_code_name(erased.error().code));
    if (!erased) return fail_where(response, erased.error());
    std::string regions;
    for (const auto& [region, destroyed] : erased->regions) {
      regions += (regions.empty() ? "" : ",") + quoted(region) + ":" +
                 quoted(destroyed ? "destroyed" : "none");
    }
    send_body(response, HTTPResponse::HTTP_OK, "application/json",
              "{\"patientKey\":" + quoted(erased->patient_key) +
                  ",\"erasedAt\":" + quoted(erased->erased_at) + ",\"regions\":{" + regions +
                  "},\"tx\":" + quoted(erased->tx) + ",\"block\":" + std::to_string(erased->block) +
                  ",\"auditEvent\":" + erased->audit_event + "}");
    return HTTPResponse::HTTP_OK;
  }

  // An erasure's optional body: a FHIR Parameters resource whose `reason` (valueString) is
  // recorded in the AuditEvent.
  static Result<std::string> erase_reason(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("resourceType") ||
        doc["resourceType"] != "Parameters") {
      return Error{ErrorCode::kInvalidInput, "expected a FHIR Parameters resource", ""};
    }
    if (!doc.HasMember("parameter")) return std::string();
    if (!doc["parameter"].IsArray()) {
      return Error{ErrorCode::kInvalidInput, "expected an array", "/parameter"};
    }
    const auto& parameters = doc["parameter"];
    for (rapidjson::SizeType i = 0; i < parameters.Size(); ++i) {
      const auto& p = parameters[i];
      if (!p.IsObject() || !p.HasMember("name") || p["name"] != "reason") continue;
      if (!p.HasMember("valueString") || !p["valueString"].IsString() ||
          p["valueString"].GetStringLength() > 1024) {
        return Error{ErrorCode::kInvalidInput, "expected a valueString of at most 1024 characters",
                     "/parameter/" + std::to_string(i)};
      }
      return std::string(p["valueString"].GetString(), p["valueString"].GetStringLength());
    }
    return std::string();
  }

  Status tool(Poco::Net::HTTPServerResponse& response, PostOp op, const std::string& source,
              const std::string& body) {
    const auto& parts = shared_.parts;
    const auto catalog = parts.mappings ? parts.mappings() : nullptr;
    if ((op == PostOp::kEvaluate && !parts.engine) || (op == PostOp::kPreview && !catalog)) {
      return fail(response, HTTPResponse::HTTP_NOT_IMPLEMENTED, "not-supported",
                  op == PostOp::kEvaluate ? "this gateway runs without a policy bundle"
                                          : "this gateway runs without mapping sets");
    }
    auto answer = op == PostOp::kEvaluate ? evaluate_policy(*parts.engine, body)
                                          : preview_mapping(*catalog, source, body);
    if (!answer) return fail_where(response, answer.error());
    send_body(response, HTTPResponse::HTTP_OK, "application/json", *answer);
    return HTTPResponse::HTTP_OK;
  }

  Status fail_where(Poco::Net::HTTPServerResponse& response, const Error& error) {
    const auto [status, code] = status_of(error.code);
    return fail(response, status, code,
                error.message + (error.where.empty() ? "" : " at " + error.where));
  }

  void count(std::string_view kind, std::string_view decision) {
    if (shared_.parts.metrics != nullptr) shared_.parts.metrics->access_decision(kind, decision);
  }

  Result<Route> parse_route(std::string_view path, std::string_view query) {
    const auto parts = segments(path);
    Route r;
    if (parts.size() < 3 || (parts[0] != "fhir" && parts[0] != "ledger")) {
      return Error{ErrorCode::kNotFound,
                   "try GET /fhir/{type}/{id}, /fhir/{type}/{id}/_history/{vid} or "
                   "/ledger/{type}/{id}",
                   ""};
    }
    r.root = std::string(parts[0]);
    if (!gateway::is_r4_resource_type(parts[1])) {
      return Error{ErrorCode::kInvalidInput, "not a FHIR R4 resource type", ""};
    }
    r.type = std::string(parts[1]);
    if (!gateway::is_valid_fhir_id(parts[2])) {
      return Error{ErrorCode::kInvalidInput, "not a FHIR id ([A-Za-z0-9-.]{1,64})", ""};
    }
    r.id = std::string(parts[2]);
    if (parts.size() == 4 && r.root == "fhir" && r.type == "Patient" && parts[3] == "$everything") {
      r.everything = true;
    } else if (parts.size() == 5 && r.root == "fhir" && parts[3] == "_history") {
      r.version = parse_version(parts[4]);
      if (!r.version) return Error{ErrorCode::kInvalidInput, "the version id is not 1, 2, ...", ""};
    } else if (parts.size() != 3) {
      return Error{ErrorCode::kNotFound, "no such route", ""};
    }
    if (r.root == "ledger") {
      if (const auto v = query_value(query, "version"); !v.empty()) {
        r.version = parse_version(v);
        if (!r.version) return Error{ErrorCode::kInvalidInput, "version= expects 1, 2, ...", ""};
      }
    }
    return r;
  }

  // A searchset Bundle of what the participant may read of the patient: every stored resource
  // decided as a read of it is (and audited so), those of types the token's scope does not
  // cover withheld; a resource whose blob no longer matches the ledger is an outcome entry.
  Status everything(Poco::Net::HTTPServerResponse& response, const Caller& caller,
                    const std::string& source, const std::string& reference,
                    const ports::Address& participant, const std::string& purpose) {
    auto worker = shared_.pool->take();
    auto read = worker->reads().read_patient({.source = source,
                                              .reference = reference,
                                              .version = std::nullopt,
                                              .participant = participant,
                                              .purpose = purpose,
                                              .consent = false,
                                              .operator_name = "api:" + caller.client_id});
    if (!read) return fail(response, read.error());
    std::string entries;
    std::size_t matches = 0;
    std::size_t withheld = read->denied;
    for (const auto& r : read->released) {
      rapidjson::Document resource;
      resource.Parse(r.released.c_str(), r.released.size());
      const std::string type = resource.IsObject() && resource.HasMember("resourceType") &&
                                       resource["resourceType"].IsString()
                                   ? resource["resourceType"].GetString()
                                   : "";
      if (!gateway::scopes_permit_read(caller.scopes, type)) {
        ++withheld;
        continue;
      }
      const std::string id =
          resource.IsObject() && resource.HasMember("id") && resource["id"].IsString()
              ? resource["id"].GetString()
              : "";
      entries += std::string(entries.empty() ? "" : ",") +
                 "{\"fullUrl\":" + quoted(shared_.parts.settings.audience + "/" + type + "/" + id) +
                 ",\"resource\":" + r.released + ",\"search\":{\"mode\":\"match\"}}";
      ++matches;
    }
    for (const auto& f : read->failed) {
      entries +=
          std::string(entries.empty() ? "" : ",") + "{\"resource\":" +
          gateway::operation_outcome("conflict", "resource " + f.resource_key + ": " + f.error) +
          ",\"search\":{\"mode\":\"outcome\"}}";
    }
    const std::string body =
        "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":" + std::to_string(matches) +
        ",\"entry\":[" + entries + "]}";
    response.set("X-Withheld-Resources", std::to_string(withheld));
    send_body(response, HTTPResponse::HTTP_OK, "application/fhir+json", body);
    return HTTPResponse::HTTP_OK;
  }

  // GET /console/...: the page and its assets (console_http.h), or the data its views read.
  Status console(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                 std::string_view path, std::string_view query) {
    constexpr std::string_view kApi = "/console/api/";
    if (!path.starts_with(kApi)) {
      const auto file = console_file(path, request.get("If-None-Match", ""));
      for (const auto& [name, value] : file.headers) response.set(name, value);
      response.setStatus(static_cast<Status>(file.status));
      if (file.status == HTTPResponse::HTTP_NOT_MODIFIED) {
        response.setContentLength(0);
        response.send();
      } else {
        response.setContentType(file.content_type);
        response.sendBuffer(file.body.data(), file.body.size());
      }
      return static_cast<Status>(file.status);
    }
    response.set("Content-Security-Policy", std::string(kConsoleCsp));
    const auto now = ports::unix_seconds(shared_.parts.clock->wall());
    auto caller = shared_.parts.tokens->verify(request.get("Authorization", ""), now);
    if (!caller) {
      return fail(response, HTTPResponse::HTTP_UNAUTHORIZED, "login", caller.error().message);
    }
    if (!console_scope(caller->scopes)) {
      return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                  "the console needs the scope fhir-ledger/compliance, fhir-ledger/tools or "
                  "fhir-ledger/admin");
    }
    ConsoleData* data = shared_.parts.console.get();
    if (data == nullptr) {
      return fail(response, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                  "this gateway serves no console data");
    }
    const bool admin = gateway::scopes_include(caller->scopes, gateway::kAdminScope);
    const auto parts = segments(path.substr(kApi.size()));
    const std::string_view what = parts.empty() ? std::string_view() : parts[0];
    const auto json = [&](const std::string& body) {
      send_body(response, HTTPResponse::HTTP_OK, "application/json", body);
      return HTTPResponse::HTTP_OK;
    };
    if (parts.size() == 1 && what == "session") {
      return json(
          "{\"client\":" + quoted(caller->client_id) + ",\"scopes\":" + quoted(caller->scopes) +
          ",\"deadLetters\":" + (admin ? "true" : "false") + ",\"gateway\":" + data->about() + "}");
    }
    if (parts.size() == 1 && what == "policies") return json(data->policies());
    if (parts.size() == 1 && what == "mappings") return json(data->mappings());
    if (parts.size() == 1 && what == "audit") {
      auto q = parse_audit_query(query);
      if (!q) return fail_where(response, q.error());
      auto answer = data->audit(*q);
      if (!answer) return fail(response, answer.error());
      return json(*answer);
    }
    if (parts.size() == 1 && what == "metrics") {
      send_body(response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                data->metrics());
      return HTTPResponse::HTTP_OK;
    }
    if (parts.size() == 1 && what == "dead-letters") {
      auto letters = data->recent_dead_letters();
      if (!letters) return fail(response, letters.error());
      return json(*letters);
    }
    if (parts.size() == 3 && what == "dead-letters") {
      // The original event is PHI in clear: the operator's scope only.
      if (!admin) {
        return fail(response, HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                    "a dead letter's event needs the scope fhir-ledger/admin");
      }
      std::int32_t partition = -1;
      std::int64_t offset = -1;
      const auto p = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), partition);
      const auto o = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), offset);
      if (p.ec != std::errc() || p.ptr != parts[1].data() + parts[1].size() || partition < 0 ||
          o.ec != std::errc() || o.ptr != parts[2].data() + parts[2].size() || offset < 0) {
        return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                    "expected /console/api/dead-letters/{partition}/{offset}");
      }
      auto letter = data->dead_letter(partition, offset, "console:" + caller->client_id);
      if (!letter) return fail_where(response, letter.error());
      return json(*letter);
    }
    if (parts.size() == 3 && what == "ledger") {
      auto route =
          parse_route("/ledger/" + std::string(parts[1]) + "/" + std::string(parts[2]), query);
      if (!route) return fail(response, route.error());
      std::string source = request.get("X-FHIR-Source", shared_.parts.default_source);
      if (source.empty() || source.size() > 256) {
        return fail(response, HTTPResponse::HTTP_BAD_REQUEST, "invalid",
                    "X-FHIR-Source expects 1 to 256 characters");
      }
      return ledger(response, *route, source, route->type + "/" + route->id, data);
    }
    return fail(response, HTTPResponse::HTTP_NOT_FOUND, "not-found",
                "try /console/api/session, policies, audit, mappings, metrics, "
                "ledger/{type}/{id}, dead-letters or dead-letters/{partition}/{offset}");
  }

  Status ledger(Poco::Net::HTTPServerResponse& response, const Route& route,
                const std::string& source, const std::string& reference,
                const ConsoleData* console = nullptr) {  // adds the auditor's commands
    auto worker = shared_.pool->take();
    auto v = worker->verify(source, reference, route.version);
    if (!v && v.error().code != ErrorCode::kIntegrity) return fail(response, v.error());
    std::string body;
    if (!v) {
      body = "{\"reference\":" + quoted(reference) +
             ",\"verified\":false,\"failure\":" + quoted(v.error().message) + "}";
    } else {
      std::string checks;
      for (const auto& c : v->checks) checks += (checks.empty() ? "" : ",") + quoted(c);
      body = "{\"reference\":" + quoted(reference) +
             ",\"verified\":true,\"version\":" + std::to_string(v->version) +
             ",\"mode\":" + quoted(v->mode) + ",\"region\":" + quoted(v->region) +
             ",\"deleted\":" + (v->deleted ? "true" : "false") +
             ",\"contentHash\":" + quoted(v->content_hash) + ",\"tx\":" + quoted(v->tx_hash) +
             ",\"block\":" + std::to_string(v->block) + ",\"checks\":[" + checks + "]";
      body += ",\"resourceKey\":" + quoted(v->resource_key);
      if (!v->merkle_root.empty()) body += ",\"merkleRoot\":" + quoted(v->merkle_root);
      if (console != nullptr) body += ",\"commands\":" + console->auditor_commands(*v);
      body += "}";
    }
    send_body(response, HTTPResponse::HTTP_OK, "application/json", body);
    return HTTPResponse::HTTP_OK;
  }

  Shared& shared_;
};

class ApiFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit ApiFactory(Shared& shared) : shared_(shared) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return std::make_unique<ApiHandler>(shared_).release();  // Poco deletes it
  }

 private:
  Shared& shared_;
};

class PocoApiServer final : public ApiServer {
 public:
  PocoApiServer(std::unique_ptr<Shared> shared, Poco::Net::ServerSocket socket)
      : shared_(std::move(shared)),
        port_(socket.address().port()),
        // Poco's default pool stops at 16 threads whatever /api/workers says.
        threads_(2, std::max(2, shared_->parts.settings.workers + 1)),
        server_(make_server(*shared_, threads_, std::move(socket))) {
    server_.start();
  }
  ~PocoApiServer() override { server_.stopAll(true); }
  int port() const override { return port_; }

 private:
  static Poco::Net::HTTPServer make_server(Shared& shared, Poco::ThreadPool& threads,
                                           Poco::Net::ServerSocket socket) {
    const auto& s = shared.parts.settings;
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(s.workers);
    params->setMaxQueued(s.max_queued);
    params->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s.timeout_ms) * 1000));
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(1000);
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory(
        std::make_unique<ApiFactory>(shared).release());
    return Poco::Net::HTTPServer(factory, threads, socket, params);
  }

  std::unique_ptr<Shared> shared_;
  int port_;
  Poco::ThreadPool threads_;  // outlives the server that runs on it
  Poco::Net::HTTPServer server_;
};

// The listening socket: plain, or TLS with the configured certificate (api.tls), asking for a
// client certificate signed by clientCaFile when one is named (mutual TLS).
Result<Poco::Net::ServerSocket> listen(const std::string& where,
                                       const gateway::ApiTlsSettings& tls) {
  Poco::Net::SocketAddress address;
  try {
    address = Poco::Net::SocketAddress(where);
    if (tls.certificate_file.empty()) return Poco::Net::ServerSocket(address);
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kUnavailable, "cannot listen for the API: " + e.displayText(), where};
  }
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Ptr context;
  try {
    Poco::Net::Context::Params params;
    params.privateKeyFile = tls.private_key_file;
    params.certificateFile = tls.certificate_file;
    params.caLocation = tls.client_ca_file;
    params.verificationMode = tls.client_ca_file.empty() ? Poco::Net::Context::VERIFY_NONE
                                                         : Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
    context = Poco::Net::Context::Ptr(
        std::make_unique<Poco::Net::Context>(Poco::Net::Context::TLS_SERVER_USE, params).release());
    // OpenSSL refuses to resume, or even finish, a session that verified a client without a
    // session id context.
    context->enableSessionCache(true, "fhir-ledger-api");
    // A client's certificate names the client, not the address it calls from: Poco's extra
    // check of the peer's host name is for servers' certificates. The chain is still verified.
    context->enableExtendedCertificateVerification(false);
    context->requireMinimumProtocol(tls.min_version == "1.3" ? Poco::Net::Context::PROTO_TLSV1_3
                                                             : Poco::Net::Context::PROTO_TLSV1_2);
    // Poco loads both files without comparing them; a mismatch would fail every handshake.
    if (SSL_CTX_check_private_key(context->sslContext()) != 1) {
      return Error{ErrorCode::kInvalidInput,
                   "expected the private key of the certificate: it does not match",
                   "/api/tls/privateKeyFile (" + tls.private_key_file + ")"};
    }
  } catch (const Poco::Exception& e) {
    return Error{
        ErrorCode::kInvalidInput,
        "expected a PEM certificate and the private key that matches it: " + e.displayText(),
        "/api/tls (" + tls.certificate_file + ")"};
  }
  try {
    return Poco::Net::ServerSocket(Poco::Net::SecureServerSocket(address, 64, context));
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kUnavailable, "cannot listen for the API: " + e.displayText(), where};
  }
}

}  // namespace

Result<std::unique_ptr<ApiServer>> start_api_server(ApiServerParts parts) {
  auto shared = std::make_unique<Shared>();
  std::vector<std::unique_ptr<ApiWorker>> workers;
  for (int i = 0; i < parts.settings.workers; ++i) {
    auto worker = parts.make_worker();
    if (!worker) return worker.error();
    workers.push_back(std::move(*worker));
  }
  shared->pool = std::make_unique<WorkerPool>(std::move(workers));
  const std::string where = parts.settings.bind + ":" + std::to_string(parts.settings.port);
  shared->parts = std::move(parts);
  auto socket = listen(where, shared->parts.settings.tls);
  if (!socket) return socket.error();
  try {
    return std::unique_ptr<ApiServer>(
        std::make_unique<PocoApiServer>(std::move(shared), std::move(*socket)));
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kUnavailable, "cannot listen for the API: " + e.displayText(), where};
  }
}

}  // namespace fl::cli
