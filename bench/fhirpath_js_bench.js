#!/usr/bin/env node
// The reference side of the FHIRPath benchmark (issue 4): the expressions of
// bench/fhirpath_expressions.json on the same Synthea resources as bench/fhirpath_bench.cc, with
// fhirpath.js (npm `fhirpath`, its R4 model), each compiled once and called per resource.
//
//   node bench/fhirpath_js_bench.js [--check CPP_RESULTS.json] [--min-time SECONDS]
//
// --check compares every result with the C++ engine's (fl_fhirpath_bench --fl_dump=FILE) and
// lists the disagreements before timing. Prints a table, then one JSON line (starting with '{')
// for scripts/bench-fhirpath.
'use strict';

// today() is the local date of "now" in fhirpath.js; the C++ side uses UTC.
process.env.TZ = 'UTC';

const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const root = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = {check: null, minTime: 1.0};
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--check') args.check = argv[++i];
    else if (argv[i] === '--min-time') args.minTime = Number(argv[++i]);
    else throw new Error('unknown argument ' + argv[i]);
  }
  return args;
}

// fhirpath.js has no option for the instant now() and today() report: it takes a new Date()
// in constants.reset() at the start of every evaluation. Pinning that Date (the package's
// exports hide the module, so it is loaded by file) makes its results reproducible and
// comparable with the C++ engine's, which gets the same instant through EvaluationOptions.now.
function pinNow(iso) {
  const constants = require(path.join(path.dirname(require.resolve('fhirpath')), 'constants.js'));
  const fixed = new Date(iso);
  const reset = constants.reset;
  constants.reset = function () {
    reset.call(this);
    this.nowDate = fixed;
  };
}

// The same folder as the C++ side: FL_CORPORA/synthea, else shared/corpora/synthea beside the
// checkout or above it.
function syntheaDir() {
  if (process.env.FL_CORPORA) return path.join(process.env.FL_CORPORA, 'synthea');
  for (let dir = root; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'corpora', 'synthea');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('corpus folder shared/corpora/synthea not found (set FL_CORPORA)');
}

// Entry resources of the transaction bundles, files in name order (as the C++ side reads them).
function loadResources() {
  const dir = syntheaDir();
  const resources = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (doc.resourceType !== 'Bundle') continue;
    for (const entry of doc.entry) resources.push(entry.resource);
  }
  return resources;
}

function resourcesOf(resources, type) {
  return resources.filter((r) => type === 'Resource' || r.resourceType === type);
}

// Deep equality of two JSON values; numbers by value (1.50 and 1.5 are the same), object keys
// in any order.
function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
}

// Unordered results (descendants()) are compared as multisets.
function canonicalOrder(items) {
  return items.map((x) => JSON.stringify(x)).sort().map((s) => JSON.parse(s));
}

function check(cases, resources, cppFile) {
  const cpp = JSON.parse(fs.readFileSync(cppFile, 'utf8'));
  const mismatches = {};
  for (const c of cases) {
    const ours = cpp[c.name];
    const inputs = resourcesOf(resources, c.type);
    mismatches[c.name] = 0;
    if (!ours || ours.length !== inputs.length) {
      console.log(`MISMATCH ${c.name}: C++ has ${ours ? ours.length : 'no'} results for ` +
                  `${inputs.length} resources`);
      mismatches[c.name] = inputs.length;
      continue;
    }
    inputs.forEach((r, i) => {
      let js;
      try {
        js = JSON.parse(JSON.stringify(c.fn(r)));
      } catch (e) {
        js = {error: String(e.message || e)};
      }
      let cp = ours[i];
      if (c.unordered && Array.isArray(js) && Array.isArray(cp)) {
        js = canonicalOrder(js);
        cp = canonicalOrder(cp);
      }
      if (sameJson(js, cp)) return;
      if (++mismatches[c.name] <= 3) {
        console.log(`MISMATCH ${c.name} on ${r.resourceType}/${r.id}:\n` +
                    `  C++:         ${JSON.stringify(ours[i])}\n` +
                    `  fhirpath.js: ${JSON.stringify(js)}`);
      }
    });
  }
  return mismatches;
}

// Runs fn over all inputs until at least `seconds` have passed; resources per second.
function measure(fn, inputs, seconds) {
  let sink = 0;
  let count = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (const r of inputs) sink += fn(r).length;
    count += inputs.length;
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink < 0) console.log(sink);  // keeps the results observable
  return count / (Number(elapsed) / 1e9);
}

function measureCompile(expressions, seconds) {
  let count = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (const e of expressions) fhirpath.compile(e, r4);
    count += expressions.length;
    elapsed = process.hrtime.bigint() - start;
  }
  return count / (Number(elapsed) / 1e9);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const spec = JSON.parse(fs.readFileSync(path.join(__dirname, 'fhirpath_expressions.json')));
  pinNow(spec.now);
  const resources = loadResources();
  const cases = spec.expressions.map((e) => ({...e, fn: fhirpath.compile(e.expression, r4)}));

  const mismatches = args.check ? check(cases, resources, args.check) : null;

  const results = {};
  console.log(`fhirpath.js ${require('fhirpath/package.json').version}, node ${process.version}`);
  console.log('expression'.padEnd(24) + 'resources'.padStart(10) + 'resources/s'.padStart(16));
  for (const c of cases) {
    const inputs = resourcesOf(resources, c.type);
    measure(c.fn, inputs, Math.min(0.3, args.minTime));  // warm-up: let V8 optimise
    const rate = measure(c.fn, inputs, args.minTime);
    results[c.name] = {resources: inputs.length, resources_per_second: rate};
    console.log(c.name.padEnd(24) + String(inputs.length).padStart(10) +
                rate.toFixed(0).padStart(16));
  }
  const expressions = spec.expressions.map((e) => e.expression);
  measureCompile(expressions, Math.min(0.3, args.minTime));
  const compileRate = measureCompile(expressions, args.minTime);
  console.log('(compile)'.padEnd(24) + String(expressions.length).padStart(10) +
              compileRate.toFixed(0).padStart(16) + ' expressions/s');
  console.log(JSON.stringify({
    engine: 'fhirpath.js',
    version: require('fhirpath/package.json').version,
    results,
    compile_per_second: compileRate,
    mismatches,
  }));
}

main();
