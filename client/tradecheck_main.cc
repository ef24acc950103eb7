// tradecheck: the command line for customs systems, exporters and auditors.
// Flags are defined here and nowhere else; the commands are in cli.cc.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/time/time.h"
#include "client/cli.h"
#include "client/tradecheck_client.h"
#include "common/build_info.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "server address");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call");
ABSL_FLAG(absl::Duration, stream_timeout, absl::Minutes(30),
          "deadline of a whole --batch stream");
ABSL_FLAG(bool, tls, false, "use TLS (implied by --ca, --cert, --key)");
ABSL_FLAG(std::string, ca_cert, "", "PEM CA certificate(s) to trust (--tls)");
ABSL_FLAG(std::string, ca, "",
          "mutual TLS: PEM CA certificate(s) to trust (env TRADECHECK_CA)");
ABSL_FLAG(std::string, cert, "",
          "mutual TLS: PEM client certificate (env TRADECHECK_CERT)");
ABSL_FLAG(std::string, key, "",
          "mutual TLS: PEM private key of --cert (env TRADECHECK_KEY)");
ABSL_FLAG(int, max_attempts, 4,
          "attempts for calls that are safe to retry on UNAVAILABLE");
ABSL_FLAG(bool, json, false, "machine-readable JSON output");
ABSL_FLAG(bool, validate_only, false, "check: dry run, binds nothing");
ABSL_FLAG(bool, batch, false, "check: FILE holds one declaration per line");
ABSL_FLAG(std::string, exporter, "", "audit list: exporter id");
ABSL_FLAG(std::string, importer, "", "audit list: importer id");
ABSL_FLAG(std::string, origin, "", "audit list: origin country");
ABSL_FLAG(std::string, hs_prefix, "", "audit list: HS code prefix");
ABSL_FLAG(std::string, outcome, "", "audit list: allow|deny|needs_review");
ABSL_FLAG(std::string, rule, "", "audit list: rule id in a finding");
ABSL_FLAG(std::string, from, "",
          "audit list: recorded at or after; audit report: first governing "
          "date");
ABSL_FLAG(std::string, to, "",
          "audit list: recorded before; audit report: last governing date");
ABSL_FLAG(std::string, declaration, "", "audit list: declaration id");
ABSL_FLAG(std::string, order, "",
          "audit list: asc or desc (recorded time, oldest or newest first, "
          "default desc), governing-asc or governing-desc (governing date)");
ABSL_FLAG(std::string, governing_from, "",
          "audit list: governing date on or after (YYYY-MM-DD)");
ABSL_FLAG(std::string, governing_to, "",
          "audit list: governing date on or before (YYYY-MM-DD)");
ABSL_FLAG(std::string, caller, "", "audit list: identity that checked");
ABSL_FLAG(std::string, role, "", "audit list: role of that identity");
ABSL_FLAG(std::string, duty_min, "", "audit list: total duty at least");
ABSL_FLAG(std::string, duty_max, "", "audit list: total duty at most");
ABSL_FLAG(std::string, group_by, "", "audit report: dimensions, comma-separated");
ABSL_FLAG(std::string, format, "table", "audit report: table|csv|html");
ABSL_FLAG(std::string, output, "", "audit report: write to this file");
ABSL_FLAG(std::string, revision, "", "audit list: rule-set revision");
ABSL_FLAG(std::string, stream, "", "audit: binding|validate_only");
ABSL_FLAG(int32_t, page_size, 0, "audit list: decisions per request");
ABSL_FLAG(int64_t, limit, 0, "audit list: stop after this many");
ABSL_FLAG(uint64_t, from_sequence, 0, "audit verify: first sequence");
ABSL_FLAG(uint64_t, to_sequence, 0, "audit verify: last sequence");
ABSL_FLAG(bool, offline, false,
          "audit verify: check a backup directory (--trail) against signed "
          "tree heads, with no server");
ABSL_FLAG(std::string, trail, "",
          "audit verify --offline: backup, checkpoint or stopped store dir");
ABSL_FLAG(std::string, head, "",
          "audit verify --offline: file of signed tree-head lines");
ABSL_FLAG(std::string, public_key, "",
          "audit verify --offline, verify-heads, proof: the server's Ed25519 "
          "public key (PEM)");
ABSL_FLAG(std::string, log, "", "audit verify-heads: tree-head log file");
ABSL_FLAG(std::string, as_of, "", "agreements list: status date");
ABSL_FLAG(std::string, date, "", "measures: governing date (YYYY-MM-DD)");
ABSL_FLAG(std::string, destination, "",
          "measures, audit list: destination country");
ABSL_FLAG(std::string, export_country, "",
          "measures: exporting country, when not the origin");
ABSL_FLAG(std::string, kind, "", "measures: import|export");
ABSL_FLAG(std::string, since, "", "rules preview: recorded at or after");
ABSL_FLAG(std::string, until, "", "rules preview: recorded before");

namespace {

// Abseil flag names cannot hold '-'; the documented spellings do
// (--validate-only, --ca-cert). Rewrites the name part of each flag before
// "--"; values are left alone.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t start = arg[1] == '-' ? 2 : 1;
    const size_t end = std::min(arg.find('='), arg.size());
    for (size_t j = start; j < end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  return args;
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "--help" || args[i] == "-h" || args[i] == "-help" ||
        args[i] == "--helpfull") {
      return true;
    }
  }
  return args.size() >= 2 && args[1] == "help";
}

// The flag's value, else the environment variable's, else empty.
std::string FlagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return value == nullptr ? "" : value;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> normalized = NormalizeFlagNames(argc, argv);
  if (WantsHelp(normalized)) {
    std::cout << tradecheck::cli::HelpText();
    return tradecheck::cli::kExitAllow;
  }
  std::vector<char*> raw;
  for (std::string& arg : normalized) raw.push_back(arg.data());
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return tradecheck::VersionText("tradecheck"); };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "check declarations and query the audit trail; see tradecheck --help");
  // Exits with 1 (kExitUsage) on an unknown or malformed flag.
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(raw.size()), raw.data());

  tradecheck::cli::CliOptions options;
  options.client.server = absl::GetFlag(FLAGS_server);
  if (const char* env = std::getenv("TRADECHECK_SERVER");
      env != nullptr && options.client.server == "127.0.0.1:50051") {
    options.client.server = env;
  }
  options.client.timeout = absl::GetFlag(FLAGS_timeout);
  options.client.stream_timeout = absl::GetFlag(FLAGS_stream_timeout);
  options.client.tls = absl::GetFlag(FLAGS_tls);
  options.client.ca_cert_file = absl::GetFlag(FLAGS_ca_cert);
  // Mutual TLS: flags first, then TRADECHECK_CA / _CERT / _KEY.
  const std::string ca = FlagOrEnv(absl::GetFlag(FLAGS_ca), "TRADECHECK_CA");
  if (!ca.empty()) options.client.ca_cert_file = ca;
  options.client.cert_file =
      FlagOrEnv(absl::GetFlag(FLAGS_cert), "TRADECHECK_CERT");
  options.client.key_file = FlagOrEnv(absl::GetFlag(FLAGS_key), "TRADECHECK_KEY");
  if (!ca.empty() || !options.client.cert_file.empty() ||
      !options.client.key_file.empty()) {
    options.client.tls = true;
  }
  options.client.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.json = absl::GetFlag(FLAGS_json);
  options.validate_only = absl::GetFlag(FLAGS_validate_only);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.progress = isatty(STDERR_FILENO) == 1;
  options.exporter = absl::GetFlag(FLAGS_exporter);
  options.importer = absl::GetFlag(FLAGS_importer);
  options.origin = absl::GetFlag(FLAGS_origin);
  options.hs_prefix = absl::GetFlag(FLAGS_hs_prefix);
  options.declaration = absl::GetFlag(FLAGS_declaration);
  options.governing_from = absl::GetFlag(FLAGS_governing_from);
  options.governing_to = absl::GetFlag(FLAGS_governing_to);
  options.caller = absl::GetFlag(FLAGS_caller);
  options.role = absl::GetFlag(FLAGS_role);
  options.duty_min = absl::GetFlag(FLAGS_duty_min);
  options.duty_max = absl::GetFlag(FLAGS_duty_max);
  options.group_by = absl::GetFlag(FLAGS_group_by);
  options.format = absl::GetFlag(FLAGS_format);
  options.output = absl::GetFlag(FLAGS_output);
  options.outcome = absl::GetFlag(FLAGS_outcome);
  options.rule = absl::GetFlag(FLAGS_rule);
  options.from = absl::GetFlag(FLAGS_from);
  options.to = absl::GetFlag(FLAGS_to);
  options.revision = absl::GetFlag(FLAGS_revision);
  options.stream = absl::GetFlag(FLAGS_stream);
  options.page_size = absl::GetFlag(FLAGS_page_size);
  options.order = absl::GetFlag(FLAGS_order);
  options.limit = absl::GetFlag(FLAGS_limit);
  options.from_sequence = absl::GetFlag(FLAGS_from_sequence);
  options.offline = absl::GetFlag(FLAGS_offline);
  options.trail = absl::GetFlag(FLAGS_trail);
  options.head = absl::GetFlag(FLAGS_head);
  options.public_key = absl::GetFlag(FLAGS_public_key);
  options.log = absl::GetFlag(FLAGS_log);
  options.to_sequence = absl::GetFlag(FLAGS_to_sequence);
  options.as_of = absl::GetFlag(FLAGS_as_of);
  options.date = absl::GetFlag(FLAGS_date);
  options.destination = absl::GetFlag(FLAGS_destination);
  options.export_country = absl::GetFlag(FLAGS_export_country);
  options.kind = absl::GetFlag(FLAGS_kind);
  options.since = absl::GetFlag(FLAGS_since);
  options.until = absl::GetFlag(FLAGS_until);

  std::vector<std::string> args(positional.begin() + 1, positional.end());
  tradecheck::cli::CliIo io{std::cin, std::cout, std::cerr};
  const int code = tradecheck::cli::RunCli(
      args, options, io, [](const tradecheck::ClientOptions& client_options) {
        return tradecheck::TradecheckClient::Create(client_options);
      });
  std::cout.flush();
  return code;
}
