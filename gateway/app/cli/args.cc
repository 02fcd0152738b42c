#include "cli/args.h"

#include "cli/usage.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace fl::cli {
namespace {

// The one piece of global state: a signal handler can only reach a global.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }
extern "C" void on_reload_signal(int) { g_reload.store(true); }

}  // namespace

namespace {

// Levenshtein distance, for "did you mean" on an unknown option.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean --config?" for the known name closest to `given`, when one is close.
std::string suggestion(const std::string& given, const std::set<std::string>& options,
                       const std::set<std::string>& flags) {
  std::string best;
  std::size_t best_distance = 3;  // more than two edits away is no suggestion
  for (const auto* names : {&options, &flags}) {
    for (const auto& name : *names) {
      const std::size_t d = distance(given, name);
      if (d < best_distance) {
        best_distance = d;
        best = name;
      }
    }
  }
  return best.empty() ? "" : "; did you mean --" + best + "?";
}

}  // namespace

Result<Args> Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& options,
                         const std::set<std::string>& flags) {
  const std::string& path = command_path();
  CLI::App app(usage_of(path), "fhir-ledger " + path);
  app.set_help_flag("-h,--help", "print this help and exit");
  std::map<std::string, std::vector<std::string>> values;
  for (const auto& name : options) {
    // One value per occurrence; an option given twice keeps both (Args::all).
    app.add_option("--" + name, values[name])
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }
  std::map<std::string, CLI::Option*> flag_options;
  for (const auto& name : flags) flag_options[name] = app.add_flag("--" + name);
  Args args;
  app.add_option("arguments", args.positional_);
  try {
    std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 takes them so
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    // Parsing is the first thing every command does: nothing is open yet to be closed.
    std::fputs(app.help().c_str(), stdout);
    std::fflush(stdout);
    std::exit(0);
  } catch (const CLI::ExtrasError&) {
    for (const auto& a : app.remaining()) {
      if (!a.starts_with("-")) continue;
      const std::string name = a.substr(a.find_first_not_of('-'));
      return Error{ErrorCode::kInvalidInput,
                   "unknown option " + a +
                       suggestion(name.substr(0, name.find('=')), options, flags) +
                       " (--help lists them)",
                   a};
    }
    return Error{ErrorCode::kInvalidInput, "unexpected arguments (--help lists them)", ""};
  } catch (const CLI::ParseError& e) {
    return Error{ErrorCode::kInvalidInput, std::string(e.what()) + " (--help lists them)", ""};
  }
  for (auto& [name, list] : values) {
    for (auto& v : list) args.values_.emplace(name, std::move(v));
  }
  for (const auto& [name, option] : flag_options) {
    if (option->count() > 0) args.values_.emplace(name, "true");
  }
  return args;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [first, last] = values_.equal_range(name);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

bool Args::has(const std::string& name) const { return values_.contains(name); }

const std::atomic<bool>& stop_flag() { return g_stop; }

bool take_reload_request() { return g_reload.exchange(false); }

void install_reload_handler() {
  struct sigaction action {};
  action.sa_handler = on_reload_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGHUP, &action, nullptr);
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace fl::cli
