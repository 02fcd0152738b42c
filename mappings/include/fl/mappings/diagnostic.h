// A problem found while compiling a mapping set or a ConceptMap: the file, the JSON pointer in
// it and what was expected. Compilers collect every problem instead of stopping at the first, so
// `fhir-ledger map check` can list them all at once.
#pragma once

#include <string>
#include <vector>

namespace fl::mappings {

struct Diagnostic {
  std::string file;
  std::string pointer;  // RFC 6901 JSON pointer into `file`; "" for the whole file
  std::string message;
};

// "config/mappings/acme-lab/mapping.json: /rules/2/select: expected … at 1:14"
std::string to_string(const Diagnostic& diagnostic);

// A JSON pointer token, escaped per RFC 6901 ('~' -> "~0", '/' -> "~1").
std::string pointer_token(const std::string& name);

}  // namespace fl::mappings
