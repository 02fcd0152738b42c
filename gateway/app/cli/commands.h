// The fhir-ledger subcommands. Each takes its arguments after the subcommand words and returns
// the process exit code: 0 success, 1 the work failed, 2 bad usage or configuration.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/config.h"
#include "fl/gateway/consent.h"

#include <string>
#include <vector>

namespace fl::cli {

int serve(const std::vector<std::string>& args);
int dev_broker(const std::vector<std::string>& args);
int ledger_deploy(const std::vector<std::string>& args);
// ledger deploy | status | pointer | verify | grant | revoke | participants | writer
int ledger_command(const std::vector<std::string>& args);
int publish(const std::vector<std::string>& args);
// import <file.ndjson | bundle.json | dir>... --config FILE [--source NAME] [--jurisdiction CC]
//        [--timeout S] [--no-wait]: a backfill through the input topic, with a summary.
int import_command(const std::vector<std::string>& args);
int report(const std::vector<std::string>& args);
// fhirpath '<expression>' <resource.json | -> [--strict]: prints the result collection as JSON.
int fhirpath(const std::vector<std::string>& args);
// map check [--dir DIR | --config FILE | mapping.json ...] | map preview --mapping F --in F
int map_command(const std::vector<std::string>& args);
// policy check <bundle.json> ...: compile policy bundles and list every problem.
int policy_command(const std::vector<std::string>& args);
// keys list | add --region R | rotate [--region R] | retire <kek id>
int keys_command(const std::vector<std::string>& args);
// erase Patient/<id> [--reason TEXT]: crypto-shred the patient in every region, mark the ledger.
int erase_command(const std::vector<std::string>& args);
// unseal [--dead-letter] --config FILE: opens sealed receipts (stdin lines) or one dead letter.
int unseal_command(const std::vector<std::string>& args);
// read <Type/id> [--version N]: one stored version, decrypted, as canonical FHIR JSON.
int read_command(const std::vector<std::string>& args);
// consent dry-run|apply <Consent.json>: a FHIR Consent as the grants and revocations it implies.
int consent_command(const std::vector<std::string>& args);
// /consent of the configuration as the consent compiler takes it (the API's Consents too).
Result<gateway::ConsentSettings> consent_settings(const gateway::GatewayConfig& config);
// token --client ID [--scope S] [--audience URL] [--key FILE] ...: a signed API bearer token.
int token_command(const std::vector<std::string>& args);

}  // namespace fl::cli
