// `fhir-ledger import`'s input as events: FHIR Bulk Data NDJSON (one resource per line, what
// $export writes) or JSON files (a Bundle, or one resource), each event keyed and given headers
// as an EHR's feed gives them, and named by where it came from (file:line) so that a failure
// the gateway reports later can be traced back to it. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fl::cli {

struct ImportOptions {
  std::string source;        // the fhir-source header: the sending system, the id namespace
  std::string jurisdiction;  // the fhir-jurisdiction header (ISO 3166 alpha-2), or ""
};

struct ImportEvent {
  std::string at;  // "file:line" (NDJSON) or "file"
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t resources = 1;  // a Bundle's entries
};

struct ImportFailure {
  std::string at;
  std::string code;  // "not-json" here; the gateway's error-code for a dead letter
  std::string reason;
};

struct ImportInput {
  std::vector<ImportEvent> events;
  std::vector<ImportFailure> failures;  // lines that were not sent: they are not JSON objects
};

// One event per non-blank line; a line that is not a JSON object is a failure naming its line
// number, and the lines after it are read on.
void add_ndjson(std::string_view file, std::string_view text, const ImportOptions& options,
                ImportInput& into);

// One event for the whole file (a Bundle is anchored entry by entry by the gateway).
void add_json_file(std::string_view file, std::string text, const ImportOptions& options,
                   ImportInput& into);

// The Kafka key that keeps one patient's events in one partition, hence in order: "Patient/<id>"
// for a Patient and for what names its patient (subject, patient, beneficiary) by a relative
// reference, the first Patient of a Bundle; otherwise "<Type>/<id>", or `fallback`.
std::string event_key(std::string_view json, std::string_view fallback);

}  // namespace fl::cli
