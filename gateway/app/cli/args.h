// The fhir-ledger subcommands' arguments, parsed with CLI11: "--name value" (or --name=value)
// and "--flag" after the subcommand words, and positional words. An unknown option is an error
// with the closest known one suggested, so a typo never silently does nothing; -h or --help
// prints the command's usage (cli/usage.h) and its options, and ends the process with 0.
#pragma once

#include "fl/base/result.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fl::cli {

class Args {
 public:
  // `options` take a value, `flags` do not.
  static Result<Args> parse(const std::vector<std::string>& argv,
                            const std::set<std::string>& options,
                            const std::set<std::string>& flags);

  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  bool has(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::multimap<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Shared by the subcommands: set by SIGINT/SIGTERM, read by long-running loops.
const std::atomic<bool>& stop_flag();
void install_stop_handlers();
// SIGHUP asks for a reload (of the mapping sets); take_reload_request() reports and clears it.
void install_reload_handler();
bool take_reload_request();

}  // namespace fl::cli
