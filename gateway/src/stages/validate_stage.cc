#include "fl/gateway/stages/validate_stage.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

namespace fl::gateway {
namespace {

using rapidjson::Value;

constexpr std::string_view kBundleTypes[] = {"transaction",
                                             "batch",
                                             "collection",
                                             "message",
                                             "history",
                                             "searchset",
                                             "subscription-notification",
                                             "document",
                                             "transaction-response",
                                             "batch-response"};

Error invalid(std::string message, std::string where) {
  return Error{ErrorCode::kInvalidInput, std::move(message), std::move(where)};
}

// The fhir-source header names a mapping set and goes into AuditEvents and logs: it must be a
// short printable name, not whatever a sender put there.
Status check_source_header(const ports::SourceEvent& event) {
  for (const auto& [name, value] : event.headers) {
    if (name != "fhir-source" && name != "fhir-jurisdiction") continue;
    const bool printable =
        std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (value.size() > 256 || !printable) {
      return invalid(
          "the " + name + " header must be 1-256 printable ASCII characters without spaces",
          "header " + name);
    }
  }
  return Ok{};
}

// What one walk over the document finds that the parser lets through.
struct Scan {
  int depth = 0;                 // of the deepest container
  std::string nul_at;            // JSON pointer of the first string holding U+0000
  std::size_t zero_doubles = 0;  // numbers with a fraction or exponent that parsed to 0
};

void escape_pointer_token(std::string& out, std::string_view token) {
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

bool holds_nul(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength()).find('\0') != std::string_view::npos;
}

// The JSON pointer of `target`, a value or a member name in `root` ("/" for the root). Walked
// only when the scan has something to report, so the scan itself builds no pointers; with an
// explicit stack like the scan, and in the scan's order.
std::string pointer_to(const Value& root, const Value* target) {
  struct Node {
    const Value* v;
    std::size_t parent;
    std::string token;
  };
  std::vector<Node> nodes{{&root, 0, ""}};
  // Node i's pointer, and then the member name `last` when the target is a name.
  const auto pointer_of = [&](std::size_t i, const std::string* last) {
    std::vector<const std::string*> tokens;
    for (; i != 0; i = nodes[i].parent) tokens.push_back(&nodes[i].token);
    std::string out;
    for (auto t = tokens.rbegin(); t != tokens.rend(); ++t) out.append("/").append(**t);
    if (last != nullptr) out.append("/").append(*last);
    return out.empty() ? std::string("/") : out;
  };
  std::vector<std::size_t> todo{0};
  while (!todo.empty()) {
    const std::size_t i = todo.back();
    todo.pop_back();
    if (nodes[i].v == target) return pointer_of(i, nullptr);
    const Value& v = *nodes[i].v;
    if (v.IsObject()) {
      for (const auto& m : v.GetObject()) {
        std::string token;
        escape_pointer_token(token, {m.name.GetString(), m.name.GetStringLength()});
        if (&m.name == target) return pointer_of(i, &token);
        nodes.push_back({&m.value, i, std::move(token)});
        todo.push_back(nodes.size() - 1);
      }
    } else if (v.IsArray()) {
      rapidjson::SizeType index = 0;
      for (const auto& e : v.GetArray()) {
        nodes.push_back({&e, i, std::to_string(index++)});
        todo.push_back(nodes.size() - 1);
      }
    }
  }
  return "/";
}

// With an explicit stack, so a hostile document cannot overflow ours before the depth limit is
// checked.
Scan scan(const Value& root) {
  Scan out;
  struct Frame {
    const Value* v;
    int depth;
  };
  const Value* nul = nullptr;  // the first string (or member name) holding U+0000
  std::vector<Frame> stack;
  stack.push_back({&root, 1});
  while (!stack.empty()) {
    const Frame f = stack.back();
    stack.pop_back();
    const Value& v = *f.v;
    if (v.IsString()) {
      if (nul == nullptr && holds_nul(v)) nul = &v;
      continue;
    }
    if (v.IsDouble()) {
      if (v.GetDouble() == 0.0) ++out.zero_doubles;
      continue;
    }
    if (!v.IsObject() && !v.IsArray()) continue;
    out.depth = std::max(out.depth, f.depth);
    if (v.IsObject()) {
      for (const auto& m : v.GetObject()) {
        if (nul == nullptr && holds_nul(m.name)) nul = &m.name;
        stack.push_back({&m.value, f.depth + 1});
      }
    } else {
      for (const auto& e : v.GetArray()) stack.push_back({&e, f.depth + 1});
    }
  }
  if (nul != nullptr) out.nul_at = pointer_to(root, nul);
  return out;
}

// RapidJSON 1.1's full-precision parsing misreads a zero written with an exponent ("0E+100",
// "-0.00e-30"): its significand is 0, DiyFp::Normalize() calls __builtin_clzll(0) (undefined),
// and the double is whatever the registers held (5.9e225, sign included). True when the text
// may hold one (a run of '0' and '.' that starts a number and ends at an 'e').
bool may_hold_zero_with_exponent(std::string_view text) {
  // A loop over the bytes: find_first_of("eE") calls memchr on its two-byte set for every byte
  // of the text (5% of a mixed load run's gateway samples).
  for (std::size_t e = 1; e < text.size(); ++e) {
    if ((text[e] | 0x20) != 'e' || (text[e - 1] != '0' && text[e - 1] != '.')) continue;
    auto start = e;
    while (start > 0 && (text[start - 1] == '0' || text[start - 1] == '.')) --start;
    if (start < e && text[start] == '0' &&
        (start == 0 || text[start - 1] < '1' || text[start - 1] > '9')) {
      return true;
    }
  }
  return false;
}

// The text with every zero written with an exponent rewritten as "0.0" or "-0.0" and padded
// with spaces, so offsets stay and the parser never meets one; the text itself when it has none.
// Text that is not JSON is refused here, with the reader's reason: rewriting it could make
// another such zero of what follows ("0e0e70" would become "0.0e70").
Result<std::string_view> without_zeros_with_exponent(std::string_view text,
                                                     std::string& rewritten) {
  if (!may_hold_zero_with_exponent(text)) return text;
  struct Finder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Finder> {
    explicit Finder(const rapidjson::MemoryStream& s) : stream(s) {}
    const rapidjson::MemoryStream& stream;
    std::vector<std::pair<std::size_t, std::size_t>> zeros;  // offset and length in the text
    bool RawNumber(const char* number, rapidjson::SizeType length, bool /*copy*/) {
      const std::string_view literal(number, length);
      const auto exponent = literal.find_first_of("eE");
      if (exponent != std::string_view::npos &&
          literal.substr(0, exponent).find_first_of("123456789") == std::string_view::npos) {
        zeros.emplace_back(stream.Tell() - length, length);  // Tell() is just past the number
      }
      return true;
    }
  };
  rapidjson::MemoryStream bytes(text.data(), text.size());
  Finder finder(bytes);
  rapidjson::Reader reader;
  reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag |
               rapidjson::kParseValidateEncodingFlag>(bytes, finder);
  if (reader.HasParseError()) {
    return invalid(std::string("invalid JSON: ") +
                       rapidjson::GetParseError_En(reader.GetParseErrorCode()) + " (offset " +
                       std::to_string(reader.GetErrorOffset()) + ")",
                   "");
  }
  if (finder.zeros.empty()) return text;
  rewritten.assign(text);
  for (const auto& [offset, length] : finder.zeros) {
    // At least "0e0" or "-0e0", so "0.0" and "-0.0" fit.
    const std::string_view zero = rewritten[offset] == '-' ? "-0.0" : "0.0";
    rewritten.replace(offset, length, std::string(zero) + std::string(length - zero.size(), ' '));
  }
  return std::string_view(rewritten);
}

// SAX handler over the raw text, numbers as written: finds the first number with a non-zero
// digit that a double cannot hold (1e-400 parses to 0), counting numbers in document order.
struct UnderflowFinder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, UnderflowFinder> {
  std::size_t numbers = 0;
  std::optional<std::size_t> first;  // ordinal of the first underflowing number

  bool RawNumber(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    const std::string literal(text, length);
    const auto mantissa_end = literal.find_first_of("eE");
    const bool nonzero =
        literal.substr(0, mantissa_end).find_first_of("123456789") != std::string::npos;
    if (nonzero && std::strtod(literal.c_str(), nullptr) == 0.0 && !first) first = numbers;
    ++numbers;
    return true;
  }
};

// The JSON pointer of the n-th number of the document, in document order.
bool find_number(const Value& v, std::size_t& n, std::string& pointer) {
  if (v.IsNumber()) return n-- == 0;
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      const std::size_t at = pointer.size();
      pointer += "/";
      escape_pointer_token(pointer, {m.name.GetString(), m.name.GetStringLength()});
      if (find_number(m.value, n, pointer)) return true;
      pointer.resize(at);
    }
  } else if (v.IsArray()) {
    rapidjson::SizeType i = 0;
    for (const auto& e : v.GetArray()) {
      const std::size_t at = pointer.size();
      pointer += "/" + std::to_string(i++);
      if (find_number(e, n, pointer)) return true;
      pointer.resize(at);
    }
  }
  return false;
}

// The last segment of a fullUrl such as "urn:uuid:6a5c..." or "https://x/Patient/123".
std::string id_from_full_url(std::string_view full_url) {
  const auto cut = full_url.find_last_of(":/");
  return std::string(cut == std::string_view::npos ? full_url : full_url.substr(cut + 1));
}

// "Patient/<id>" from a reference such as "Patient/1", "Patient/1/_history/2" or
// "https://x/fhir/Patient/1"; empty for anything else (contained, other types, urn:uuid).
std::string patient_from_reference(std::string_view reference) {
  const auto at = reference.rfind("Patient/");
  if (at == std::string_view::npos || (at > 0 && reference[at - 1] != '/')) return {};
  std::string_view id = reference.substr(at + 8);
  id = id.substr(0, id.find('/'));
  return is_valid_fhir_id(id) ? "Patient/" + std::string(id) : std::string();
}

// The server base of an absolute URL naming `type`/`id` ("https://x/fhir" of
// "https://x/fhir/Patient/1", also with a trailing "/_history/n"); empty for anything else.
std::string base_of(std::string_view url, std::string_view type, std::string_view id) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) return {};
  if (const auto history = url.find("/_history/"); history != std::string_view::npos) {
    url = url.substr(0, history);
  }
  const std::string tail = "/" + std::string(type) + "/" + std::string(id);
  if (!url.ends_with(tail) || url.size() == tail.size()) return {};
  return std::string(url.substr(0, url.size() - tail.size()));
}

// The member (subject, patient or beneficiary) that names the patient a resource is about.
const Value* patient_member(const Value& json) {
  for (const char* name : {"subject", "patient", "beneficiary"}) {
    auto member = json.FindMember(name);
    if (member != json.MemberEnd() && member->value.IsObject()) return &member->value;
  }
  return nullptr;
}

// (system, value) of an Identifier object with both as non-empty strings.
std::optional<std::pair<std::string, std::string>> identifier_of(const Value& identifier) {
  if (!identifier.IsObject()) return std::nullopt;
  auto system = identifier.FindMember("system");
  auto value = identifier.FindMember("value");
  if (system == identifier.MemberEnd() || value == identifier.MemberEnd() ||
      !system->value.IsString() || !value->value.IsString() ||
      system->value.GetStringLength() == 0 || value->value.GetStringLength() == 0) {
    return std::nullopt;
  }
  return std::pair{std::string(system->value.GetString(), system->value.GetStringLength()),
                   std::string(value->value.GetString(), value->value.GetStringLength())};
}

// A Patient's own identifiers, or those its patient reference carries (a reference whose type,
// when given, is Patient).
std::vector<std::pair<std::string, std::string>> patient_identifiers(const Value& json,
                                                                     std::string_view type) {
  std::vector<std::pair<std::string, std::string>> out;
  if (type == "Patient") {
    auto list = json.FindMember("identifier");
    if (list == json.MemberEnd() || !list->value.IsArray()) return out;
    for (const auto& identifier : list->value.GetArray()) {
      if (auto found = identifier_of(identifier)) out.push_back(std::move(*found));
    }
    return out;
  }
  const Value* reference = patient_member(json);
  if (reference == nullptr) return out;
  auto ref_type = reference->FindMember("type");
  if (ref_type != reference->MemberEnd() &&
      !(ref_type->value.IsString() && std::string_view(ref_type->value.GetString()) == "Patient")) {
    return out;
  }
  auto identifier = reference->FindMember("identifier");
  if (identifier == reference->MemberEnd()) return out;
  if (auto found = identifier_of(identifier->value)) out.push_back(std::move(*found));
  return out;
}

// The raw reference text of the resource's subject, patient or beneficiary, if any.
std::string_view subject_reference(const Value& json) {
  for (const char* name : {"subject", "patient", "beneficiary"}) {
    auto member = json.FindMember(name);
    if (member == json.MemberEnd() || !member->value.IsObject()) continue;
    auto ref = member->value.FindMember("reference");
    if (ref != member->value.MemberEnd() && ref->value.IsString()) {
      return {ref->value.GetString(), ref->value.GetStringLength()};
    }
  }
  return {};
}

// The version an If-Match header names: W/"3" or "3" -> 3.
std::optional<std::uint64_t> if_match_version(std::string_view text) {
  if (text.starts_with("W/")) text.remove_prefix(2);
  if (text.size() < 3 || text.front() != '"' || text.back() != '"') return std::nullopt;
  text = text.substr(1, text.size() - 2);
  std::uint64_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version == 0) return std::nullopt;
  return version;
}

// Versions are numbered like the ledger numbers them. The bound keeps every version (and a
// tombstone's successor) an exact JSON number, and stops one absurd version from becoming the
// resource's "latest" forever.
constexpr std::uint64_t kMaxVersion = (std::uint64_t{1} << 53) - 2;

// A DELETE entry: request.url names Type/id, request.ifMatch (optional) the version deleted.
Result<ResourceView> check_delete(const Value& request, const std::string& pointer) {
  auto url = request.FindMember("url");
  if (url == request.MemberEnd() || !url->value.IsString()) {
    return invalid("a DELETE entry needs request.url Type/id", pointer + "/request/url");
  }
  std::string_view text(url->value.GetString(), url->value.GetStringLength());
  if (text.find('?') != std::string_view::npos) {
    // R4 lets a server declare conditionalDelete "not-supported" (CapabilityStatement): the
    // gateway holds no searchable copy of the data to resolve the criteria against.
    return invalid(
        "conditional delete is not supported: request.url must be Type/id, not search criteria",
        pointer + "/request/url");
  }
  const auto slash = text.find('/');
  ResourceView view;
  view.type = std::string(text.substr(0, slash));
  view.id = slash == std::string_view::npos ? "" : std::string(text.substr(slash + 1));
  if (!is_r4_resource_type(view.type) || !is_valid_fhir_id(view.id)) {
    return invalid("request.url of a DELETE must be Type/id", pointer + "/request/url");
  }
  view.deleted = true;
  if (view.type == "Patient") view.patient_reference = view.reference();
  auto if_match = request.FindMember("ifMatch");
  if (if_match == request.MemberEnd()) {
    view.version = 0;  // the tombstone follows whatever version is anchored: the pipeline asks
    return view;
  }
  auto deleted =
      if_match->value.IsString() ? if_match_version(if_match->value.GetString()) : std::nullopt;
  if (!deleted) {
    return invalid("request.ifMatch of a DELETE must be W/\"<version>\" with a positive version",
                   pointer + "/request/ifMatch");
  }
  if (*deleted >= kMaxVersion) {
    return invalid("request.ifMatch names a version above " + std::to_string(kMaxVersion - 1) +
                       ", the largest version the gateway anchors",
                   pointer + "/request/ifMatch");
  }
  // The tombstone is a new version of the resource, following the one deleted.
  view.version = *deleted + 1;
  return view;
}

Result<ResourceView> check_resource(Value& json, const std::string& pointer,
                                    std::string_view fallback_id, bool id_optional = false) {
  if (!json.IsObject()) return invalid("a resource must be a JSON object", pointer);
  auto type_it = json.FindMember("resourceType");
  if (type_it == json.MemberEnd() || !type_it->value.IsString()) {
    return invalid("resourceType is missing or not a string", pointer + "/resourceType");
  }
  ResourceView view;
  view.type.assign(type_it->value.GetString(), type_it->value.GetStringLength());
  // The type name is schema vocabulary, not patient data, so it may appear in the reason.
  if (!is_r4_resource_type(view.type)) {
    std::string shown = view.type.substr(0, 64);
    return invalid("unknown resourceType '" + shown + "': not a FHIR R4 resource type",
                   pointer + "/resourceType");
  }
  auto id_it = json.FindMember("id");
  if (id_it != json.MemberEnd()) {
    if (!id_it->value.IsString()) return invalid("id must be a string", pointer + "/id");
    view.id.assign(id_it->value.GetString(), id_it->value.GetStringLength());
  } else {
    view.id = std::string(fallback_id);
  }
  if (view.id.empty() && id_optional) {
    view.json = &json;
    return view;
  }
  if (view.id.empty()) return invalid("id is missing", pointer + "/id");
  if (!is_valid_fhir_id(view.id)) {
    return invalid("id does not match [A-Za-z0-9-.]{1,64}", pointer + "/id");
  }

  auto meta = json.FindMember("meta");
  if (meta != json.MemberEnd()) {
    if (!meta->value.IsObject()) return invalid("meta must be an object", pointer + "/meta");
    auto vid = meta->value.FindMember("versionId");
    if (vid != meta->value.MemberEnd()) {
      if (!vid->value.IsString()) {
        return invalid("meta.versionId must be a string", pointer + "/meta/versionId");
      }
      std::string_view text(vid->value.GetString(), vid->value.GetStringLength());
      std::uint64_t version = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
      // The ledger orders versions numerically; servers that use opaque version ids are
      // mapped by a later issue (the mapping stage can rewrite them).
      if (ec != std::errc() || end != text.data() + text.size() || version == 0) {
        return invalid("meta.versionId must be a positive integer", pointer + "/meta/versionId");
      }
      if (version > kMaxVersion) {
        return invalid("meta.versionId is above " + std::to_string(kMaxVersion) +
                           ", the largest version the gateway anchors",
                       pointer + "/meta/versionId");
      }
      view.version = version;
    }
  }
  if (view.type == "Patient") {
    view.patient_reference = view.reference();
  } else {
    const std::string_view reference = subject_reference(json);
    view.patient_reference = patient_from_reference(reference);
    if (!view.patient_reference.empty()) {
      view.patient_base = base_of(reference, "Patient", view.patient_reference.substr(8));
    }
  }
  view.patient_identifiers = patient_identifiers(json, view.type);
  view.json = &json;
  return view;
}

// Bundles inside Bundles (a batch-response entry holding a searchset) are opened this deep.
constexpr int kMaxBundleNesting = 3;

// Bundle.type, compared whole (an embedded U+0000 cannot pass for a known type).
Result<std::string_view> bundle_type(const Value& bundle, const std::string& pointer) {
  auto type = bundle.FindMember("type");
  if (type == bundle.MemberEnd() || !type->value.IsString()) {
    return invalid("Bundle.type is missing or not a string", pointer + "/type");
  }
  const std::string_view text(type->value.GetString(), type->value.GetStringLength());
  if (std::find(std::begin(kBundleTypes), std::end(kBundleTypes), text) == std::end(kBundleTypes)) {
    return invalid("Bundle.type is not a FHIR R4 bundle type", pointer + "/type");
  }
  return text;
}

// The patient a document is about: its Composition's subject, resolved within the document
// when it is a urn:uuid fullUrl.
std::string document_patient(const Value& bundle) {
  auto entries = bundle.FindMember("entry");
  if (entries == bundle.MemberEnd() || !entries->value.IsArray()) return {};
  std::string_view subject;
  for (const auto& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd() || !resource->value.IsObject()) continue;
    auto type = resource->value.FindMember("resourceType");
    if (type != resource->value.MemberEnd() && type->value.IsString() &&
        std::string_view(type->value.GetString(), type->value.GetStringLength()) == "Composition") {
      subject = subject_reference(resource->value);
      break;
    }
  }
  if (subject.empty()) return {};
  if (std::string direct = patient_from_reference(subject); !direct.empty()) return direct;
  for (const auto& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    auto url = entry.FindMember("fullUrl");
    auto resource = entry.FindMember("resource");
    if (url == entry.MemberEnd() || !url->value.IsString() || resource == entry.MemberEnd() ||
        !resource->value.IsObject()) {
      continue;
    }
    if (std::string_view(url->value.GetString(), url->value.GetStringLength()) != subject) continue;
    auto id = resource->value.FindMember("id");
    const std::string patient_id =
        id != resource->value.MemberEnd() && id->value.IsString()
            ? std::string(id->value.GetString(), id->value.GetStringLength())
            : id_from_full_url(subject);
    auto type = resource->value.FindMember("resourceType");
    const bool is_patient = type != resource->value.MemberEnd() && type->value.IsString() &&
                            std::string_view(type->value.GetString()) == "Patient";
    return is_patient && is_valid_fhir_id(patient_id) ? "Patient/" + patient_id : std::string();
  }
  return {};
}

// A document Bundle is one immutable whole (R4 3.3.1): stored as itself, under its id.
Result<ResourceView> stored_document(Value& bundle, const std::string& pointer,
                                     std::string_view fallback_id) {
  auto view = check_resource(bundle, pointer, fallback_id, /*id_optional=*/true);
  if (!view) return view.error();
  if (view->id.empty()) {
    return invalid("a document Bundle is stored whole and needs an id (or an entry fullUrl)",
                   pointer + "/id");
  }
  view->patient_reference = document_patient(bundle);
  return view;
}

struct BundleWalk {
  const ValidationLimits& limits;
  rapidjson::Document::AllocatorType& allocator;
  ValidatedEvent& out;
  std::map<std::string, std::string, std::less<>> patients_by_full_url;
};

// The resources a Bundle carries, following R4 per Bundle type: the entries of a transaction,
// batch, their responses, a collection, message, history, searchset or subscription-notification
// are stored one by one; a document is stored whole; a Bundle inside one of the former is opened
// in turn (a searchset in a batch-response) unless it is a document.
Status expand_bundle(Value& bundle, const std::string& pointer, int level, BundleWalk& walk) {
  auto entries = bundle.FindMember("entry");
  if (entries == bundle.MemberEnd()) return Ok{};  // an empty Bundle holds nothing to anchor
  if (!entries->value.IsArray())
    return invalid("Bundle.entry must be an array", pointer + "/entry");
  if (entries->value.Size() > walk.limits.max_bundle_entries) {
    return invalid(
        "Bundle has more than " + std::to_string(walk.limits.max_bundle_entries) + " entries",
        pointer + "/entry");
  }
  for (rapidjson::SizeType i = 0; i < entries->value.Size(); ++i) {
    Value& entry = entries->value[i];
    const std::string at = pointer + "/entry/" + std::to_string(i);
    if (!entry.IsObject()) return invalid("Bundle entry must be an object", at);
    auto request = entry.FindMember("request");
    std::string_view method;
    std::string_view request_url;
    std::optional<std::uint64_t> if_match;
    if (request != entry.MemberEnd() && request->value.IsObject()) {
      const Value& r = request->value;
      auto m = r.FindMember("method");
      if (m != r.MemberEnd() && m->value.IsString()) {
        method = {m->value.GetString(), m->value.GetStringLength()};
      }
      auto u = r.FindMember("url");
      if (u != r.MemberEnd() && u->value.IsString()) {
        request_url = {u->value.GetString(), u->value.GetStringLength()};
      }
      auto im = r.FindMember("ifMatch");
      if (im != r.MemberEnd() && im->value.IsString())
        if_match = if_match_version(im->value.GetString());
      if (method == "DELETE") {
        auto view = check_delete(r, at);
        if (!view) return view.error();
        walk.out.resources.push_back(std::move(*view));
        continue;
      }
      // An operation's invocation (POST ValueSet/$lookup) carries its Parameters, not a resource
      // to store.
      if (request_url.starts_with("$") || request_url.find("/$") != std::string_view::npos)
        continue;
    }
    auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd()) continue;  // e.g. a GET entry: nothing to store
    std::string fallback_id;
    auto url = entry.FindMember("fullUrl");
    const bool has_url = url != entry.MemberEnd() && url->value.IsString();
    if (has_url) fallback_id = id_from_full_url(url->value.GetString());
    const std::string resource_at = at + "/resource";
    Result<ResourceView> view = [&]() -> Result<ResourceView> {
      auto type = resource->value.IsObject() ? resource->value.FindMember("resourceType")
                                             : resource->value.MemberEnd();
      const bool nested = resource->value.IsObject() && type != resource->value.MemberEnd() &&
                          type->value.IsString() &&
                          std::string_view(type->value.GetString()) == "Bundle";
      if (!nested) return check_resource(resource->value, resource_at, fallback_id);
      auto nested_type = bundle_type(resource->value, resource_at);
      if (!nested_type) return nested_type.error();
      if (*nested_type == "document") {
        return stored_document(resource->value, resource_at, fallback_id);
      }
      if (level + 1 >= kMaxBundleNesting) {
        return invalid("Bundles nested more than " + std::to_string(kMaxBundleNesting) +
                           " deep are not opened",
                       resource_at);
      }
      if (auto inner = expand_bundle(resource->value, resource_at, level + 1, walk); !inner) {
        return inner.error();
      }
      return ResourceView{};  // its entries were added; nothing for the Bundle itself
    }();
    if (!view) return view.error();
    if (view->type.empty()) continue;
    // An update made "if the current version is n" (PUT with If-Match) is version n + 1 when
    // the resource does not say its own version.
    const bool versioned = resource->value.HasMember("meta") &&
                           resource->value["meta"].IsObject() &&
                           resource->value["meta"].HasMember("versionId");
    if (method == "PUT" && if_match && !versioned && *if_match < kMaxVersion) {
      view->version = *if_match + 1;
    }
    if (!resource->value.HasMember("id")) {
      // The id came from fullUrl; write it in, so what is stored names itself.
      resource->value.AddMember("id", Value(view->id.c_str(), walk.allocator), walk.allocator);
    }
    if (has_url) view->base = base_of(url->value.GetString(), view->type, view->id);
    if (view->type == "Patient" && has_url) {
      walk.patients_by_full_url[url->value.GetString()] = view->reference();
    }
    walk.out.resources.push_back(std::move(*view));
    if (walk.out.resources.size() > walk.limits.max_bundle_entries) {
      return invalid("the event holds more than " + std::to_string(walk.limits.max_bundle_entries) +
                         " resources",
                     at);
    }
  }
  return Ok{};
}

}  // namespace

bool is_valid_fhir_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<ValidatedEvent> ValidateStage::run(const ports::SourceEvent& event) const {
  if (event.value.size() > limits_.max_event_bytes) {
    return invalid("event of " + std::to_string(event.value.size()) +
                       " bytes exceeds the limit of " + std::to_string(limits_.max_event_bytes),
                   "");
  }
  if (const auto nul = event.value.find('\0'); nul != std::string::npos) {
    // The parser would stop there and take the rest for the end of the text.
    return invalid("invalid JSON: a raw NUL byte at offset " + std::to_string(nul), "");
  }
  if (auto source = check_source_header(event); !source) return source.error();
  ValidatedEvent out;
  out.origin = event.origin;
  out.source_system = event.header("fhir-source");
  out.document = std::make_unique<rapidjson::Document>();
  auto& doc = *out.document;
  // Iterative parsing: nesting depth cannot exhaust the stack before the limit is checked.
  std::string rewritten;
  const auto without_zeros = without_zeros_with_exponent(event.value, rewritten);
  if (!without_zeros) return without_zeros.error();
  const std::string_view text = *without_zeros;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return invalid(std::string("invalid JSON: ") +
                       rapidjson::GetParseError_En(doc.GetParseError()) + " (offset " +
                       std::to_string(doc.GetErrorOffset()) + ")",
                   "");
  }
  const Scan found = scan(doc);
  if (found.depth > limits_.max_json_depth) {
    return invalid("JSON nesting deeper than " + std::to_string(limits_.max_json_depth), "");
  }
  if (!found.nul_at.empty()) {
    // FHIR strings SHOULD NOT hold control characters; U+0000 ends a string early in much of
    // the software downstream (and once let "transaction\u0000x" pass as a Bundle type).
    return invalid("a string holds the character U+0000", found.nul_at);
  }
  if (found.zero_doubles > 0) {
    UnderflowFinder finder;
    rapidjson::Reader reader;
    rapidjson::MemoryStream bytes(event.value.data(), event.value.size());
    reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(bytes,
                                                                                         finder);
    if (finder.first) {
      std::size_t n = *finder.first;
      std::string pointer;
      find_number(doc, n, pointer);
      return invalid("a number is too small for a double and would be stored as 0", pointer);
    }
  }

  // A Bundle's id is optional (0..1): only a Bundle stored whole (a document) needs one.
  auto root = check_resource(doc, "", "", /*id_optional=*/true);
  if (!root) return root.error();
  if (root->type != "Bundle") {
    if (root->id.empty()) return invalid("id is missing", "/id");
    out.resources.push_back(std::move(*root));
    return out;
  }
  auto type = bundle_type(doc, "");
  if (!type) return type.error();
  if (*type == "document") {
    auto whole = stored_document(doc, "", "");
    if (!whole) return whole.error();
    out.resources.push_back(std::move(*whole));
    return out;
  }
  BundleWalk walk{.limits = limits_, .allocator = doc.GetAllocator(), .out = out};
  if (auto expanded = expand_bundle(doc, "", 0, walk); !expanded) return expanded.error();
  // Transaction bundles name their patient by the entry's fullUrl (urn:uuid:...).
  for (ResourceView& view : out.resources) {
    if (!view.patient_reference.empty() || view.json == nullptr) continue;
    auto patient = walk.patients_by_full_url.find(std::string(subject_reference(*view.json)));
    if (patient != walk.patients_by_full_url.end()) view.patient_reference = patient->second;
  }
  return out;
}

}  // namespace fl::gateway
