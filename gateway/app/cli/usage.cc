#include "cli/usage.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace fl::cli {
namespace {

constexpr const char* kUsage =
    R"(fhir-ledger: FHIR R4 events from Kafka to encrypted off-chain storage and an EVM ledger.

usage: fhir-ledger <command> [options]

commands:
  serve --config FILE [--until-caught-up]
        run the gateway; with --until-caught-up, exit once every assigned partition is
        committed to its end (batch mode, used by the demo). SIGTERM/SIGINT finish the current
        batch and exit. Prints a JSON summary on stdout at exit.
  dev-broker [--partitions N] [--topic NAME ...] [--bootstrap-file FILE]
        host a Kafka-protocol broker (librdkafka's mock cluster) on 127.0.0.1 for development;
        prints its bootstrap address and runs until stopped.
  ledger deploy --rpc-url URL
        deploy the PointerRegistry contract (key from FL_LEDGER_PRIVATE_KEY); prints its address.
  ledger status --config FILE
        the node, the contract, its admin, and whether this gateway's account is a writer.
  ledger pointer <Type/id> --config FILE
        the resource's pointers: latest on chain, every Anchored event, the stored records.
  ledger verify <Type/id> [--version N] --config FILE
        check a resource end to end: blob hash -> pointer -> (merkle: proof -> root) -> chain.
        Exit 1 with the broken link named when anything does not match.
  ledger grant --patient Patient/<id> --to 0xADDRESS --purpose CODE [--days N | --expires-at T]
               [--consent] --config FILE
  ledger revoke --patient Patient/<id> --to 0xADDRESS --purpose CODE --config FILE
        grant or revoke a participant's access to a patient's data for a purpose of use. With
        /policy/bundle set, a grant is decided by the bundle (the patient's recorded country,
        the participant's registered jurisdiction, the purpose); --consent attests that the
        patient has an active FHIR Consent for this purpose and participant. A denial names
        its rules and policy hash (exit 1); a max-days obligation caps the expiry. Every grant
        decision is written as a FHIR AuditEvent to /kafka/auditTopic and printed, and so is,
        after it, what became of the ledger transaction of a permitted grant or a revocation
        (outcome 0 with its hash and block, 8 with why it failed, 4 when it was sent and not
        confirmed in time). With /policy/shadow set, a candidate bundle that would decide the
        grant differently is audited and printed as {"shadowAuditEvent": ...}.
  ledger participants [set 0xADDRESS --jurisdiction CODE [--inactive]] --config FILE
        list the registered participants, or (admin) register or deactivate one.
  ledger writer 0xADDRESS [--remove] --config FILE
        (admin) allow or remove a gateway account as a writer.
  publish --bootstrap HOST:PORT --topic NAME --manifest FILE
        publish sample events listed in a manifest (config/samples/events.manifest.json).
  import <file.ndjson | bundle.json | DIR>... --config FILE [--source NAME] [--jurisdiction CC]
         [--timeout SECONDS] [--no-wait]
        a backfill: publish FHIR Bulk Data NDJSON (one resource per line; .ndjson, .jsonl) and
        Bundles or single resources (.json; a directory's, recursively) to the input topic, keyed
        by patient, with fhir-source NAME (default bulk-import) and fhir-jurisdiction CC; then
        wait until the running gateways have committed every event, showing progress
        (resources/s, ETA), and print a JSON summary: anchored, dead-lettered, and each failure
        with its file:line and reason. A line that is not JSON is reported and not sent; the
        rest go on. Exit 1 when anything failed or the wait ended first (--timeout, default
        3600 s). --no-wait only publishes.
  report --config FILE --out FILE
        read the results and dead-letter topics and write a machine-readable run report
        (receipts' sealed references opened with the keyring).
  unseal [--dead-letter] --config FILE
        open what the gateway seals on its topics with the keyring: receipts, one JSON per
        stdin line (a prefix before the JSON is kept), written back with source and reference;
        or, with --dead-letter, one dead letter's value on stdin (kcat -f '%s'), printed as
        {"key", "headers", "value" | "valueHex"}.
  fhirpath '<expression>' <resource.json | -> [--strict]
        evaluate a FHIRPath expression on a FHIR resource (- reads stdin) and print the result
        collection as JSON; a parse or evaluation error is printed with its position (exit 1).
  map check [--dir DIR | --config FILE | mapping.json ...]
        compile every mapping set (config/mappings/<source-system>/mapping.json) and list
        every problem as file: JSON pointer: message (exit 1 when there is any).
  map preview --mapping mapping.json --in resource.json [--out FILE]
        map a resource (or each entry of a Bundle) and print, per rule, the JSON paths it
        added (+), removed (-) or replaced (~), then the result.
  policy check <bundle.json> [<bundle.json> ...]
        compile each policy bundle (config/policies/<name>.json) and list every problem as
        file: JSON pointer: message (exit 1 when there is any); else print the bundle id, its
        rule count and its policy hash.
  policy test <bundle.json | bundle.tests.json> [...]
        run the test cases written next to a bundle (<name>.tests.json): one line per case,
        expected and actual decision of each failure; exit 1 when any fails.
  policy eval <bundle.json> --stage ingest|grant|read [--resource FILE | --type TYPE]
              [--source CC | --patient-country CC --header CC --source-system NAME]
              [--destination CC] [--purpose CODE] [--consent]
        one decision with the trace of every rule (which matched and why), in words.
  keys list --config FILE
        the key-encryption keys (never their material) and how many master keys each wraps.
  keys add --region NAME [--id ID] --config FILE
        generate a KEK into the keyring file, active for its region from now on.
  keys rotate [--region NAME] --config FILE
        re-wrap every master key under its region's active KEK (the data is not re-encrypted).
  keys retire KEK_ID --config FILE
        retire a KEK; refused while any master key is still wrapped under it.
  erase Patient/<id> [--reason TEXT] --config FILE
        erase a patient (GDPR Art. 17): destroy their master key in every region and mark them
        erased on the ledger, forgetting their recorded country; prints the AuditEvent and
        writes it to the audit topic. Their data can never be read again.
  read <Type/id> [--version N] [--as 0xPARTICIPANT --purpose CODE [--consent]] --config FILE
        decrypt one stored version (latest by default) after checking erasure and content hash.
        Without --as: the operator's read. With --as: the participant's read, released only
        with an active grant on the ledger and the bundle's permit at read time (--consent:
        the patient has an active FHIR Consent), obligations applied. Audited either way; a
        shadow bundle's difference (/policy/shadow) is audited and printed on stderr.
  consent dry-run <Consent.json> [--source NAME] --config FILE
  consent apply <Consent.json> [--source NAME] --config FILE
        a FHIR R4 Consent (scope patient-privacy) as the ledger grants it implies: each permit's
        actors (/consent/actors) and purposes until its period's end, a deny inside a permit
        winning, each grant decided by the policy bundle with the patient's consent. Prints the
        diff against what this Consent granted before: added, changed, kept, revoked, refused
        and why. dry-run sends and records nothing; apply sends the grants and revocations (each
        audited) and records the Consent's version, so applying it again changes nothing. An
        inactive or rejected Consent revokes what it granted.
  token --client ID [--scope 'system/*.rs'] [--audience URL] [--key FILE] [--kid ID]
        [--alg ES256|ES384|RS256] [--expires-in SECONDS] [--issuer ISS]
        a bearer token for the API (/api), signed with a private key (PEM): for development
        and tests; defaults from FL_API_SIGNING_KEY_FILE, FL_API_AUDIENCE, FL_API_KEY_ID and
        FL_API_KEY_ALG, which scripts/services sets for the key pair it generates.
  help  this text
)";

std::string& current_path() {
  static std::string path;
  return path;
}

// A line that names a command: two spaces, then a word.
bool is_entry(const std::string& line) {
  return line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ';
}

}  // namespace

const char* usage_text() { return kUsage; }

std::string usage_of(std::string_view path) {
  std::istringstream in(kUsage);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  bool inside = false;
  bool described = false;  // a description line was taken: the next entry ends the section
  const std::string wanted = "  " + std::string(path);
  for (const auto& line : lines) {
    const bool entry = is_entry(line);
    if (!inside) {
      if (entry && line.starts_with(wanted) &&
          (line.size() == wanted.size() || line[wanted.size()] == ' ')) {
        inside = true;
        out += line + "\n";
      }
      continue;
    }
    if (line.empty() || line == "commands:") break;
    if (entry && described) {
      // Another command of the same group may share the description that follows it.
      if (!line.starts_with(wanted)) break;
      described = false;
    }
    // A description line, not the synopsis wrapped onto the next line ("  [--consent] ...").
    if (const auto text = line.find_first_not_of(' ');
        !entry && text != std::string::npos && line[text] != '[' && line[text] != '-') {
      described = true;
    }
    out += line + "\n";
  }
  return out;
}

void set_command_path(std::string path) { current_path() = std::move(path); }

const std::string& command_path() { return current_path(); }

}  // namespace fl::cli
