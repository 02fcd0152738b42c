#include "fl/gateway/pointer_record.h"

#include "fl/base/json_string.h"

#include <rapidjson/document.h>

#include <algorithm>

namespace fl::gateway {
namespace {

void add_string(std::string& out, std::string_view name, std::string_view value) {
  append_json_string(out, name);
  out += ':';
  append_json_string(out, value);
  out += ',';
}

// Hex needs no escaping: written in place.
void add_hash(std::string& out, std::string_view name, ByteView hash) {
  append_json_string(out, name);
  out += ':';
  out += '"';
  append_0x_hex(out, hash);
  out += "\",";
}

void add_number(std::string& out, std::string_view name, std::uint64_t value) {
  append_json_string(out, name);
  out += ':' + std::to_string(value) + ',';
}

Error corrupt(std::string what, std::string where) {
  return Error{ErrorCode::kIntegrity, "pointer record: " + what, std::move(where)};
}

Result<ports::Hash32> hash_member(const rapidjson::Value& object, const char* name,
                                  const std::string& at) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) {
    return corrupt(std::string(name) + " is missing", at + "/" + name);
  }
  auto bytes =
      parse_hex(std::string_view(it->value.GetString())
                    .substr(std::string_view(it->value.GetString()).starts_with("0x") ? 2 : 0));
  if (!bytes || bytes->size() != 32) {
    return corrupt(std::string(name) + " is not 32 bytes of hex", at + "/" + name);
  }
  ports::Hash32 out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Result<std::uint64_t> number_member(const rapidjson::Value& object, const char* name,
                                    const std::string& at) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsUint64()) {
    return corrupt(std::string(name) + " is missing or not a whole number", at + "/" + name);
  }
  return it->value.GetUint64();
}

Result<std::string> string_member(const rapidjson::Value& object, const char* name,
                                  const std::string& at) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) {
    return corrupt(std::string(name) + " is missing", at + "/" + name);
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

std::string_view anchor_mode_name(ports::AnchorMode mode) {
  return mode == ports::AnchorMode::kMerkle ? "merkle" : "pointer";
}

std::optional<ports::AnchorMode> parse_anchor_mode(std::string_view name) {
  if (name == "pointer") return ports::AnchorMode::kPointer;
  if (name == "merkle") return ports::AnchorMode::kMerkle;
  return std::nullopt;
}

std::string to_json(const PointerRecord& record) {
  const auto& p = record.pointer;
  std::string out;
  // Six hashes, a proof of up to ~20 siblings and the names: one allocation for most records.
  out.reserve(640 + (record.proof ? record.proof->siblings.size() * 70 : 0));
  out += '{';
  add_hash(out, "resourceKey", p.resource_key);
  add_hash(out, "patientKey", p.patient_key);
  add_number(out, "version", p.version);
  add_hash(out, "contentHash", p.content_hash);
  add_hash(out, "policyHash", p.policy_hash);
  add_hash(out, "mappingHash", p.mapping_hash);
  add_string(out, "region", p.region);
  add_string(out, "keyId", p.key_id);
  add_string(out, "mode", anchor_mode_name(p.mode));
  add_string(out, "tx", record.tx_hash);
  add_number(out, "block", record.block);
  if (!record.sender.empty()) add_string(out, "sender", record.sender);
  if (record.proof) {
    const auto& proof = *record.proof;
    out += "\"merkle\":{";
    add_hash(out, "root", proof.root);
    add_number(out, "index", proof.index);
    add_number(out, "leafCount", proof.leaf_count);
    out += "\"proof\":[";
    for (std::size_t i = 0; i < proof.siblings.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      append_0x_hex(out, proof.siblings[i]);
      out += '"';
    }
    out += "]},";
  }
  out.back() = '}';
  return out;
}

Result<PointerRecord> parse_pointer_record(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return corrupt("not a JSON object", "");
  PointerRecord record;
  auto& p = record.pointer;
  const std::string at;
#define FL_TAKE(target, expr)           \
  do {                                  \
    auto value_ = (expr);               \
    if (!value_) return value_.error(); \
    target = std::move(*value_);        \
  } while (0)
  FL_TAKE(p.resource_key, hash_member(doc, "resourceKey", at));
  FL_TAKE(p.patient_key, hash_member(doc, "patientKey", at));
  FL_TAKE(p.version, number_member(doc, "version", at));
  FL_TAKE(p.content_hash, hash_member(doc, "contentHash", at));
  FL_TAKE(p.policy_hash, hash_member(doc, "policyHash", at));
  FL_TAKE(p.mapping_hash, hash_member(doc, "mappingHash", at));
  FL_TAKE(p.region, string_member(doc, "region", at));
  FL_TAKE(p.key_id, string_member(doc, "keyId", at));
  std::string mode;
  FL_TAKE(mode, string_member(doc, "mode", at));
  auto parsed_mode = parse_anchor_mode(mode);
  if (!parsed_mode) return corrupt("mode must be pointer or merkle", "/mode");
  p.mode = *parsed_mode;
  FL_TAKE(record.tx_hash, string_member(doc, "tx", at));
  FL_TAKE(record.block, number_member(doc, "block", at));
  if (auto sender = doc.FindMember("sender"); sender != doc.MemberEnd()) {
    FL_TAKE(record.sender, string_member(doc, "sender", at));
  }
  auto merkle = doc.FindMember("merkle");
  if (merkle != doc.MemberEnd()) {
    if (!merkle->value.IsObject()) return corrupt("merkle must be an object", "/merkle");
    const rapidjson::Value& m = merkle->value;
    ports::InclusionProof proof;
    FL_TAKE(proof.root, hash_member(m, "root", "/merkle"));
    std::uint64_t index = 0, count = 0;
    FL_TAKE(index, number_member(m, "index", "/merkle"));
    FL_TAKE(count, number_member(m, "leafCount", "/merkle"));
    if (index > UINT32_MAX || count > UINT32_MAX) return corrupt("index out of range", "/merkle");
    proof.index = static_cast<std::uint32_t>(index);
    proof.leaf_count = static_cast<std::uint32_t>(count);
    auto siblings = m.FindMember("proof");
    if (siblings == m.MemberEnd() || !siblings->value.IsArray()) {
      return corrupt("proof is missing", "/merkle/proof");
    }
    for (rapidjson::SizeType i = 0; i < siblings->value.Size(); ++i) {
      const auto& s = siblings->value[i];
      const std::string where = "/merkle/proof/" + std::to_string(i);
      auto bytes = s.IsString() && std::string_view(s.GetString()).starts_with("0x")
                       ? parse_hex(std::string_view(s.GetString()).substr(2))
                       : Result<Bytes>(corrupt("not hex", where));
      if (!bytes || bytes->size() != 32) return corrupt("a sibling is not 32 bytes", where);
      ports::Hash32 h{};
      std::copy(bytes->begin(), bytes->end(), h.begin());
      proof.siblings.push_back(h);
    }
    record.proof = std::move(proof);
  }
#undef FL_TAKE
  if (p.mode == ports::AnchorMode::kMerkle && !record.proof) {
    return corrupt("a merkle-mode record has no proof", "/merkle");
  }
  return record;
}

}  // namespace fl::gateway
