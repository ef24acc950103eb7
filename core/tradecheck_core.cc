#include "core/tradecheck_core.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/money.h"
#include "common/proto_bytes.h"
#include "common/status_macros.h"
#include "core/backup_path.h"
#include "core/decision_summary.h"
#include "core/declaration_validator.h"
#include "core/errors.h"
#include "core/response_bytes.h"
#include "rules/engine.h"
#include "storage/decision_index.h"
#include "storage/keys.h"

namespace tradecheck {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// What a check refused for want of a writable store tells the caller to wait
// before retrying.
constexpr absl::Duration kStoreRetryDelay = absl::Seconds(1);

absl::CivilDay TodayUtc(const Clock& clock) {
  return absl::ToCivilDay(clock.Now(), absl::UTCTimeZone());
}

// The filter fields added with the declaration-id, governing-date, caller
// and duty filters (shared by ListDecisions and SummarizeDecisions).
void AddFilterViolations(const v1::DecisionFilter& f,
                         const rules::RuleSet& rules,
                         FieldViolations* violations) {
  if (absl::Status s = storage::ValidateIndexedFilter(f); !s.ok()) {
    // "filter.governing_to: ..." -> field and description.
    const std::string message(s.message());
    const size_t colon = message.find(": ");
    violations->Add(message.substr(0, colon), message.substr(colon + 2));
  }
  if (!v1::CallerRole_IsValid(f.caller_role())) {
    violations->Add("filter.caller_role",
                    absl::StrCat("unknown value ", f.caller_role()));
  }
  if (!f.destination_country().empty() &&
      !rules.IsKnownCountry(f.destination_country())) {
    violations->Add("filter.destination_country",
                    absl::StrCat(QuoteValue(f.destination_country()),
                                 " is not an ISO 3166-1 alpha-2 code"));
  }
  for (const auto& [name, money, set] :
       {std::make_tuple("filter.duty_min", &f.duty_min(), f.has_duty_min()),
        std::make_tuple("filter.duty_max", &f.duty_max(), f.has_duty_max())}) {
    if (!set) continue;
    if (!rules.IsKnownCurrency(money->currency_code())) {
      violations->Add(absl::StrCat(name, ".currency_code"),
                      "must be an ISO 4217 code such as \"USD\"");
    }
    if (money->minor_units() < 0) {
      violations->Add(absl::StrCat(name, ".minor_units"), "must be >= 0");
    }
  }
  if (f.has_duty_min() && f.has_duty_max()) {
    if (f.duty_min().currency_code() != f.duty_max().currency_code()) {
      violations->Add("filter.duty_max.currency_code",
                      "must be the currency of duty_min");
    } else if (f.duty_max().minor_units() < f.duty_min().minor_units()) {
      violations->Add("filter.duty_max", "must not be below duty_min");
    }
  }
}

// The store's walk for an AIP-132 order_by; nullopt when none serves it.
std::optional<storage::ListOrder> ListOrderOf(const std::string& order_by) {
  const std::string order = absl::AsciiStrToLower(
      absl::StrJoin(absl::StrSplit(order_by, ' ', absl::SkipEmpty()), " "));
  if (order.empty() || order == "recorded_time desc") {
    return storage::ListOrder::kNewestFirst;
  }
  if (order == "recorded_time asc" || order == "recorded_time") {
    return storage::ListOrder::kOldestFirst;
  }
  if (order == "governing_date desc") {
    return storage::ListOrder::kGoverningNewestFirst;
  }
  if (order == "governing_date asc" || order == "governing_date") {
    return storage::ListOrder::kGoverningOldestFirst;
  }
  return std::nullopt;
}

absl::Status ValidateListRequest(const v1::ListDecisionsRequest& request,
                                 const rules::RuleSet& rules) {
  FieldViolations violations;
  const v1::DecisionFilter& f = request.filter();
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    violations.Add("page_size", absl::StrCat("is ", request.page_size(),
                                             "; must be 0 (default ",
                                             kDefaultPageSize, ") to ",
                                             kMaxPageSize));
  }
  if (!f.origin_country().empty() && !rules.IsKnownCountry(f.origin_country())) {
    violations.Add("filter.origin_country",
                   absl::StrCat("\"", f.origin_country(),
                                "\" is not an ISO 3166-1 alpha-2 code"));
  }
  if (!f.hs_code_prefix().empty() &&
      (f.hs_code_prefix().size() < 2 || f.hs_code_prefix().size() > 10 ||
       !AllDigits(f.hs_code_prefix()))) {
    violations.Add("filter.hs_code_prefix", "must be 2 to 10 digits");
  }
  if (!v1::Outcome_IsValid(f.outcome())) {
    violations.Add("filter.outcome", absl::StrCat("unknown value ", f.outcome()));
  }
  if (!v1::TrailStream_IsValid(f.stream())) {
    violations.Add("filter.stream", absl::StrCat("unknown value ", f.stream()));
  }
  if (f.has_recorded_from() && f.has_recorded_to()) {
    auto from = f.recorded_from();
    auto to = f.recorded_to();
    if (std::make_pair(to.seconds(), to.nanos()) <=
        std::make_pair(from.seconds(), from.nanos())) {
      violations.Add("filter.recorded_to", "must be after recorded_from");
    }
  }
  AddFilterViolations(f, rules, &violations);
  // AIP-132: only the orders the indexes are walked in are served.
  const std::optional<storage::ListOrder> order =
      ListOrderOf(request.order_by());
  if (!order.has_value()) {
    violations.Add("order_by",
                   absl::StrCat(QuoteValue(request.order_by()),
                                " is not served; the orders are "
                                "\"recorded_time desc\" (newest first, the "
                                "default), \"recorded_time asc\", "
                                "\"governing_date desc\" and "
                                "\"governing_date asc\""));
  } else if ((*order == storage::ListOrder::kGoverningNewestFirst ||
              *order == storage::ListOrder::kGoverningOldestFirst) &&
             !f.has_governing_from() && !f.has_governing_to()) {
    violations.Add("order_by",
                   "governing-date order needs filter.governing_from and "
                   "filter.governing_to: the days it walks (at most 3660)");
  }
  return violations.ToStatus();
}

// Page-token errors from the store name the field in the message; give them
// the BadRequest detail every INVALID_ARGUMENT of the API carries.
absl::Status WithFieldDetail(absl::Status status, absl::string_view field) {
  if (!absl::IsInvalidArgument(status) ||
      status.GetPayload(kBadRequestTypeUrl).has_value()) {
    return status;
  }
  return InvalidField(field, status.message());
}

absl::Status ShuttingDown() {
  return absl::UnavailableError("the server is shutting down; retry elsewhere");
}

}  // namespace

v1::Verdict EngineView(const v1::Verdict& verdict) {
  v1::Verdict view = verdict;
  view.clear_decision_id();
  view.clear_audit_sequence();
  view.clear_record_hash();
  view.clear_recorded_at();
  view.clear_validate_only();
  view.clear_leaf_index();
  return view;
}

std::vector<std::string> DescribeChanges(const v1::Verdict& before,
                                         const v1::Verdict& after) {
  std::vector<std::string> changes;
  if (before.rule_set_revision() != after.rule_set_revision()) {
    changes.push_back(absl::StrCat("rule-set revision ",
                                   before.rule_set_revision(), " -> ",
                                   after.rule_set_revision()));
  }
  if (before.outcome() != after.outcome()) {
    changes.push_back(absl::StrCat("outcome ", v1::Outcome_Name(before.outcome()),
                                   " -> ", v1::Outcome_Name(after.outcome())));
  }
  if (before.total_duty().minor_units() != after.total_duty().minor_units()) {
    changes.push_back(absl::StrCat("total duty ", FormatMoney(before.total_duty()),
                                   " -> ", FormatMoney(after.total_duty())));
  }
  auto findings_of = [](const google::protobuf::RepeatedPtrField<v1::Finding>& fs) {
    std::map<std::string, const v1::Finding*> out;
    for (const v1::Finding& f : fs) {
      out.emplace(absl::StrCat(f.rule_id(), "/", f.measure_id()), &f);
    }
    return out;
  };
  auto diff_findings = [&changes, &findings_of](
                           const std::string& where,
                           const google::protobuf::RepeatedPtrField<v1::Finding>& a,
                           const google::protobuf::RepeatedPtrField<v1::Finding>& b) {
    auto fa = findings_of(a);
    auto fb = findings_of(b);
    for (const auto& [key, f] : fa) {
      auto it = fb.find(key);
      if (it == fb.end()) {
        changes.push_back(absl::StrCat(where, "finding ", f->rule_id(),
                                       " no longer applies"));
      } else if (it->second->severity() != f->severity()) {
        changes.push_back(absl::StrCat(where, "finding ", f->rule_id(), " ",
                                       v1::Severity_Name(f->severity()), " -> ",
                                       v1::Severity_Name(it->second->severity())));
      }
    }
    for (const auto& [key, f] : fb) {
      if (!fa.count(key)) {
        changes.push_back(absl::StrCat(where, "new finding ", f->rule_id(), " (",
                                       v1::Severity_Name(f->severity()), "): ",
                                       f->message()));
      }
    }
  };
  diff_findings("", before.findings(), after.findings());
  std::map<int, const v1::LineVerdict*> after_lines;
  for (const auto& line : after.lines()) after_lines[line.line_number()] = &line;
  for (const auto& line : before.lines()) {
    auto it = after_lines.find(line.line_number());
    if (it == after_lines.end()) continue;
    const v1::LineVerdict& other = *it->second;
    const std::string where = absl::StrCat("line ", line.line_number(), ": ");
    if (line.outcome() != other.outcome()) {
      changes.push_back(absl::StrCat(where, "outcome ",
                                     v1::Outcome_Name(line.outcome()), " -> ",
                                     v1::Outcome_Name(other.outcome())));
    }
    std::map<std::string, const v1::Duty*> duties_after;
    for (const auto& d : other.duties()) duties_after[d.measure_id()] = &d;
    for (const auto& d : line.duties()) {
      auto dt = duties_after.find(d.measure_id());
      if (dt == duties_after.end()) {
        changes.push_back(absl::StrCat(where, "duty ", d.measure_id(),
                                       " removed (was ",
                                       FormatMoney(d.amount()), ")"));
        continue;
      }
      if (dt->second->amount().minor_units() != d.amount().minor_units() ||
          dt->second->rate_basis_points() != d.rate_basis_points()) {
        changes.push_back(absl::StrCat(
            where, "duty ", d.measure_id(), " ", d.rate_basis_points(),
            " bp ", FormatMoney(d.amount()), " -> ",
            dt->second->rate_basis_points(), " bp ",
            FormatMoney(dt->second->amount())));
      }
      duties_after.erase(dt);
    }
    for (const auto& [id, d] : duties_after) {
      changes.push_back(absl::StrCat(where, "duty ", id, " added (",
                                     FormatMoney(d->amount()), ")"));
    }
    diff_findings(where, line.findings(), other.findings());
  }
  return changes;
}

absl::StatusOr<std::unique_ptr<TradecheckCore>> TradecheckCore::Create(
    const CoreOptions& options) {
  if (options.expensive_calls == nullptr &&
      (options.max_expensive_calls < 1 ||
       options.max_expensive_calls >= options.worker_threads)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_expensive_calls is ", options.max_expensive_calls,
        "; it must be at least 1 and below the worker threads (",
        options.worker_threads, "), so a worker is always left for reads"));
  }
  std::unique_ptr<AccessPolicyHolder> access_policy;
  if (!options.access_policy_path.empty()) {
    TC_ASSIGN_OR_RETURN(access_policy,
                        AccessPolicyHolder::Load(options.access_policy_path));
  }
  if (!options.backup_root.empty()) {
    TC_RETURN_IF_ERROR(PrepareBackupRoot(options.backup_root, options.data_dir));
  }
  storage::AuditStoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.clock = options.clock;
  store_options.max_batch = options.max_batch;
  store_options.tree_head_signer = options.tree_head_signer;
  store_options.tree_head_log = options.tree_head_log;
  store_options.on_commit = options.on_commit;
  store_options.log = options.store_log;
  store_options.min_free_bytes = options.min_free_disk_bytes;
  TC_ASSIGN_OR_RETURN(std::unique_ptr<storage::AuditStore> store,
                      storage::AuditStore::Open(store_options));
  auto rules = RuleSetHolder::Create(options.agreements_dir, store.get(),
                                     options.clock);
  if (!rules.ok()) {
    // The rules are refused; close the store cleanly before reporting.
    store->Close().IgnoreError();
    return rules.status();
  }
  return std::unique_ptr<TradecheckCore>(
      new TradecheckCore(options, std::move(store), std::move(*rules),
                         std::move(access_policy)));
}

TradecheckCore::TradecheckCore(const CoreOptions& options,
                               std::unique_ptr<storage::AuditStore> store,
                               std::unique_ptr<RuleSetHolder> rules,
                               std::unique_ptr<AccessPolicyHolder> access_policy)
    : clock_(options.clock),
      store_(std::move(store)),
      rules_(std::move(rules)),
      access_policy_(std::move(access_policy)),
      backup_root_(options.backup_root),
      candidates_root_(options.candidates_root),
      expensive_calls_(options.expensive_calls != nullptr
                           ? options.expensive_calls
                           : CallLimiter::Create(options.max_expensive_calls)),
      access_log_(options.access_log),
      benchmark_skip_store_(options.benchmark_skip_store),
      retroactive_impact_limit_(options.retroactive_impact_limit),
      workers_(std::make_unique<ThreadPool>(options.worker_threads)),
      completions_(std::make_unique<ThreadPool>(options.completion_threads)) {
  absl::MutexLock lock(&activation_mu_);
  last_activated_by_.identity = "server start";
  last_activated_by_.role = v1::CALLER_ROLE_LOCAL;
}

TradecheckCore::~TradecheckCore() { Shutdown().IgnoreError(); }

TradecheckCore::ImpactAccounting TradecheckCore::GetImpactAccounting() const {
  ImpactAccounting out;
  absl::StatusOr<std::string> kept = store_->GetActiveRevision();
  out.pending = !kept.ok() || *kept != rules_->Current()->revision();
  out.not_recorded = impacts_not_recorded_.load();
  out.uncomputable = impacts_uncomputable_.load();
  return out;
}

bool TradecheckCore::StoreWritable() const {
  return !shut_down_.load() && store_->Writable();
}

absl::Status TradecheckCore::Shutdown() {
  if (shut_down_.exchange(true)) return close_status_;
  // The store first: draining its writer runs the last check callbacks,
  // which may still schedule work (conflict details) on the workers.
  close_status_ = store_->Close();
  completions_.reset();  // answers the last checks (may use the workers)
  workers_.reset();      // runs what is queued, then joins
  return close_status_;
}

Caller TradecheckCore::ResolveCaller(absl::string_view identity) const {
  if (access_policy_ == nullptr) return Caller::Local();
  return access_policy_->Resolve(identity);
}

absl::StatusOr<int> TradecheckCore::ReloadAccessPolicy() {
  if (access_policy_ == nullptr) {
    return absl::FailedPreconditionError("no access policy file in use");
  }
  return access_policy_->Reload();
}

void TradecheckCore::LogDenied(const Caller& caller, absl::string_view what,
                               const absl::Status& status) const {
  const std::string line = DenialLine(caller, what, status);
  if (access_log_) {
    access_log_(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

absl::Status TradecheckCore::Check(const Caller& caller, Permission permission,
                                   absl::string_view what) const {
  absl::Status status = Authorize(caller, permission);
  if (!status.ok()) LogDenied(caller, what, status);
  return status;
}

absl::StatusOr<v1::Decision> TradecheckCore::ReadableDecision(
    const Caller& caller, const std::string& id, absl::string_view what,
    bool or_declaration_id) const {
  // What is not a decision id ("b-" / "v-" + 12 digits) may be the
  // declaration id customs knows the decision by.
  const bool by_declaration =
      or_declaration_id && !storage::keys::ParseDecisionId(id).ok();
  absl::StatusOr<v1::Decision> decision =
      by_declaration ? store_->FindByDeclarationId(id)
                     : store_->GetDecision(id);
  if (decision.ok() && !CanRead(caller, *decision)) {
    // The very answer the store gives for an id it does not hold.
    absl::Status hidden = by_declaration
                              ? NotFoundLikeUnknownDeclaration(id)
                              : NotFoundLikeUnknown(id);
    LogDenied(caller, absl::StrCat(what, " ", id),
              absl::PermissionDeniedError("record outside the caller's scope; "
                                          "answered NOT_FOUND"));
    return hidden;
  }
  return decision;
}

absl::Status TradecheckCore::AuthorizeAnyCheck(const Caller& caller) const {
  if (Authorize(caller, Permission::kCheckBinding).ok()) {
    return absl::OkStatus();
  }
  return Check(caller, Permission::kCheckDryRun, "CheckDeclarations");
}

void TradecheckCore::CheckDeclaration(
    const v1::CheckDeclarationRequest& request, const std::string& caller,
    Callback<v1::CheckDeclarationResponse> done) {
  Caller local = Caller::Local();
  if (!caller.empty()) local.identity = caller;
  CheckDeclaration(local, request, std::move(done));
}

namespace {

// The typed answer to a check from the store's result (the verdict moved).
v1::CheckDeclarationResponse ResponseOf(storage::AppendResult& result) {
  v1::CheckDeclarationResponse response;
  *response.mutable_verdict() = std::move(*result.decision.mutable_verdict());
  response.set_replayed(result.replayed);
  return response;
}

}  // namespace

void TradecheckCore::CheckDeclaration(
    const Caller& caller, const v1::CheckDeclarationRequest& request,
    Callback<v1::CheckDeclarationResponse> done) {
  RunCheck(caller, request,
           [done = std::move(done)](
               absl::StatusOr<storage::AppendResult> result) {
             if (result.ok()) {
               done(ResponseOf(*result));
             } else {
               done(result.status());
             }
           });
}

void TradecheckCore::CheckDeclarationWire(
    const Caller& caller, const v1::CheckDeclarationRequest& request,
    Callback<std::string> done) {
  RunCheck(caller, request,
           [done = std::move(done)](
               absl::StatusOr<storage::AppendResult> result) {
             if (!result.ok()) {
               done(result.status());
               return;
             }
             if (!result->record.empty()) {
               absl::StatusOr<std::string> bytes = CheckResponseFromRecord(
                   result->record, result->decision.verdict().record_hash(),
                   result->replayed);
               if (bytes.ok()) {
                 done(std::move(bytes));
                 return;
               }
             }
             // A replay (the record was read, not written) and the no-store
             // benchmark build have no record's bytes to reuse; a record
             // that did not read (never seen) is answered the typed way.
             done(ResponseOf(*result).SerializeAsString());
           });
}

void TradecheckCore::RunCheck(const Caller& caller,
                              const v1::CheckDeclarationRequest& request,
                              Callback<storage::AppendResult> done) {
  if (shut_down_.load()) {
    done(ShuttingDown());
    return;
  }
  if (!Permitted(caller,
                 request.validate_only() ? Permission::kCheckDryRun
                                         : Permission::kCheckBinding,
                 "CheckDeclaration", done)) {
    return;
  }
  if (caller.role == v1::CALLER_ROLE_EXPORTER &&
      !caller.InScope(request.declaration().exporter_id())) {
    absl::Status denied = WithErrorInfo(
        absl::PermissionDeniedError(absl::StrCat(
            "declaration.exporter_id ",
            QuoteValue(request.declaration().exporter_id()),
            " is not in this exporter's scope; an exporter dry-runs only its "
            "own shipments")),
        "EXPORTER_OUT_OF_SCOPE",
        {{"role", "EXPORTER"},
         {"permission", std::string(PermissionName(Permission::kCheckDryRun))},
         {"identity", caller.identity}});
    LogDenied(caller, "CheckDeclaration", denied);
    done(denied);
    return;
  }
  // One snapshot of the rules for the whole check, even across a reload.
  std::shared_ptr<const rules::RuleSet> rules = rules_->Current();
  const v1::Declaration& declaration = request.declaration();
  if (!request.has_declaration()) {
    done(InvalidField("declaration", "is required"));
    return;
  }
  if (absl::Status valid = ValidateDeclaration(declaration, *rules);
      !valid.ok()) {
    done(valid);
    return;
  }
  rules::Evaluation evaluation = rules::Evaluate(*rules, declaration);
  if (benchmark_skip_store_) {
    storage::AppendResult unrecorded;
    *unrecorded.decision.mutable_verdict() = std::move(evaluation.verdict);
    done(std::move(unrecorded));
    return;
  }

  storage::AppendRequest append;
  append.stream = request.validate_only() ? v1::TRAIL_STREAM_VALIDATE_ONLY
                                          : v1::TRAIL_STREAM_BINDING;
  append.declaration = declaration;
  append.verdict = std::move(evaluation.verdict);
  append.verdict.set_declaration_id(declaration.declaration_id());
  append.verdict.set_rule_set_revision(rules->revision());
  append.caller = caller.identity;
  append.caller_role = caller.role;
  if (!request.validate_only() && !evaluation.quota_draws.empty()) {
    for (const rules::QuotaDraw& draw : evaluation.quota_draws) {
      append.quota_draws.push_back(storage::QuotaDraw{
          draw.quota_key, draw.amount_milli, draw.limit_milli});
    }
    append.on_shortfall = [rules, draws = std::move(evaluation.quota_draws)](
                              size_t index, int64_t remaining,
                              v1::Verdict* verdict) {
      if (index < draws.size()) {
        rules::ApplyQuotaShortfall(*rules, draws[index], remaining, verdict);
      }
    };
  }
  std::string declaration_id = declaration.declaration_id();
  store_->Append(
      std::move(append),
      [this, declaration_id, done = std::move(done)](
          absl::StatusOr<storage::AppendResult> result) mutable {
        // On the writer thread: hand over and return at once.
        completions_->Schedule([this, declaration_id, done = std::move(done),
                                result = std::move(result)]() mutable {
          if (absl::IsAlreadyExists(result.status())) {
            FinishConflict(declaration_id, result.status(), std::move(done));
            return;
          }
          if (absl::IsUnavailable(result.status())) {
            // The store cannot write now (a full disk, an I/O error, a
            // shutdown); nothing was recorded, so a retry is safe.
            done(WithRetryInfo(result.status(), kStoreRetryDelay));
            return;
          }
          done(std::move(result));
        });
      });
}

void TradecheckCore::FinishConflict(const std::string& declaration_id,
                                    absl::Status status,
                                    Callback<storage::AppendResult> done) {
  // On a worker: looking the holder up is a store read.
  workers_->Schedule([this, declaration_id, status = std::move(status),
                      done = std::move(done)]() {
    std::vector<std::pair<std::string, std::string>> metadata = {
        {"declaration_id", declaration_id}};
    if (auto holder = store_->FindByDeclarationId(declaration_id);
        holder.ok()) {
      metadata.push_back({"decision_id", holder->decision_id()});
    }
    done(WithErrorInfo(status, "DECLARATION_ID_REUSED", metadata));
  });
}

template <typename T, typename Work>
void TradecheckCore::OnWorker(Callback<T> done, Work work) {
  if (shut_down_.load()) {
    done(ShuttingDown());
    return;
  }
  workers_->Schedule([done = std::move(done), work = std::move(work)]() {
    done(work());
  });
}

void TradecheckCore::GetDecision(const Caller& caller,
                                 const v1::GetDecisionRequest& request,
                                 Callback<v1::Decision> done) {
  if (!Permitted(caller, Permission::kReadDecisions, "GetDecision", done)) return;
  if (request.decision_id().empty()) {
    done(InvalidField("decision_id", "is required"));
    return;
  }
  OnWorker(std::move(done), [this, caller, id = request.decision_id()] {
    return ReadableDecision(caller, id, "GetDecision",
                            /*or_declaration_id=*/true);
  });
}

absl::StatusOr<v1::ListDecisionsResponse> TradecheckCore::ListDecisionsNow(
    const Caller& caller, const v1::ListDecisionsRequest& request,
    storage::ListView view) const {
  TC_RETURN_IF_ERROR(ValidateListRequest(request, *rules_->Current()));
  const int page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  v1::DecisionFilter filter = request.filter();
  if (caller.role == v1::CALLER_ROLE_EXPORTER) {
    // The listing is forced to the exporter's scope. The page token is
    // bound to the filter, so a token issued for another exporter's
    // listing is refused, and a filter outside the scope lists nothing,
    // exactly like an exporter id with no records.
    if (filter.exporter_id().empty()) {
      if (caller.exporter_scope.size() != 1) {
        return InvalidField(
            "filter.exporter_id",
            absl::StrCat("is required: this caller's scope holds ",
                         caller.exporter_scope.size(),
                         " exporter ids; list one at a time"));
      }
      filter.set_exporter_id(caller.exporter_scope.front());
    } else if (!caller.InScope(filter.exporter_id())) {
      LogDenied(caller, "ListDecisions",
                absl::PermissionDeniedError(absl::StrCat(
                    "filter.exporter_id ", QuoteValue(filter.exporter_id()),
                    " outside the caller's scope; answered an empty list")));
      return v1::ListDecisionsResponse();
    }
  }
  if (caller.role == v1::CALLER_ROLE_CUSTOMS) {
    // Customs reads only what it submitted: the caller index answers that
    // (a filter naming another caller lists nothing, as CanRead would).
    if (filter.caller().empty()) filter.set_caller(caller.identity);
    if (filter.caller() != caller.identity) return v1::ListDecisionsResponse();
  }
  v1::ListDecisionsResponse response;
  std::string token = request.page_token();
  // Customs callers see only what they submitted: the store pages by the
  // filter and the records of other callers are dropped here. A few store
  // pages are read to fill one (each bounded by page_size and 2 MiB); the
  // answer may hold fewer records, with the token to go on.
  constexpr int kMaxStorePages = 8;
  for (int pages = 0; pages < kMaxStorePages; ++pages) {
    auto page = store_->ListDecisions(
        filter, page_size, token,
        ListOrderOf(request.order_by()).value_or(
            storage::ListOrder::kNewestFirst),
        view);
    if (!page.ok()) return WithFieldDetail(page.status(), "page_token");
    for (v1::Decision& d : page->decisions) {
      if (CanRead(caller, d)) *response.add_decisions() = std::move(d);
    }
    token = page->next_page_token;
    if (token.empty() || response.decisions_size() > 0) break;
  }
  response.set_next_page_token(token);
  return response;
}

void TradecheckCore::ListDecisions(const Caller& caller,
                                   const v1::ListDecisionsRequest& request,
                                   Callback<v1::ListDecisionsResponse> done) {
  if (!Permitted(caller, Permission::kReadDecisions, "ListDecisions", done)) return;
  OnWorker(std::move(done), [this, caller, request] {
    return ListDecisionsNow(caller, request);
  });
}

absl::StatusOr<v1::SummarizeDecisionsResponse> TradecheckCore::SummarizeNow(
    const Caller& caller, const v1::SummarizeDecisionsRequest& request) const {
  DecisionSummary summary(request.group_by());
  v1::ListDecisionsRequest list;
  *list.mutable_filter() = request.filter();
  list.set_page_size(kMaxPageSize);
  // The filter selects the decisions through the postings, and each one's
  // summary row (storage/decision_index.h, SummaryRow) is summed: no record
  // is read. Decisions the caller may not read are left out, as a listing
  // leaves them out (only roles that read everything hold SUMMARIZE today).
  std::string token;
  do {
    list.set_page_token(token);
    TC_ASSIGN_OR_RETURN(
        v1::ListDecisionsResponse page,
        ListDecisionsNow(caller, list, storage::ListView::kSummary));
    for (const v1::Decision& d : page.decisions()) summary.Add(d);
    token = page.next_page_token();
    if (shut_down_.load()) return ShuttingDown();
  } while (!token.empty());
  return summary.Finish();
}

void TradecheckCore::SummarizeDecisions(
    const Caller& caller, const v1::SummarizeDecisionsRequest& request,
    Callback<v1::SummarizeDecisionsResponse> done) {
  if (!Permitted(caller, Permission::kSummarize, "SummarizeDecisions", done)) return;
  v1::ListDecisionsRequest as_list;
  *as_list.mutable_filter() = request.filter();
  if (absl::Status valid = ValidateListRequest(as_list, *rules_->Current());
      !valid.ok()) {
    done(valid);
    return;
  }
  if (absl::Status valid = ValidateGroupBy(request.group_by()); !valid.ok()) {
    done(valid);
    return;
  }
  std::optional<CallLimiter::Slot> slot = expensive_calls_->TryAcquire();
  if (!slot.has_value()) {
    done(expensive_calls_->Busy("SummarizeDecisions"));
    return;
  }
  auto held = std::make_shared<std::optional<CallLimiter::Slot>>(
      std::move(slot));
  OnWorker(std::move(done), [this, caller, request, held] {
    auto summary = SummarizeNow(caller, request);
    held->reset();
    return summary;
  });
}

absl::StatusOr<v1::ReevaluateDecisionResponse> TradecheckCore::ReevaluateNow(
    const Caller& caller, const v1::ReevaluateDecisionRequest& request) {
  TC_ASSIGN_OR_RETURN(
      v1::Decision decision,
      ReadableDecision(caller, request.decision_id(), "ReevaluateDecision"));
  TC_ASSIGN_OR_RETURN(std::shared_ptr<const rules::RuleSet> original,
                      rules_->ForRevision(decision.rule_set_revision()));
  std::shared_ptr<const rules::RuleSet> current = rules_->Current();

  v1::ReevaluateDecisionResponse response;
  const v1::Verdict stored = EngineView(decision.verdict());
  *response.mutable_original_revision_verdict() =
      EvaluateUnder(*original, decision.declaration());
  // Byte for byte, audit fields aside. One known exception: a quota
  // shortfall is written into the verdict at commit time from the balance
  // then, which is not an input of the engine, so such a record reports
  // matches_stored = false and lists the QTA-001 denial as a change.
  response.set_matches_stored(
      SerializeDeterministic(response.original_revision_verdict()) ==
      SerializeDeterministic(stored));
  response.set_current_revision(current->revision());
  *response.mutable_current_revision_verdict() =
      EvaluateUnder(*current, decision.declaration());
  for (std::string& change :
       DescribeChanges(stored, response.current_revision_verdict())) {
    response.add_changes(std::move(change));
  }
  *response.mutable_decision() = std::move(decision);
  return response;
}

void TradecheckCore::ListRetroactiveImpacts(
    const Caller& caller, const v1::ListRetroactiveImpactsRequest& request,
    Callback<v1::ListRetroactiveImpactsResponse> done) {
  if (!Permitted(caller, Permission::kReadImpacts, "ListRetroactiveImpacts", done)) return;
  OnWorker(std::move(done),
           [this, request]()
               -> absl::StatusOr<v1::ListRetroactiveImpactsResponse> {
             absl::StatusOr<storage::RetroactiveImpactPage> page =
                 store_->ListRetroactiveImpacts(request.page_size(),
                                                request.page_token());
             if (!page.ok()) return WithFieldDetail(page.status());
             v1::ListRetroactiveImpactsResponse response;
             for (v1::RetroactiveImpact& impact : page->impacts) {
               *response.add_impacts() = std::move(impact);
             }
             response.set_next_page_token(page->next_page_token);
             return response;
           });
}

void TradecheckCore::GetRetroactiveImpact(
    const Caller& caller, const v1::GetRetroactiveImpactRequest& request,
    Callback<v1::GetRetroactiveImpactResponse> done) {
  if (!Permitted(caller, Permission::kReadImpacts, "GetRetroactiveImpact", done)) return;
  if (request.impact_id().empty()) {
    done(InvalidField("impact_id", "is required"));
    return;
  }
  OnWorker(std::move(done),
           [this, request]()
               -> absl::StatusOr<v1::GetRetroactiveImpactResponse> {
             absl::StatusOr<v1::GetRetroactiveImpactResponse> response =
                 store_->GetRetroactiveImpact(request.impact_id(),
                                              request.page_size(),
                                              request.page_token());
             if (!response.ok()) return WithFieldDetail(response.status());
             return response;
           });
}

void TradecheckCore::ReevaluateDecision(
    const Caller& caller, const v1::ReevaluateDecisionRequest& request,
    Callback<v1::ReevaluateDecisionResponse> done) {
  if (!Permitted(caller, Permission::kReevaluate, "ReevaluateDecision", done)) return;
  if (request.decision_id().empty()) {
    done(InvalidField("decision_id", "is required"));
    return;
  }
  OnWorker(std::move(done), [this, caller, request] {
    return ReevaluateNow(caller, request);
  });
}

void TradecheckCore::VerifyTrail(const Caller& caller,
                                 const v1::VerifyTrailRequest& request,
                                 Callback<v1::VerifyTrailResponse> done) {
  if (!Permitted(caller, Permission::kVerifyTrail, "VerifyTrail", done)) return;
  if (!v1::TrailStream_IsValid(request.stream())) {
    done(InvalidField("stream", absl::StrCat("unknown value ", request.stream())));
    return;
  }
  if (request.to_sequence() != 0 &&
      request.to_sequence() < request.from_sequence()) {
    done(InvalidField("to_sequence", "must be >= from_sequence (or 0)"));
    return;
  }
  std::optional<CallLimiter::Slot> slot = expensive_calls_->TryAcquire();
  if (!slot.has_value()) {
    done(expensive_calls_->Busy("VerifyTrail"));
    return;
  }
  // Freed before the answer goes out, so a caller that got its answer can
  // start the next expensive call at once.
  auto held = std::make_shared<std::optional<CallLimiter::Slot>>(
      std::move(slot));
  OnWorker(std::move(done), [this, request, held] {
    v1::TrailStream stream = request.stream() == v1::TRAIL_STREAM_UNSPECIFIED
                                 ? v1::TRAIL_STREAM_BINDING
                                 : request.stream();
    auto verified = store_->VerifyTrail(stream, request.from_sequence(),
                                        request.to_sequence());
    held->reset();
    return verified;
  });
}

namespace {

v1::SignedTreeHead ToProto(const SignedTreeHead& s) {
  v1::SignedTreeHead out;
  out.set_stream(static_cast<v1::TrailStream>(s.head.stream));
  out.set_tree_size(s.head.tree_size);
  out.mutable_timestamp()->set_seconds(s.head.timestamp_unix_nanos /
                                       1'000'000'000);
  out.mutable_timestamp()->set_nanos(
      static_cast<int32_t>(s.head.timestamp_unix_nanos % 1'000'000'000));
  out.set_root_hash(s.head.root_hash);
  out.set_store_identity(s.head.store_identity);
  out.set_epoch(s.head.epoch);
  out.set_signature(s.signature);
  out.set_log_line(FormatTreeHeadLine(s));
  return out;
}

v1::TrailStream StreamOrBinding(v1::TrailStream stream) {
  return stream == v1::TRAIL_STREAM_UNSPECIFIED ? v1::TRAIL_STREAM_BINDING
                                                : stream;
}

}  // namespace

void TradecheckCore::GetSignedTreeHead(
    const Caller& caller, const v1::GetSignedTreeHeadRequest& request,
    Callback<v1::SignedTreeHead> done) {
  // A head holds sizes and hashes only: every role that reads decisions
  // may hold the server to it.
  if (!Permitted(caller, Permission::kReadDecisions, "GetSignedTreeHead", done)) return;
  if (!v1::TrailStream_IsValid(request.stream())) {
    done(InvalidField("stream", absl::StrCat("unknown value ", request.stream())));
    return;
  }
  OnWorker(std::move(done),
           [this, request]() -> absl::StatusOr<v1::SignedTreeHead> {
             const v1::TrailStream stream = StreamOrBinding(request.stream());
             absl::StatusOr<SignedTreeHead> head =
                 request.tree_size() == 0
                     ? store_->LatestSignedTreeHead(stream)
                     : store_->SignedTreeHeadAt(stream, request.tree_size());
             if (!head.ok()) return WithFieldDetail(head.status());
             return ToProto(*head);
           });
}

void TradecheckCore::GetInclusionProof(
    const Caller& caller, const v1::GetInclusionProofRequest& request,
    Callback<v1::GetInclusionProofResponse> done) {
  if (!Permitted(caller, Permission::kReadDecisions, "GetInclusionProof", done)) return;
  if (request.decision_id().empty()) {
    done(InvalidField("decision_id", "is required"));
    return;
  }
  OnWorker(std::move(done),
           [this, caller,
            request]() -> absl::StatusOr<v1::GetInclusionProofResponse> {
             // A record the caller may not read is NOT_FOUND here too, so
             // proofs cannot probe ids either.
             TC_RETURN_IF_ERROR(
                 ReadableDecision(caller, request.decision_id(),
                                  "GetInclusionProof")
                     .status());
             absl::StatusOr<storage::InclusionProofResult> p =
                 store_->InclusionProof(request.decision_id(),
                                        request.tree_size());
             if (!p.ok()) return WithFieldDetail(p.status());
             v1::GetInclusionProofResponse out;
             out.set_decision_id(request.decision_id());
             out.set_stream(p->stream);
             out.set_leaf_index(p->leaf_index);
             out.set_tree_size(p->tree_size);
             out.set_leaf_hash(p->leaf_hash);
             for (const std::string& h : p->audit_path) out.add_audit_path(h);
             out.set_root_hash(p->root_hash);
             return out;
           });
}

void TradecheckCore::GetConsistencyProof(
    const Caller& caller, const v1::GetConsistencyProofRequest& request,
    Callback<v1::GetConsistencyProofResponse> done) {
  if (!Permitted(caller, Permission::kReadDecisions, "GetConsistencyProof", done)) return;
  if (!v1::TrailStream_IsValid(request.stream())) {
    done(InvalidField("stream", absl::StrCat("unknown value ", request.stream())));
    return;
  }
  if (request.second_size() != 0 &&
      request.first_size() > request.second_size()) {
    done(InvalidField("first_size", absl::StrCat(request.first_size(),
                                                 " is larger than second_size ",
                                                 request.second_size())));
    return;
  }
  OnWorker(std::move(done),
           [this, request]() -> absl::StatusOr<v1::GetConsistencyProofResponse> {
             absl::StatusOr<storage::ConsistencyProofResult> c =
                 store_->ConsistencyProof(StreamOrBinding(request.stream()),
                                          request.first_size(),
                                          request.second_size());
             if (!c.ok()) return WithFieldDetail(c.status());
             v1::GetConsistencyProofResponse out;
             out.set_stream(c->stream);
             out.set_first_size(c->first_size);
             out.set_second_size(c->second_size);
             for (const std::string& h : c->proof) out.add_proof(h);
             out.set_first_root(c->first_root);
             out.set_second_root(c->second_root);
             return out;
           });
}

absl::StatusOr<v1::ListInstrumentsResponse> TradecheckCore::ListInstruments(
    const v1::ListInstrumentsRequest& request) const {
  absl::CivilDay as_of = TodayUtc(*clock_);
  if (request.has_as_of() && !IsUnset(request.as_of())) {
    auto day = ToCivilDay(request.as_of());
    if (!day.ok()) return InvalidField("as_of", day.status().message());
    as_of = *day;
  }
  std::shared_ptr<const rules::RuleSet> rules = rules_->Current();
  v1::ListInstrumentsResponse response;
  for (v1::Instrument& instrument : rules->ListInstruments(as_of, false)) {
    *response.add_instruments() = std::move(instrument);
  }
  response.set_rule_set_revision(rules->revision());
  const v1::RuleSetInfo info = rules->Info();
  if (info.has_data_current_through()) {
    *response.mutable_data_current_through() = info.data_current_through();
  }
  if (info.has_new_measures_reviewed_through()) {
    *response.mutable_new_measures_reviewed_through() =
        info.new_measures_reviewed_through();
  }
  return response;
}

absl::StatusOr<v1::Instrument> TradecheckCore::GetInstrument(
    const v1::GetInstrumentRequest& request) const {
  if (request.instrument_id().empty()) {
    return InvalidField("instrument_id", "is required");
  }
  return rules_->Current()->GetInstrument(request.instrument_id(),
                                          TodayUtc(*clock_));
}

v1::RuleSetInfo TradecheckCore::GetRuleSet() const {
  return rules_->CurrentInfo();
}

absl::StatusOr<v1::ListInstrumentsResponse> TradecheckCore::ListInstruments(
    const Caller& caller, const v1::ListInstrumentsRequest& request) const {
  TC_RETURN_IF_ERROR(
      Check(caller, Permission::kReadAgreements, "ListInstruments"));
  return ListInstruments(request);
}

absl::StatusOr<v1::Instrument> TradecheckCore::GetInstrument(
    const Caller& caller, const v1::GetInstrumentRequest& request) const {
  TC_RETURN_IF_ERROR(Check(caller, Permission::kReadAgreements, "GetInstrument"));
  return GetInstrument(request);
}

absl::StatusOr<v1::RuleSetInfo> TradecheckCore::GetRuleSet(
    const Caller& caller) const {
  TC_RETURN_IF_ERROR(Check(caller, Permission::kReadAgreements, "GetRuleSet"));
  return GetRuleSet();
}

std::vector<std::string> TradecheckCore::InstrumentsPastReview() const {
  return rules_->Current()->InstrumentsPastReview(TodayUtc(*clock_));
}

void TradecheckCore::ReloadRuleSet(const Caller& caller,
                                   Callback<v1::ReloadRuleSetResponse> done) {
  if (!Permitted(caller, Permission::kReloadRuleSet, "ReloadRuleSet", done)) return;
  OnWorker(std::move(done),
           [this, caller]() -> absl::StatusOr<v1::ReloadRuleSetResponse> {
             absl::MutexLock lock(&activation_mu_);
             // The activation before this one first, if the store has not
             // accounted for it: the records then follow the order the
             // revisions came into force, and none is skipped.
             v1::ReloadRuleSetResponse earlier;
             if (absl::Status accounted = AccountForActivationLocked(&earlier);
                 !accounted.ok()) {
               return absl::Status(
                   accounted.code(),
                   absl::StrCat(
                       "reload refused, rule set in force unchanged: the "
                       "activation of revision ",
                       earlier.rule_set().revision(), " (by ",
                       last_activated_by_.identity,
                       ") is not accounted for in the store yet, and its "
                       "retroactive impact cannot be recorded now: ",
                       accounted.message()));
             }
             absl::StatusOr<RuleSetHolder::ReloadResult> reloaded =
                 rules_->Reload();
             if (!reloaded.ok() && earlier.changed()) {
               // The owed activation was accounted for all the same: the
               // refusal is the only answer that can say so.
               return absl::Status(
                   reloaded.status().code(),
                   absl::StrCat(
                       reloaded.status().message(),
                       " (the activation before it, not on record yet, was "
                       "accounted for first: ",
                       !earlier.retroactive_impact_id().empty()
                           ? absl::StrCat("retroactive impact ",
                                          earlier.retroactive_impact_id())
                       : !earlier.retroactive_impact_error().empty()
                           ? earlier.retroactive_impact_error()
                           : std::string("no past verdict differed under it"),
                       ")"));
             }
             TC_ASSIGN_OR_RETURN(RuleSetHolder::ReloadResult result,
                                 std::move(reloaded));
             v1::ReloadRuleSetResponse response;
             *response.mutable_rule_set() = result.info;
             response.set_previous_revision(result.previous_revision);
             response.set_changed(result.changed);
             if (earlier.changed()) {
               response.set_earlier_activation_accounted(true);
               response.set_earlier_retroactive_impact_id(
                   earlier.retroactive_impact_id());
               // Accounted for without a record: its impact cannot be
               // computed (not "no past verdict differed").
               response.set_earlier_retroactive_impact_error(
                   earlier.retroactive_impact_error());
             }
             if (result.changed) {
               last_activated_by_ = caller;
               // Failure is in the response; the next activation retries.
               RecordRetroactiveImpact(caller, result, &response)
                   .IgnoreError();
             }
             return response;
           });
}

void TradecheckCore::RecordImpactSinceLastRun(
    Callback<v1::ReloadRuleSetResponse> done) {
  OnWorker(std::move(done),
           [this]() -> absl::StatusOr<v1::ReloadRuleSetResponse> {
             absl::MutexLock lock(&activation_mu_);
             v1::ReloadRuleSetResponse response;
             absl::Status accounted = AccountForActivationLocked(&response);
             // A record that could not be written is reported in the
             // response (retroactive_impact_error); anything else failed
             // before the walk could start.
             if (!accounted.ok() &&
                 response.retroactive_impact_error().empty()) {
               return accounted;
             }
             return response;
           });
}

void TradecheckCore::CreateBackup(const Caller& caller,
                                  const v1::CreateBackupRequest& request,
                                  Callback<v1::CreateBackupResponse> done) {
  if (!Permitted(caller, Permission::kCreateBackup, "CreateBackup", done)) return;
  absl::StatusOr<std::string> path =
      ResolveBackupPath(backup_root_, "directory", request.directory());
  if (!path.ok()) {
    done(path.status());
    return;
  }
  std::optional<CallLimiter::Slot> slot = expensive_calls_->TryAcquire();
  if (!slot.has_value()) {
    done(expensive_calls_->Busy("CreateBackup"));
    return;
  }
  auto held = std::make_shared<std::optional<CallLimiter::Slot>>(
      std::move(slot));
  OnWorker(std::move(done),
           [this, request, path = *path,
            held]() -> absl::StatusOr<v1::CreateBackupResponse> {
             absl::StatusOr<storage::BackupResult> backup =
                 store_->CreateVerifiedBackup(path);
             // A backup holds every declaration and the page-token key.
             absl::Status owner_only = backup.ok() ? RestrictToOwner(path)
                                                   : absl::OkStatus();
             held->reset();
             TC_RETURN_IF_ERROR(backup.status());
             TC_RETURN_IF_ERROR(owner_only);
             v1::CreateBackupResponse response;
             response.set_directory(request.directory());
             response.set_binding_sequence(backup->binding_head);
             response.set_records_verified(backup->records_verified);
             response.set_files_copied(backup->files_copied);
             return response;
           });
}

absl::StatusOr<v1::GetStoreStatsResponse> TradecheckCore::GetStoreStats(
    const Caller& caller) const {
  TC_RETURN_IF_ERROR(Check(caller, Permission::kReadStats, "GetStoreStats"));
  return GetStoreStats();
}

v1::GetStoreStatsResponse TradecheckCore::GetStoreStats() const {
  const storage::AuditStoreStats stats = store_->Stats();
  v1::GetStoreStatsResponse response;
  response.set_records_written(stats.records_written);
  response.set_group_commits(stats.batches_written);
  response.set_synced_writes(stats.synced_writes);
  response.set_replays(stats.replays);
  response.set_binding_head_sequence(stats.binding_head);
  response.set_validate_only_head_sequence(stats.validate_only_head);
  return response;
}

}  // namespace tradecheck
