// Decisions and audit: the AuditEvents of the audit topic, filtered by kind, outcome, rule id,
// policy hash and time; the decisions per rule over time as a chart; the shadow candidate's
// differences beside the active bundle's decisions. AuditEvents carry pseudonyms, never PHI.
import { api } from "../lib/api.js";
import { stackedColumns } from "../lib/charts.js";
import { badge, errorBox, field, h, hash, table } from "../lib/dom.js";

const KINDS = [["", "any kind"], ["ingest", "ingest denial"], ["grant", "grant"],
  ["grant-transaction", "grant transaction"], ["revocation", "revocation"], ["read", "read"],
  ["erasure", "erasure"], ["shadow", "shadow difference"], ["consent-failure", "consent failure"],
  ["dead-letter-read", "dead letter opened"]];
const OUTCOMES = [["", "any outcome"], ["0", "0 permitted / done"], ["4", "4 denied"], ["8", "8 failed"]];

const outcomeBadge = (o) => badge({ 0: "permitted", 4: "denied", 8: "failed" }[o] || o, o === "0" ? "ok" : "bad");
const rules = (ids) => (ids && ids.length ? ids.join(", ") : "default effect");

function bucketLabel(iso, seconds) {
  const t = iso.replace("T", " ").replace("Z", "");
  return seconds >= 86400 ? t.slice(0, 10) : seconds >= 60 ? t.slice(5, 16) : t.slice(11, 19);
}

function widthName(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function chart(counts) {
  if (!counts.buckets.length) return h("p", { class: "muted" }, "No decisions match.");
  const series = counts.series.map((x) => ({ name: x.rule === "none" ? "(default effect)" : x.rule, values: x.counts }));
  return stackedColumns({ title: "decisions per rule over time", width: 1180, height: 260,
    xLabels: counts.buckets.map((b) => bucketLabel(b, counts.bucketSeconds)),
    series, xUnit: `time (UTC), buckets of ${widthName(counts.bucketSeconds)}`,
    yUnit: `decisions per ${widthName(counts.bucketSeconds)}` });
}

function details(e) {
  const pre = h("pre", { class: "json" }, JSON.stringify(e.event, null, 2));
  return h("details", {}, h("summary", {}, "AuditEvent"), pre);
}

function eventsTable(events) {
  return table(["recorded (UTC)", "kind", "outcome", "rules", "policy", "what happened", "where", ""],
    events.map((e) => [
      e.recorded.replace("T", " ").replace("Z", ""), e.kind, { cell: outcomeBadge(e.outcome) },
      e.policyHash ? rules(e.ruleIds) : "", { cell: hash(e.policyHash) },
      { cell: e.description, class: "wrap" }, `${e.partition}@${e.offset}`, { cell: details(e) }]),
    { label: "audit events", class: "grid events", empty: "no AuditEvent matches these filters" });
}

function shadowTable(events) {
  const decision = (d) => h("div", {}, badge(d.effect || "?", d.effect === "permit" ? "ok" : "bad"), " ",
    rules(d.ruleIds), h("div", { class: "small" }, hash(d.policyHash), d.obligations && d.obligations !== "none" ? ` · ${d.obligations}` : ""));
  // The stage and whose data, from the AuditEvent itself: entity[0] is the patient's pseudonym.
  const entity = (e) => (e.event.entity || [])[0] || {};
  const detail = (e, type) => ((entity(e).detail || []).find((d) => d.type === type) || {}).valueString || "";
  return table(["recorded (UTC)", "stage", "patient or resource (pseudonym)", "active bundle decided", "shadow candidate would decide"],
    events.map((e) => [e.recorded.replace("T", " ").replace("Z", ""), detail(e, "stage") || "-",
      { cell: hash(((entity(e).what || {}).identifier || {}).value) },
      { cell: decision(e) }, { cell: decision(e.candidate || {}) }]),
    { label: "shadow differences", class: "grid shadow", empty: "no shadow differences: the candidate decides as the active bundle does (or none is configured)" });
}

export async function render(root) {
  const kind = h("select", { name: "kind" }, KINDS.map(([v, t]) => h("option", { value: v }, t)));
  const outcome = h("select", { name: "outcome" }, OUTCOMES.map(([v, t]) => h("option", { value: v }, t)));
  const rule = h("input", { name: "rule", size: 16, placeholder: "rule id, or none" });
  const policyHash = h("input", { name: "policyHash", size: 14, placeholder: "0x…" });
  const since = h("input", { name: "since", type: "datetime-local", step: 1 });
  const until = h("input", { name: "until", type: "datetime-local", step: 1 });
  const summary = h("p", { id: "audit-summary", class: "muted", "aria-live": "polite" });
  const chartBox = h("div", { class: "chart-box" });
  const list = h("div", { class: "scroll tall" });
  const shadow = h("div", { class: "scroll" });
  const utc = (local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : "");

  async function load() {
    const query = { kind: kind.value, outcome: outcome.value, rule: rule.value.trim(),
                    policyHash: policyHash.value.trim().toLowerCase(), since: utc(since.value), until: utc(until.value), limit: 200 };
    for (const k of Object.keys(query)) if (query[k] === "") delete query[k];
    summary.textContent = "Reading the audit topic…";
    try {
      const [a, s] = await Promise.all([api.audit(query), api.audit({ kind: "shadow", limit: 50 })]);
      summary.textContent = `${a.total} of ${a.kept} AuditEvents match` + (a.total > a.events.length ? ` (the newest ${a.events.length} listed)` : "") +
        (a.skipped ? `; ${a.skipped} message(s) on the topic are not AuditEvents` : "");
      chartBox.replaceChildren(chart(a.counts));
      list.replaceChildren(eventsTable(a.events));
      shadow.replaceChildren(shadowTable(s.events));
    } catch (error) {
      summary.replaceChildren(errorBox(error));
    }
  }

  const form = h("form", { class: "filters", "aria-label": "filters" },
    h("div", { class: "row" }, field("Kind", kind), field("Outcome", outcome), field("Rule", rule),
      field("Policy hash", policyHash), field("Since (UTC)", since), field("Until (UTC)", until),
      h("div", { class: "field" }, h("button", { type: "submit" }, "Filter"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  root.append(h("h1", {}, "Decisions and audit"),
    h("section", { class: "card" }, form, summary,
      h("h2", {}, "Decisions per rule over time"), chartBox),
    h("section", { class: "card" }, h("h2", {}, "AuditEvents"), list),
    h("section", { class: "card" }, h("h2", {}, "Shadow differences"),
      h("p", { class: "muted small" }, "Decisions where the shadow candidate (/policy/shadow) would differ from the active bundle; never enforced."), shadow));
  await load();
}
