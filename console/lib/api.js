// Calls to this gateway's API with the viewer's token. Errors are the API's OperationOutcomes,
// given back as Error with the diagnostics as the message and the HTTP status.

const TOKEN_KEY = "fhir-ledger-console-token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, { body, headers = {}, text = false } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token()}`, ...headers },
                 cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/fhir+json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const payload = await response.text();
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      const outcome = JSON.parse(payload);
      if (outcome.issue && outcome.issue[0]) message = outcome.issue[0].diagnostics || message;
    } catch {
      /* not an OperationOutcome: the status says enough */
    }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("console:logged-out"));
    throw new ApiError(response.status, message);
  }
  if (text) return payload;
  return JSON.parse(payload);
}

export const api = {
  session: () => call("GET", "/console/api/session"),
  policies: () => call("GET", "/console/api/policies"),
  audit: (query) => call("GET", `/console/api/audit?${new URLSearchParams(query)}`),
  mappings: () => call("GET", "/console/api/mappings"),
  deadLetters: () => call("GET", "/console/api/dead-letters"),
  deadLetter: (partition, offset) =>
    call("GET", `/console/api/dead-letters/${encodeURIComponent(partition)}/${encodeURIComponent(offset)}`),
  ledger: (reference, version, source) =>
    call("GET", `/console/api/ledger/${reference.split("/").map(encodeURIComponent).join("/")}` +
                (version ? `?version=${encodeURIComponent(version)}` : ""),
         { headers: source ? { "X-FHIR-Source": source } : {} }),
  metrics: () => call("GET", "/console/api/metrics", { text: true }),
  evaluate: (request) => call("POST", "/policy/$evaluate", { body: request }),
  preview: (resourceText, source) =>
    call("POST", "/mappings/$preview",
         { body: resourceText, headers: source ? { "X-FHIR-Source": source } : {} }),
};
