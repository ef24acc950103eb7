#include "core/rule_set_holder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace tradecheck {

absl::StatusOr<std::unique_ptr<RuleSetHolder>> RuleSetHolder::Create(
    std::string agreements_dir, storage::AuditStore* store,
    const Clock* clock) {
  TC_ASSIGN_OR_RETURN(std::shared_ptr<const rules::RuleSet> rules,
                      rules::RuleSet::LoadFromDirectory(agreements_dir));
  TC_RETURN_IF_ERROR(
      store->PutRuleSetSources(rules->revision(), rules->sources()));
  std::unique_ptr<RuleSetHolder> holder(
      new RuleSetHolder(std::move(agreements_dir), store, clock));
  absl::MutexLock lock(&holder->mu_);
  holder->current_ = std::move(rules);
  holder->loaded_at_ = clock->Now();
  return holder;
}

std::shared_ptr<const rules::RuleSet> RuleSetHolder::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

v1::RuleSetInfo RuleSetHolder::CurrentInfo() const {
  std::shared_ptr<const rules::RuleSet> rules;
  absl::Time loaded_at;
  {
    absl::MutexLock lock(&mu_);
    rules = current_;
    loaded_at = loaded_at_;
  }
  v1::RuleSetInfo info = rules->Info();
  *info.mutable_loaded_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(loaded_at));
  return info;
}

absl::StatusOr<RuleSetHolder::ReloadResult> RuleSetHolder::Reload() {
  absl::MutexLock reload_lock(&reload_mu_);
  TC_ASSIGN_OR_RETURN(std::shared_ptr<const rules::RuleSet> fresh,
                      rules::RuleSet::LoadFromDirectory(dir_));
  ReloadResult result;
  result.previous = Current();
  result.previous_revision = result.previous->revision();
  result.changed = fresh->revision() != result.previous_revision;
  if (result.changed) {
    // Sources first: a verdict must never carry a revision the store cannot
    // rebuild.
    TC_RETURN_IF_ERROR(
        store_->PutRuleSetSources(fresh->revision(), fresh->sources()));
    absl::MutexLock lock(&mu_);
    by_revision_[current_->revision()] = current_;
    current_ = fresh;
    loaded_at_ = clock_->Now();
    result.activated_at = loaded_at_;
  }
  result.current = Current();
  result.info = CurrentInfo();
  return result;
}

absl::StatusOr<std::shared_ptr<const rules::RuleSet>>
RuleSetHolder::ForRevision(const std::string& revision) {
  {
    absl::MutexLock lock(&mu_);
    if (current_->revision() == revision) return current_;
    auto it = by_revision_.find(revision);
    if (it != by_revision_.end()) return it->second;
  }
  auto sources = store_->GetRuleSetSources(revision);
  if (absl::IsNotFound(sources.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the sources of rule-set revision ", revision,
        " are not in the store; it cannot be re-evaluated under it"));
  }
  TC_RETURN_IF_ERROR(sources.status());
  TC_ASSIGN_OR_RETURN(std::shared_ptr<const rules::RuleSet> rules,
                      rules::RuleSet::LoadFromSources(*sources));
  if (rules->revision() != revision) {
    return absl::DataLossError(absl::StrCat(
        "stored sources of revision ", revision, " hash to ",
        rules->revision()));
  }
  absl::MutexLock lock(&mu_);
  by_revision_[revision] = rules;
  return rules;
}

}  // namespace tradecheck
