// KeyProvider over a local keyring file, for development and small sites; a KMS adapter (Vault
// transit, a cloud KMS) implements the same port later. The KEKs never leave the provider: it
// wraps and unwraps the patients' master keys itself.
//
// The file (JSON):
//   {"comment": "...",                                        optional string
//    "pepper": {"id": "...", "material": "<64 hex>"},
//    "keys": [{"id": "eu-kek-20261124-3f9a",                  1-32 printable ASCII, no whitespace,
//              "region": "eu",                                ^[a-z][a-z0-9-]{0,15}$
//              "created": "2026-11-24T00:00:00Z",             RFC 3339
//              "active": true,                                optional, default false
//              "retired": false,                              optional, default false
//              "material": "<64 hex>"}, ...]}                 32 bytes
// Key ids are unique. Every region named in "keys" has exactly one active key among its
// non-retired keys; a retired key cannot be active. The active key wraps the region's new
// master keys; inactive keys still unwrap what they wrapped; retired keys are kept for the record
// and unwrap nothing (kNotFound). No other members are accepted, so a misspelt "retired" cannot
// leave a key in use. Every format error is kInvalidInput with the message
// "<file>: <JSON pointer>: <what was expected>" and never contains key material.
//
// The file must be a regular file owned by the effective uid (or root) with no permission bits
// for group or others (mode 0600 or 0400); otherwise kPermissionDenied, with the fix. The
// check runs on every load and before every change.
//
// Wrapped form (WrappedKey::wrapped), AES-256-GCM under the KEK named by WrappedKey::kek_id:
//   0x01 (format version) | nonce (12 random bytes) | ciphertext | tag (16 bytes)
// The associated data is the caller's `aad` followed by the KEK id (its bytes, no separator), so
// a wrapped key relabelled with another KEK id does not verify.
//
// Loaded once; the provider never rereads the file (restart to pick up add/retire). It is
// immutable after loading, so every method is safe to call from any thread. Its destructor wipes
// all key material.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"

#include <memory>
#include <string>

namespace fl::keys {

// Loads and checks the keyring at `path`. kNotFound when the file does not exist,
// kPermissionDenied for the permission check, kInvalidInput for the format, kUnavailable when
// OpenSSL offers no AES-256-GCM.
Result<std::unique_ptr<ports::KeyProvider>> make_keyring_key_provider(const std::string& path);

// File maintenance, for `fhir-ledger keys add|retire`. Both hold an exclusive flock on the
// keyring while they read, change and replace it (temp file 0600 in the same folder, fsync,
// rename, fsync of the folder), keep the other members as they were, and check the permissions
// and the whole format first. Running providers keep the keys they loaded.

// Adds a KEK with 32 fresh random bytes as the active key of `region`; the region's previous
// active key stays, inactive (it still unwraps). An empty `id` becomes
// "<region>-kek-<yyyymmdd of created>-<4 random hex>" (pass an id when that would exceed 32
// characters). kInvalidInput for a bad region, id or `created_rfc3339`; kConflict when the id is
// taken.
Result<ports::KekInfo> add_keyring_kek(const std::string& path, const std::string& region,
                                       std::string id, const std::string& created_rfc3339);

// Marks KEK `id` retired; what it wrapped can no longer be unwrapped. kNotFound for an unknown
// id; kConflict for the active key of its region (add a new one first). Retiring a retired key
// changes nothing and succeeds.
Status retire_keyring_kek(const std::string& path, const std::string& id);

}  // namespace fl::keys
