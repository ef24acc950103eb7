// The server's Prometheus metrics, served as text (exposition format 0.0.4)
// on their own port by MetricsHttpServer, apart from the gRPC port so a
// scraper needs no gRPC and no client certificate:
//
//   tradecheck_rpc_total{method,code}                   counter
//   tradecheck_rpc_duration_seconds{method,code}        histogram
//   tradecheck_verdicts_total{outcome}                  counter
//   tradecheck_rule_hits_total{rule}                    counter
//   tradecheck_group_commit_records                     histogram
//   tradecheck_group_commit_write_seconds{synced}       histogram (the fsync)
//   tradecheck_group_commit_queue_seconds               histogram (oldest record)
//   tradecheck_group_commit_stage_seconds               histogram (before the write)
//   tradecheck_records_written_total{stream}            counter
//   tradecheck_record_bytes_written_total{stream}       counter
//   tradecheck_stream_records{stream}                   gauge (durable head)
//   tradecheck_store_bytes                              gauge (data_dir on disk)
//   tradecheck_agreement_confirmation_age_days          gauge (oldest)
//   tradecheck_agreement_instruments_past_review        gauge
//   tradecheck_rule_set_info{revision}                  gauge, always 1
//   tradecheck_retroactive_impact_pending               gauge (0 or 1)
//   tradecheck_retroactive_impact_failures_total{reason} counter
//
// Counters start at zero when the server starts. Everything here is
// thread-safe. No gRPC or HTTP types in this header.
#ifndef TRADECHECK_SERVER_METRICS_H_
#define TRADECHECK_SERVER_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/tradecheck_core.h"
#include "server/request_log.h"
#include "storage/audit_store.h"

namespace tradecheck::server {

// A histogram with fixed upper bounds (seconds, records, ...).
class Histogram {
 public:
  // `bounds` must outlive the histogram (the ones used are static).
  explicit Histogram(const std::vector<double>* bounds)
      : bounds_(bounds), counts_(bounds->size() + 1, 0) {}
  void Observe(double value);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` ("" or
  // `a="b",c="d"`).
  void Render(const std::string& name, const std::string& labels,
              std::string* out) const;

 private:
  const std::vector<double>* bounds_;  // static, ascending
  std::vector<uint64_t> counts_;       // per bucket, last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  // Gauges read at scrape time (from the core and the disk), rendered by
  // the caller as exposition text (with # TYPE lines).
  using GaugeSource = std::function<std::string()>;

  explicit Metrics(GaugeSource gauges);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void OnRpc(const RpcRecord& record);
  void OnCommit(const storage::CommitObservation& commit);

  // The whole exposition text.
  std::string Render() const;

 private:
  const GaugeSource gauges_;
  mutable absl::Mutex mu_;
  // Key: the label text, e.g. method="/x/Y",code="OK".
  std::map<std::string, uint64_t> rpcs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> rpc_seconds_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> verdicts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> rule_hits_ ABSL_GUARDED_BY(mu_);
  Histogram commit_records_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> commit_seconds_ ABSL_GUARDED_BY(mu_);
  Histogram commit_queue_seconds_ ABSL_GUARDED_BY(mu_);
  Histogram commit_stage_seconds_ ABSL_GUARDED_BY(mu_);
  uint64_t records_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
  uint64_t record_bytes_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
};

// The gauges read from the core and the disk at scrape time: stream heads,
// store size (everything under `data_dir`), the oldest agreement
// confirmation, instruments past review, the rule-set revision, and where
// the retroactive-impact accounting stands (one read of the store's meta).
std::string RenderCoreGauges(const TradecheckCore& core,
                             const std::string& data_dir);

// A Prometheus label value, escaped: backslash, quote and newline.
std::string LabelValue(const std::string& value);

// Serves GET /metrics (and / -> a short pointer) on its own thread.
class MetricsHttpServer {
 public:
  // Binds `address` ("host:port", port 0 = any free one) before returning;
  // UNAVAILABLE naming --metrics_listen when it cannot.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, const Metrics* metrics);
  ~MetricsHttpServer();  // stops serving and joins the thread
  int port() const { return port_; }

  class Impl;

 private:
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_METRICS_H_
