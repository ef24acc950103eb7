#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"

#ifndef TC_SERVER_BINARY
#error "TC_SERVER_BINARY must name the tradecheck_server binary"
#endif
#ifndef TC_AGREEMENTS_DIR
#error "TC_AGREEMENTS_DIR must name the bundled agreement data"
#endif

namespace tradecheck::testing {
namespace {

std::string ReadFile(const std::string& path) {
  return ReadFileToString(path).value_or("");
}

absl::StatusOr<pid_t> Spawn(const ServerProcessOptions& options,
                            const std::string& port_file,
                            const std::string& log_path) {
  std::vector<std::string> args = {
      options.binary,
      "--listen=127.0.0.1:0",
      absl::StrCat("--port_file=", port_file),
      absl::StrCat("--data_dir=", options.data_dir),
      absl::StrCat("--agreements_dir=", options.agreements_dir),
      // Any free port: tests run in parallel (a test may pass its own).
      "--metrics_listen=127.0.0.1:0",
  };
  for (const std::string& flag : options.extra_flags) args.push_back(flag);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDERR_FILENO);
      dup2(fd, STDOUT_FILENO);
      close(fd);
    }
    // The test runner may block signals; the server installs its own mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    ServerProcessOptions options) {
  if (options.binary.empty()) options.binary = TC_SERVER_BINARY;
  if (options.agreements_dir.empty()) options.agreements_dir = TC_AGREEMENTS_DIR;
  auto scratch = MakeTempDir("tradecheck-server");
  if (!scratch.ok()) return scratch.status();
  if (options.data_dir.empty()) options.data_dir = *scratch + "/data";
  const std::string port_file = *scratch + "/port";

  std::unique_ptr<ServerProcess> server(new ServerProcess);
  server->options_ = options;
  server->log_path_ = *scratch + "/server.log";
  auto pid = Spawn(options, port_file, server->log_path_);
  if (!pid.ok()) return pid.status();
  server->pid_ = *pid;
  server->running_ = true;

  const absl::Time deadline = absl::Now() + options.start_timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->running_ = false;
      return absl::FailedPreconditionError(absl::StrCat(
          "tradecheck_server exited before serving (status ", status,
          "): ", server->log()));
    }
    std::string text = ReadFile(port_file);
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      server->port_ = port;
      server->address_ = absl::StrCat("127.0.0.1:", port);
      return server;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  server->Kill().IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("tradecheck_server did not report a port: ", server->log()));
}

absl::StatusOr<int> ServerProcess::RunToExit(ServerProcessOptions options,
                                             std::string* log,
                                             absl::Duration timeout) {
  if (options.binary.empty()) options.binary = TC_SERVER_BINARY;
  if (options.agreements_dir.empty()) options.agreements_dir = TC_AGREEMENTS_DIR;
  auto scratch = MakeTempDir("tradecheck-run");
  if (!scratch.ok()) return scratch.status();
  if (options.data_dir.empty()) options.data_dir = *scratch + "/data";
  std::unique_ptr<ServerProcess> server(new ServerProcess);
  server->options_ = options;
  server->log_path_ = *scratch + "/server.log";
  auto pid = Spawn(options, *scratch + "/port", server->log_path_);
  if (!pid.ok()) return pid.status();
  server->pid_ = *pid;
  server->running_ = true;
  auto code = server->WaitForExit(timeout);
  if (log != nullptr) *log = server->log();
  return code;
}

ServerProcess::~ServerProcess() {
  if (running_) Kill().IgnoreError();
}

std::string ServerProcess::log() const { return ReadFile(log_path_); }

bool ServerProcess::WaitForLog(const std::string& text,
                               absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (log().find(text) == std::string::npos) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

int ServerProcess::metrics_port() const {
  const std::string text = log();
  const std::string marker = "metrics on 127.0.0.1:";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return 0;
  const size_t first = at + marker.size();
  size_t end = first;
  while (end < text.size() && absl::ascii_isdigit(text[end])) ++end;
  int port = 0;
  return absl::SimpleAtoi(text.substr(first, end - first), &port) ? port : 0;
}

absl::Status ServerProcess::Signal(int signal) {
  if (!running_) return absl::FailedPreconditionError("server not running");
  if (kill(pid_, signal) != 0) return absl::InternalError("kill failed");
  return absl::OkStatus();
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      running_ = false;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (absl::Now() > deadline) {
      Kill().IgnoreError();
      return absl::DeadlineExceededError(
          absl::StrCat("server pid ", pid_, " did not exit in time: ", log()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::StatusOr<int> ServerProcess::Stop(absl::Duration timeout) {
  if (!running_) return absl::FailedPreconditionError("server not running");
  if (kill(pid_, SIGTERM) != 0) return absl::InternalError("kill failed");
  return WaitForExit(timeout);
}

absl::Status ServerProcess::Kill() {
  if (!running_) return absl::OkStatus();
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  running_ = false;
  return absl::OkStatus();
}

}  // namespace tradecheck::testing
