// unseal: opens sealed receipts (a line filter) or one dead letter's original event.
#include "cli/unseal.h"

#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/base/json_string.h"
#include "fl/gateway/config.h"
#include "fl/gateway/crypto/topic_sealer.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/wiring.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <iostream>
#include <iterator>

namespace fl::cli {

Result<ReceiptReference> open_receipt_reference(ports::KeyProvider& keys,
                                                std::string_view sealed_hex) {
  auto sealed = parse_hex(sealed_hex);
  if (!sealed) return sealed.error();
  auto opened = gateway::crypto::open_sealed(keys, kafka::kReceiptContext, *sealed);
  if (!opened) return opened.error();
  rapidjson::Document d;
  d.Parse(reinterpret_cast<const char*>(opened->data()), opened->size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("source") || !d["source"].IsString() ||
      !d.HasMember("reference") || !d["reference"].IsString()) {
    return Error{ErrorCode::kIntegrity, "a sealed reference that is not {source, reference}",
                 "receipt"};
  }
  return ReceiptReference{.source = d["source"].GetString(),
                          .reference = d["reference"].GetString()};
}

namespace {

void put_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view text) {
  const std::string valid = valid_utf8(text);
  w.String(valid.c_str(), static_cast<rapidjson::SizeType>(valid.size()));
}

// Each line is a receipt, possibly after a prefix (kcat's "%p %o "): written back with source and
// reference in place of sealedReference. Lines that are not receipts pass unchanged.
int unseal_receipts(ports::KeyProvider& keys) {
  std::string line;
  std::size_t opened = 0;
  std::size_t failed = 0;
  while (std::getline(std::cin, line)) {
    const std::size_t brace = line.find('{');
    rapidjson::Document r;
    if (brace != std::string::npos) r.Parse(line.c_str() + brace, line.size() - brace);
    if (brace == std::string::npos || r.HasParseError() || !r.IsObject() ||
        !r.HasMember("sealedReference") || !r["sealedReference"].IsString()) {
      std::printf("%s\n", line.c_str());
      continue;
    }
    auto ref = open_receipt_reference(keys, r["sealedReference"].GetString());
    if (!ref) {
      ++failed;
      std::printf("%s\n", line.c_str());
      continue;
    }
    ++opened;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("source");
    put_string(w, ref->source);
    w.Key("reference");
    put_string(w, ref->reference);
    for (const auto& m : r.GetObject()) {
      if (std::string_view(m.name.GetString()) == "sealedReference") continue;
      m.name.Accept(w);
      m.value.Accept(w);
    }
    w.EndObject();
    std::printf("%s%s\n", line.substr(0, brace).c_str(), buffer.GetString());
  }
  std::fprintf(stderr, "unseal: %zu receipt(s) opened, %zu could not be\n", opened, failed);
  return failed == 0 ? 0 : 1;
}

// stdin holds one dead letter's value as the topic has it (kcat -f '%s').
int unseal_dead_letter(ports::KeyProvider& keys) {
  const std::string value((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  auto opened = gateway::crypto::open_sealed(keys, kafka::kDeadLetterContext, as_bytes(value));
  if (!opened) {
    std::fprintf(stderr, "unseal: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto original = kafka::unpack_original(as_chars(*opened));
  if (!original) {
    std::fprintf(stderr, "unseal: %s\n", original.error().message.c_str());
    return 1;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("key");
  put_string(w, original->key);
  w.Key("headers");
  w.StartArray();
  for (const auto& [name, text] : original->headers) {
    w.StartArray();
    put_string(w, name);
    put_string(w, text);
    w.EndArray();
  }
  w.EndArray();
  // Bytes that are not UTF-8 are given in hex, so nothing is lost to the JSON.
  if (is_valid_utf8(original->value)) {
    w.Key("value");
    put_string(w, original->value);
  } else {
    w.Key("valueHex");
    const std::string hex = to_hex(as_bytes(original->value));
    w.String(hex.c_str(), static_cast<rapidjson::SizeType>(hex.size()));
  }
  w.EndObject();
  std::printf("%s\n", buffer.GetString());
  return 0;
}

}  // namespace

int unseal_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {"dead-letter"});
  if (!args || !args->positional().empty()) {
    std::fprintf(stderr, "unseal: %s\n",
                 args ? "usage: fhir-ledger unseal [--dead-letter] --config FILE"
                      : args.error().message.c_str());
    return 2;
  }
  auto config = gateway::load_gateway_config(args->get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) {
    std::fprintf(stderr, "unseal: %s\n", config.error().message.c_str());
    return 2;
  }
  auto keys = build_key_provider(*config);
  if (!keys) {
    std::fprintf(stderr, "unseal: %s\n", keys.error().message.c_str());
    return 2;
  }
  return args->has("dead-letter") ? unseal_dead_letter(**keys) : unseal_receipts(**keys);
}

}  // namespace fl::cli
