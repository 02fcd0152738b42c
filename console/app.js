// The console's shell: the login (a bearer token, kept in this tab's sessionStorage), the
// navigation between views (#/policies, #/audit, #/mappings, #/ledger, #/pipeline) and the
// view in place. Each view module exports render(root, session) and may return a function that
// stops what it started (the pipeline view's polling).
import { api, setToken, token } from "./lib/api.js";
import { clear, errorBox, h } from "./lib/dom.js";

const views = {
  policies: () => import("./views/policies.js"),
  audit: () => import("./views/audit.js"),
  mappings: () => import("./views/mappings.js"),
  ledger: () => import("./views/ledger.js"),
  pipeline: () => import("./views/pipeline.js"),
};

let session = null;
let stopView = null;

function showLogin(message) {
  session = null;
  if (stopView) stopView();  // the pipeline view's polling ends with the session
  stopView = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  clear(document.getElementById("view"));
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
}

async function logIn(value) {
  setToken(value.trim());
  try {
    session = await api.session();
  } catch (error) {
    setToken("");
    showLogin(error.status === 401 ? `The token was refused: ${error.message}` : error.message);
    return;
  }
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = `${session.client} · ${session.scopes}`;
  if (!location.hash || location.hash === "#/") location.hash = "#/policies";
  else route();
}

async function route() {
  if (!session) return;
  const name = (location.hash.replace(/^#\//, "").split("?")[0] || "policies");
  const load = views[name] || views.policies;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (stopView) stopView();
  stopView = null;
  const root = clear(document.getElementById("view"));
  root.append(h("p", { class: "muted" }, "Loading…"));
  try {
    const module = await load();
    clear(root);
    stopView = (await module.render(root, session)) || null;
  } catch (error) {
    clear(root).append(errorBox(error));
  }
}

document.getElementById("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  logIn(document.getElementById("token").value);
});
document.getElementById("logout").addEventListener("click", () => {
  setToken("");
  showLogin("Logged out.");
});
window.addEventListener("console:logged-out", () => showLogin("The session ended: log in again."));
window.addEventListener("hashchange", route);

if (token()) logIn(token());
else showLogin();
