// The console in a browser: Debian's chromium driven by playwright-core against a gateway on
// real services (console_test.sh starts them and passes what it knows in the environment).
// Each step does what a user does (fills forms, clicks) and asserts what the page shows; every
// view is photographed at 1280x800 into FL_CONSOLE_SHOTS. Exits 1 at the first failure.
//   FL_CONSOLE_BASE   http://127.0.0.1:<api port>
//   FL_CONSOLE_TOKEN  a dev token with fhir-ledger/admin; FL_CONSOLE_COMPLIANCE_TOKEN one with
//                     fhir-ledger/compliance; FL_CONSOLE_READER_TOKEN one without a console scope
//   FL_CONSOLE_SHOTS  where the screenshots go
//   FL_CAST           Foundry's cast, to run the commands the ledger view gives an auditor
import { execFileSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("FL_CONSOLE_BASE");
const shots = env("FL_CONSOLE_SHOTS");
const root = env("FL_ROOT");
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.FL_CHROMIUM || "/usr/bin/chromium",
  // The CI machine runs as root without user namespaces for chromium's sandbox.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
const problems = [];
const foreign = [];
page.on("console", (m) => {
  // The API's refusals the test asks for (401, 403) are logged by the browser too; anything else,
  // a content security policy violation first of all, is a problem.
  if (m.type() === "error" && !/Failed to load resource: the server responded with a status of 40[13]/.test(m.text())) {
    problems.push(m.text());
  }
});
page.on("pageerror", (e) => problems.push(String(e)));
page.on("request", (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith("data:")) foreign.push(r.url());
});

async function shoot(name) {
  // Nothing wider than the window: tables and charts fit or scroll inside their card.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${name}: the page is ${overflow}px wider than the window`);
  await page.screenshot({ path: join(shots, `${name}.png`) });
  console.log(`ok: ${name} (${join(shots, `${name}.png`)})`);
}

// Runs the cast commands the ledger view shows and compares what they print (lines joined by
// spaces) with what the view says to expect.
async function runCommands() {
  const commands = await page.locator("#verification pre.command").allTextContents();
  const expects = await page.locator("#verification ul.commands li > div.small code").allTextContents();
  check(commands.length === 2 && expects.length === 2, `auditor commands: ${commands.length}`);
  commands.forEach((command, i) => {
    const args = command.match(/'[^']*'|\S+/g).map((a) => a.replace(/^'|'$/g, ""));
    check(args[0] === "cast", `not a cast command: ${command}`);
    const out = execFileSync(env("FL_CAST"), args.slice(1), { encoding: "utf8" }).trim().replace(/\s+/g, " ");
    check(out === expects[i], `${command}\n  printed ${out}, the console said ${expects[i]}`);
  });
}

// Scrolls so that the element is at the top, below the page's header.
async function scrollTo(selector) {
  await page.evaluate((sel) => {
    const el = document.querySelector(sel);
    window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 60);
  }, selector);
}

async function login(token) {
  await page.goto(`${base}/console/`);
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
}

try {
  // The page and its assets: a content security policy, revalidated page, immutable assets.
  const response = await page.goto(`${base}/console/`);
  const headers = response.headers();
  check(/script-src 'self'/.test(headers["content-security-policy"] || ""), `CSP: ${headers["content-security-policy"]}`);
  check(!/unsafe-inline/.test(headers["content-security-policy"]), "the CSP allows inline code");
  check(headers["cache-control"] === "no-cache", `page Cache-Control: ${headers["cache-control"]}`);
  const script = await page.$eval("script[type=module]", (s) => s.src);
  const asset = await context.request.get(script);
  check(asset.ok() && /immutable/.test(asset.headers()["cache-control"]), `asset Cache-Control: ${asset.headers()["cache-control"]}`);
  check(/javascript/.test(asset.headers()["content-type"]), `asset type ${asset.headers()["content-type"]}`);

  // A token without a console scope is refused at login, with the reason.
  await login(env("FL_CONSOLE_READER_TOKEN"));
  await page.waitForSelector("#login-error:has-text('fhir-ledger/compliance')");
  await shoot("login-refused");

  // 1. Policies: the shipped bundle's rules, its 58 cases passing.
  await login(env("FL_CONSOLE_TOKEN"));
  await page.waitForSelector("section[aria-label='active bundle']");
  const rules = page.locator("table[aria-label='rules of the active bundle'] tbody tr");
  const bundle = JSON.parse(readFileSync(join(root, "config/policies/example-cross-border.json"), "utf8"));
  check(await rules.count() === bundle.rules.length, `rules shown: ${await rules.count()}, the bundle has ${bundle.rules.length}`);
  for (const id of ["eea-to-us-consent", "nopersist-deny", "us-hipaa-tpo"]) {
    check(await page.locator(`table[aria-label='rules of the active bundle'] strong:text-is('${id}')`).count() === 1, `rule ${id} not shown`);
  }
  const summary = await page.locator("section[aria-label='active bundle'] .tests-summary").textContent();
  check(summary === "58 passed, 0 failed", `test cases: ${summary}`);
  check(await page.locator("table[aria-label='test cases of the active bundle'] .badge:text-is('PASS')").count() === 58, "58 PASS badges");
  const policyHash = await page.locator("section[aria-label='active bundle'] .policy-hash code").getAttribute("title");
  check(/^0x[0-9a-f]{64}$/.test(policyHash), `policy hash ${policyHash}`);
  await shoot("policies");

  // The shadow candidate as its file holds it now: a draft that does not compile, the problem
  // shown at the rule it points into (the last, research-anywhere).
  const shadowCard = page.locator("section[aria-label='shadow bundle']");
  check(await shadowCard.locator(".badge:text-is('does not compile')").count() === 1, "the draft compiles?");
  const broken = shadowCard.locator("table[aria-label='rules of the shadow bundle'] tr.has-problem");
  check(await broken.count() === 1, `rules with problems: ${await broken.count()}`);
  const brokenText = await broken.textContent();
  check(brokenText.includes("research-anywhere") && brokenText.includes("/rules/20/match/purposes/0") &&
        brokenText.includes("RESEARCHX"), `the problem row: ${brokenText}`);
  const listed = await shadowCard.locator(".problems").textContent();
  check(listed.includes("rule 20 research-anywhere") && listed.includes("does not compile"), `the problem list: ${listed}`);
  await scrollTo("section[aria-label='shadow bundle']");
  await shoot("policies-shadow");
  await shadowCard.locator(".problems button").click();
  await page.waitForTimeout(300);
  check(await broken.evaluate((tr) => { const r = tr.getBoundingClientRect(); return r.top >= 48 && r.bottom <= window.innerHeight; }),
        "the problem's link brings its rule into view");
  await shoot("policies-shadow-rule");

  // The US clinic asks to read a German patient's record for treatment: denied without consent
  // (no rule permits, the default effect decides), permitted with it by eea-to-us-consent.
  const form = page.locator("form[aria-label='evaluate a request']");
  await form.getByLabel("Stage").selectOption("read");
  await form.getByLabel("Resource type").fill("Patient");
  await form.getByLabel("Patient's country").fill("DE");
  await form.getByLabel("Participant's jurisdiction").fill("US");
  await form.getByLabel("Purpose of use").fill("TREAT");
  await form.getByRole("button", { name: "Evaluate" }).click();
  await page.waitForSelector("#decision .verdict");
  let verdict = await page.locator("#decision .verdict").textContent();
  check(/Decision: deny by the bundle's default effect/.test(verdict), `without consent: ${verdict}`);
  check(await page.locator("table[aria-label=\"every rule's trace\"] tbody tr").count() === bundle.rules.length, "a trace row per rule");
  await form.getByLabel("with the patient's consent").check();
  await form.getByRole("button", { name: "Evaluate" }).click();
  await page.waitForSelector("#decision .verdict:has-text('permit')");
  verdict = await page.locator("#decision .verdict").textContent();
  check(/Decision: permit by eea-to-us-consent/.test(verdict), `with consent: ${verdict}`);
  check(await page.locator("table[aria-label=\"every rule's trace\"] tr.applies code:text-is('eea-to-us-consent')").count() === 1,
        "the trace marks eea-to-us-consent as applying");
  await scrollTo("section[aria-label='evaluate']");
  await shoot("policies-evaluate");

  // 2. Decisions and audit: the demo's policy-denied events (the Brazilian patient's six).
  await page.click("nav a[data-view=audit]");
  await page.waitForSelector("table[aria-label='audit events']");
  const filters = page.locator("form[aria-label='filters']");
  await filters.getByLabel("Kind").selectOption("ingest");
  await filters.getByLabel("Outcome").selectOption("4");
  await filters.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => /^\d+ of \d+ AuditEvents match/.test(document.getElementById("audit-summary")?.textContent || "")
    && [...document.querySelectorAll("table[aria-label='audit events'] tbody tr")].every((tr) => tr.textContent.includes("ingest")));
  const denied = page.locator("table[aria-label='audit events'] tbody tr");
  check(await denied.count() === 6, `policy-denied ingest events: ${await denied.count()}`);
  for (const text of await denied.allTextContents()) {
    check(/ingest denied by the default effect of policy/.test(text) && text.includes("denied"), `an ingest denial reads: ${text}`);
  }
  check(await page.locator("svg.chart text.legend:text-is('(default effect)')").count() === 1, "the chart counts the default effect's denials");
  check(await page.locator("svg.chart text.unit").count() >= 2, "the chart names both axes");
  // The same rows by policy hash.
  await filters.getByLabel("Policy hash").fill(policyHash);
  await filters.getByRole("button", { name: "Filter" }).click();
  await page.waitForTimeout(500);
  check(await denied.count() === 6, `by policy hash: ${await denied.count()}`);
  await shoot("audit");
  // The shadow candidate would have stored them: six differences, deny beside permit.
  const differences = page.locator("table[aria-label='shadow differences'] tbody tr");
  check(await differences.count() === 6, `shadow differences: ${await differences.count()}`);
  for (const text of await differences.allTextContents()) {
    check(/deny.*default effect.*permit.*default effect/.test(text), `a shadow difference reads: ${text}`);
  }
  await scrollTo("table[aria-label='shadow differences']");
  await shoot("audit-shadow");

  // 3. Mappings: the acme-lab set on its sample lab result, each rule's changes.
  await page.click("nav a[data-view=mappings]");
  await page.waitForSelector("table[aria-label='mapping sets']");
  check(await page.locator("table[aria-label='mapping sets'] code:text-is('acme-lab')").count() === 1, "acme-lab listed");
  const preview = page.locator("form[aria-label='preview a mapping']");
  await preview.getByLabel("Source system").selectOption("acme-lab");
  await preview.getByLabel("Event (FHIR JSON)").fill(readFileSync(join(root, "config/samples/events/067-lab-acme-us-0003-1.json"), "utf8"));
  await preview.getByRole("button", { name: "Preview" }).click();
  await page.waitForSelector("#preview table[aria-label='changes to Observation']");
  const paths = await page.locator("#preview table[aria-label='changes to Observation'] code.path").allTextContents();
  for (const p of ["/code/coding/0/system", "/code/coding/1", "/valueQuantity/code", "/effectiveDateTime"]) {
    check(paths.includes(p), `changed paths ${paths.join(" ")} lack ${p}`);
  }
  check(await page.locator("#preview .badge:text-is('maps cleanly')").count() === 1, "the preview maps cleanly");
  const changeRows = page.locator("#preview table[aria-label='changes to Observation'] tbody tr");
  const namedRows = page.locator("#preview table[aria-label='changes to Observation'] tbody tr code.rule");
  check(await changeRows.count() === paths.length && await namedRows.count() === paths.length,
        "every change names its rule");
  await scrollTo("#preview");
  await shoot("mappings");

  // A dead-lettered lab result picked from the list: its mapping error at its JSON pointer.
  // (Twice on the topic: the broken samples were published again.)
  const letter = page.locator("table[aria-label='recent dead letters'] tr", { hasText: "code-to-loinc" });
  check(await letter.count() === 2, `dead letters naming code-to-loinc: ${await letter.count()}`);
  await preview.getByLabel("Event (FHIR JSON)").fill("");
  await letter.first().getByRole("button", { name: "load" }).click();
  await page.waitForFunction(() => document.querySelector("form[aria-label='preview a mapping'] textarea").value.includes("Observation"));
  check(await page.locator("#preview").textContent() === "", "the earlier preview is cleared");
  check(await preview.getByLabel("Source system").inputValue() === "acme-lab", "the dead letter's source is selected");
  await preview.getByRole("button", { name: "Preview" }).click();
  await page.waitForSelector("#preview .error");
  const failure = await page.locator("#preview .error").textContent();
  check(/code-to-loinc/.test(failure) && /at \/code\/coding\/0/.test(failure), `the preview's error: ${failure}`);
  await scrollTo("#preview");
  await shoot("mappings-dead-letter");
  // Opening it was audited before it was shown: who, which letter.
  const opened = await context.request.get(`${base}/console/api/audit?kind=dead-letter-read`,
    { headers: { Authorization: `Bearer ${env("FL_CONSOLE_TOKEN")}` } });
  const openedEvents = (await opened.json()).events;
  check(openedEvents.length === 1, `dead-letter-read AuditEvents: ${openedEvents.length}`);
  const who = openedEvents[0].event.agent[0].who.display;
  const letterPlace = openedEvents[0].event.entity[0].what.identifier.value;
  check(who === "console:console-operator" && /^fhir\.dead-letters\[\d+\]@\d+$/.test(letterPlace),
        `the AuditEvent names ${who} and ${letterPlace}`);

  // 4. Ledger: one resource verified, and the auditor's own cast commands give what they say.
  await page.click("nav a[data-view=ledger]");
  const lookup = page.locator("form[aria-label='look up a resource']");
  await lookup.getByLabel("Reference").fill("Patient/pat-de-0001");
  await lookup.getByRole("button", { name: "Verify" }).click();
  await page.waitForSelector("#verification .verdict");
  check(/verified\s+Patient\/pat-de-0001 version 1/.test(await page.locator("#verification .verdict").textContent()), "verified");
  await runCommands();
  await shoot("ledger");
  // An Observation is anchored in a Merkle root: the auditor asks the contract for that root.
  await lookup.getByLabel("Reference").fill("Observation/obs-de-0001-1");
  await lookup.getByRole("button", { name: "Verify" }).click();
  await page.waitForSelector("#verification .verdict:has-text('Observation/obs-de-0001-1')");
  check(await page.locator("#verification dd:text-is('merkle')").count() === 1, "the Observation is in merkle mode");
  check((await page.locator("#verification pre.command").allTextContents()).some((c) => c.includes("roots(bytes32)")),
        "the merkle commands ask for the root");
  await runCommands();
  await shoot("ledger-merkle");

  // 5. Pipeline: live figures with charts that have axes and units.
  await page.click("nav a[data-view=pipeline]");
  await page.waitForSelector("svg.chart[aria-label='events by outcome']");
  await page.waitForTimeout(4500);  // a few samples for the rate and lag charts
  const consumed = Number(await page.locator(".figure:has(.label:text-is('events consumed')) .value").textContent());
  check(consumed > 0, `events consumed: ${consumed}`);
  check(await page.locator("svg.chart[aria-label='dead letters by reason'] text.tick:text-is('invalid-input')").count() === 1,
        "dead letters by reason shows invalid-input");
  for (const title of ["events by outcome", "resources anchored per second", "consumer lag"]) {
    check(await page.locator(`svg.chart[aria-label='${title}'] text.unit`).count() >= 1, `${title}: no axis unit`);
  }
  await shoot("pipeline");

  // A compliance officer sees the same views but cannot open a dead letter's event (PHI).
  await page.click("#logout");
  await login(env("FL_CONSOLE_COMPLIANCE_TOKEN"));
  await page.waitForSelector("section[aria-label='active bundle']");
  await page.click("nav a[data-view=mappings]");
  await page.waitForSelector("table[aria-label='recent dead letters']");
  check(await page.locator("form[aria-label='pick a dead letter'] button").isDisabled(), "a compliance token may load a dead letter");
  const refused = await context.request.get(`${base}/console/api/dead-letters/0/0`,
    { headers: { Authorization: `Bearer ${env("FL_CONSOLE_COMPLIANCE_TOKEN")}` } });
  check(refused.status() === 403, `a compliance token reading a dead letter: HTTP ${refused.status()}`);

  check(problems.length === 0, `the browser reported: ${problems.join(" | ")}`);
  check(foreign.length === 0, `requests beyond the gateway: ${foreign.join(" ")}`);
  console.log("ok: the console's views, in chromium");
} catch (error) {
  await page.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
  console.error(`console test failed: ${error.message}`);
  if (problems.length) console.error(`browser: ${problems.join(" | ")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
