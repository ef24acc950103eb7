#include "server/metrics.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "httplib.h"
#include "server/listen_address.h"

namespace tradecheck::server {
namespace {

// RPC latency: 0.5 ms to 10 s; a check on this machine takes about 1-3 ms.
const std::vector<double> kSecondsBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,  0.1,    0.25,  0.5,
                                            1,      2.5,   5,      10};
// fsync: 0.1 ms to 1 s (about 0.35 ms on this machine's disk).
const std::vector<double> kWriteBounds = {0.0001, 0.00025, 0.0005, 0.001,
                                          0.0025, 0.005,   0.01,   0.025,
                                          0.05,   0.1,     0.25,   1};
// Records per group commit, up to --max_batch (512 by default).
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

const char* const kStreams[2] = {"binding", "validate_only"};

// A Prometheus number: integers without a fraction, others with %g.
std::string Number(double value) { return absl::StrFormat("%.17g", value); }

void Header(std::string* out, const char* name, const char* type,
            const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

void Counters(std::string* out, const char* name,
              const std::map<std::string, uint64_t>& values) {
  for (const auto& [labels, value] : values) {
    absl::StrAppend(out, name, "{", labels, "} ", value, "\n");
  }
}

}  // namespace

std::string LabelValue(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_->size() && value > (*bounds_)[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& labels,
                       std::string* out) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_->size() ? Number((*bounds_)[i]) : "+Inf";
    absl::StrAppend(out, name, "_bucket{", labels, sep, "le=\"", le, "\"} ",
                    cumulative, "\n");
  }
  const std::string braces = labels.empty() ? "" : absl::StrCat("{", labels, "}");
  absl::StrAppend(out, name, "_sum", braces, " ", Number(sum_), "\n", name,
                  "_count", braces, " ", count_, "\n");
}

Metrics::Metrics(GaugeSource gauges)
    : gauges_(std::move(gauges)),
      commit_records_(&kBatchBounds),
      commit_queue_seconds_(&kWriteBounds),
      commit_stage_seconds_(&kWriteBounds) {}

void Metrics::OnRpc(const RpcRecord& record) {
  const std::string labels =
      absl::StrCat("method=\"", LabelValue(record.method), "\",code=\"",
                   StatusCodeName(record.status_code), "\"");
  absl::MutexLock lock(&mu_);
  ++rpcs_[labels];
  rpc_seconds_.try_emplace(labels, &kSecondsBounds)
      .first->second.Observe(record.seconds);
  for (const auto& [outcome, count] : record.outcomes) {
    verdicts_[absl::StrCat("outcome=\"", LabelValue(outcome), "\"")] += count;
  }
  for (const auto& [rule, count] : record.rule_hits) {
    rule_hits_[absl::StrCat("rule=\"", LabelValue(rule), "\"")] += count;
  }
}

void Metrics::OnCommit(const storage::CommitObservation& commit) {
  absl::MutexLock lock(&mu_);
  commit_records_.Observe(
      static_cast<double>(commit.records[0] + commit.records[1]));
  commit_seconds_
      .try_emplace(commit.synced ? "synced=\"true\"" : "synced=\"false\"",
                   &kWriteBounds)
      .first->second.Observe(commit.write_seconds);
  commit_queue_seconds_.Observe(commit.queue_seconds);
  commit_stage_seconds_.Observe(commit.stage_seconds);
  for (int i = 0; i < 2; ++i) {
    records_[i] += commit.records[i];
    record_bytes_[i] += commit.record_bytes[i];
  }
}

std::string Metrics::Render() const {
  std::string out;
  {
    absl::MutexLock lock(&mu_);
    Header(&out, "tradecheck_rpc_total", "counter",
           "RPCs finished, by method and status code.");
    Counters(&out, "tradecheck_rpc_total", rpcs_);
    Header(&out, "tradecheck_rpc_duration_seconds", "histogram",
           "Time from the call's start to its status, by method and code.");
    for (const auto& [labels, histogram] : rpc_seconds_) {
      histogram.Render("tradecheck_rpc_duration_seconds", labels, &out);
    }
    Header(&out, "tradecheck_verdicts_total", "counter",
           "Verdicts returned (unary, batch and stream), by outcome.");
    Counters(&out, "tradecheck_verdicts_total", verdicts_);
    Header(&out, "tradecheck_rule_hits_total", "counter",
           "Findings in returned verdicts, by catalogue rule id.");
    Counters(&out, "tradecheck_rule_hits_total", rule_hits_);
    Header(&out, "tradecheck_group_commit_records", "histogram",
           "Audit records per group commit (one WriteBatch each).");
    commit_records_.Render("tradecheck_group_commit_records", "", &out);
    Header(&out, "tradecheck_group_commit_write_seconds", "histogram",
           "Time to write one group commit, with its fsync when synced.");
    for (const auto& [labels, histogram] : commit_seconds_) {
      histogram.Render("tradecheck_group_commit_write_seconds", labels, &out);
    }
    Header(&out, "tradecheck_group_commit_queue_seconds", "histogram",
           "How long the oldest record of a group commit waited for the "
           "writer (the group commits before it).");
    commit_queue_seconds_.Render("tradecheck_group_commit_queue_seconds", "",
                                 &out);
    Header(&out, "tradecheck_group_commit_stage_seconds", "histogram",
           "Time to stage one group commit before its write: sequences, "
           "hashes, indexes, the signed tree head.");
    commit_stage_seconds_.Render("tradecheck_group_commit_stage_seconds", "",
                                 &out);
    Header(&out, "tradecheck_records_written_total", "counter",
           "Audit records made durable since start, by stream.");
    Header(&out, "tradecheck_record_bytes_written_total", "counter",
           "Encoded bytes of those records (without indexes), by stream.");
    for (int i = 0; i < 2; ++i) {
      absl::StrAppend(&out, "tradecheck_records_written_total{stream=\"",
                      kStreams[i], "\"} ", records_[i], "\n",
                      "tradecheck_record_bytes_written_total{stream=\"",
                      kStreams[i], "\"} ", record_bytes_[i], "\n");
    }
  }
  if (gauges_) out += gauges_();
  return out;
}

std::string RenderCoreGauges(const TradecheckCore& core,
                             const std::string& data_dir) {
  std::string out;
  const v1::GetStoreStatsResponse stats = core.GetStoreStats();
  Header(&out, "tradecheck_stream_records", "gauge",
         "Records in each audit stream (its newest durable sequence).");
  absl::StrAppend(&out, "tradecheck_stream_records{stream=\"binding\"} ",
                  stats.binding_head_sequence(), "\n",
                  "tradecheck_stream_records{stream=\"validate_only\"} ",
                  stats.validate_only_head_sequence(), "\n");

  // The store's files on disk (SSTs, WAL, manifest): what a volume holds.
  uint64_t bytes = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const uintmax_t size = it->file_size(size_error);
      if (!size_error) bytes += size;
    }
  }
  Header(&out, "tradecheck_store_bytes", "gauge",
         "Bytes of the audit store's files under --data_dir.");
  absl::StrAppend(&out, "tradecheck_store_bytes ", bytes, "\n");

  absl::StatusOr<v1::ListInstrumentsResponse> instruments =
      core.ListInstruments(v1::ListInstrumentsRequest());
  if (instruments.ok()) {
    int oldest = -1;
    for (const v1::Instrument& instrument : instruments->instruments()) {
      if (instrument.has_confirmation()) {
        oldest = std::max(oldest, instrument.confirmation_age_days());
      }
    }
    if (oldest >= 0) {
      Header(&out, "tradecheck_agreement_confirmation_age_days", "gauge",
             "Days since the oldest confirmation of an instrument's status "
             "by its data owners.");
      absl::StrAppend(&out, "tradecheck_agreement_confirmation_age_days ",
                      oldest, "\n");
    }
  }
  Header(&out, "tradecheck_agreement_instruments_past_review", "gauge",
         "Instruments whose confirmation is past its review date (their "
         "verdicts need review, DATA-001).");
  absl::StrAppend(&out, "tradecheck_agreement_instruments_past_review ",
                  core.InstrumentsPastReview().size(), "\n");
  const TradecheckCore::ImpactAccounting impact = core.GetImpactAccounting();
  Header(&out, "tradecheck_retroactive_impact_pending", "gauge",
         "1 while the activation of the rule set in force is not accounted "
         "for in the store: its retroactive-impact walk runs, or could not "
         "write its record and waits for the next reload or start.");
  absl::StrAppend(&out, "tradecheck_retroactive_impact_pending ",
                  impact.pending ? 1 : 0, "\n");
  Header(&out, "tradecheck_retroactive_impact_failures_total", "counter",
         "Activations whose retroactive-impact record could not be written "
         "(not_recorded, retried) or cannot be computed because the earlier "
         "revision cannot be rebuilt from the store (uncomputable).");
  absl::StrAppend(
      &out,
      "tradecheck_retroactive_impact_failures_total{reason=\"not_recorded\"} ",
      impact.not_recorded, "\n",
      "tradecheck_retroactive_impact_failures_total{reason=\"uncomputable\"} ",
      impact.uncomputable, "\n");
  Header(&out, "tradecheck_rule_set_info", "gauge",
         "The rule set in force; the revision is a label, the value 1.");
  absl::StrAppend(&out, "tradecheck_rule_set_info{revision=\"",
                  LabelValue(core.GetRuleSet().revision()), "\"} 1\n");
  return out;
}

class MetricsHttpServer::Impl {
 public:
  httplib::Server http;
  std::thread thread;
};

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, const Metrics* metrics) {
  const std::string flag = absl::StrCat("--metrics_listen=", address);
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": expected host:port (port 0 = any free one)"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto impl = std::make_unique<Impl>();
  impl->http.Get("/metrics", [metrics](const httplib::Request&,
                                       httplib::Response& response) {
    response.set_content(metrics->Render(),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  impl->http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("tradecheck metrics: /metrics\n", "text/plain");
  });
  int bound = port;
  if (port == 0) {
    bound = impl->http.bind_to_any_port(host);
  } else if (!impl->http.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat(flag, ": cannot bind (in use, or not a local address)"));
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  // stop() does nothing until the loop runs: wait for it, so a server that
  // fails to start right after this cannot hang joining the thread.
  for (int waited = 0; !raw->http.is_running(); ++waited) {
    if (waited == 5000) {  // 5 s: the loop ended (or never began)
      raw->http.stop();
      raw->thread.join();
      return absl::UnavailableError(
          absl::StrCat(flag, ": the HTTP server did not start"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(impl), bound));
}

}  // namespace tradecheck::server
