// FHIRPath (the normative R4 release, http://hl7.org/fhirpath/N1) over FHIR R4 resources in
// their JSON form. An expression is compiled once into an immutable Expression and then
// evaluated against any number of resources:
//
//   auto expr = fhirpath::compile("Observation.value.as(Quantity).unit");
//   if (!expr) return expr.error();          // message + where ("line:column")
//   auto result = expr->evaluate(document);   // Result<Collection>
//
// The mapping engine compiles each rule's expression at start and on reload, never per event.
// An Expression is immutable and cheap to copy (shared AST), so any number of threads may
// evaluate the same one at once. Evaluation errors (a function given two items where it wants
// one, '<' between a number and a string, ...) are Results with the position of the failing
// part of the expression; the library never throws and never logs.
//
// FHIR's JSON conventions are built in: choice elements are named without their type suffix
// (`value` reads valueQuantity), a primitive's extensions come from its "_name" twin
// (`birthDate.extension`), and `is`/`as`/`ofType` know the R4 type hierarchy.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath_value.h"

#include <rapidjson/document.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fl::mappings::fhirpath {

struct Ast;

struct EvaluationOptions {
  // Strict mode reports, as errors, what lenient mode quietly evaluates to empty: an element
  // name the FHIR model does not define for the node's type (a typo such as `name.given1`), a
  // resource type that does not match the input (`Encounter.name` on a Patient), and iif()
  // criteria that are not Boolean.
  bool strict = false;
  // %name variables besides the built-in ones (%resource, %context, %ucum, %sct, %loinc,
  // %`vs-…`, %`ext-…`). Values that are nodes must point into documents that outlive the call.
  std::map<std::string, Collection, std::less<>> variables;
  // The instant now(), today() and timeOfDay() report; the system clock when unset. Set it for
  // reproducible results.
  std::optional<Temporal> now;
  // Receives trace(name) output; when unset, trace() only passes its input through.
  std::function<void(std::string_view name, const Collection& items)> trace;
};

class Expression {
 public:
  // Parses and checks `text`: syntax, function names and argument counts, type names. On error
  // the message says what was expected and `where` is "line:column" (1-based) in `text`.
  static Result<Expression> compile(std::string_view text);

  // Evaluates with %resource, %context and $this set to `resource` (a FHIR resource as JSON).
  // A null JSON value evaluates the expression without input (literals and functions only).
  Result<Collection> evaluate(const rapidjson::Value& resource,
                              const EvaluationOptions& options = {}) const;
  // Evaluates on `context` (e.g. one element of the resource, for a mapping rule that runs per
  // element) with %resource still the whole `resource`.
  Result<Collection> evaluate(const Collection& context, const rapidjson::Value& resource,
                              const EvaluationOptions& options = {}) const;

  const std::string& text() const { return *text_; }

 private:
  Expression(std::shared_ptr<const Ast> root, std::shared_ptr<const std::string> text)
      : root_(std::move(root)), text_(std::move(text)) {}

  std::shared_ptr<const Ast> root_;
  std::shared_ptr<const std::string> text_;
};

// The same as Expression::compile.
Result<Expression> compile(std::string_view text);

// The result collection as a JSON array, each item the way FHIR JSON writes it: nodes as their
// JSON (a primitive with only extensions as null), booleans, integers and decimals as numbers
// (decimals with their scale), strings, dates and times as strings, a Quantity as a FHIR
// Quantity object (UCUM system for UCUM units), a type as {"namespace": …, "name": …}.
std::string to_json(const Collection& items);

// A value in FHIRPath's own notation, as the official test suite writes expected results:
// "true", "12.50", "@2014-01-01T08:00:00.000+14:00", "@T10:30", "1 'cm'", "4 days". Nodes are
// written as their System value when they are primitives, else as JSON.
std::string to_literal(const Value& value);

}  // namespace fl::mappings::fhirpath
