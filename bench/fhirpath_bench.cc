// FHIRPath evaluation throughput on Synthea R4 resources (issue 4): each expression of
// bench/fhirpath_expressions.json, compiled once, evaluated on every resource of its type, and
// reported as resources/s. bench/fhirpath_js_bench.js runs the same list on the same resources
// with fhirpath.js, and scripts/bench-fhirpath puts the two side by side.
//
//   fl_fhirpath_bench [--fl_dump=FILE] [Google Benchmark flags]
//
// --fl_dump writes every result (to_json, per expression and resource, in corpus order) to FILE
// and exits without benchmarking, so the JS side can check that both engines agree before their
// speeds are compared.
#include "fl/mappings/fhirpath.h"

#include "support/corpus.h"
#include "support/synthea.h"

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl {
namespace {

namespace fs = std::filesystem;
namespace fp = mappings::fhirpath;

struct Case {
  std::string name;
  std::string type;  // the resourceType it runs on; "Resource" for all
  std::string expression;
};

struct Spec {
  std::vector<Case> cases;
  fp::EvaluationOptions options;  // with `now` fixed, so today() does not move between runs
};

// The bundles stay alive: the resources are pointers into them.
using Corpus = testing::SyntheaCorpus;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "fl_fhirpath_bench: %s\n", message.c_str());
  std::exit(2);
}

std::string string_member(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) die(std::string("missing ") + key);
  return {it->value.GetString(), it->value.GetStringLength()};
}

// `now` is an ISO instant; our own DateTime literal parser turns it into a Temporal.
fp::Temporal parse_now(const std::string& iso) {
  auto literal = fp::compile("@" + iso);
  if (!literal) die("bad now: " + iso);
  auto value = literal->evaluate(rapidjson::Value());
  if (!value || value->size() != 1) die("bad now: " + iso);
  return value->front().as_temporal();
}

Spec load_spec() {
  const fs::path path = testing::source_root() / "bench" / "fhirpath_expressions.json";
  rapidjson::Document doc;
  doc.Parse(testing::read_file(path).c_str());
  if (doc.HasParseError() || !doc.IsObject()) die("cannot parse " + path.string());
  Spec spec;
  spec.options.now = parse_now(string_member(doc, "now"));
  for (const auto& e : doc["expressions"].GetArray()) {
    spec.cases.push_back(Case{.name = string_member(e, "name"),
                              .type = string_member(e, "type"),
                              .expression = string_member(e, "expression")});
  }
  return spec;
}

// The whole Synthea folder, not the repository's copy, which keeps only a few bundles: the
// benchmark wants all twenty, and fhirpath_js_bench.js looks in the same places.
fs::path synthea_dir() {
  if (auto dir = testing::full_corpus_dir("synthea")) return *dir;
  die("corpus folder synthea not found in FL_CORPORA or shared/corpora");
}

// Every entry resource of the Synthea transaction bundles, files in name order (the JS side
// reads them in the same order, so results can be compared item by item).
Corpus load_corpus() {
  Corpus corpus = testing::load_synthea(synthea_dir());
  if (corpus.resources.empty()) die("no Synthea resources in " + synthea_dir().string());
  return corpus;
}

std::vector<const rapidjson::Value*> resources_of(const Corpus& corpus, const std::string& type) {
  std::vector<const rapidjson::Value*> out;
  for (const rapidjson::Value* r : corpus.resources) {
    if (type == "Resource" || type == (*r)["resourceType"].GetString()) out.push_back(r);
  }
  return out;
}

fp::Expression compile_or_die(const Case& c) {
  auto expr = fp::compile(c.expression);
  if (!expr) die(c.name + ": " + expr.error().message + " at " + expr.error().where);
  return std::move(expr.value());
}

void bench_evaluate(benchmark::State& state, const Spec& spec, const Case& c,
                    std::vector<const rapidjson::Value*> resources) {
  const fp::Expression expr = compile_or_die(c);
  std::int64_t errors = 0;
  for (auto _ : state) {
    for (const rapidjson::Value* r : resources) {
      auto result = expr.evaluate(*r, spec.options);
      if (!result) ++errors;
      benchmark::DoNotOptimize(result);
    }
  }
  if (errors > 0) state.SkipWithError("evaluation errors");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(resources.size()));
  state.counters["resources"] = static_cast<double>(resources.size());
}

void bench_compile(benchmark::State& state, const Spec& spec) {
  for (auto _ : state) {
    for (const Case& c : spec.cases) benchmark::DoNotOptimize(fp::compile(c.expression));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(spec.cases.size()));
}

// {"name": [result, result, ...], ...}: each result is to_json of one resource's collection,
// or {"error": message}.
void dump_results(const Spec& spec, const Corpus& corpus, const std::string& file) {
  std::ofstream out(file, std::ios::binary);
  out << "{";
  for (std::size_t i = 0; i < spec.cases.size(); ++i) {
    const Case& c = spec.cases[i];
    const fp::Expression expr = compile_or_die(c);
    out << (i > 0 ? ",\n" : "\n") << "\"" << c.name << "\": [";
    bool first = true;
    for (const rapidjson::Value* r : resources_of(corpus, c.type)) {
      out << (first ? "" : ",");
      first = false;
      auto result = expr.evaluate(*r, spec.options);
      if (!result) {
        std::string message;
        for (char ch : result.error().message) message += ch == '"' || ch == '\\' ? '\'' : ch;
        out << "{\"error\":\"" << message << "\"}";
        continue;
      }
      out << fp::to_json(result.value());
    }
    out << "]";
  }
  out << "\n}\n";
  if (!out) die("cannot write " + file);
}

}  // namespace
}  // namespace fl

int main(int argc, char** argv) {
  std::string dump;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 10) == "--fl_dump=") {
      dump = std::string(arg.substr(10));
      continue;
    }
    args.push_back(argv[i]);
  }
  // Both live until the end of main: the registered benchmarks refer to them.
  static const fl::Spec spec = fl::load_spec();
  static const fl::Corpus corpus = fl::load_corpus();
  if (!dump.empty()) {
    fl::dump_results(spec, corpus, dump);
    return 0;
  }
  for (const fl::Case& c : spec.cases) {
    benchmark::RegisterBenchmark(("BM_FhirpathEvaluate/" + c.name).c_str(), fl::bench_evaluate,
                                 std::cref(spec), std::cref(c), fl::resources_of(corpus, c.type));
  }
  benchmark::RegisterBenchmark("BM_FhirpathCompile", fl::bench_compile, std::cref(spec));
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
