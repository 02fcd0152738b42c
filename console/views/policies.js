// Policies: the active bundle and the shadow candidate as their files hold them, with their
// policy hashes; the rules as a table with `policy check`'s problems at their rule; the test
// cases with pass/fail; and an evaluate form (`policy eval`: the decision and every rule's trace).
import { api } from "../lib/api.js";
import { badge, errorBox, field, h, hash, table } from "../lib/dom.js";

const list = (v) => (Array.isArray(v) ? v.join(", ") : v === undefined || v === null ? "" : String(v));

function matchCell(match = {}) {
  const parts = [];
  if (match.source) parts.push(["patient in", list(match.source)]);
  if (match.destination) parts.push(["recipient in", list(match.destination)]);
  if (match.purposes) parts.push(["purposes", list(match.purposes)]);
  if (match.resourceTypes) parts.push(["types", list(match.resourceTypes)]);
  if (match.securityLabels) parts.push(["labels", list(match.securityLabels).replace(/http:\/\/terminology\.hl7\.org\/CodeSystem\//g, "")]);
  if (match.confidentiality) parts.push(["confidentiality", list(match.confidentiality)]);
  if (match.consent) parts.push(["consent", list(match.consent)]);
  if (match.condition) parts.push(["condition", h("code", {}, match.condition)]);
  if (!parts.length) return h("span", { class: "muted" }, "any");
  return h("dl", { class: "facts" }, parts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function obligationsCell(o) {
  if (!o) return h("span", { class: "muted" }, "none");
  const parts = [];
  if (o.pseudonymizeIdentifiers) parts.push("pseudonymize identifiers");
  if (o.redact) parts.push(`redact ${list(o.redact)}`);
  if (o.requirePurpose) parts.push(`purpose ${list(o.requirePurpose)}`);
  if (o.maxDays) parts.push(`at most ${o.maxDays} days`);
  for (const [k, v] of Object.entries(o)) {
    if (!["pseudonymizeIdentifiers", "redact", "requirePurpose", "maxDays"].includes(k)) parts.push(`${k}: ${list(v)}`);
  }
  return h("ul", { class: "plain" }, parts.map((p) => h("li", {}, p)));
}

function bundleCard(b) {
  const problemsAt = new Map();
  for (const p of b.problems) {
    if (!problemsAt.has(p.rule)) problemsAt.set(p.rule, []);
    problemsAt.get(p.rule).push(p);
  }
  const stale = b.enforcedHash && b.policyHash && b.enforcedHash !== b.policyHash;
  const rules = Array.isArray(b.rules) ? b.rules : [];
  const ruleRows = rules.map((r, i) => {
    const problems = problemsAt.get(i) || [];
    return {
      className: problems.length ? "has-problem" : "",
      id: `rule-${b.role}-${i}`,
      cells: [
        { cell: String(i), class: "num" },
        { cell: [h("strong", {}, r.id || "?"), r.description ? h("div", { class: "muted small" }, r.description) : null] },
        list(r.stages),
        { cell: badge(r.effect || "?", r.effect === "permit" ? "ok" : "bad") },
        { cell: matchCell(r.match) },
        { cell: obligationsCell(r.obligations) },
        { cell: problems.length ? h("ul", { class: "plain error" }, problems.map((p) => h("li", {}, `${p.pointer}: ${p.message}`)))
                                : h("span", { class: "muted" }, "none") },
      ],
    };
  });
  // Every problem named at the top, each with a way to its rule's row.
  const problemList = b.problems.length ? h("div", { class: "problems", role: "alert" },
    h("p", {}, h("strong", {}, `${b.problems.length} problem${b.problems.length > 1 ? "s" : ""} (policy check)`),
      b.compiles ? "" : ": the file does not compile; the gateway keeps deciding with the bundle it loaded at start (the enforced hash)"),
    h("ul", {}, b.problems.map((p) => {
      const rule = rules[p.rule];
      return h("li", {}, rule ? [h("button", { type: "button", class: "link",
        onclick: () => document.getElementById(`rule-${b.role}-${p.rule}`).scrollIntoView({ block: "center" }) },
        `rule ${p.rule} ${rule.id || ""}`), ": "] : "", h("code", {}, p.pointer || "(file)"), ` ${p.message}`);
    }))) : null;
  const tests = b.tests || { cases: [], problems: [], passed: 0, failed: 0 };
  return h("section", { class: "card", "aria-label": `${b.role} bundle` },
    h("h2", {}, b.role === "active" ? "Active bundle" : "Shadow candidate", " ",
      h("span", { class: "muted" }, b.id || ""), " ", badge(b.compiles ? "compiles" : "does not compile", b.compiles ? "ok" : "bad")),
    h("dl", { class: "facts wide" },
      h("dt", {}, "title"), h("dd", {}, b.title || "-"),
      h("dt", {}, "file"), h("dd", {}, h("code", {}, b.file)),
      h("dt", {}, "policy hash"), h("dd", { class: "policy-hash" }, hash(b.policyHash)),
      h("dt", {}, "enforced"), h("dd", {}, hash(b.enforcedHash),
        stale ? h("span", { class: "warn" }, " the file changed since the gateway started: it still enforces this hash") : null),
      h("dt", {}, "combining"), h("dd", {}, `${list(b.combining)}; default ${list(b.default)}`)),
    problemList,
    h("h3", {}, `Rules (${rules.length})`),
    h("div", { class: "scroll" }, table(["#", "rule", "stages", "effect", "applies when", "obligations", "problems"], ruleRows,
      { label: `rules of the ${b.role} bundle`, class: "grid rules" })),
    h("h3", {}, "Test cases ", h("span", { class: "tests-summary" }, `${tests.passed} passed, ${tests.failed} failed`)),
    tests.problems.length ? h("ul", { class: "error" }, tests.problems.map((p) => h("li", {}, `${p.file}: ${p.pointer}: ${p.message}`))) : null,
    h("div", { class: "scroll short" }, table(["", "case", "where", "expected", "actual"],
      tests.cases.map((c) => ({ className: c.passed ? "" : "failed", cells: [
        { cell: badge(c.passed ? "PASS" : "FAIL", c.passed ? "ok" : "bad") }, c.name, { cell: h("code", {}, c.pointer) },
        c.passed ? "" : c.expected, c.passed ? "" : c.actual] })),
      { label: `test cases of the ${b.role} bundle`, empty: "no test cases next to this bundle" })));
}

function evaluateForm(session) {
  const stage = h("select", { name: "stage" }, ["read", "grant", "ingest"].map((s) => h("option", { value: s }, s)));
  const type = h("input", { name: "resourceType", value: "Patient", size: 14 });
  const country = h("input", { name: "source", value: "DE", size: 4, maxlength: 2, pattern: "[A-Z]{2}" });
  const destination = h("input", { name: "destination", value: "US", size: 4, maxlength: 2 });
  const purpose = h("input", { name: "purpose", value: "TREAT", size: 10 });
  const consent = h("input", { type: "checkbox", name: "consent" });
  const resource = h("textarea", { name: "resource", rows: 4, spellcheck: "false",
    placeholder: "optional: a FHIR resource (its type, labels and content are then evaluated too)" });
  const out = h("div", { id: "decision", "aria-live": "polite" });
  const form = h("form", { class: "evaluate", "aria-label": "evaluate a request" },
    h("div", { class: "row" },
      field("Stage", stage), field("Resource type", type), field("Patient's country", country),
      field("Participant's jurisdiction", destination), field("Purpose of use", purpose),
      h("div", { class: "field check" }, h("label", {}, consent, " with the patient's consent"))),
    field("Resource (JSON)", resource),
    h("button", { type: "submit" }, "Evaluate"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = { stage: stage.value, source: country.value.trim().toUpperCase(),
                      destination: destination.value.trim().toUpperCase(),
                      purpose: purpose.value.trim().toUpperCase(), consent: consent.checked };
    if (resource.value.trim()) {
      try {
        request.resource = JSON.parse(resource.value);
      } catch (e) {
        out.replaceChildren(errorBox(`the resource is not JSON: ${e.message}`));
        return;
      }
    } else {
      request.resourceType = type.value.trim();
    }
    out.replaceChildren(h("p", { class: "muted" }, "Evaluating…"));
    try {
      const d = await api.evaluate(request);
      out.replaceChildren(
        h("p", { class: "verdict" }, "Decision: ", badge(d.effect, d.effect === "permit" ? "ok" : "bad"),
          d.rules.length ? [" by ", h("strong", { class: "deciding" }, d.rules.join(", "))] : " by the bundle's default effect",
          d.region ? ` · region ${d.region}` : "", " · patient's country ", d.patientCountry || "-", ` (from ${d.patientCountryFrom})`),
        h("p", { class: "small" }, "policy hash ", hash(d.policyHash), d.obligations ? ` · obligations: ${d.obligations}` : ""),
        h("div", { class: "scroll short" }, table(["rule", "applies", "why"],
          d.trace.map((t) => ({ className: t.applicable ? "applies" : "", cells: [
            { cell: h("code", {}, t.rule) },
            { cell: badge(t.applicable ? "applies" : "no", t.applicable ? "ok" : "muted") },
            { cell: h("ul", { class: "plain" }, t.reasons.map((r) => h("li", {}, r))) }] })),
          { label: "every rule's trace", class: "grid trace" })));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return h("section", { class: "card", "aria-label": "evaluate" },
    h("h2", {}, "Evaluate a request"),
    h("p", { class: "muted" }, "What the active bundle decides for one request, with every rule's trace (as fhir-ledger policy eval prints it). Nothing is stored or sent to the ledger."),
    form, out);
}

export async function render(root, session) {
  const data = await api.policies();
  if (!data.bundles.length) {
    root.append(h("section", { class: "card" }, h("h1", {}, "Policies"), h("p", {}, "This gateway runs without a policy bundle (/policy/bundle).")));
    return;
  }
  root.append(h("h1", {}, "Policies"), evaluateForm(session), ...data.bundles.map(bundleCard));
}
