// fhir-ledger: the composition root. The only place that names concrete adapters (in cli/);
// everything below receives ports by reference.
#include "cli/commands.h"
#include "cli/usage.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

// The commands that take a subcommand word.
bool is_group(const std::string& command) {
  return command == "ledger" || command == "map" || command == "policy" || command == "keys" ||
         command == "consent";
}

bool is_help(const std::string& word) { return word == "--help" || word == "-h"; }

}  // namespace

int main(int argc, char** argv) {
  // A peer closing a socket (Redis restarting) must be an error value, not the end of the
  // process: hiredis writes with plain write(2).
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(fl::cli::usage_text(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  std::string path = command;
  if (is_group(command) && args.size() > 1 && !args[1].starts_with("-")) path += " " + args[1];
  // A group asked for help, or for no subcommand: every subcommand's usage.
  if (is_group(command) && (args.size() == 1 || is_help(args[1]))) {
    const std::string usage = fl::cli::usage_of(command);
    std::fputs(usage.c_str(), args.size() == 1 ? stderr : stdout);
    return args.size() == 1 ? 2 : 0;
  }
  fl::cli::set_command_path(path);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  // Poco and the standard library may throw; nothing of ours does. One top-level catch keeps a
  // stray exception from ending the process without a word.
  try {
    if (command == "serve") return fl::cli::serve(rest);
    if (command == "dev-broker") return fl::cli::dev_broker(rest);
    if (command == "publish") return fl::cli::publish(rest);
    if (command == "import") return fl::cli::import_command(rest);
    if (command == "report") return fl::cli::report(rest);
    if (command == "ledger") return fl::cli::ledger_command(rest);
    if (command == "fhirpath") return fl::cli::fhirpath(rest);
    if (command == "map") return fl::cli::map_command(rest);
    if (command == "policy") return fl::cli::policy_command(rest);
    if (command == "keys") return fl::cli::keys_command(rest);
    if (command == "erase") return fl::cli::erase_command(rest);
    if (command == "read") return fl::cli::read_command(rest);
    if (command == "unseal") return fl::cli::unseal_command(rest);
    if (command == "token") return fl::cli::token_command(rest);
    if (command == "consent") return fl::cli::consent_command(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fhir-ledger %s: unexpected error: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "fhir-ledger: unknown command '%s'\n\n%s", command.c_str(),
               fl::cli::usage_text());
  return 2;
}
