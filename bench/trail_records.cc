#include "bench/trail_records.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "common/dates.h"

namespace tradecheck::bench {

storage::AppendRequest SyntheticRecord(uint64_t i) {
  std::mt19937_64 rng(i * 0x9E3779B97F4A7C15ULL + 42);
  storage::AppendRequest r;
  v1::Declaration& d = r.declaration;
  d.set_declaration_id(absl::StrFormat("DECL-%010d", i));
  d.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  d.set_exporter_id(absl::StrFormat("EXP-%03d", rng() % kExporters));
  d.set_importer_id(absl::StrFormat("IMP-%03d", rng() % kImporters));
  d.set_origin_country(kCountries[rng() % std::size(kCountries)]);
  d.set_destination_country("US");
  // Governing dates spread over two years (kGoverningDays), so a month
  // selects about 1/24 of the trail.
  *d.mutable_entry_date() = ToDate(absl::CivilDay(2024, 1, 1) +
                                   static_cast<int>(rng() % kGoverningDays));
  const int lines = 1 + static_cast<int>(rng() % 2);
  const uint64_t roll = rng() % 10;
  const v1::Outcome outcome = roll < 7   ? v1::OUTCOME_ALLOW
                              : roll < 9 ? v1::OUTCOME_NEEDS_REVIEW
                                         : v1::OUTCOME_DENY;
  v1::Verdict& v = r.verdict;
  v.set_declaration_id(d.declaration_id());
  v.set_outcome(outcome);
  v.set_rule_set_revision(absl::StrFormat("rev-%d", (i / 50'000) % 5));
  *v.mutable_governing_date() = d.entry_date();
  for (int l = 1; l <= lines; ++l) {
    v1::LineItem* line = d.add_lines();
    line->set_line_number(l);
    line->set_hs_code(kHsCodes[rng() % std::size(kHsCodes)]);
    line->set_description("rare-earth permanent magnets, sintered NdFeB");
    line->mutable_customs_value()->set_currency_code("USD");
    line->mutable_customs_value()->set_minor_units(
        static_cast<int64_t>(rng() % 10'000'000));
    v1::LineVerdict* lv = v.add_lines();
    lv->set_line_number(l);
    lv->set_outcome(outcome);
    v1::Finding* f = lv->add_findings();
    f->set_rule_id(absl::StrFormat("R-%03d", rng() % kRules));
    f->set_severity(v1::SEVERITY_INFO);
    f->set_message("reciprocal tariff applies at the rate for the origin");
  }
  v.mutable_total_duty()->set_currency_code("USD");
  v.mutable_total_duty()->set_minor_units(
      static_cast<int64_t>(rng() % 1'000'000));
  r.caller = absl::StrFormat("customs-%02d", rng() % kCallers);
  r.caller_role = v1::CALLER_ROLE_CUSTOMS;
  return r;
}

bool AppendRecords(storage::AuditStore& store, uint64_t from, uint64_t to,
                   const std::function<storage::AppendRequest(uint64_t)>& make,
                   const std::function<void(uint64_t done)>& progress) {
  constexpr uint64_t kWindow = 20'000;
  struct Progress {
    uint64_t done = 0;
    uint64_t want = 0;
    bool failed = false;
    bool Finished() const { return done == want; }
  };
  for (uint64_t i = from; i < to; i += kWindow) {
    const uint64_t end = std::min(to, i + kWindow);
    absl::Mutex mu;
    Progress state;
    state.want = end - i;
    for (uint64_t j = i; j < end; ++j) {
      store.Append(make(j), [&](absl::StatusOr<storage::AppendResult> r) {
        absl::MutexLock lock(&mu);
        if (!r.ok() && !state.failed) {
          state.failed = true;
          std::fprintf(stderr, "append failed: %s\n",
                       r.status().ToString().c_str());
        }
        ++state.done;
      });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&state, &Progress::Finished));
    if (state.failed) return false;
    if (progress) progress(end);
  }
  return true;
}

}  // namespace tradecheck::bench
