// The `tradecheck` command line, minus flag parsing (flags are defined only
// in tradecheck_main.cc, which fills CliOptions). Kept apart from main so the
// commands can be tested against a client over mock stubs.
//
// Commands, output and exit codes are documented in HelpText() and
// docs/cli.md; keep the three in step.
#ifndef TRADECHECK_CLIENT_CLI_H_
#define TRADECHECK_CLIENT_CLI_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/tradecheck_client.h"

namespace tradecheck::cli {

// Exit codes a script can branch on. Outcomes are 0/10/11; failures 1-3.
enum ExitCode : int {
  kExitAllow = 0,          // ALLOW; any other command: success
  kExitUsage = 1,          // bad command line (Abseil's flag parser also
                           // exits 1 on an unknown or malformed flag)
  kExitInput = 2,          // unreadable file, invalid JSON, unknown or
                           // missing field, or the server rejected the
                           // input (INVALID_ARGUMENT, ALREADY_EXISTS)
  kExitServer = 3,         // server unreachable, deadline, or other RPC error
  kExitDeny = 10,          // DENY (batch: at least one, and no errors)
  kExitNeedsReview = 11,   // NEEDS_REVIEW (batch: at least one, no DENY)
  kExitAuditMismatch = 12  // audit verify found a broken chain, or audit
                           // reevaluate did not reproduce the stored verdict
};

struct CliOptions {
  ClientOptions client;
  bool json = false;
  bool validate_only = false;
  bool batch = false;
  // Show batch progress on stderr (main sets it when stderr is a terminal).
  bool progress = false;

  // audit list filters; empty / 0 = not filtered.
  std::string exporter;
  std::string importer;
  std::string origin;
  std::string hs_prefix;
  std::string outcome;  // allow | deny | needs_review
  std::string rule;
  std::string from;  // YYYY-MM-DD or RFC 3339; recorded_at >= from
  std::string to;    // recorded_at < to
  std::string revision;
  std::string stream;  // binding | validate_only
  std::string declaration;     // declaration_id
  std::string governing_from;  // YYYY-MM-DD, inclusive
  std::string governing_to;    // YYYY-MM-DD, inclusive
  std::string caller;          // identity that submitted the check
  std::string role;            // customs | exporter | auditor | admin | local
  // (destination: the measures field below, also an audit list filter)
  std::string duty_min;  // "2500.00" (USD) or "EUR 2500.00"
  std::string duty_max;
  int32_t page_size = 0;
  // audit list: "asc" (oldest first) or "desc"/"" (newest first).
  std::string order;
  int64_t limit = 0;

  // audit verify range.
  uint64_t from_sequence = 0;
  uint64_t to_sequence = 0;

  // The verifiable log (audit verify --offline, verify-heads, proof).
  bool offline = false;
  std::string trail;       // backup / checkpoint / stopped store directory
  std::string head;        // file of tree-head lines (one head or a log)
  std::string public_key;  // Ed25519 public key PEM file
  std::string log;         // tree-head log file (verify-heads)

  // audit report: --from/--to are governing dates (inclusive).
  std::string group_by;  // "outcome,origin"
  std::string format;    // table | csv | html
  std::string output;    // file to write; empty: stdout

  // agreements list.
  std::string as_of;  // YYYY-MM-DD

  // measures HS_CODE (with --origin).
  std::string date;            // YYYY-MM-DD; empty: today on the server
  std::string destination;     // empty: any (also an audit list filter)
  std::string export_country;  // empty: the origin
  std::string kind;            // import | export; empty: both

  // rules preview DIR (with --limit).
  std::string since;  // recorded_at >= since
  std::string until;  // recorded_at < until
};

struct CliIo {
  std::istream& in;   // read for "-" (stdin)
  std::ostream& out;  // results
  std::ostream& err;  // diagnostics, progress, batch summary with --json
};

using ClientFactory =
    std::function<absl::StatusOr<std::unique_ptr<TradecheckClient>>(
        const ClientOptions&)>;

// Runs one command. `args` are the positional arguments after the program
// name ("check", "decl.json"). The client is created only once the input
// is known to be good, so bad input never opens a connection.
int RunCli(const std::vector<std::string>& args, const CliOptions& options,
           CliIo& io, const ClientFactory& make_client);

// The --help text: usage, commands, options, exit codes.
std::string HelpText();

}  // namespace tradecheck::cli

#endif  // TRADECHECK_CLIENT_CLI_H_
