// Mappings: the mapping sets in use with the hash anchored beside what they map; a preview of
// one event (pasted, or a dead letter picked by partition and offset): the mapped result and,
// per rule, what it changed (`map preview`), with errors at their JSON pointer.
import { api } from "../lib/api.js";
import { badge, errorBox, field, h, hash, table } from "../lib/dom.js";

function changesTable(resource) {
  const rows = [];
  for (const rule of resource.rules || []) {
    // A node of its own per row: a DOM node appended twice would move.
    const who = () => ({ cell: [h("code", { class: "rule" }, rule.id), h("div", { class: "small muted" }, rule.action)] });
    if (!rule.changes.length) rows.push([who(), { cell: h("span", { class: "muted" }, "no change") }, "", ""]);
    for (const c of rule.changes) {
      rows.push([who(), c.op, { cell: h("code", { class: "path" }, c.path) },
        { cell: [c.before === undefined ? null : h("code", { class: "value before" }, c.before),
                 c.after === undefined ? null : h("code", { class: "value after" }, c.after)], class: "wrap" }]);
    }
  }
  return table(["rule", "change", "path", "before → after"], rows,
    { label: `changes to ${resource.resourceType || "the resource"}`, class: "grid changes", empty: "no rule changed it" });
}

function previewResult(p) {
  return h("div", { class: "preview" },
    h("p", {}, "Mapping set ", h("strong", {}, p.mappingSet ? `${p.mappingSet.id} ${p.mappingSet.version}` : "-"), " · ",
      badge(p.ok ? "maps cleanly" : "fails", p.ok ? "ok" : "bad")),
    p.resources.map((r) => h("div", { class: "resource" },
      h("h3", {}, r.resourceType || "(no resourceType)", r.path ? h("span", { class: "muted" }, ` at ${r.path}`) : "",
        " ", r.covered ? "" : badge("not covered by the set", "muted")),
      r.ok ? changesTable(r)
           : h("p", { class: "error", role: "alert" }, `${r.error}`, r.at ? [" at ", h("code", { class: "path" }, r.at)] : ""))),
    p.result ? h("details", {}, h("summary", {}, p.ok ? "Mapped result" : "Result as far as the rules got (the gateway discards it)"),
      h("pre", { class: "json" }, JSON.stringify(p.result, null, 2))) : null);
}

export async function render(root, session) {
  const data = await api.mappings();
  const sets = table(["source system", "set", "version", "rules", "resource types", "mapping hash", "file"],
    data.sets.map((s) => [{ cell: h("code", {}, s.source) }, s.id, s.version, { cell: String(s.ruleCount), class: "num" },
      s.resourceTypes.join(", "), { cell: hash(s.mappingHash) }, { cell: h("code", { class: "small" }, s.file) }]),
    { label: "mapping sets", empty: "no mapping sets: events pass unmapped" });

  const source = h("select", { name: "source" },
    data.sets.map((s) => h("option", { value: s.source }, s.source)),
    h("option", { value: data.defaultSource }, `${data.defaultSource} (the default source)`));
  const event = h("textarea", { name: "event", rows: 22, spellcheck: "false",
    placeholder: "{\"resourceType\": \"Observation\", …} or a Bundle" });
  const partition = h("input", { name: "partition", type: "number", min: 0, size: 5, value: 0 });
  const offset = h("input", { name: "offset", type: "number", min: 0, size: 8, value: 0 });
  const letterInfo = h("div", { "aria-live": "polite" });
  const out = h("div", { id: "preview", "aria-live": "polite" });

  const recent = h("div", { class: "scroll short" });
  async function loadLetter(p, o) {
    partition.value = p;
    offset.value = o;
    pick.requestSubmit();
    event.scrollIntoView({ block: "center" });
  }
  try {
    const letters = await api.deadLetters();
    recent.replaceChildren(table(["dead letter", "reason", "", "from", ""],
      letters.letters.map((d) => [`${letters.topic}[${d.partition}]@${d.offset}`,
        { cell: badge(d.errorCode || "error", "bad") }, { cell: d.reason, class: "wrap" },
        `${d.originTopic}[${d.originPartition}]@${d.originOffset}`,
        { cell: h("button", { type: "button", class: "link", disabled: !session.deadLetters,
            onclick: () => loadLetter(d.partition, d.offset) }, "load") }]),
      { label: "recent dead letters", class: "grid letters", empty: "no dead letters" }));
  } catch (error) {
    recent.replaceChildren(errorBox(error));
  }

  const pick = h("form", { class: "row", "aria-label": "pick a dead letter" },
    field("Dead-letter partition", partition), field("Offset", offset),
    h("div", { class: "field" }, h("button", { type: "submit", disabled: !session.deadLetters }, "Load the event")));
  pick.addEventListener("submit", async (e) => {
    e.preventDefault();
    letterInfo.replaceChildren(h("p", { class: "muted" }, "Reading the dead letter…"));
    out.replaceChildren();  // the preview shown was of another event
    try {
      const d = await api.deadLetter(partition.value, offset.value);
      if (d.source && ![...source.options].some((o) => o.value === d.source)) source.append(h("option", { value: d.source }, d.source));
      if (d.source) source.value = d.source;
      event.value = d.value !== undefined ? d.value : "";
      letterInfo.replaceChildren(h("p", { class: "small" },
        `${d.topic}[${d.partition}]@${d.offset}: `, badge(d.errorCode || "error", "bad"), ` ${d.reason}`,
        ` · from ${d.originTopic}[${d.originPartition}]@${d.originOffset}`, d.truncated ? " · truncated" : "",
        d.valueHex !== undefined ? " · the value is not UTF-8 text" : ""));
    } catch (error) {
      letterInfo.replaceChildren(errorBox(error));
    }
  });

  const form = h("form", { "aria-label": "preview a mapping" },
    h("div", { class: "row" }, field("Source system", source),
      h("div", { class: "field" }, h("button", { type: "submit" }, "Preview"))),
    field("Event (FHIR JSON)", event));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren(h("p", { class: "muted" }, "Mapping…"));
    try {
      out.replaceChildren(previewResult(await api.preview(event.value, source.value)));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });

  root.append(h("h1", {}, "Mappings"),
    h("section", { class: "card" }, h("h2", {}, "Mapping sets in use"), sets),
    h("section", { class: "card" }, h("h2", {}, "Preview"),
      h("p", { class: "muted" }, "What the source's mapping set makes of one event, rule by rule, as fhir-ledger map preview prints it. Nothing is stored."),
      letterInfo,
      h("div", { class: "split" }, form, out)),
    h("section", { class: "card" }, h("h2", {}, "Pick a dead-lettered event"),
      session.deadLetters ? null : h("p", { class: "muted small" }, "A dead letter holds the event as received (PHI): opening one needs the scope fhir-ledger/admin."),
      recent, pick));
}
