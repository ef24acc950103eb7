// tradecheck_server: the gRPC front of TradecheckCore.
//
//   tradecheck_server                       # 127.0.0.1:50051, ./tradecheck-data
//   tradecheck_server --listen=127.0.0.1:0 --port_file=/tmp/port
//                     --data_dir=/var/lib/tradecheck
//
// Secure setup (docs/access.md): mutual TLS with the certificate, key and
// client CA named by --tls_cert/--tls_key/--tls_client_ca (re-read when
// they change), and an --access_policy mapping certificate identities to
// roles. Without TLS the server listens only on a loopback address, and
// every caller is the local operator; it refuses to start plaintext on any
// other address.
//
// Signals: SIGHUP reloads the agreement data and the access policy (each
// validated first; what is in force stays on error). SIGTERM / SIGINT: health turns NOT_SERVING, new
// calls are refused, in-flight calls get --grace_period to finish, the store
// is closed cleanly. Exit code 0 on a clean stop, 1 when start-up failed,
// 2 when the listen address could not be bound, 3 when closing the store
// failed.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <systemd/sd-daemon.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/build_info.h"
#include "common/dates.h"
#include "common/install_paths.h"
#include "core/tradecheck_core.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "server/caller_identity.h"
#include "server/listen_address.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/proto_log.h"
#include "server/request_log.h"
#include "server/services.h"
#include "server/tree_head_key.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on; port 0 picks a free port (see --port_file).");
ABSL_FLAG(std::string, port_file, "",
          "When set, the port actually bound is written to this file once "
          "the server is serving.");
ABSL_FLAG(std::string, data_dir, "tradecheck-data",
          "Directory of the audit store (RocksDB); created when missing.");
ABSL_FLAG(std::string, agreements_dir, "",
          "Directory of agreement data files. Default: the bundled set, "
          "../share/tradecheck/agreements from the binary's directory (where "
          "`cmake --install` puts it; the build tree links it to the "
          "source tree's agreements/).");
ABSL_FLAG(absl::Duration, grace_period, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight calls get to finish.");
ABSL_FLAG(int, workers, 2,
          "Worker threads for blocking work (audit reads, verification).");
ABSL_FLAG(int, max_batch, 512,
          "Most audit records group-committed with one fsync.");
ABSL_FLAG(bool, sign_tree_heads, true,
          "Sign a tree head of the audit trail after each group commit "
          "(docs/storage.md). Off only to measure what signing costs.");
ABSL_FLAG(std::string, tree_head_key, "",
          "Ed25519 private key (PKCS#8 PEM) that signs tree heads; must be "
          "outside --data_dir. Default: <data_dir>.tree-head-key.pem, "
          "generated when missing (its public key goes to <key>.pub). Make "
          "one with `openssl genpkey -algorithm ed25519 -out FILE`.");
ABSL_FLAG(std::string, tree_head_log, "",
          "File every signed tree head is appended to, one line each (the "
          "witness to ship elsewhere); outside --data_dir. Default: "
          "<data_dir>.tree-heads.log.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) of the server. With --tls_key and "
          "--tls_client_ca: serve mutual TLS; the files are re-read when "
          "they change.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s) that sign client certificates.");
ABSL_FLAG(int, tls_refresh_seconds, 60,
          "How often the TLS files are checked for changes.");
ABSL_FLAG(std::string, access_policy, "",
          "Access policy file (text tradecheck.v1.AccessPolicy): identity -> "
          "role and scope. Required with TLS; reloaded on SIGHUP.");
ABSL_FLAG(std::string, backup_root, "",
          "Directory under which CreateBackup makes new backups (by name); "
          "empty turns backups off.");
ABSL_FLAG(std::string, candidates_root, "",
          "Directory holding candidate copies of the agreement data, one "
          "directory each, that AdminService.PreviewRuleSet may evaluate "
          "by name; empty turns previews off.");
ABSL_FLAG(bool, reflection, true,
          "Serve gRPC server reflection (grpc.reflection.v1alpha).");
ABSL_FLAG(std::string, log_level, "info",
          "Least severe log line written: debug, info, warning or error. "
          "Every line is a JSON object on stderr; one per RPC at info.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Address of the Prometheus text endpoint (GET /metrics, plain "
          "HTTP, no authentication); port 0 picks a free port (logged). "
          "Empty turns it off.");
// The health service name a liveness probe asks for (see --health_listen).
constexpr char kLivenessService[] = "liveness";

ABSL_FLAG(std::string, health_listen, "",
          "When set, a second, plaintext address that serves only the "
          "standard gRPC health service (the same status as --listen), for "
          "probes that cannot speak TLS, such as Kubernetes' native gRPC "
          "probe. The overall status (service \"\") is readiness: "
          "NOT_SERVING while the store cannot write or the server drains; "
          "service \"liveness\" stays SERVING until the server drains, so "
          "a full disk does not get the process restarted. Empty: off.");
ABSL_FLAG(int, min_free_disk_mb, 128,
          "Free space (MiB) to keep on the data directory's filesystem: "
          "below it checks answer UNAVAILABLE (with a retry delay) and "
          "health NOT_SERVING, reads go on, and writing resumes once space "
          "is back; started below it, the server serves read-only. 0: no "
          "reserve (a full disk then reaches RocksDB).");
ABSL_FLAG(int, max_expensive_calls, 1,
          "Whole-trail verifications and backups running at once (below "
          "--workers); more are refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, retroactive_impact_limit, 10000,
          "Past binding decisions a reload that changes the rule-set "
          "revision evaluates (newest first) for its retroactive-impact "
          "record; the record says when this cut the walk short. 0 to "
          "100000; 0 writes no records.");

namespace tradecheck::server {
namespace {

// Every line goes through the one logger (server/logging.h): JSON lines.
void Log(const std::string& message) { LogInfo(message); }

bool WritePortFile(const std::string& path, int port) {
  // Write then rename, so a reader never sees a half-written port.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.good()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Starts a reload on the core's workers and returns at once, so the signal
// loop stays free to act on SIGTERM while the reload waits or runs.
// Instruments nobody has confirmed since their review date: verdicts they
// decide are NEEDS_REVIEW (DATA-001) until the data owners look again.
void WarnPastReview(const TradecheckCore& core) {
  for (const std::string& what : core.InstrumentsPastReview()) {
    LogWarning(absl::StrCat("agreement data past its review date: ", what));
  }
}

void ReloadAccessPolicy(TradecheckCore& core) {
  if (!core.has_access_policy()) return;
  absl::StatusOr<int> grants = core.ReloadAccessPolicy();
  if (!grants.ok()) {
    LogError(absl::StrCat(
        "access policy reload refused, policy in force unchanged: ",
        grants.status().ToString()));
  } else {
    Log(absl::StrCat("access policy reloaded: ", *grants, " grants"));
  }
}

// What an activation's retroactive-impact walk found (a reload's, or the
// one a start on changed agreement files runs).
void LogRetroactiveImpact(const v1::ReloadRuleSetResponse& r) {
  if (!r.retroactive_impact_error().empty()) {
    LogError(r.retroactive_impact_error());
  } else if (!r.retroactive_impact_id().empty()) {
    Log(absl::StrCat("retroactive impact ", r.retroactive_impact_id(), ": ",
                     r.retroactive_verdicts_changed(), " of ",
                     r.retroactive_decisions_evaluated(),
                     " past verdicts differ under the new revision"));
  } else if (r.retroactive_decisions_evaluated() > 0) {
    Log(absl::StrCat("retroactive impact: none of ",
                     r.retroactive_decisions_evaluated(),
                     " past verdicts differ under the new revision"));
  }
}

void ReloadRules(TradecheckCore& core) {
  core.ReloadRuleSet([&core](absl::StatusOr<v1::ReloadRuleSetResponse> r) {
    if (!r.ok()) {
      LogError(absl::StrCat("reload refused, rule set in force unchanged: ",
                            r.status().ToString()));
      return;
    }
    // Also when this reload changed nothing: a SIGHUP on the same files is
    // how an operator retries an activation whose record could not be
    // written, and the log is all a SIGHUP answers with.
    if (r->earlier_activation_accounted()) {
      const std::string what = absl::StrCat(
          "the activation before this reload was not on record; accounted "
          "for first: ",
          !r->earlier_retroactive_impact_id().empty()
              ? absl::StrCat("retroactive impact ",
                             r->earlier_retroactive_impact_id())
          : !r->earlier_retroactive_impact_error().empty()
              ? absl::StrCat("no record: ",
                             r->earlier_retroactive_impact_error())
              : std::string("no past verdict differed under it"));
      if (r->earlier_retroactive_impact_error().empty()) {
        Log(what);
      } else {
        LogError(what);
      }
    }
    if (r->changed()) {
      Log(absl::StrCat("rule set reloaded: revision ", r->previous_revision(),
                       " -> ", r->rule_set().revision()));
      LogRetroactiveImpact(*r);
      WarnPastReview(core);
    } else {
      Log(absl::StrCat("rule set unchanged: revision ",
                       r->rule_set().revision()));
    }
  });
}

// The agreement files may have changed while the server was down: the
// store's active revision says which one was accounted for last.
void AccountForRulesSinceLastRun(TradecheckCore& core) {
  core.RecordImpactSinceLastRun(
      [](absl::StatusOr<v1::ReloadRuleSetResponse> r) {
        if (!r.ok()) {
          LogError(absl::StrCat(
              "cannot tell what the rule set in force changed for the past "
              "since the last run: ",
              r.status().ToString()));
        } else if (r->changed()) {
          Log(absl::StrCat("rule set changed while the server was down: "
                           "revision ",
                           r->previous_revision(), " -> ",
                           r->rule_set().revision()));
          LogRetroactiveImpact(*r);
        } else {
          Log(absl::StrCat("rule set revision ", r->rule_set().revision(),
                           " was in force before this start too"));
        }
      });
}

// Linking gRPC's reflection library registers its plugin with every
// ServerBuilder, whether or not InitProtoReflectionServerBuilderPlugin() is
// called; --reflection=false removes it through this builder option.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(
      std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins)
      override {
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(),
                       [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                         return p->name() == "proto_server_reflection";
                       }),
        plugins->end());
  }
};

int Run() {
  // Signals are taken by sigwait() on this thread only: block them before
  // any other thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status logging = InitLogging(absl::GetFlag(FLAGS_log_level));
      !logging.ok()) {
    LogError(absl::StrCat("cannot start: ", logging.message()));
    return 1;
  }
  const std::string listen = absl::GetFlag(FLAGS_listen);
  // Flags are checked before anything is created on disk: a bad --listen
  // must not leave an empty store or a generated key behind.
  if (absl::Status usable = CheckListenAddress(listen); !usable.ok()) {
    LogError(absl::StrCat("cannot listen on ", listen, ": ", usable.message()));
    return 2;
  }
  const std::string health_listen = absl::GetFlag(FLAGS_health_listen);
  if (!health_listen.empty()) {
    if (absl::Status usable =
            CheckListenAddress(health_listen, "--health_listen");
        !usable.ok()) {
      LogError(absl::StrCat("cannot listen: ", usable.message()));
      return 2;
    }
  }
  std::string agreements_dir = absl::GetFlag(FLAGS_agreements_dir);
  if (agreements_dir.empty()) {
    absl::StatusOr<std::string> bundled = DefaultAgreementsDir();
    if (!bundled.ok()) {
      LogError(absl::StrCat("cannot start: ", bundled.status().message()));
      return 1;
    }
    agreements_dir = *bundled;
  }
  const std::string tls_cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string tls_key = absl::GetFlag(FLAGS_tls_key);
  const std::string tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  const int tls_files =
      !tls_cert.empty() + !tls_key.empty() + !tls_client_ca.empty();
  const bool tls = tls_files == 3;
  if (tls_files != 0 && !tls) {
    LogError("cannot start: --tls_cert, --tls_key and --tls_client_ca go "
        "together (mutual TLS needs all three)");
    return 1;
  }
  if (!tls && !IsLoopbackListenAddress(listen)) {
    LogError(absl::StrCat(
        "cannot start: refusing plaintext on ", listen,
        ", which is not a loopback address: anyone who reaches it could "
        "check, read and back up as the local operator. Serve mutual TLS "
        "(--tls_cert, --tls_key, --tls_client_ca, --access_policy; "
        "deploy/make-dev-certs.sh makes a development set) or listen on "
        "127.0.0.1 / [::1] / localhost"));
    return 1;
  }
  if (tls && absl::GetFlag(FLAGS_access_policy).empty()) {
    LogError("cannot start: TLS needs --access_policy (without it no "
        "certificate holds a role and every call would be denied)");
    return 1;
  }
  if (!tls && !absl::GetFlag(FLAGS_access_policy).empty()) {
    LogError("cannot start: --access_policy needs TLS (plaintext callers have "
        "no certificate to name them)");
    return 1;
  }

  // Gauges read the core once it serves; until then (and after the
  // drain) a scrape gets the counters only.
  std::atomic<const TradecheckCore*> serving_core{nullptr};
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  Metrics metrics([&serving_core, data_dir] {
    const TradecheckCore* core = serving_core.load();
    return core == nullptr ? std::string() : RenderCoreGauges(*core, data_dir);
  });
  std::unique_ptr<MetricsHttpServer> metrics_http;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_listen);
      !address.empty()) {
    auto started = MetricsHttpServer::Start(address, &metrics);
    if (!started.ok()) {
      LogError(absl::StrCat("cannot listen: ", started.status().message()));
      return 2;
    }
    metrics_http = std::move(*started);
    Log(absl::StrCat("metrics on ", address.substr(0, address.rfind(':')),
                     ":", metrics_http->port(), " (GET /metrics)"));
  }
  const int retroactive_impact_limit =
      absl::GetFlag(FLAGS_retroactive_impact_limit);
  if (retroactive_impact_limit < 0 ||
      retroactive_impact_limit > kMaxPreviewDecisions) {
    LogError(absl::StrCat("cannot start: --retroactive_impact_limit is ",
                          retroactive_impact_limit, "; must be 0 to ",
                          kMaxPreviewDecisions));
    return 1;
  }
  CoreOptions options;
  options.retroactive_impact_limit = retroactive_impact_limit;
  options.access_policy_path = absl::GetFlag(FLAGS_access_policy);
  options.backup_root = absl::GetFlag(FLAGS_backup_root);
  options.candidates_root = absl::GetFlag(FLAGS_candidates_root);
  options.max_expensive_calls = absl::GetFlag(FLAGS_max_expensive_calls);
  options.access_log = [](const std::string& line) { LogWarning(line); };
  options.agreements_dir = agreements_dir;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.worker_threads = absl::GetFlag(FLAGS_workers);
  options.max_batch = absl::GetFlag(FLAGS_max_batch);
  options.store_log = [](bool error, const std::string& message) {
    error ? LogError(message) : LogWarning(message);
  };
  options.on_commit = [&metrics](const storage::CommitObservation& commit) {
    metrics.OnCommit(commit);
  };
  options.min_free_disk_bytes =
      static_cast<uint64_t>(std::max(0, absl::GetFlag(FLAGS_min_free_disk_mb)))
      << 20;
#ifdef TC_BENCHMARK_SKIP_STORE
  // The benchmark-only binary (bench/CMakeLists.txt): never shipped.
  options.benchmark_skip_store = true;
  Log("BENCHMARK BUILD: checks are answered but NOT recorded");
#endif
  if (absl::GetFlag(FLAGS_sign_tree_heads)) {
    auto heads = SetUpTreeHeads(options.data_dir,
                                absl::GetFlag(FLAGS_tree_head_key),
                                absl::GetFlag(FLAGS_tree_head_log));
    if (!heads.ok()) {
      LogError(absl::StrCat("cannot start: ", heads.status().ToString()));
      return 1;
    }
    if (heads->generated) {
      Log(absl::StrCat("generated a tree-head signing key at ",
                       heads->key_path,
                       "; move it somewhere safe and pass --tree_head_key"));
    }
    Log(absl::StrCat("signing tree heads with ", heads->key_path,
                     " (public key: ", heads->public_key_path,
                     "); tree-head log: ", heads->log_path));
    options.tree_head_signer = heads->signer;
    options.tree_head_log = heads->log_path;
  }
  auto core = TradecheckCore::Create(options);
  if (!core.ok()) {
    LogError(absl::StrCat("cannot start: ", core.status().ToString()));
    return 1;
  }

  InstallRateLimitedProtobufLog();
  // Health stays open to every caller (no certificate needed): it says
  // only whether the server is serving.
  grpc::EnableDefaultHealthCheckService(true);
  if (absl::GetFlag(FLAGS_reflection)) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  const CallerResolver callers(core->get(), tls);
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(NewComplianceService(core->get(), &callers));
  services.push_back(NewAuditService(core->get(), &callers));
  services.push_back(NewAgreementService(core->get(), &callers));
  services.push_back(NewAdminService(core->get(), &callers));

  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  if (tls) {
    // gRPC's own provider re-reads the files when they change, so a
    // renewed certificate or CA needs no restart.
    auto provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            tls_key, tls_cert, tls_client_ca,
            static_cast<unsigned>(
                std::max(1, absl::GetFlag(FLAGS_tls_refresh_seconds))));
    grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
    tls_options.watch_root_certs();
    tls_options.watch_identity_key_cert_pairs();
    // A certificate is verified against the client CA whenever one is
    // presented; a caller without one still completes the handshake, so
    // health answers it and every other call says UNAUTHENTICATED
    // (core/access.h) instead of a bare connection failure.
    tls_options.set_cert_request_type(
        GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    credentials = grpc::experimental::TlsServerCredentials(tls_options);
  }

  grpc::ServerBuilder builder;
  if (!absl::GetFlag(FLAGS_reflection)) {
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  // gRPC sets SO_REUSEPORT by default: a second server on the same port
  // would start "successfully" and steal connections. Fail loudly instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The largest valid declaration encodes to about 1.2 MB (the limits in
  // declaration.proto); 2 MiB leaves room for the request around it and
  // refuses anything bigger with RESOURCE_EXHAUSTED before it is parsed,
  // instead of gRPC's 4 MiB default.
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  for (auto& service : services) builder.RegisterService(service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(NewRequestLogFactory(
      &callers, [&metrics](const RpcRecord& record) { metrics.OnRpc(record); }));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LogError(absl::StrCat("cannot listen on ", listen,
                     " (address in use, or not a valid address)"));
    (*core)->Shutdown().IgnoreError();
    return 2;
  }
  // Health only, plaintext: reveals nothing but whether the server serves.
  std::unique_ptr<grpc::Server> health_server;
  grpc::CallbackGenericService health_only;
  if (!health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.SetOption(std::make_unique<WithoutReflection>());
    // gRPC refuses to build a server with no service of its own (the
    // health service is added at start); every other method is
    // UNIMPLEMENTED here.
    health_builder.RegisterCallbackGenericService(&health_only);
    int health_port = 0;
    health_builder.AddListeningPort(
        health_listen, grpc::InsecureServerCredentials(), &health_port);
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      LogError(absl::StrCat("cannot listen on --health_listen=", health_listen));
      server->Shutdown();
      (*core)->Shutdown().IgnoreError();
      return 2;
    }
    Log(absl::StrCat("health (plaintext) on port ", health_port));
  }
  serving_core.store(core->get());
  v1::RuleSetInfo info = (*core)->GetRuleSet();
  Log(absl::StrCat("serving on port ", port, " (", listen, ", ",
                   tls ? "mutual TLS, access policy " + options.access_policy_path
                       : "plaintext on loopback, every caller local",
                   "); data_dir=",
                   options.data_dir, "; agreements_dir=", options.agreements_dir,
                   "; rule-set revision ", info.revision(),
                   info.has_data_current_through()
                       ? absl::StrCat(", data current through ",
                                      FormatDate(info.data_current_through()))
                       : absl::StrCat(
                             ", sources searched for new measures through ",
                             FormatDate(info.new_measures_reviewed_through()))));
  WarnPastReview(**core);
  // The port file says the server is up: written after the line above, so
  // whoever waits for it finds that line in the log.
  const std::string& port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    LogError(absl::StrCat("cannot write --port_file ", port_file));
  }
  AccountForRulesSinceLastRun(**core);
  // Type=notify units (deploy/tradecheck.service.in): started means
  // serving. A no-op outside systemd (no NOTIFY_SOCKET).
  sd_notifyf(0, "READY=1\nSTATUS=serving on port %d", port);

  // Health follows whether the store can write (free space, I/O errors):
  // NOT_SERVING tells a balancer to send checks elsewhere while reads here
  // still work.
  // Both ports answer the same: "" (readiness) follows the store, and
  // "liveness" only says the process is up and not draining.
  std::vector<grpc::Server*> health_ports = {server.get()};
  if (health_server != nullptr) health_ports.push_back(health_server.get());
  for (grpc::Server* s : health_ports) {
    s->GetHealthCheckService()->SetServingStatus(kLivenessService, true);
  }
  absl::Notification stop_health;
  std::thread health([&] {
    bool serving = true;
    do {
      const bool writable = (*core)->StoreWritable();
      if (writable != serving) {
        serving = writable;
        for (grpc::Server* s : health_ports) {
          s->GetHealthCheckService()->SetServingStatus("", serving);
        }
        Log(serving ? "the audit store can write again: SERVING"
                    : "the audit store cannot write (see --min_free_disk_mb): "
                      "NOT_SERVING, checks answer UNAVAILABLE, reads go on");
      }
    } while (!stop_health.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });

  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      ReloadAccessPolicy(**core);
      ReloadRules(**core);
      continue;
    }
    Log(absl::StrCat("signal ", signal, ": draining for up to ",
                     absl::FormatDuration(absl::GetFlag(FLAGS_grace_period))));
    break;
  }
  sd_notify(0, "STOPPING=1");
  stop_health.Notify();
  health.join();
  server->GetHealthCheckService()->SetServingStatus(false);
  if (health_server != nullptr) {
    health_server->GetHealthCheckService()->SetServingStatus(false);
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() +
                                      absl::GetFlag(FLAGS_grace_period)));
  server->Wait();
  if (health_server != nullptr) health_server->Shutdown();
  serving_core.store(nullptr);
  metrics_http.reset();
  absl::Status closed = (*core)->Shutdown();
  if (!closed.ok()) {
    LogError(absl::StrCat("store did not close cleanly: ", closed.ToString()));
    return 3;
  }
  Log("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace tradecheck::server

int main(int argc, char** argv) {
  // --help lists this file's flags only (--helpfull adds gRPC's and
  // Abseil's); --version names the version, commit and build type.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/server_main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.version_string = [] {
    return tradecheck::VersionText("tradecheck_server");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Serves the tradecheck v1 API (compliance checks, audit trail, "
      "agreements). Starts with no flags: 127.0.0.1:50051, ./tradecheck-data, "
      "the bundled agreement data.");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with mutex deadlock detection on, which keeps
  // a global lock-order graph updated on every Mutex acquisition: a
  // debugging aid that costs every request. Tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return tradecheck::server::Run();
}
