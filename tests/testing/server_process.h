// ServerProcess: starts the real tradecheck_server binary for end-to-end
// tests, on 127.0.0.1 with a free port (the server binds port 0 and reports
// the port through --port_file), with a temporary data directory, and stops
// it by its own pid.
//
//   TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
//   auto channel = grpc::CreateChannel(server->address(), ...);
//   ...
//   EXPECT_THAT(server->Stop(), IsOkAndHolds(0));   // SIGTERM, exit code
//
// No gRPC here: tests bring their own channel or client.
#ifndef TRADECHECK_TESTS_TESTING_SERVER_PROCESS_H_
#define TRADECHECK_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"  // MakeTempDir, for tests that use this

namespace tradecheck::testing {

struct ServerProcessOptions {
  // Audit store directory; a new temporary one when empty.
  std::string data_dir;
  // Agreement data; the repository's agreements/ when empty.
  std::string agreements_dir;
  // More flags, e.g. "--grace_period=2s".
  std::vector<std::string> extra_flags;
  // The server binary; the one this build produced when empty.
  std::string binary;
  absl::Duration start_timeout = absl::Seconds(30);
};

class ServerProcess {
 public:
  // Starts the server and waits until it reports its port. Fails with the
  // server's own stderr when it exits first.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      ServerProcessOptions options);

  // Runs the server to its exit (for start-up failures): returns the exit
  // code and, through `log`, what it wrote to stderr.
  static absl::StatusOr<int> RunToExit(ServerProcessOptions options,
                                       std::string* log,
                                       absl::Duration timeout = absl::Seconds(30));

  // Kills the process (SIGKILL) if it is still running.
  ~ServerProcess();

  const std::string& address() const { return address_; }  // "127.0.0.1:N"
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return options_.data_dir; }
  const std::string& agreements_dir() const { return options_.agreements_dir; }
  // Everything the server wrote to stderr so far.
  std::string log() const;
  // Polls the log until it holds `text` or `timeout` passes; whether it
  // does (for lines the server writes after it answers, e.g. background
  // work finished).
  bool WaitForLog(const std::string& text, absl::Duration timeout) const;
  // The port of its metrics endpoint, from the line it logs at start
  // ("metrics on 127.0.0.1:N"); 0 when it logged none.
  int metrics_port() const;

  // Sends `signal` to the server (e.g. SIGHUP to reload).
  absl::Status Signal(int signal);
  // SIGTERM, then waits up to `timeout`; returns the exit code.
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(30));
  // SIGKILL and reap: a crash.
  absl::Status Kill();

 private:
  ServerProcess() = default;
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);

  ServerProcessOptions options_;
  std::string log_path_;
  std::string address_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool running_ = false;
};

}  // namespace tradecheck::testing

#endif  // TRADECHECK_TESTS_TESTING_SERVER_PROCESS_H_
