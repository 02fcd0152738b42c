// RAII for a real service started by a test (redis-server, anvil, the fhir-ledger binary): the
// process is started in its own process group and killed with it when the object dies, so a
// failing test leaves nothing running. Also picks free loopback ports.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fl::testing {

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH) with stdout/stderr appended to `log_file` (or discarded
  // when empty). Aborts the test binary if the program cannot be started.
  ChildProcess(std::vector<std::string> argv, const std::string& log_file = "");
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  int pid() const { return pid_; }
  bool running();
  // Sends `signal` and waits up to `timeout` for exit; returns the exit status (or -signal).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for a normal exit; returns the exit code, or -1 on timeout (the process is left alone).
  int wait(std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it back, close).
int free_port();

// Polls until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool wait_for_port(int port, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR, removed with its content when the object dies.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fl::testing
