// TradecheckCore's rates-and-rules lookup (AgreementService.LookupMeasures)
// and its preview of a candidate rule set (AdminService.PreviewRuleSet):
// kept apart from tradecheck_core.cc, which holds the checks and the trail.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/dates.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "core/backup_path.h"
#include "core/errors.h"
#include "core/tradecheck_core.h"
#include "google/protobuf/util/time_util.h"
#include "rules/engine.h"
#include "rules/lookup.h"
#include "rules/rule_set.h"
#include "storage/decision_index.h"

namespace tradecheck {
namespace {

// Decisions read per store page during a preview.
constexpr int kPreviewPageSize = 500;

// Every rule id a verdict's findings carry, lines and declaration alike.
std::set<std::string> RuleIds(const v1::Verdict& v) {
  std::set<std::string> ids;
  for (const v1::Finding& f : v.findings()) ids.insert(f.rule_id());
  for (const v1::LineVerdict& l : v.lines()) {
    for (const v1::Finding& f : l.findings()) ids.insert(f.rule_id());
  }
  return ids;
}

}  // namespace

v1::Verdict TradecheckCore::EvaluateUnder(const rules::RuleSet& rules,
                                          const v1::Declaration& declaration) {
  v1::Verdict verdict = rules::Evaluate(rules, declaration).verdict;
  verdict.set_declaration_id(declaration.declaration_id());
  verdict.set_rule_set_revision(rules.revision());
  return verdict;
}

absl::StatusOr<v1::LookupMeasuresResponse> TradecheckCore::LookupMeasures(
    const Caller& caller, const v1::LookupMeasuresRequest& request) const {
  TC_RETURN_IF_ERROR(
      Check(caller, Permission::kReadAgreements, "LookupMeasures"));
  std::shared_ptr<const rules::RuleSet> rules = rules_->Current();
  FieldViolations violations;
  rules::MeasureQuery query;
  if (request.hs_code().empty()) {
    violations.Add("hs_code", "is required (6 to 10 digits, HS 2022)");
  } else if (absl::Status s = rules->CheckHsCode(request.hs_code(), "");
             !s.ok()) {
    violations.Add("hs_code", std::string(s.message()));
  }
  query.hs_code = request.hs_code();
  const auto country = [&](const char* field, const std::string& code,
                           bool required) {
    if (code.empty()) {
      if (required) violations.Add(field, "is required");
      return;
    }
    if (!rules->IsKnownCountry(code)) {
      violations.Add(field, absl::StrCat(QuoteValue(code),
                                         " is not an ISO 3166-1 alpha-2 "
                                         "country code (two upper-case "
                                         "letters, e.g. \"VN\")"));
    }
  };
  country("origin", request.origin(), true);
  country("destination", request.destination(), false);
  country("export_country", request.export_country(), false);
  query.origin = request.origin();
  query.destination = request.destination();
  query.export_country = request.export_country();
  query.day = absl::ToCivilDay(clock_->Now(), absl::UTCTimeZone());
  if (request.has_date() && !IsUnset(request.date())) {
    absl::StatusOr<absl::CivilDay> day = ToCivilDay(request.date());
    if (day.ok()) {
      query.day = *day;
    } else {
      violations.Add("date", std::string(day.status().message()));
    }
  }
  if (!v1::DeclarationKind_IsValid(request.kind())) {
    violations.Add("kind", absl::StrCat("unknown value ", request.kind()));
  }
  query.kind = request.kind();
  TC_RETURN_IF_ERROR(violations.ToStatus());
  return rules::LookupMeasures(*rules, query);
}

void TradecheckCore::PreviewRuleSet(const Caller& caller,
                                    const v1::PreviewRuleSetRequest& request,
                                    PreviewSink emit,
                                    Callback<v1::PreviewTotals> done) {
  if (!Permitted(caller, Permission::kPreviewRuleSet, "PreviewRuleSet", done)) return;
  // A name under the operator's --candidates_root, never a path: a caller
  // must not make the server read (and quote in errors) files elsewhere.
  absl::StatusOr<std::string> dir =
      ResolveUnderRoot({candidates_root_, "--candidates_root",
                        "rule-set previews"},
                       "agreements_dir", request.agreements_dir());
  if (!dir.ok()) {
    done(dir.status());
    return;
  }
  if (std::error_code ec; !std::filesystem::is_directory(*dir, ec)) {
    done(InvalidField("agreements_dir",
                      absl::StrCat("no directory ", QuoteValue(
                                       request.agreements_dir()),
                                   " under the server's --candidates_root")));
    return;
  }
  FieldViolations violations;
  if (request.limit() < 0 || request.limit() > kMaxPreviewDecisions) {
    violations.Add("limit", absl::StrCat("must be between 0 and ",
                                         kMaxPreviewDecisions, " (0: ",
                                         kDefaultPreviewDecisions, ")"));
  }
  if (request.has_recorded_from() && request.has_recorded_to()) {
    const auto& from = request.recorded_from();
    const auto& to = request.recorded_to();
    if (std::make_pair(to.seconds(), to.nanos()) <=
        std::make_pair(from.seconds(), from.nanos())) {
      violations.Add("recorded_to", "must be after recorded_from");
    }
  }
  if (!violations.empty()) {
    done(violations.ToStatus());
    return;
  }
  std::optional<CallLimiter::Slot> slot = expensive_calls_->TryAcquire();
  if (!slot.has_value()) {
    done(expensive_calls_->Busy("PreviewRuleSet"));
    return;
  }
  auto held =
      std::make_shared<std::optional<CallLimiter::Slot>>(std::move(slot));
  if (shut_down_.load()) {
    done(absl::UnavailableError("the server is shutting down; retry elsewhere"));
    return;
  }
  workers_->Schedule([this, request, dir = *std::move(dir),
                      emit = std::move(emit), done = std::move(done), held] {
    absl::StatusOr<v1::PreviewTotals> totals = PreviewNow(request, dir, emit);
    // Freed before the answer goes out, as for the other expensive calls.
    held->reset();
    done(std::move(totals));
  });
}

absl::StatusOr<v1::PreviewTotals> TradecheckCore::PreviewNow(
    const v1::PreviewRuleSetRequest& request, const std::string& dir,
    const PreviewSink& emit) const {
  // Validated exactly as a reload validates the configured directory.
  absl::StatusOr<std::shared_ptr<const rules::RuleSet>> candidate =
      rules::RuleSet::LoadFromDirectory(dir);
  if (!candidate.ok()) {
    return absl::IsInvalidArgument(candidate.status())
               ? InvalidField("agreements_dir", candidate.status().message())
               : candidate.status();
  }
  v1::DecisionFilter filter;
  filter.set_stream(v1::TRAIL_STREAM_BINDING);
  if (request.has_recorded_from()) {
    *filter.mutable_recorded_from() = request.recorded_from();
  }
  if (request.has_recorded_to()) {
    *filter.mutable_recorded_to() = request.recorded_to();
  }
  const int64_t limit = request.limit() == 0 ? kDefaultPreviewDecisions
                                             : request.limit();
  return CompareRuleSets(*rules_->Current(), **candidate, filter, limit, emit);
}

absl::StatusOr<v1::PreviewTotals> TradecheckCore::CompareRuleSets(
    const rules::RuleSet& before_rules, const rules::RuleSet& after_rules,
    const v1::DecisionFilter& filter, int64_t limit,
    const PreviewSink& emit) const {
  v1::PreviewTotals totals;
  totals.set_current_revision(before_rules.revision());
  totals.set_candidate_revision(after_rules.revision());
  std::map<std::string, int64_t> duty_by_currency;
  std::string token;
  do {
    const int64_t left = limit - static_cast<int64_t>(
                                     totals.decisions_evaluated());
    if (left <= 0) {
      totals.set_truncated(true);
      break;
    }
    TC_ASSIGN_OR_RETURN(
        storage::ListResult page,
        store_->ListDecisions(
            filter, static_cast<int>(std::min<int64_t>(left, kPreviewPageSize)),
            token));
    token = page.next_page_token;
    for (const v1::Decision& decision : page.decisions) {
      if (shut_down_.load()) return absl::UnavailableError(
            "the server is shutting down; retry elsewhere");
      totals.set_decisions_evaluated(totals.decisions_evaluated() + 1);
      totals.set_last_decision_id(decision.decision_id());
      v1::Verdict before = EvaluateUnder(before_rules, decision.declaration());
      v1::Verdict after = EvaluateUnder(after_rules, decision.declaration());
      before.clear_rule_set_revision();
      after.clear_rule_set_revision();
      std::vector<std::string> changes = DescribeChanges(before, after);
      if (changes.empty()) continue;
      totals.set_verdicts_changed(totals.verdicts_changed() + 1);
      v1::PreviewChange change;
      change.set_decision_id(decision.decision_id());
      change.set_declaration_id(decision.declaration().declaration_id());
      *change.mutable_governing_date() = after.governing_date();
      change.set_outcome_before(before.outcome());
      change.set_outcome_after(after.outcome());
      *change.mutable_duty_before() = before.total_duty();
      *change.mutable_duty_after() = after.total_duty();
      const int64_t difference =
          after.total_duty().minor_units() - before.total_duty().minor_units();
      change.set_duty_difference_minor_units(difference);
      if (difference != 0) {
        int64_t& sum = duty_by_currency[after.total_duty().currency_code()];
        sum += difference;
      }
      if (before.outcome() != after.outcome()) {
        totals.set_outcomes_changed(totals.outcomes_changed() + 1);
        (*totals.mutable_outcome_transitions())[absl::StrCat(
            v1::Outcome_Name(before.outcome()), " -> ",
            v1::Outcome_Name(after.outcome()))] += 1;
      }
      const std::set<std::string> rules_before = RuleIds(before);
      const std::set<std::string> rules_after = RuleIds(after);
      for (const std::string& id : rules_after) {
        if (!rules_before.count(id)) change.add_rules_gained(id);
      }
      for (const std::string& id : rules_before) {
        if (!rules_after.count(id)) change.add_rules_lost(id);
      }
      for (std::string& c : changes) change.add_changes(std::move(c));
      if (!emit(std::move(change))) {
        return absl::CancelledError("the caller cancelled the preview");
      }
    }
  } while (!token.empty());
  for (const auto& [currency, minor] : duty_by_currency) {
    v1::PreviewTotals::DutyDifference* d = totals.add_duty_differences();
    d->set_currency_code(currency);
    d->set_minor_units(minor);
  }
  return totals;
}

namespace {

// Keeps `revision` as the store's active one; on failure says so in the
// response (retroactive_impact_error: the next activation or start accounts
// for this one again) and returns the error.
absl::Status KeepActiveRevision(storage::AuditStore& store,
                                const std::string& revision,
                                v1::ReloadRuleSetResponse* response) {
  absl::Status kept = store.SetActiveRevision(revision);
  if (!kept.ok()) {
    response->set_retroactive_impact_error(absl::StrCat(
        "revision ", revision, " is in force, but the store could not keep "
        "it as the active one: ", kept.ToString()));
  }
  return kept;
}

// Whether ForRevision's error can never go away by itself: the sources
// are gone (FAILED_PRECONDITION), hash to another revision (DATA_LOSS) or
// do not load (INVALID_ARGUMENT). A read error may pass; these do not.
bool CannotEverRebuild(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) || absl::IsDataLoss(status) ||
         absl::IsInvalidArgument(status);
}

}  // namespace

absl::Status TradecheckCore::AccountForActivationLocked(
    v1::ReloadRuleSetResponse* response) {
  *response->mutable_rule_set() = rules_->CurrentInfo();
  const std::string now = response->rule_set().revision();
  TC_ASSIGN_OR_RETURN(std::string before, store_->GetActiveRevision());
  const bool kept = !before.empty();
  if (!kept) {
    // A store from before the active revision was kept: the newest impact
    // record's new revision came into force after every earlier one.
    TC_ASSIGN_OR_RETURN(storage::RetroactiveImpactPage newest,
                        store_->ListRetroactiveImpacts(1, ""));
    if (!newest.impacts.empty()) before = newest.impacts[0].new_revision();
  }
  response->set_previous_revision(before.empty() ? now : before);
  if (before.empty() || before == now) {
    // Nothing to compare with (a new store, or one with no impact record
    // from before the active revision was kept), or nothing changed.
    if (!kept) return store_->SetActiveRevision(now);
    return absl::OkStatus();
  }
  response->set_changed(true);
  RuleSetHolder::ReloadResult activation;
  activation.previous_revision = before;
  activation.current = rules_->Current();
  activation.activated_at = absl::FromUnixNanos(
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(
          response->rule_set().loaded_at()));
  activation.changed = true;
  absl::StatusOr<std::shared_ptr<const rules::RuleSet>> previous =
      rules_->ForRevision(before);
  if (!previous.ok() && !CannotEverRebuild(previous.status())) {
    return previous.status();  // e.g. a read error: retried later
  }
  if (!previous.ok()) {
    // The past cannot be compared, now or later: say so once and account
    // for the revision in force, so later activations are recorded.
    ++impacts_uncomputable_;
    response->set_retroactive_impact_error(absl::StrCat(
        "revision ", now, " is in force (", before, " was before, activated "
        "by ", last_activated_by_.identity, "), but its retroactive impact "
        "cannot be computed: ", previous.status().ToString()));
    return store_->SetActiveRevision(now);
  }
  activation.previous = *std::move(previous);
  return RecordRetroactiveImpact(last_activated_by_, activation, response);
}

absl::Status TradecheckCore::RecordRetroactiveImpact(

    const Caller& caller, const RuleSetHolder::ReloadResult& reload,
    v1::ReloadRuleSetResponse* response) {
  if (retroactive_impact_limit_ <= 0) {
    return KeepActiveRevision(*store_, reload.current->revision(), response);
  }
  // "Past": governed before the activation day, within the widest range the
  // governing-day index walks, and recorded before the activation (later
  // decisions were made under the new set already).
  const absl::CivilDay day =
      absl::ToCivilDay(reload.activated_at, absl::UTCTimeZone());
  v1::DecisionFilter filter;
  filter.set_stream(v1::TRAIL_STREAM_BINDING);
  *filter.mutable_governing_from() =
      ToDate(day - storage::kMaxGoverningDays);
  *filter.mutable_governing_to() = ToDate(day - 1);
  *filter.mutable_recorded_to() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(reload.activated_at));

  v1::RetroactiveImpact impact;
  impact.set_previous_revision(reload.previous->revision());
  impact.set_new_revision(reload.current->revision());
  *impact.mutable_activated_at() = filter.recorded_to();
  *impact.mutable_activation_day() = ToDate(day);
  impact.set_activated_by(caller.identity);
  impact.set_activated_by_role(caller.role);
  impact.set_binding_head_sequence(store_->Stats().binding_head);
  absl::StatusOr<v1::PreviewTotals> totals = CompareRuleSets(
      *reload.previous, *reload.current, filter, retroactive_impact_limit_,
      [&impact](v1::PreviewChange change) {
        *impact.add_changes() = std::move(change);
        return true;
      });
  absl::Status failed = totals.status();
  if (totals.ok()) {
    response->set_retroactive_decisions_evaluated(totals->decisions_evaluated());
    response->set_retroactive_verdicts_changed(totals->verdicts_changed());
    // Nothing past changed, and the walk saw every past decision: no record.
    if (totals->verdicts_changed() == 0 && !totals->truncated()) {
      return KeepActiveRevision(*store_, reload.current->revision(), response);
    }
    *impact.mutable_totals() = *std::move(totals);
    absl::StatusOr<v1::RetroactiveImpact> stored =
        store_->AppendRetroactiveImpact(std::move(impact));
    if (stored.ok()) {
      response->set_retroactive_impact_id(stored->impact_id());
      return KeepActiveRevision(*store_, reload.current->revision(), response);
    }
    failed = stored.status();
  }
  ++impacts_not_recorded_;
  response->set_retroactive_impact_error(absl::StrCat(
      "revision ", reload.current->revision(),
      " is in force, but its retroactive impact was not recorded (it is "
      "retried at the next reload or start): ",
      failed.ToString()));
  return failed;
}

}  // namespace tradecheck
