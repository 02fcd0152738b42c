// The Prometheus text exposition format (0.0.4), as much as /metrics writes: samples with their
// labels. Comments and malformed lines are skipped.
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

// The sum of a metric's samples whose labels include `where`.
export function total(samples, name, where = {}) {
  return samples
    .filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v))
    .reduce((sum, x) => sum + x.value, 0);
}

// The samples of a metric grouped by one label: {labelValue: value}.
export function byLabel(samples, name, label) {
  const out = {};
  for (const x of samples) {
    if (x.name === name && label in x.labels) out[x.labels[label]] = (out[x.labels[label]] || 0) + x.value;
  }
  return out;
}
