// TradecheckCore over the real shipped rules and a real store in a
// temporary directory.
#include "core/tradecheck_core.h"

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>

#include "absl/synchronization/notification.h"
#include "common/testing/scratch_tmpfs.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "core/errors.h"
#include "core/response_bytes.h"
#include "storage/audit_store.h"
#include "common/proto_bytes.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/declarations.h"

namespace tradecheck {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::ScratchTmpfs;
using ::tradecheck::testing::SetVnForcedLaborRate;
using ::tradecheck::testing::VnTshirts;
using ::tradecheck::testing::StatusIs;

std::string TempDir(const std::string& prefix) {
  absl::StatusOr<std::string> dir = ::tradecheck::testing::MakeTempDir(prefix);
  if (!dir.ok()) ADD_FAILURE() << dir.status();
  return dir.value_or("");
}

// Calls an async core method and waits for its answer.
template <typename T, typename F>
absl::StatusOr<T> Wait(F&& call) {
  absl::Notification done;
  absl::StatusOr<T> out = absl::UnknownError("no answer");
  call([&](absl::StatusOr<T> r) {
    out = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

v1::CheckDeclarationRequest VietnamLaptops(const std::string& id) {
  v1::CheckDeclarationRequest r;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    declaration {
      kind: DECLARATION_KIND_IMPORT_ENTRY
      exporter_id: "VN-EXP-1"
      importer_id: "US-IMP-1"
      origin_country: "VN"
      export_country: "VN"
      destination_country: "US"
      export_date { year: 2025 month: 10 day: 1 }
      entry_date { year: 2025 month: 10 day: 20 }
      lines {
        line_number: 1
        hs_code: "847130"
        description: "Laptops"
        customs_value { currency_code: "USD" minor_units: 5000000 }
        bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE
        bill_of_materials {
          hs_code: "854231"
          origin_country: "CN"
          value { currency_code: "USD" minor_units: 1000000 }
        }
      }
    }
  )pb", &r));
  r.mutable_declaration()->set_declaration_id(id);
  return r;
}

class TradecheckCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agreements_ = TempDir("core-agreements");
    const std::string copy =
        "cp -r '" TC_AGREEMENTS_DIR "/.' '" + agreements_ + "/'";
    ASSERT_EQ(std::system(copy.c_str()), 0);
    options_.agreements_dir = agreements_;
    options_.data_dir = TempDir("core-data") + "/db";
    auto core = TradecheckCore::Create(options_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  absl::StatusOr<v1::CheckDeclarationResponse> Check(
      const v1::CheckDeclarationRequest& request) {
    return Wait<v1::CheckDeclarationResponse>(
        [&](auto done) { core_->CheckDeclaration(request, "", done); });
  }

  absl::StatusOr<v1::ReevaluateDecisionResponse> Reevaluate(
      const std::string& id) {
    v1::ReevaluateDecisionRequest request;
    request.set_decision_id(id);
    return Wait<v1::ReevaluateDecisionResponse>(
        [&](auto done) { core_->ReevaluateDecision(request, done); });
  }

  std::string agreements_;
  CoreOptions options_;
  std::unique_ptr<TradecheckCore> core_;
};

TEST_F(TradecheckCoreTest, ACheckIsRecordedAndReevaluatesIdentically) {
  TC_ASSERT_OK_AND_ASSIGN(auto response, Check(VietnamLaptops("CORE-1")));
  EXPECT_EQ(response.verdict().rule_set_revision(), core_->GetRuleSet().revision());
  TC_ASSERT_OK_AND_ASSIGN(auto again, Reevaluate(response.verdict().decision_id()));
  EXPECT_TRUE(again.matches_stored());
  EXPECT_TRUE(again.changes().empty()) << again.changes(0);
  EXPECT_EQ(again.current_revision(), response.verdict().rule_set_revision());
}

// The wire answer takes the verdict's bytes from the audit record; it must
// be byte for byte the typed answer serialized, for a new decision and for
// a replay, and hold the verdict the store gives back.
TEST_F(TradecheckCoreTest, TheWireAnswerIsTheTypedAnswerSerialized) {
  const v1::CheckDeclarationRequest request = VietnamLaptops("CORE-WIRE-1");
  for (const bool replay : {false, true}) {
    TC_ASSERT_OK_AND_ASSIGN(std::string wire, Wait<std::string>([&](auto d) {
                              core_->CheckDeclarationWire(Caller::Local(),
                                                          request, d);
                            }));
    v1::CheckDeclarationResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    EXPECT_EQ(parsed.replayed(), replay);
    EXPECT_FALSE(parsed.verdict().record_hash().empty());
    EXPECT_EQ(parsed.SerializeAsString(), wire);
    v1::GetDecisionRequest get;
    get.set_decision_id(parsed.verdict().decision_id());
    TC_ASSERT_OK_AND_ASSIGN(v1::Decision stored,
                            Wait<v1::Decision>([&](auto d) {
                              core_->GetDecision(Caller::Local(), get, d);
                            }));
    EXPECT_EQ(stored.verdict().SerializeAsString(),
              parsed.verdict().SerializeAsString());
  }
}

// The splice itself, on a record laid out as the store writes it (every
// verdict field set, the record hash cleared), with and without a replay.
TEST_F(TradecheckCoreTest, AResponseFromARecordIsTheResponseSerialized) {
  TC_ASSERT_OK_AND_ASSIGN(auto checked, Check(VietnamLaptops("CORE-WIRE-2")));
  v1::Decision decision;
  decision.set_decision_id(checked.verdict().decision_id());
  *decision.mutable_declaration() = VietnamLaptops("CORE-WIRE-2").declaration();
  *decision.mutable_verdict() = checked.verdict();
  decision.mutable_verdict()->clear_record_hash();
  decision.set_caller("someone");
  const std::string record = SerializeDeterministic(decision);
  for (const bool replayed : {false, true}) {
    TC_ASSERT_OK_AND_ASSIGN(
        std::string bytes,
        CheckResponseFromRecord(record, checked.verdict().record_hash(),
                                replayed));
    v1::CheckDeclarationResponse expected = checked;
    expected.set_replayed(replayed);
    EXPECT_EQ(bytes, expected.SerializeAsString());
  }
  EXPECT_THAT(CheckResponseFromRecord("not a record", "h", false),
              StatusIs(absl::StatusCode::kInternal));
  // A stream's result around those bytes, as the typed one serializes.
  for (const uint64_t index : {uint64_t{0}, uint64_t{300}}) {
    for (const std::string id : {"", "CORE-WIRE-2"}) {
      v1::CheckResult expected;
      expected.set_index(index);
      expected.set_declaration_id(id);
      *expected.mutable_response() = checked;
      EXPECT_EQ(CheckResultWithResponse(index, id, checked.SerializeAsString()),
                expected.SerializeAsString());
    }
  }
}

TEST_F(TradecheckCoreTest, ReloadSwapsRevisionAndOldDecisionsStillReevaluate) {
  TC_ASSERT_OK_AND_ASSIGN(auto before, Check(VietnamLaptops("CORE-R-1")));
  const std::string old_revision = before.verdict().rule_set_revision();
  {
    // A reviewed comment is a change of content: a new revision.
    std::ofstream note(agreements_ + "/ruleset.textproto", std::ios::app);
    note << "\n# reviewed again on 2026-11-28\n";
  }
  TC_ASSERT_OK_AND_ASSIGN(auto reload, Wait<v1::ReloadRuleSetResponse>(
                                           [&](auto d) { core_->ReloadRuleSet(d); }));
  EXPECT_TRUE(reload.changed());
  EXPECT_EQ(reload.previous_revision(), old_revision);
  EXPECT_NE(reload.rule_set().revision(), old_revision);

  // New checks carry the new revision; the old decision re-evaluates under
  // its own, and the change of revision is reported.
  TC_ASSERT_OK_AND_ASSIGN(auto after, Check(VietnamLaptops("CORE-R-2")));
  EXPECT_EQ(after.verdict().rule_set_revision(), reload.rule_set().revision());
  TC_ASSERT_OK_AND_ASSIGN(auto re, Reevaluate(before.verdict().decision_id()));
  EXPECT_TRUE(re.matches_stored());
  EXPECT_EQ(re.original_revision_verdict().rule_set_revision(), old_revision);
  EXPECT_EQ(re.current_revision(), reload.rule_set().revision());
  EXPECT_THAT(re.changes(), Contains(HasSubstr("rule-set revision")));
}

TEST_F(TradecheckCoreTest, InvalidDataOnReloadKeepsTheSetInForce) {
  const std::string revision = core_->GetRuleSet().revision();
  { std::ofstream(agreements_ + "/zz-bad.textproto") << "nonsense {\n"; }
  auto reload = Wait<v1::ReloadRuleSetResponse>(
      [&](auto d) { core_->ReloadRuleSet(d); });
  EXPECT_THAT(reload, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("zz-bad.textproto")));
  EXPECT_EQ(core_->GetRuleSet().revision(), revision);
  EXPECT_THAT(Check(VietnamLaptops("CORE-AFTER-BAD")), IsOk());
}

TEST_F(TradecheckCoreTest, ConcurrentChecksGetDistinctSequences) {
  constexpr int kChecks = 200;
  absl::Mutex mu;
  std::set<uint64_t> sequences;
  std::atomic<int> failures{0};
  absl::Notification all_done;
  std::atomic<int> remaining{kChecks};
  for (int i = 0; i < kChecks; ++i) {
    core_->CheckDeclaration(
        VietnamLaptops("CORE-C-" + std::to_string(i)), "",
        [&](absl::StatusOr<v1::CheckDeclarationResponse> r) {
          if (!r.ok()) {
            ++failures;
          } else {
            absl::MutexLock lock(&mu);
            sequences.insert(r->verdict().audit_sequence());
          }
          if (--remaining == 0) all_done.Notify();
        });
  }
  all_done.WaitForNotification();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(sequences.size(), static_cast<size_t>(kChecks));
  EXPECT_EQ(*sequences.rbegin(), static_cast<uint64_t>(kChecks));
}

TEST_F(TradecheckCoreTest, ListValidatesFilters) {
  v1::ListDecisionsRequest request;
  request.set_page_size(5000);
  request.mutable_filter()->set_origin_country("Vietnam");
  request.mutable_filter()->set_hs_code_prefix("8");
  auto listed = Wait<v1::ListDecisionsResponse>(
      [&](auto d) { core_->ListDecisions(request, d); });
  EXPECT_THAT(listed, StatusIs(absl::StatusCode::kInvalidArgument));
  std::set<std::string> fields;
  const google::rpc::BadRequest bad = GetBadRequest(listed.status());
  for (const auto& v : bad.field_violations()) fields.insert(v.field());
  EXPECT_EQ(fields, (std::set<std::string>{"page_size", "filter.origin_country",
                                           "filter.hs_code_prefix"}));
}

TEST_F(TradecheckCoreTest, ShutdownRefusesLaterChecksWithoutLosingEarlierOnes) {
  TC_ASSERT_OK_AND_ASSIGN(auto first, Check(VietnamLaptops("CORE-S-1")));
  EXPECT_THAT(core_->Shutdown(), IsOk());
  core_.reset();
  auto reopened = TradecheckCore::Create(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  v1::GetDecisionRequest get;
  get.set_decision_id(first.verdict().decision_id());
  auto decision = Wait<v1::Decision>(
      [&](auto d) { (*reopened)->GetDecision(get, d); });
  ASSERT_THAT(decision, IsOk());
  EXPECT_EQ(decision->verdict().SerializeAsString(),
            first.verdict().SerializeAsString());
}

// The benchmark-only switch (bench/ builds a server with it for the
// no-store ceiling): the same verdict, but nothing reaches the trail.
TEST_F(TradecheckCoreTest, BenchmarkSkipStoreAnswersTheVerdictAndRecordsNothing) {
  TC_ASSERT_OK_AND_ASSIGN(auto recorded, Check(VietnamLaptops("CORE-B-1")));
  EXPECT_THAT(core_->Shutdown(), IsOk());
  core_.reset();
  options_.benchmark_skip_store = true;
  auto bench = TradecheckCore::Create(options_);
  ASSERT_TRUE(bench.ok()) << bench.status();
  core_ = std::move(*bench);
  TC_ASSERT_OK_AND_ASSIGN(auto answered, Check(VietnamLaptops("CORE-B-2")));
  EXPECT_EQ(answered.verdict().outcome(), recorded.verdict().outcome());
  EXPECT_EQ(answered.verdict().lines(0).total_duty().minor_units(),
            recorded.verdict().lines(0).total_duty().minor_units());
  EXPECT_EQ(answered.verdict().audit_sequence(), 0u);
  EXPECT_TRUE(answered.verdict().decision_id().empty());
  // The id stays free: a second check with other content is no conflict.
  v1::CheckDeclarationRequest other = VietnamLaptops("CORE-B-2");
  other.mutable_declaration()->mutable_lines(0)->set_description("Notebooks");
  EXPECT_THAT(Check(other), IsOk());
}

TEST_F(TradecheckCoreTest, AfterShutdownEveryCallIsUnavailable) {
  ASSERT_THAT(core_->Shutdown(), IsOk());
  EXPECT_THAT(Check(VietnamLaptops("CORE-LATE")),
              StatusIs(absl::StatusCode::kUnavailable));
  v1::GetDecisionRequest get;
  get.set_decision_id("b-000000000001");
  EXPECT_THAT(Wait<v1::Decision>([&](auto d) { core_->GetDecision(get, d); }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Wait<v1::ListDecisionsResponse>([&](auto d) {
                core_->ListDecisions(v1::ListDecisionsRequest(), d);
              }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Wait<v1::VerifyTrailResponse>([&](auto d) {
                core_->VerifyTrail(v1::VerifyTrailRequest(), d);
              }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Wait<v1::ReloadRuleSetResponse>(
                  [&](auto d) { core_->ReloadRuleSet(d); }),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TradecheckCoreTest, ManyProblemsAreCappedSoTheErrorFitsInTrailers) {
  v1::CheckDeclarationRequest request = VietnamLaptops("CORE-MANY-BAD");
  v1::LineItem line = request.declaration().lines(0);
  request.mutable_declaration()->clear_lines();
  for (int i = 1; i <= 40; ++i) {
    line.set_line_number(i);
    line.set_hs_code("12ab");
    *request.mutable_declaration()->add_lines() = line;
  }
  auto result = Check(request);
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetBadRequest(result.status()).field_violations_size(),
            FieldViolations::kMaxListed);
  EXPECT_THAT(result.status().message(), HasSubstr("more problems"));
  EXPECT_LE(result.status().message().size(),
            FieldViolations::kMaxMessageBytes);
}

// Activations and their retroactive-impact records: the store keeps the
// revision whose activation was accounted for last, and every activation
// gets its walk, in the order the revisions came into force, whichever of
// the start's walk and a reload runs first and whatever failed before.
class ActivationTest : public TradecheckCoreTest {
 protected:
  // The server's first start on a new store (its walk keeps the revision
  // loaded), then three Vietnamese T-shirt entries of November 2026 under
  // the Section 301 forced-labor duty: governed before today, so every
  // rate change reaches them.
  void CheckPastEntries() {
    TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse first, StartWalk());
    ASSERT_FALSE(first.changed());
    for (int i = 0; i < 3; ++i) {
      v1::CheckDeclarationRequest request;
      *request.mutable_declaration() =
          VnTshirts(absl::StrCat("CORE-ACT-", i), (1250 + i) * 800, 11);
      ASSERT_THAT(Check(request), IsOk());
    }
  }
  // The server stopped and started again on the same store and files; its
  // start walk (StartWalk) not run yet.
  void Restart() {
    core_.reset();
    auto core = TradecheckCore::Create(options_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }
  absl::StatusOr<v1::ReloadRuleSetResponse> StartWalk() {
    return Wait<v1::ReloadRuleSetResponse>(
        [&](auto done) { core_->RecordImpactSinceLastRun(done); });
  }
  absl::StatusOr<v1::ReloadRuleSetResponse> Reload() {
    return Wait<v1::ReloadRuleSetResponse>(
        [&](auto done) { core_->ReloadRuleSet(done); });
  }
  // Newest first.
  std::vector<v1::RetroactiveImpact> Impacts() {
    absl::StatusOr<v1::ListRetroactiveImpactsResponse> list =
        Wait<v1::ListRetroactiveImpactsResponse>([&](auto done) {
          core_->ListRetroactiveImpacts(
              Caller::Local(), v1::ListRetroactiveImpactsRequest(), done);
        });
    EXPECT_THAT(list, IsOk());
    if (!list.ok()) return {};
    return {list->impacts().begin(), list->impacts().end()};
  }
  std::string Revision() const { return core_->GetRuleSet().revision(); }

  // Asserts the two records of a start on `b` after `a` and a reload to
  // `c`, and that nothing is left to account for.
  void ExpectStartThenReloadRecords(const std::string& a, const std::string& b,
                                    const std::string& c) {
    const std::vector<v1::RetroactiveImpact> impacts = Impacts();
    ASSERT_EQ(impacts.size(), 2u);
    EXPECT_EQ(impacts[1].impact_id(), "ri-000000000001");
    EXPECT_EQ(impacts[1].previous_revision(), a);
    EXPECT_EQ(impacts[1].new_revision(), b);
    EXPECT_EQ(impacts[1].activated_by(), "server start");
    EXPECT_EQ(impacts[1].totals().verdicts_changed(), 3u);
    EXPECT_EQ(impacts[0].previous_revision(), b);
    EXPECT_EQ(impacts[0].new_revision(), c);
    EXPECT_EQ(impacts[0].activated_by(), "local");
    EXPECT_EQ(impacts[0].totals().verdicts_changed(), 3u);
    EXPECT_LE(impacts[1].activated_at().seconds(),
              impacts[0].activated_at().seconds());
    EXPECT_FALSE(core_->GetImpactAccounting().pending);
    // The next start on the same files has nothing left to record.
    Restart();
    TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse again, StartWalk());
    EXPECT_FALSE(again.changed());
    EXPECT_EQ(Impacts().size(), 2u);
  }
};

// A reload may reach the core before the start's walk has run (the server
// serves before it queues that walk) or after it: the records are the same
// either way. Each order is taken on purpose here, so neither depends on
// timing.
class ActivationOrderTest : public ActivationTest,
                            public ::testing::WithParamInterface<bool> {};

TEST_P(ActivationOrderTest, AStartOnChangedFilesAndAReloadAreRecordedInOrder) {
  const bool reload_first = GetParam();
  ASSERT_NO_FATAL_FAILURE(CheckPastEntries());
  const std::string a = Revision();
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1500));
  ASSERT_NO_FATAL_FAILURE(Restart());
  const std::string b = Revision();
  ASSERT_NE(a, b);
  if (!reload_first) {
    TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse start, StartWalk());
    EXPECT_EQ(start.retroactive_impact_id(), "ri-000000000001");
  }
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1750, 1500));
  TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse reload, Reload());
  EXPECT_EQ(reload.retroactive_impact_id(), "ri-000000000002");
  EXPECT_EQ(reload.earlier_activation_accounted(), reload_first);
  if (reload_first) {
    EXPECT_EQ(reload.earlier_retroactive_impact_id(), "ri-000000000001");
    // The start's walk, coming later, finds its activation on record.
    TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse start, StartWalk());
    EXPECT_FALSE(start.changed());
    EXPECT_TRUE(start.retroactive_impact_id().empty());
  }
  ExpectStartThenReloadRecords(a, b, Revision());
}

INSTANTIATE_TEST_SUITE_P(BothOrders, ActivationOrderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ReloadFirst" : "StartFirst";
                         });

// The store on a small tmpfs with a free-space reserve: filling it makes
// the start's walk unable to write its record, the way a full disk would.
class StartWalkFailureTest : public ActivationTest {
 protected:
  static constexpr uint64_t kMiB = 1 << 20;

  void SetUp() override {
    auto fs = ScratchTmpfs::Mount(64);
    if (!fs.ok()) GTEST_SKIP() << fs.status().message();
    fs_ = *std::move(fs);
    ASSERT_NO_FATAL_FAILURE(TradecheckCoreTest::SetUp());
    options_.data_dir = fs_->path() + "/db";
    options_.min_free_disk_bytes = 16 * kMiB;
    ASSERT_NO_FATAL_FAILURE(Restart());
    ASSERT_NO_FATAL_FAILURE(CheckPastEntries());
    before_ = Revision();
    ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1500));
    ASSERT_NO_FATAL_FAILURE(Restart());
    started_ = Revision();

    // The disk fills before the start's walk writes its record.
    ASSERT_THAT(fs_->Fill(4 * kMiB), IsOk());
    TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse start, StartWalk());
    EXPECT_TRUE(start.changed());
    EXPECT_EQ(start.retroactive_decisions_evaluated(), 3u);
    EXPECT_TRUE(start.retroactive_impact_id().empty());
    EXPECT_THAT(start.retroactive_impact_error(),
                HasSubstr("retroactive impact was not recorded"));
    EXPECT_THAT(start.retroactive_impact_error(), HasSubstr("min_free"));
    EXPECT_TRUE(Impacts().empty());
    const TradecheckCore::ImpactAccounting accounting =
        core_->GetImpactAccounting();
    EXPECT_TRUE(accounting.pending);
    EXPECT_EQ(accounting.not_recorded, 1u);
  }
  void TearDown() override {
    core_.reset();
    fs_.reset();
  }

  std::unique_ptr<ScratchTmpfs> fs_;
  std::string before_, started_;
};

TEST_F(StartWalkFailureTest, TheNextStartRecordsWhatTheFailedOneCouldNot) {
  fs_->Unfill();
  ASSERT_NO_FATAL_FAILURE(Restart());
  TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse start, StartWalk());
  EXPECT_TRUE(start.retroactive_impact_error().empty())
      << start.retroactive_impact_error();
  EXPECT_EQ(start.retroactive_impact_id(), "ri-000000000001");
  const std::vector<v1::RetroactiveImpact> impacts = Impacts();
  ASSERT_EQ(impacts.size(), 1u);
  EXPECT_EQ(impacts[0].previous_revision(), before_);
  EXPECT_EQ(impacts[0].new_revision(), started_);
  EXPECT_EQ(impacts[0].activated_by(), "server start");
  EXPECT_EQ(impacts[0].totals().verdicts_changed(), 3u);
  EXPECT_FALSE(core_->GetImpactAccounting().pending);
}

// The bug this guards against: the reload compared only its own change
// and kept its revision, so what the start's revision changed was never
// recorded.
TEST_F(StartWalkFailureTest, AReloadRecordsTheFailedStartsChangesFirst) {
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1750, 1500));
  // Still full: the start's activation cannot go on record, so the reload
  // is refused and the set in force stays.
  EXPECT_THAT(Reload(), StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("server start")));
  EXPECT_EQ(Revision(), started_);
  EXPECT_TRUE(Impacts().empty());

  fs_->Unfill();
  TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse reload, Reload());
  EXPECT_TRUE(reload.earlier_activation_accounted());
  EXPECT_EQ(reload.earlier_retroactive_impact_id(), "ri-000000000001");
  EXPECT_EQ(reload.retroactive_impact_id(), "ri-000000000002");
  EXPECT_TRUE(reload.retroactive_impact_error().empty())
      << reload.retroactive_impact_error();
  ExpectStartThenReloadRecords(before_, started_, Revision());
}

// The activation a reload accounts for first may be one whose impact can
// never be computed (the revision kept before it cannot be rebuilt): the
// reload's answer must say so, not that no past verdict differed under it.
TEST_F(ActivationTest, AReloadSaysWhenTheEarlierActivationCannotBeComputed) {
  ASSERT_NO_FATAL_FAILURE(CheckPastEntries());
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1500));
  core_.reset();
  {
    // The store keeps a revision whose sources it does not have (e.g. a
    // store written by a build before sources were stored).
    storage::AuditStoreOptions store_options;
    store_options.path = options_.data_dir;
    TC_ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::AuditStore> store,
                            storage::AuditStore::Open(store_options));
    ASSERT_THAT(store->SetActiveRevision(std::string(64, 'a')), IsOk());
    ASSERT_THAT(store->Close(), IsOk());
  }
  ASSERT_NO_FATAL_FAILURE(Restart());
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1750, 1500));
  // The reload comes before the start's walk.
  TC_ASSERT_OK_AND_ASSIGN(v1::ReloadRuleSetResponse reload, Reload());
  EXPECT_TRUE(reload.earlier_activation_accounted());
  EXPECT_TRUE(reload.earlier_retroactive_impact_id().empty());
  EXPECT_THAT(reload.earlier_retroactive_impact_error(),
              HasSubstr("cannot be computed"));
  EXPECT_EQ(reload.retroactive_impact_id(), "ri-000000000001");
  EXPECT_EQ(core_->GetImpactAccounting().uncomputable, 1u);
}

// A reload whose files do not load still accounts for the activation owed
// before it, and writes that record: its refusal must name the record, or
// the operator never learns the owed activation is now on record.
TEST_F(ActivationTest, ARefusedReloadNamesTheEarlierRecordItWrote) {
  ASSERT_NO_FATAL_FAILURE(CheckPastEntries());
  ASSERT_TRUE(SetVnForcedLaborRate(agreements_, 1500));
  ASSERT_NO_FATAL_FAILURE(Restart());
  const std::string started = Revision();
  { std::ofstream(agreements_ + "/zz-bad.textproto") << "nonsense {\n"; }
  // The reload comes before the start's walk.
  EXPECT_THAT(Reload(), StatusIs(absl::StatusCode::kInvalidArgument,
                                 AllOf(HasSubstr("zz-bad.textproto"),
                                       HasSubstr("ri-000000000001"))));
  EXPECT_EQ(Revision(), started);
  ASSERT_EQ(Impacts().size(), 1u);
  EXPECT_FALSE(core_->GetImpactAccounting().pending);
}

TEST(DescribeChangesTest, NamesOutcomeAndDutyChanges) {
  v1::Verdict before, after;
  before.set_outcome(v1::OUTCOME_ALLOW);
  after.set_outcome(v1::OUTCOME_NEEDS_REVIEW);
  auto* line_before = before.add_lines();
  line_before->set_line_number(1);
  auto* duty = line_before->add_duties();
  duty->set_measure_id("recip-vn");
  duty->set_rate_basis_points(2000);
  auto* line_after = after.add_lines();
  line_after->set_line_number(1);
  line_after->add_findings()->set_rule_id("DATA-001");
  auto changes = DescribeChanges(before, after);
  EXPECT_THAT(changes, Contains(HasSubstr("outcome OUTCOME_ALLOW -> OUTCOME_NEEDS_REVIEW")));
  EXPECT_THAT(changes, Contains(HasSubstr("line 1: duty recip-vn removed")));
  EXPECT_THAT(changes, Contains(HasSubstr("line 1: new finding DATA-001")));
  EXPECT_TRUE(DescribeChanges(before, before).empty());
}

}  // namespace
}  // namespace tradecheck
