#include "cli/args.h"

#include <atomic>
#include <csignal>

namespace fl::cli {
namespace {

// The one piece of global state: a signal handler can only reach a global.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }
extern "C" void on_reload_signal(int) { g_reload.store(true); }

}  // namespace

Result<Args> Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& options,
                         const std::set<std::string>& flags) {
  Args args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!a.starts_with("--")) {
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::string value;
    const bool inline_value = name.find('=') != std::string::npos;
    if (inline_value) {
      value = name.substr(name.find('=') + 1);
      name = name.substr(0, name.find('='));
    }
    if (flags.contains(name) && !inline_value) {
      args.values_.emplace(name, "true");
      continue;
    }
    if (!options.contains(name)) {
      return Error{ErrorCode::kInvalidInput, "unknown option --" + name, a};
    }
    if (!inline_value) {
      if (i + 1 >= argv.size()) {
        return Error{ErrorCode::kInvalidInput, "--" + name + " needs a value", a};
      }
      value = argv[++i];
    }
    args.values_.emplace(name, value);
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
