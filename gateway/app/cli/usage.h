// The usage of fhir-ledger and of each of its commands: `fhir-ledger help` prints it all,
// `fhir-ledger <command> [<subcommand>] --help` (or -h) the command's part, with its options.
#pragma once

#include <string>
#include <string_view>

namespace fl::cli {

const char* usage_text();

// The part of the usage for "serve", "ledger grant", ...: its lines and description; "" when
// there is none.
std::string usage_of(std::string_view command_path);

// The command being run ("ledger grant"), set by main before it dispatches, so that an
// argument error or --help names it.
void set_command_path(std::string path);
const std::string& command_path();

}  // namespace fl::cli
