// Ledger: look a resource up by reference: its pointer (version, mode, region, content hash,
// resource key), the anchoring transaction and block, the verification's checks, and the `cast`
// commands an auditor runs to check it on the chain without this gateway.
import { api } from "../lib/api.js";
import { badge, errorBox, field, h } from "../lib/dom.js";

function commandBlock(c) {
  const pre = h("pre", { class: "command" }, c.command);
  const copy = h("button", { type: "button", class: "link" }, "copy");
  copy.addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(c.command));
  return h("li", {}, h("div", {}, c.what, " ", copy), pre, h("div", { class: "small muted" }, "expect: ", h("code", {}, c.expect)));
}

export async function render(root, session) {
  const reference = h("input", { name: "reference", size: 36, value: "Patient/pat-de-0001", required: true,
    pattern: "[A-Za-z]+/[A-Za-z0-9\\-.]{1,64}" });
  const version = h("input", { name: "version", type: "number", min: 1, size: 5, placeholder: "latest" });
  const source = h("input", { name: "source", size: 16, value: session.gateway.defaultSource,
    title: "the source system whose id space the reference is in" });
  const out = h("div", { id: "verification", "aria-live": "polite" });
  const form = h("form", { class: "row", "aria-label": "look up a resource" },
    field("Reference", reference), field("Version", version), field("Source system", source),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Verify")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren(h("p", { class: "muted" }, "Verifying…"));
    try {
      const v = await api.ledger(reference.value.trim(), version.value, source.value.trim());
      if (!v.verified) {
        out.replaceChildren(h("p", {}, badge("verification failed", "bad"), " ", v.failure));
        return;
      }
      out.replaceChildren(
        h("p", { class: "verdict" }, badge("verified", "ok"), ` ${v.reference} version ${v.version}`, v.deleted ? " (a delete)" : ""),
        h("dl", { class: "facts wide" },
          h("dt", {}, "mode"), h("dd", {}, v.mode),
          h("dt", {}, "region"), h("dd", {}, v.region),
          h("dt", {}, "resource key"), h("dd", {}, h("code", {}, v.resourceKey)),
          h("dt", {}, "content hash"), h("dd", {}, h("code", {}, v.contentHash)),
          v.merkleRoot ? [h("dt", {}, "Merkle root"), h("dd", {}, h("code", {}, v.merkleRoot))] : null,
          h("dt", {}, "transaction"), h("dd", {}, h("code", {}, v.tx)),
          h("dt", {}, "block"), h("dd", {}, String(v.block)),
          h("dt", {}, "contract"), h("dd", {}, h("code", {}, session.gateway.contract))),
        h("h3", {}, "What was checked"), h("ol", {}, v.checks.map((c) => h("li", {}, c))),
        h("h3", {}, "Check it yourself"),
        h("p", { class: "muted small" }, "With Foundry's cast, against the node; nothing here depends on this gateway."),
        h("ul", { class: "commands" }, (v.commands || []).map(commandBlock)));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  root.append(h("h1", {}, "Ledger"),
    h("section", { class: "card" }, h("h2", {}, "Look up a resource"),
      h("p", { class: "muted" }, "The pointer anchored for a resource, and its verification: the blob in its region hashes to the content hash, and the chain holds it (GET /ledger/… for auditors)."),
      form, out));
}
