// Small SVG charts with axes, ticks and units: a line chart over time and a bar chart of
// categories. Colours come from the style sheet (.s0 … .s7), so the page needs no inline style.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// A "nice" upper bound and tick step for values up to max (1, 2 or 5 times a power of ten).
function scale(max, ticks = 4, integer = false) {
  if (!(max > 0)) return integer ? { top: ticks, step: 1 } : { top: 1, step: 0.25 };
  const raw = integer ? Math.max(1, max / ticks) : max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw);
  return { top: step * Math.ceil(max / step), step };
}

export function formatNumber(v) {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2).replace(/\.?0+$/, "");
}

function frame(width, height, title) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                         class: "chart", "aria-label": title });
  svg.append(s("title", {}, title));
  return svg;
}

// The y axis with its ticks, grid lines and unit; returns the y of a value.
function yAxis(svg, box, max, unit, integer) {
  const { top, step } = scale(max, 4, integer);
  const y = (v) => box.y + box.h - (v / top) * box.h;
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(s("line", { x1: box.x, x2: box.x + box.w, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: box.x - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" },
                 formatNumber(v)));
  }
  svg.append(s("line", { x1: box.x, x2: box.x, y1: box.y, y2: box.y + box.h, class: "axis" }));
  svg.append(s("text", { x: 12, y: box.y + box.h / 2, class: "unit", "text-anchor": "middle",
                         transform: `rotate(-90 12 ${box.y + box.h / 2})` }, unit));
  return y;
}

function legend(svg, names, x, y, width) {
  let cx = x;
  let cy = y;
  names.forEach((name, i) => {
    const w = 18 + name.length * 6.4;
    if (cx + w > x + width && cx > x) {
      cx = x;
      cy += 16;
    }
    svg.append(s("rect", { x: cx, y: cy - 8, width: 10, height: 10, class: `swatch s${i % 8}` }));
    svg.append(s("text", { x: cx + 14, y: cy + 1, class: "legend" }, name));
    cx += w + 10;
  });
  return cy;
}

// series: [{name, values}], all as long as xLabels; xUnit, yUnit name the axes.
export function lineChart({ title, xLabels, series, xUnit, yUnit, width = 600, height = 240, integer = false }) {
  const rows = Math.ceil(series.reduce((n, x) => n + 18 + x.name.length * 6.4 + 10, 0) / (width - 60));
  const legendHeight = 16 * Math.max(1, rows);
  const box = { x: 56, y: 12, w: width - 72, h: height - 64 - legendHeight };
  const svg = frame(width, height, title);
  const max = Math.max(0, ...series.flatMap((x) => x.values));
  const y = yAxis(svg, box, max, yUnit, integer);
  const n = xLabels.length;
  const x = (i) => box.x + (n <= 1 ? box.w / 2 : (i / (n - 1)) * box.w);
  svg.append(s("line", { x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h,
                         class: "axis" }));
  const every = Math.max(1, Math.ceil(n / 6));
  xLabels.forEach((label, i) => {
    // Every `every`-th label, and the last unless it would crowd the one before it.
    const last = i === n - 1;
    if (i % every !== 0 && !(last && (n - 1) % every >= every / 2)) return;
    svg.append(s("line", { x1: x(i), x2: x(i), y1: box.y + box.h, y2: box.y + box.h + 4,
                           class: "axis" }));
    svg.append(s("text", { x: x(i), y: box.y + box.h + 16, class: "tick",
                           "text-anchor": i === 0 && n > 1 ? "start" : i === n - 1 && n > 1 ? "end" : "middle" },
                 label));
  });
  svg.append(s("text", { x: box.x + box.w / 2, y: box.y + box.h + 32, class: "unit",
                         "text-anchor": "middle" }, xUnit));
  series.forEach((line, k) => {
    const points = line.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    svg.append(s("polyline", { points, class: `line s${k % 8}` }));
    line.values.forEach((v, i) => {
      const dot = s("circle", { cx: x(i), cy: y(v), r: n > 40 ? 1.5 : 2.5, class: `dot s${k % 8}` });
      dot.append(s("title", {}, `${line.name}: ${formatNumber(v)} ${yUnit} at ${xLabels[i]}`));
      svg.append(dot);
    });
  });
  legend(svg, series.map((x) => x.name), box.x, height - legendHeight + 4, box.w);
  return svg;
}

// Horizontal bars: categories [{name, value}], the value axis in `unit`.
export function barChart({ title, categories, unit, width = 600, integer = true }) {
  const bar = 18;
  const gap = 8;
  const labelWidth = Math.min(220, 16 + Math.max(40, ...categories.map((c) => c.name.length * 6.6)));
  const box = { x: labelWidth, y: 8, w: width - labelWidth - 56,
                h: Math.max(1, categories.length) * (bar + gap) };
  const height = box.h + 48;
  const svg = frame(width, height, title);
  const max = Math.max(0, ...categories.map((c) => c.value));
  const { top, step } = scale(max, 4, integer);
  const x = (v) => box.x + (v / top) * box.w;
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(s("line", { x1: x(v), x2: x(v), y1: box.y, y2: box.y + box.h, class: "grid" }));
    svg.append(s("text", { x: x(v), y: box.y + box.h + 14, class: "tick", "text-anchor": "middle" },
                 formatNumber(v)));
  }
  svg.append(s("line", { x1: box.x, x2: box.x, y1: box.y, y2: box.y + box.h, class: "axis" }));
  svg.append(s("line", { x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h,
                         class: "axis" }));
  svg.append(s("text", { x: box.x + box.w / 2, y: box.y + box.h + 32, class: "unit",
                         "text-anchor": "middle" }, unit));
  if (!categories.length) {
    svg.append(s("text", { x: box.x + 8, y: box.y + bar - 4, class: "tick" }, "none yet"));
  }
  categories.forEach((c, i) => {
    const top0 = box.y + i * (bar + gap) + gap / 2;
    svg.append(s("text", { x: box.x - 6, y: top0 + bar - 5, class: "tick", "text-anchor": "end" },
                 c.name.length > 32 ? `${c.name.slice(0, 31)}…` : c.name));
    const r = s("rect", { x: box.x, y: top0, width: Math.max(0, x(c.value) - box.x), height: bar,
                          class: `bar s${i % 8}` });
    r.append(s("title", {}, `${c.name}: ${formatNumber(c.value)} ${unit}`));
    svg.append(r);
    svg.append(s("text", { x: x(c.value) + 4, y: top0 + bar - 5, class: "tick" }, formatNumber(c.value)));
  });
  return svg;
}

// Stacked columns, one per x label: series [{name, values}] (counts), stacked in order.
export function stackedColumns({ title, xLabels, series, xUnit, yUnit, width = 600, height = 240 }) {
  const rows = Math.ceil(series.reduce((n, x) => n + 18 + x.name.length * 6.4 + 10, 0) / (width - 60));
  const legendHeight = 16 * Math.max(1, rows);
  const box = { x: 56, y: 12, w: width - 72, h: height - 64 - legendHeight };
  const svg = frame(width, height, title);
  const n = xLabels.length;
  const totals = xLabels.map((_, i) => series.reduce((sum, x) => sum + (x.values[i] || 0), 0));
  const y = yAxis(svg, box, Math.max(0, ...totals), yUnit, true);
  const slot = box.w / Math.max(1, n);
  const bar = Math.max(2, Math.min(48, slot * 0.7));
  const x = (i) => box.x + slot * i + slot / 2;
  svg.append(s("line", { x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h,
                         class: "axis" }));
  const every = Math.max(1, Math.ceil(n / 8));
  xLabels.forEach((label, i) => {
    if (i % every !== 0) return;
    svg.append(s("line", { x1: x(i), x2: x(i), y1: box.y + box.h, y2: box.y + box.h + 4, class: "axis" }));
    svg.append(s("text", { x: x(i), y: box.y + box.h + 16, class: "tick", "text-anchor": "middle" }, label));
  });
  svg.append(s("text", { x: box.x + box.w / 2, y: box.y + box.h + 32, class: "unit",
                         "text-anchor": "middle" }, xUnit));
  xLabels.forEach((label, i) => {
    let below = 0;
    series.forEach((line, k) => {
      const v = line.values[i] || 0;
      if (!v) return;
      const r = s("rect", { x: x(i) - bar / 2, y: y(below + v), width: bar, height: y(below) - y(below + v),
                            class: `bar s${k % 8}` });
      r.append(s("title", {}, `${line.name}: ${formatNumber(v)} ${yUnit} at ${label}`));
      svg.append(r);
      below += v;
    });
  });
  legend(svg, series.map((x) => x.name), box.x, height - legendHeight + 4, box.w);
  return svg;
}
