// Pipeline: this gateway's live figures from /metrics, read every 2 s while the view is open:
// events by outcome, resources anchored per second, consumer lag, dead letters by reason, and
// the access API's decisions. The history lives in this tab only (the last 5 minutes).
import { api } from "../lib/api.js";
import { barChart, formatNumber, lineChart } from "../lib/charts.js";
import { errorBox, h } from "../lib/dom.js";
import { byLabel, parseMetrics, total } from "../lib/prometheus.js";

const EVERY_MS = 2000;
const KEEP = 150;

function clock(t) {
  return new Date(t).toISOString().slice(11, 19);
}

export async function render(root) {
  const figures = h("div", { class: "figures" });
  const outcomes = h("div", { class: "chart-box" });
  const rate = h("div", { class: "chart-box" });
  const lag = h("div", { class: "chart-box" });
  const letters = h("div", { class: "chart-box" });
  const access = h("div", { class: "chart-box" });
  const status = h("p", { class: "muted small", "aria-live": "polite" });
  root.append(h("h1", {}, "Pipeline"), status, figures,
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, "Events by outcome"), outcomes),
      h("section", { class: "card" }, h("h2", {}, "Dead letters by reason"), letters)),
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, "Resources anchored per second"), rate),
      h("section", { class: "card" }, h("h2", {}, "Consumer lag"), lag)),
    h("section", { class: "card" }, h("h2", {}, "Access API decisions"), access));

  const history = [];
  let timer = null;
  let stopped = false;

  function figure(label, value, unit) {
    return h("div", { class: "figure" }, h("div", { class: "value" }, value), h("div", { class: "label" }, label, unit ? ` (${unit})` : ""));
  }

  async function tick() {
    try {
      const samples = parseMetrics(await api.metrics());
      const now = Date.now();
      history.push({ t: now, anchored: total(samples, "fhir_ledger_resources_anchored_total"),
                     lag: total(samples, "fhir_ledger_consumer_lag_messages") });
      if (history.length > KEEP) history.shift();
      const events = byLabel(samples, "fhir_ledger_events_total", "outcome");
      const latencyCount = total(samples, "fhir_ledger_event_latency_seconds_count");
      const latencySum = total(samples, "fhir_ledger_event_latency_seconds_sum");
      figures.replaceChildren(
        figure("events consumed", formatNumber(events.consumed || 0)),
        figure("resources anchored", formatNumber(total(samples, "fhir_ledger_resources_anchored_total"))),
        figure("dead-lettered", formatNumber(events["dead-lettered"] || 0)),
        figure("mean poll-to-commit", latencyCount ? (latencySum / latencyCount * 1000).toFixed(0) : "-", "ms"),
        figure("batches in flight", String(total(samples, "fhir_ledger_batches_in_flight"))),
        figure("regions down", String(total(samples, "fhir_ledger_regions_down"))),
        figure("gas per pointer", total(samples, "fhir_ledger_resources_anchored_total")
          ? formatNumber(total(samples, "fhir_ledger_gas_used_total") / total(samples, "fhir_ledger_resources_anchored_total")) : "-", "gas"));
      outcomes.replaceChildren(barChart({ title: "events by outcome", unit: "events since the gateway started",
        categories: ["consumed", "committed", "dead-lettered", "parked"].map((k) => ({ name: k, value: events[k] || 0 })) }));
      const reasons = byLabel(samples, "fhir_ledger_dead_letters_total", "reason");
      letters.replaceChildren(barChart({ title: "dead letters by reason", unit: "dead letters since the gateway started",
        categories: Object.entries(reasons).sort((a, b) => b[1] - a[1]).map(([name, value]) => ({ name, value })) }));
      const rates = history.map((p, i) => (i === 0 ? 0 : Math.max(0, (p.anchored - history[i - 1].anchored) / ((p.t - history[i - 1].t) / 1000))));
      const labels = history.map((p) => clock(p.t));
      rate.replaceChildren(lineChart({ title: "resources anchored per second", xLabels: labels, width: 560, height: 220,
        series: [{ name: "anchored", values: rates }], xUnit: "time (UTC)", yUnit: "resources/s" }));
      lag.replaceChildren(lineChart({ title: "consumer lag", xLabels: labels, width: 560, height: 220,
        series: [{ name: "all input partitions", values: history.map((p) => p.lag) }], xUnit: "time (UTC)", yUnit: "messages behind", integer: true }));
      const decisions = samples.filter((x) => x.name === "fhir_ledger_access_decisions_total")
        .map((x) => ({ name: `${x.labels.kind}: ${x.labels.decision}`, value: x.value }));
      access.replaceChildren(barChart({ title: "access decisions", width: 1180, unit: "decisions since the gateway started", categories: decisions }));
      status.textContent = `Updated ${clock(now)} UTC, every ${EVERY_MS / 1000} s.`;
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
    if (!stopped) timer = setTimeout(tick, EVERY_MS);
  }
  await tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
