// Building the page from data without HTML strings: every value goes in as text, so nothing a
// resource, an event or a rule says can become markup (and the content security policy forbids
// inline script and style anyway).

// h("td", {class: "num", title: "…"}, "text", childElement, …). Props starting with "on" are
// event listeners; "dataset" sets data-* attributes; anything else is an attribute.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else if (name === "checked" || name === "selected") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// A table: head is a list of column titles (or [title, className]); rows lists of cells (a
// cell is text, a node, or {cell, class}); options.caption, options.class, options.empty.
export function table(head, rows, options = {}) {
  const th = head.map((c) => (Array.isArray(c) ? h("th", { class: c[1], scope: "col" }, c[0])
                                               : h("th", { scope: "col" }, c)));
  const body = rows.length
    ? rows.map((row) => {
        const tr = h("tr", { class: row.className, id: row.id });
        for (const c of row.cells || row) {
          if (c && typeof c === "object" && !(c instanceof Node) && "cell" in c) {
            tr.append(h("td", { class: c.class, title: c.title }, c.cell));
          } else {
            tr.append(h("td", {}, c));
          }
        }
        return tr;
      })
    : [h("tr", {}, h("td", { colspan: head.length, class: "empty" }, options.empty || "nothing"))];
  return h("table", { class: options.class || "grid", "aria-label": options.label },
    options.caption ? h("caption", {}, options.caption) : null,
    h("thead", {}, h("tr", {}, th)), h("tbody", {}, body));
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || ""}` }, text);
}

// A hash shortened for reading, whole in its title and when copied.
export function hash(value) {
  if (!value) return h("span", { class: "muted" }, "-");
  const short = value.length > 18 ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
  return h("code", { class: "hash", title: value }, short);
}

export function field(labelText, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText), input,
    hint ? h("small", { class: "hint" }, hint) : null);
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, String(error.message || error));
}
