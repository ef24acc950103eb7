#include "storage/audit_store.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/dates.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/hashing.h"
#include "storage/keys.h"
#include "storage/testing/tamper.h"
#include "storage/testing/write_fault.h"

namespace tradecheck::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

struct RecordSpec {
  std::string declaration_id;
  std::string exporter = "EXP-1";
  std::string hs_code = "850511";
  v1::Outcome outcome = v1::OUTCOME_ALLOW;
  std::string rule_id = "TAR-001";
  std::string revision = "rev-a";
  v1::TrailStream stream = v1::TRAIL_STREAM_BINDING;
  int entry_day = 2;  // of March 2026: the governing date
};

AppendRequest MakeRequest(const RecordSpec& spec) {
  AppendRequest request;
  request.stream = spec.stream;
  v1::Declaration& d = request.declaration;
  d.set_declaration_id(spec.declaration_id);
  d.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  d.set_exporter_id(spec.exporter);
  d.set_importer_id("IMP-1");
  d.set_origin_country("MY");
  d.mutable_entry_date()->set_year(2026);
  d.mutable_entry_date()->set_month(3);
  d.mutable_entry_date()->set_day(spec.entry_day);
  v1::LineItem* line = d.add_lines();
  line->set_line_number(1);
  line->set_hs_code(spec.hs_code);
  line->mutable_customs_value()->set_currency_code("USD");
  line->mutable_customs_value()->set_minor_units(125000);
  v1::Verdict& v = request.verdict;
  v.set_declaration_id(spec.declaration_id);
  v.set_outcome(spec.outcome);
  v.set_rule_set_revision(spec.revision);
  *v.mutable_governing_date() = d.entry_date();
  v1::LineVerdict* lv = v.add_lines();
  lv->set_line_number(1);
  lv->set_outcome(spec.outcome);
  lv->add_findings()->set_rule_id(spec.rule_id);
  request.caller = "tester";
  return request;
}

AppendRequest MakeRequest(const std::string& declaration_id) {
  RecordSpec spec;
  spec.declaration_id = declaration_id;
  return MakeRequest(spec);
}

std::vector<uint64_t> Sequences(const ListResult& result) {
  std::vector<uint64_t> out;
  for (const v1::Decision& d : result.decisions) out.push_back(d.sequence());
  return out;
}

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/audit_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/db";
  }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_THAT(store_->Close(), IsOk());
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  AuditStoreOptions Options(const std::string& path) {
    AuditStoreOptions options;
    options.path = path;
    options.clock = &clock_;
    return options;
  }
  void OpenStore() {
    TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(Options(path_)));
  }
  void CloseStore() {
    ASSERT_THAT(store_->Close(), IsOk());
    store_.reset();
  }
  v1::Decision Append(AppendRequest request) {
    auto result = store_->AppendAndWait(std::move(request));
    EXPECT_THAT(result, IsOk());
    clock_.Advance(absl::Seconds(1));
    return result.ok() ? result->decision : v1::Decision();
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'780'000'000)};
  std::string dir_;
  std::string path_;
  std::unique_ptr<AuditStore> store_;
};

// ------------------------------------------------------------ append / get

TEST_F(AuditStoreTest, AppendFillsAuditFieldsAndGetReturnsTheRecord) {
  OpenStore();
  AppendRequest request = MakeRequest("D-1");
  const v1::Declaration declaration = request.declaration;
  TC_ASSERT_OK_AND_ASSIGN(AppendResult result,
                          store_->AppendAndWait(std::move(request)));
  const v1::Decision& d = result.decision;
  EXPECT_FALSE(result.replayed);
  EXPECT_EQ(d.decision_id(), "b-000000000001");
  EXPECT_EQ(d.sequence(), 1u);
  EXPECT_EQ(d.stream(), v1::TRAIL_STREAM_BINDING);
  EXPECT_EQ(d.declaration().SerializeAsString(),
            declaration.SerializeAsString());
  EXPECT_EQ(d.rule_set_revision(), "rev-a");
  EXPECT_EQ(d.governing_date().year(), 2026);
  EXPECT_EQ(d.caller(), "tester");
  EXPECT_EQ(d.recorded_at().seconds(), 1'780'000'000);
  EXPECT_EQ(d.previous_hash(), std::string(64, '0'));
  EXPECT_THAT(d.record_hash(), SizeIs(64));
  EXPECT_EQ(d.verdict().decision_id(), d.decision_id());
  EXPECT_EQ(d.verdict().audit_sequence(), 1u);
  EXPECT_EQ(d.verdict().record_hash(), d.record_hash());
  EXPECT_FALSE(d.verdict().validate_only());
  // The documented definition: SHA-256(0x00 || entry bytes).
  EXPECT_EQ(d.record_hash(), absl::BytesToHexString(LeafHash(EntryBytes(d))));

  TC_ASSERT_OK_AND_ASSIGN(v1::Decision got,
                          store_->GetDecision(d.decision_id()));
  EXPECT_EQ(got.SerializeAsString(), d.SerializeAsString());
  TC_ASSERT_OK_AND_ASSIGN(v1::Decision found,
                          store_->FindByDeclarationId("D-1"));
  EXPECT_EQ(found.SerializeAsString(), d.SerializeAsString());
  EXPECT_THAT(store_->GetDecision("b-000000000002"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetDecision("nonsense"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->FindByDeclarationId("D-2"),
              StatusIs(absl::StatusCode::kNotFound));
}

// The caller's role is part of the hashed record; a record without one
// (made before roles existed) has exactly the bytes it had then.
TEST_F(AuditStoreTest, CallerRoleIsHashedAndAbsentWhenUnspecified) {
  OpenStore();
  AppendRequest with_role = MakeRequest("D-role");
  with_role.caller_role = v1::CALLER_ROLE_CUSTOMS;
  TC_ASSERT_OK_AND_ASSIGN(AppendResult a,
                          store_->AppendAndWait(std::move(with_role)));
  TC_ASSERT_OK_AND_ASSIGN(AppendResult b,
                          store_->AppendAndWait(MakeRequest("D-norole")));
  TC_ASSERT_OK_AND_ASSIGN(v1::Decision read,
                          store_->GetDecision(a.decision.decision_id()));
  EXPECT_EQ(read.caller_role(), v1::CALLER_ROLE_CUSTOMS);
  EXPECT_EQ(absl::BytesToHexString(LeafHash(EntryBytes(read))),
            read.record_hash());
  v1::Decision altered = read;
  altered.set_caller_role(v1::CALLER_ROLE_AUDITOR);
  EXPECT_NE(absl::BytesToHexString(LeafHash(EntryBytes(altered))),
            read.record_hash());
  // Field 120 is not on the wire when unspecified.
  const std::string plain = EntryBytes(b.decision);
  v1::Decision without = b.decision;
  without.clear_caller_role();
  EXPECT_EQ(plain, EntryBytes(without));
}

TEST_F(AuditStoreTest, ValidateOnlyIsASeparateStreamWithoutIdempotency) {
  OpenStore();
  Append(MakeRequest("D-1"));
  RecordSpec spec;
  spec.declaration_id = "D-1";
  spec.stream = v1::TRAIL_STREAM_VALIDATE_ONLY;
  v1::Decision first = Append(MakeRequest(spec));
  v1::Decision second = Append(MakeRequest(spec));
  EXPECT_EQ(first.decision_id(), "v-000000000001");
  EXPECT_EQ(second.decision_id(), "v-000000000002");
  EXPECT_TRUE(first.verdict().validate_only());
  EXPECT_EQ(first.previous_hash(), std::string(64, '0'));
  EXPECT_EQ(second.previous_hash(), first.record_hash());
  // The binding record still holds the declaration id.
  TC_ASSERT_OK_AND_ASSIGN(v1::Decision found,
                          store_->FindByDeclarationId("D-1"));
  EXPECT_EQ(found.decision_id(), "b-000000000001");
}

TEST_F(AuditStoreTest, RecordedAtNeverGoesBackwardsWithinAStream) {
  OpenStore();
  v1::Decision first = Append(MakeRequest("D-1"));
  clock_.Advance(absl::Hours(-2));
  v1::Decision second = Append(MakeRequest("D-2"));
  EXPECT_GE(second.recorded_at().seconds(), first.recorded_at().seconds());
}

// ------------------------------------------------------------ idempotency

TEST_F(AuditStoreTest, SameIdAndContentReplaysTheStoredVerdict) {
  OpenStore();
  v1::Decision original = Append(MakeRequest("D-1"));
  AppendRequest retry = MakeRequest("D-1");
  retry.verdict.set_outcome(v1::OUTCOME_DENY);  // a re-evaluation differs
  TC_ASSERT_OK_AND_ASSIGN(AppendResult result,
                          store_->AppendAndWait(std::move(retry)));
  EXPECT_TRUE(result.replayed);
  EXPECT_EQ(result.decision.SerializeAsString(), original.SerializeAsString());
  EXPECT_EQ(store_->Stats().records_written, 1u);
  EXPECT_EQ(store_->Stats().replays, 1u);
}

TEST_F(AuditStoreTest, SameIdWithDifferentContentIsRefusedNamingTheDecision) {
  OpenStore();
  Append(MakeRequest("D-1"));
  AppendRequest other = MakeRequest("D-1");
  other.declaration.set_importer_id("IMP-OTHER");
  EXPECT_THAT(
      store_->AppendAndWait(std::move(other)),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("b-000000000001")));
  EXPECT_EQ(store_->Stats().records_written, 1u);
}

TEST_F(AuditStoreTest, ConcurrentAppendsOfOneIdWriteExactlyOneRecord) {
  OpenStore();
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<AppendResult>> results(kThreads,
                                                    absl::UnknownError(""));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = store_->AppendAndWait(MakeRequest("D-same")); });
  }
  for (std::thread& t : threads) t.join();
  int written = 0;
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->decision.decision_id(), "b-000000000001");
    if (!r->replayed) ++written;
  }
  EXPECT_EQ(written, 1);
  EXPECT_EQ(store_->Stats().records_written, 1u);
}

// ------------------------------------------------------------ group commit

TEST_F(AuditStoreTest, ConcurrentAppendsAreGroupCommitted) {
  OpenStore();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_->AppendAndWait(MakeRequest(absl::StrCat("D-", t, "-", i)))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const AuditStoreStats stats = store_->Stats();
  EXPECT_EQ(stats.records_written, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(stats.synced_writes, stats.batches_written);
  EXPECT_LT(stats.batches_written, stats.records_written);
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verify,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.records_checked(), uint64_t{kThreads * kPerThread});
}

TEST_F(AuditStoreTest, CallbacksRunOnlyAfterTheRecordIsReadable) {
  OpenStore();
  absl::Mutex mu;
  int done = 0;
  absl::Status seen;
  for (int i = 0; i < 20; ++i) {
    store_->Append(
        MakeRequest(absl::StrCat("D-", i)),
        [&](absl::StatusOr<AppendResult> r) {
          absl::Status s = r.status();
          if (s.ok())
            s = store_->GetDecision(r->decision.decision_id()).status();
          absl::MutexLock lock(&mu);
          if (seen.ok()) seen = s;
          ++done;
        });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* d) { return *d == 20; }, &done));
  EXPECT_THAT(seen, IsOk());
}

TEST_F(AuditStoreTest, AFailedWriteAnswersErrorsAndDoesNotAdvanceTheChain) {
  OpenStore();
  v1::Decision first = Append(MakeRequest("D-1"));
  testing::FailNextWritesForTesting(1);
  AppendRequest quota_request = MakeRequest("D-2");
  quota_request.quota_draws.push_back({"q", 100, 1000});
  EXPECT_THAT(store_->AppendAndWait(std::move(quota_request)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  EXPECT_THAT(store_->FindByDeclarationId("D-2"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(*store_->QuotaConsumed("q"), 0);

  // The retry takes the sequence the failed write would have had.
  v1::Decision retried = Append(MakeRequest("D-2"));
  EXPECT_EQ(retried.sequence(), 2u);
  EXPECT_EQ(retried.previous_hash(), first.record_hash());
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verify,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(store_->Stats().records_written, 2u);
}

// ------------------------------------------------------------ chain / verify

TEST_F(AuditStoreTest, VerifyPassesThenNamesTheAlteredRecord) {
  OpenStore();
  std::vector<v1::Decision> decisions;
  for (int i = 1; i <= 10; ++i) {
    decisions.push_back(Append(MakeRequest(absl::StrCat("D-", i))));
  }
  for (int i = 1; i < 10; ++i) {
    EXPECT_EQ(decisions[i].previous_hash(), decisions[i - 1].record_hash());
  }
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse ok,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(ok.ok()) << ok.problem();
  EXPECT_EQ(ok.records_checked(), 10u);
  EXPECT_EQ(ok.head_sequence(), 10u);
  EXPECT_EQ(ok.head_hash(), decisions[9].record_hash());
  CloseStore();

  ASSERT_THAT(testing::FlipByteInRecord(path_, v1::TRAIL_STREAM_BINDING, 4, 30),
              IsOk());
  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse bad,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.first_bad_sequence(), 4u);
  EXPECT_EQ(bad.first_bad_decision_id(), "b-000000000004");
  EXPECT_THAT(bad.problem(), HasSubstr("does not match"));
  EXPECT_EQ(bad.records_checked(), 3u);
  // Reading the altered record is refused rather than served.
  EXPECT_THAT(
      store_->GetDecision("b-000000000004"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("b-000000000004")));
  // A range after it still verifies (its link is to the recorded hash).
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse after,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 5, 10));
  EXPECT_TRUE(after.ok()) << after.problem();
  EXPECT_EQ(after.records_checked(), 6u);
}

TEST_F(AuditStoreTest, VerifyNamesAnAlteredLastRecord) {
  OpenStore();
  for (int i = 1; i <= 3; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  CloseStore();
  ASSERT_THAT(testing::FlipByteInRecord(path_, v1::TRAIL_STREAM_BINDING, 3, 0),
              IsOk());
  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse bad,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.first_bad_decision_id(), "b-000000000003");
}

TEST_F(AuditStoreTest, VerifyRejectsAnInvertedRange) {
  OpenStore();
  EXPECT_THAT(store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 5, 2),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ------------------------------------------------------------ open / close

TEST_F(AuditStoreTest, ReopenKeepsRecordsChainAndIdempotency) {
  OpenStore();
  v1::Decision last;
  for (int i = 1; i <= 3; ++i)
    last = Append(MakeRequest(absl::StrCat("D-", i)));
  RecordSpec spec;
  spec.declaration_id = "V-1";
  spec.stream = v1::TRAIL_STREAM_VALIDATE_ONLY;
  Append(MakeRequest(spec));
  CloseStore();

  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(AppendResult replay,
                          store_->AppendAndWait(MakeRequest("D-2")));
  EXPECT_TRUE(replay.replayed);
  v1::Decision next = Append(MakeRequest("D-4"));
  EXPECT_EQ(next.sequence(), 4u);
  EXPECT_EQ(next.previous_hash(), last.record_hash());
  EXPECT_GE(next.recorded_at().seconds(), last.recorded_at().seconds());
  EXPECT_EQ(Append(MakeRequest(spec)).decision_id(), "v-000000000002");
  for (auto stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verify,
                            store_->VerifyTrail(stream, 0, 0));
    EXPECT_TRUE(verify.ok()) << verify.problem();
  }
}

TEST_F(AuditStoreTest, ClosedStoreRefusesWork) {
  OpenStore();
  ASSERT_THAT(store_->Close(), IsOk());
  EXPECT_THAT(store_->AppendAndWait(MakeRequest("D-1")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_->GetDecision("b-000000000001"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_->Close(), IsOk());
}

TEST_F(AuditStoreTest, CloseDrainsPendingAppends) {
  OpenStore();
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    store_->Append(MakeRequest(absl::StrCat("D-", i)),
                   [&](absl::StatusOr<AppendResult> r) { ok += r.ok(); });
  }
  ASSERT_THAT(store_->Close(), IsOk());
  EXPECT_EQ(ok.load(), 50);
  store_.reset();
  OpenStore();
  EXPECT_THAT(store_->GetDecision("b-000000000050"), IsOk());
}


// Compression is a property of each table file, not of the records: a store
// whose files were written with other options (RocksDB's defaults here,
// as a build before the records' dictionary compression wrote them) opens,
// is rewritten by a compaction under the trail's tuning, and still serves
// exactly the bytes it hashed, verified, in less space.
TEST_F(AuditStoreTest, FilesWrittenWithOtherCompressionKeepTheirHashedBytes) {
  AuditStoreOptions former = Options(path_);
  former.rocksdb_defaults = true;
  former.sync = false;
  std::vector<v1::Decision> written;
  uint64_t former_bytes = 0;
  {
    TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(former));
    for (int i = 1; i <= 2000; ++i) {
      RecordSpec spec;
      spec.declaration_id = absl::StrCat("D-", i);
      spec.exporter = absl::StrCat("EXP-", i % 37);
      spec.hs_code = i % 2 == 0 ? "850511" : "280530";
      written.push_back(Append(MakeRequest(spec)));
    }
    std::map<std::string, uint64_t> by_family;
    ASSERT_THAT(store_->CompactAndMeasure(&by_family), IsOk());
    former_bytes = by_family[keys::kRecordsCf];
    CloseStore();
  }
  OpenStore();  // the trail's tuning
  std::map<std::string, uint64_t> by_family;
  ASSERT_THAT(store_->CompactAndMeasure(&by_family), IsOk());
  EXPECT_LT(by_family[keys::kRecordsCf], former_bytes);
  CloseStore();

  OpenStore();
  for (const v1::Decision& d : written) {
    TC_ASSERT_OK_AND_ASSIGN(v1::Decision got,
                            store_->GetDecision(d.decision_id()));
    EXPECT_EQ(got.SerializeAsString(), d.SerializeAsString());
  }
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verify,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.records_checked(), written.size());
  EXPECT_EQ(verify.head_hash(), written.back().record_hash());
  // And new records chain on to the old ones.
  EXPECT_EQ(Append(MakeRequest("D-new")).previous_hash(),
            written.back().record_hash());
}
TEST_F(AuditStoreTest, OtherSchemaVersionIsRefusedClearly) {
  OpenStore();
  CloseStore();
  ASSERT_THAT(testing::SetSchemaVersion(path_, "7"), IsOk());
  EXPECT_THAT(AuditStore::Open(Options(path_)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schema version 7")));
}

// Records that arrive together are group-committed: their index postings
// are written as one block per value and they share one recorded_at, with
// one time key per batch. Every filter (equality, time range, joined,
// paged) must answer exactly what a scan of the records would, before and
// after the store's indexes are rewritten in the version 1 layout (one key
// per record) and the store is upgraded in place.
TEST_F(AuditStoreTest, GroupCommittedIndexesAnswerLikeAScanAcrossVersions) {
  // One second later at each reading: group commits get distinct times.
  SteppingClock clock(absl::FromUnixSeconds(1'780'000'000), absl::Seconds(1));
  AuditStoreOptions options = Options(path_);
  options.clock = &clock;
  options.max_batch = 16;
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options));

  const std::vector<std::string> hs_codes = {"850511", "850520", "280530",
                                             "151110"};
  const std::vector<v1::Outcome> outcomes = {
      v1::OUTCOME_ALLOW, v1::OUTCOME_DENY, v1::OUTCOME_NEEDS_REVIEW};
  struct Stored {
    RecordSpec spec;
    absl::Time recorded_at;
  };
  std::map<std::pair<v1::TrailStream, uint64_t>, Stored> stored;
  int next_id = 0;
  // Appends `count` records at once (so they group-commit) and waits.
  auto wave = [&](int count) {
    absl::Mutex mu;
    int pending = count;
    for (int k = 0; k < count; ++k) {
      const int i = next_id++;
      RecordSpec spec;
      spec.declaration_id = absl::StrCat("D-", i);
      spec.exporter = absl::StrCat("EXP-", i % 7);
      spec.hs_code = hs_codes[i % hs_codes.size()];
      spec.outcome = outcomes[(i / 2) % outcomes.size()];
      spec.rule_id = absl::StrCat("TAR-00", i % 5);
      spec.revision = i % 200 < 100 ? "rev-a" : "rev-b";
      if (i % 10 == 3) spec.stream = v1::TRAIL_STREAM_VALIDATE_ONLY;
      store_->Append(MakeRequest(spec),
                     [&, spec](absl::StatusOr<AppendResult> result) {
                       absl::MutexLock lock(&mu);
                       EXPECT_THAT(result, IsOk());
                       if (result.ok()) {
                         const v1::Decision& d = result->decision;
                         stored[{d.stream(), d.sequence()}] = {
                             spec,
                             absl::FromUnixSeconds(d.recorded_at().seconds()) +
                                 absl::Nanoseconds(d.recorded_at().nanos())};
                       }
                       --pending;
                     });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* p) { return *p == 0; }, &pending));
  };
  for (int w = 0; w < 20; ++w) wave(1 + (w * 7) % 40);
  const size_t first_records = stored.size();

  // Group commits happened, and a batch's records share one recorded_at:
  // the clock was read once per batch and stream, not once per record.
  const AuditStoreStats stats = store_->Stats();
  ASSERT_EQ(stats.records_written, first_records);
  ASSERT_LT(stats.batches_written, stats.records_written)
      << "no group commit held more than one record";
  std::set<absl::Time> times;
  for (const auto& [key, s] : stored) times.insert(s.recorded_at);
  EXPECT_LE(times.size(), 2 * stats.batches_written);
  EXPECT_LT(times.size(), stored.size());

  std::vector<v1::DecisionFilter> filters(1);  // no filter
  auto add = [&](auto set) {
    v1::DecisionFilter f;
    set(f);
    filters.push_back(f);
  };
  add([](auto& f) { f.set_exporter_id("EXP-3"); });
  add([](auto& f) { f.set_hs_code_prefix("85"); });
  add([](auto& f) { f.set_hs_code_prefix("8505"); });
  add([](auto& f) { f.set_hs_code_prefix("850520"); });
  add([](auto& f) { f.set_outcome(v1::OUTCOME_DENY); });
  add([](auto& f) { f.set_rule_id("TAR-002"); });
  add([](auto& f) { f.set_rule_set_revision("rev-b"); });
  add([](auto& f) {
    f.set_exporter_id("EXP-1");
    f.set_outcome(v1::OUTCOME_NEEDS_REVIEW);
  });
  add([](auto& f) {
    f.set_hs_code_prefix("2805");
    f.set_rule_id("TAR-004");
    f.set_rule_set_revision("rev-a");
  });
  add([](auto& f) {
    f.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
    f.set_exporter_id("EXP-6");
  });
  // Time ranges between batch times, alone and joined.
  const std::vector<absl::Time> sorted_times(times.begin(), times.end());
  auto timestamp = [](absl::Time t) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(absl::ToUnixSeconds(t));
    return ts;
  };
  for (size_t a : {size_t{0}, sorted_times.size() / 4, sorted_times.size() / 2}) {
    const absl::Time from = sorted_times[a];
    const absl::Time to = sorted_times[std::min(sorted_times.size() - 1,
                                                a + sorted_times.size() / 3)];
    add([&](auto& f) {
      *f.mutable_recorded_from() = timestamp(from);
      *f.mutable_recorded_to() = timestamp(to);
    });
    add([&](auto& f) {
      *f.mutable_recorded_from() = timestamp(from);
      f.set_exporter_id("EXP-2");
    });
    add([&](auto& f) {
      *f.mutable_recorded_to() = timestamp(to);
      f.set_outcome(v1::OUTCOME_ALLOW);
      f.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
    });
  }

  auto expected = [&](const v1::DecisionFilter& f) {
    const v1::TrailStream stream = f.stream() == v1::TRAIL_STREAM_UNSPECIFIED
                                       ? v1::TRAIL_STREAM_BINDING
                                       : f.stream();
    std::vector<uint64_t> out;
    for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
      const RecordSpec& r = it->second.spec;
      const absl::Time t = it->second.recorded_at;
      if (it->first.first != stream) continue;
      if (!f.exporter_id().empty() && r.exporter != f.exporter_id()) continue;
      if (!f.hs_code_prefix().empty() &&
          r.hs_code.rfind(f.hs_code_prefix(), 0) != 0) {
        continue;
      }
      if (f.outcome() != v1::OUTCOME_UNSPECIFIED && r.outcome != f.outcome()) {
        continue;
      }
      if (!f.rule_id().empty() && r.rule_id != f.rule_id()) continue;
      if (!f.rule_set_revision().empty() &&
          r.revision != f.rule_set_revision()) {
        continue;
      }
      if (f.has_recorded_from() &&
          t < absl::FromUnixSeconds(f.recorded_from().seconds())) {
        continue;
      }
      if (f.has_recorded_to() &&
          t >= absl::FromUnixSeconds(f.recorded_to().seconds())) {
        continue;
      }
      out.push_back(it->first.second);
    }
    return out;
  };
  auto check_all = [&](absl::string_view when) {
    for (const v1::DecisionFilter& f : filters) {
      std::vector<uint64_t> got;
      std::string token;
      do {
        auto page = store_->ListDecisions(f, 7, token);
        ASSERT_THAT(page, IsOk()) << when << ": " << f.ShortDebugString();
        for (uint64_t seq : Sequences(*page)) got.push_back(seq);
        token = page->next_page_token;
      } while (!token.empty());
      EXPECT_EQ(got, expected(f)) << when << ": " << f.ShortDebugString();
    }
  };
  check_all("group-committed blocks");

  CloseStore();
  TC_ASSERT_OK_AND_ASSIGN(int blocks, testing::RewriteIndexesAsVersion1(path_));
  EXPECT_GT(blocks, 0);
  ASSERT_THAT(testing::SetSchemaVersion(path_, "1"), IsOk());
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options));
  check_all("version 1 layout");
  // Opening builds the Merkle tree and records version 6 (a version 1 or 2
  // build then refuses the store).
  CloseStore();
  TC_ASSERT_OK_AND_ASSIGN(std::string version,
                          testing::GetSchemaVersion(path_));
  EXPECT_EQ(version, "6");

  // New group commits after version 1 keys of the same values.
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options));
  for (int w = 0; w < 5; ++w) wave(10 + w * 5);
  check_all("after the upgrade");
  CloseStore();
  TC_ASSERT_OK_AND_ASSIGN(version, testing::GetSchemaVersion(path_));
  EXPECT_EQ(version, "6");
}

TEST_F(AuditStoreTest, DirectoryThatIsNotAStoreIsRefusedClearly) {
  const std::string plain = dir_ + "/plain";
  std::filesystem::create_directories(plain);
  std::ofstream(plain + "/notes.txt") << "hello";
  EXPECT_THAT(AuditStore::Open(Options(plain)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a tradecheck audit store")));

  const std::string foreign = dir_ + "/foreign";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, foreign, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_THAT(AuditStore::Open(Options(foreign)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a tradecheck audit store")));
}

TEST_F(AuditStoreTest, CorruptedStoreIsRefusedClearly) {
  OpenStore();
  Append(MakeRequest("D-1"));
  CloseStore();
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      std::ofstream(entry.path(), std::ios::trunc) << "garbage garbage";
    }
  }
  auto reopened = AuditStore::Open(Options(path_));
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(reopened.status().message(), HasSubstr(path_));
  EXPECT_THAT(reopened.status().code(),
              ::testing::AnyOf(absl::StatusCode::kDataLoss,
                               absl::StatusCode::kFailedPrecondition));
}

// ------------------------------------------------------------ listing

TEST_F(AuditStoreTest, FiltersCombine) {
  OpenStore();
  // 1: EXP-1 ALLOW 850511 TAR-001 rev-a
  // 2: EXP-2 DENY  850511 CM-002  rev-a
  // 3: EXP-1 DENY  280530 CM-002  rev-b
  // 4: EXP-1 ALLOW 280530 TAR-001 rev-b
  RecordSpec s1{"D-1",     "EXP-1", "850511", v1::OUTCOME_ALLOW,
                "TAR-001", "rev-a"};
  RecordSpec s2{"D-2", "EXP-2", "850511", v1::OUTCOME_DENY, "CM-002", "rev-a"};
  RecordSpec s3{"D-3", "EXP-1", "280530", v1::OUTCOME_DENY, "CM-002", "rev-b"};
  RecordSpec s4{"D-4",     "EXP-1", "280530", v1::OUTCOME_ALLOW,
                "TAR-001", "rev-b"};
  for (const RecordSpec& s : {s1, s2, s3, s4}) Append(MakeRequest(s));
  RecordSpec v{"V-1",
               "EXP-1",
               "850511",
               v1::OUTCOME_ALLOW,
               "TAR-001",
               "rev-a",
               v1::TRAIL_STREAM_VALIDATE_ONLY};
  Append(MakeRequest(v));

  auto list = [&](const v1::DecisionFilter& f) {
    auto r = store_->ListDecisions(f, 0, "");
    EXPECT_THAT(r, IsOk());
    return r.ok() ? Sequences(*r) : std::vector<uint64_t>{};
  };
  using V = std::vector<uint64_t>;
  v1::DecisionFilter f;
  EXPECT_EQ(list(f), (V{4, 3, 2, 1}));
  f.set_exporter_id("EXP-1");
  EXPECT_EQ(list(f), (V{4, 3, 1}));
  f.set_outcome(v1::OUTCOME_DENY);
  EXPECT_EQ(list(f), (V{3}));
  f.Clear();
  f.set_hs_code_prefix("85");
  EXPECT_EQ(list(f), (V{2, 1}));
  f.set_hs_code_prefix("850511");
  EXPECT_EQ(list(f), (V{2, 1}));
  f.set_hs_code_prefix("8506");
  EXPECT_EQ(list(f), (V{}));
  f.Clear();
  f.set_rule_id("CM-002");
  EXPECT_EQ(list(f), (V{3, 2}));
  f.set_rule_set_revision("rev-b");
  EXPECT_EQ(list(f), (V{3}));
  f.Clear();
  f.set_importer_id("IMP-1");
  f.set_origin_country("MY");
  EXPECT_EQ(list(f), (V{4, 3, 2, 1}));
  f.set_origin_country("CN");
  EXPECT_EQ(list(f), (V{}));
  f.Clear();
  f.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  EXPECT_EQ(list(f), (V{1}));
  // Time: records were stamped at t0, t0+1s, ... (Append advances 1 s).
  f.Clear();
  f.mutable_recorded_from()->set_seconds(1'780'000'001);
  f.mutable_recorded_to()->set_seconds(1'780'000'003);
  EXPECT_EQ(list(f), (V{3, 2}));
  f.set_exporter_id("EXP-1");
  EXPECT_EQ(list(f), (V{3}));
  f.Clear();
  f.mutable_recorded_from()->set_seconds(1'790'000'000);
  EXPECT_EQ(list(f), (V{}));
}

TEST_F(AuditStoreTest, PagesStayStableWhileRecordsArrive) {
  OpenStore();
  for (int i = 1; i <= 25; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  v1::DecisionFilter f;
  f.set_exporter_id("EXP-1");
  TC_ASSERT_OK_AND_ASSIGN(ListResult page1, store_->ListDecisions(f, 10, ""));
  EXPECT_EQ(Sequences(page1).front(), 25u);
  EXPECT_EQ(Sequences(page1).back(), 16u);
  ASSERT_FALSE(page1.next_page_token.empty());
  for (int i = 26; i <= 30; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  TC_ASSERT_OK_AND_ASSIGN(ListResult page2,
                          store_->ListDecisions(f, 10, page1.next_page_token));
  EXPECT_EQ(Sequences(page2).front(), 15u);
  EXPECT_EQ(Sequences(page2).back(), 6u);
  TC_ASSERT_OK_AND_ASSIGN(ListResult page3,
                          store_->ListDecisions(f, 10, page2.next_page_token));
  EXPECT_EQ(Sequences(page3), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  EXPECT_TRUE(page3.next_page_token.empty());
  // A new listing sees the new records.
  TC_ASSERT_OK_AND_ASSIGN(ListResult fresh, store_->ListDecisions(f, 10, ""));
  EXPECT_EQ(Sequences(fresh).front(), 30u);
  // An exactly full last page has no token.
  TC_ASSERT_OK_AND_ASSIGN(ListResult all, store_->ListDecisions(f, 30, ""));
  EXPECT_THAT(all.decisions, SizeIs(30));
  EXPECT_TRUE(all.next_page_token.empty());
}

// Before: a page of 100 large records was a 315 MB response and every
// client with gRPC's default 4 MiB receive limit failed RESOURCE_EXHAUSTED.
TEST_F(AuditStoreTest, APageOfLargeRecordsStopsAtItsByteBudget) {
  OpenStore();
  for (int i = 1; i <= 10; ++i) {
    AppendRequest request = MakeRequest(absl::StrCat("D-", i));
    request.declaration.mutable_lines(0)->set_description(
        std::string(500 * 1024, 'x'));
    Append(std::move(request));
  }
  std::vector<uint64_t> seen;
  std::string token;
  int pages = 0;
  do {
    TC_ASSERT_OK_AND_ASSIGN(ListResult page,
                            store_->ListDecisions(v1::DecisionFilter(), 100,
                                                  token));
    size_t bytes = 0;
    for (const auto& d : page.decisions) bytes += d.ByteSizeLong();
    EXPECT_LT(bytes, 3u * 1024 * 1024);
    for (uint64_t s : Sequences(page)) seen.push_back(s);
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 20);
  EXPECT_GE(pages, 2);  // 2 MiB is about four of these records
  EXPECT_EQ(seen, (std::vector<uint64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
}

TEST_F(AuditStoreTest, PageTokensSurviveARestart) {
  OpenStore();
  for (int i = 1; i <= 5; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  TC_ASSERT_OK_AND_ASSIGN(ListResult page1,
                          store_->ListDecisions(v1::DecisionFilter(), 2, ""));
  CloseStore();
  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(
      ListResult page2,
      store_->ListDecisions(v1::DecisionFilter(), 2, page1.next_page_token));
  EXPECT_EQ(Sequences(page2), (std::vector<uint64_t>{3, 2}));
}

TEST_F(AuditStoreTest, BadListArgumentsNameTheField) {
  OpenStore();
  for (int i = 1; i <= 3; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  v1::DecisionFilter f;
  TC_ASSERT_OK_AND_ASSIGN(ListResult page1, store_->ListDecisions(f, 1, ""));
  std::string token = page1.next_page_token;
  token[token.size() / 2] = token[token.size() / 2] == 'x' ? 'y' : 'x';
  EXPECT_THAT(
      store_->ListDecisions(f, 1, token),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  v1::DecisionFilter other;
  other.set_exporter_id("EXP-1");
  EXPECT_THAT(
      store_->ListDecisions(other, 1, page1.next_page_token),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(
      store_->ListDecisions(f, 1001, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(
      store_->ListDecisions(f, -1, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  f.set_hs_code_prefix("8");
  EXPECT_THAT(store_->ListDecisions(f, 1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter.hs_code_prefix")));
  f.set_hs_code_prefix("85a1");
  EXPECT_THAT(store_->ListDecisions(f, 1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter.hs_code_prefix")));
}

// ------------------------------------------------------------ quota

TEST_F(AuditStoreTest, ConcurrentDrawsNeverOversellAQuota) {
  OpenStore();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 10;
  constexpr int64_t kLimit = 10'000;
  constexpr int64_t kAmount = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AppendRequest r = MakeRequest(absl::StrCat("D-", t, "-", i));
        r.quota_draws.push_back({"q-my-re", kAmount, kLimit});
        r.on_shortfall = [kAmount](size_t, int64_t remaining, v1::Verdict* v) {
          v->set_outcome(v1::OUTCOME_DENY);
          EXPECT_LT(remaining, kAmount);
        };
        EXPECT_THAT(store_->AppendAndWait(std::move(r)), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();

  TC_ASSERT_OK_AND_ASSIGN(int64_t consumed, store_->QuotaConsumed("q-my-re"));
  EXPECT_EQ(consumed, (kLimit / kAmount) * kAmount);
  int64_t in_trail = 0;
  std::string token;
  do {
    TC_ASSERT_OK_AND_ASSIGN(
        ListResult page,
        store_->ListDecisions(v1::DecisionFilter(), 1000, token));
    for (const v1::Decision& d : page.decisions) {
      if (d.verdict().outcome() == v1::OUTCOME_ALLOW) in_trail += kAmount;
    }
    token = page.next_page_token;
  } while (!token.empty());
  EXPECT_EQ(in_trail, consumed);
}

TEST_F(AuditStoreTest, QuotaDrawsAreAllOrNothingAndNotRepeatedOnReplay) {
  OpenStore();
  AppendRequest r = MakeRequest("D-1");
  r.quota_draws.push_back({"q-a", 100, 1000});
  r.quota_draws.push_back({"q-b", 600, 500});
  std::vector<std::pair<size_t, int64_t>> shortfalls;
  r.on_shortfall = [&](size_t i, int64_t remaining, v1::Verdict* v) {
    shortfalls.emplace_back(i, remaining);
    v->set_outcome(v1::OUTCOME_DENY);
  };
  TC_ASSERT_OK_AND_ASSIGN(AppendResult denied,
                          store_->AppendAndWait(std::move(r)));
  EXPECT_EQ(denied.decision.verdict().outcome(), v1::OUTCOME_DENY);
  EXPECT_EQ(shortfalls, (std::vector<std::pair<size_t, int64_t>>{{1, 500}}));
  EXPECT_EQ(*store_->QuotaConsumed("q-a"), 0);
  EXPECT_EQ(*store_->QuotaConsumed("q-b"), 0);

  for (int attempt = 0; attempt < 2; ++attempt) {  // second is a replay
    AppendRequest fits = MakeRequest("D-2");
    fits.quota_draws.push_back({"q-a", 100, 1000});
    TC_ASSERT_OK_AND_ASSIGN(AppendResult result,
                            store_->AppendAndWait(std::move(fits)));
    EXPECT_EQ(result.replayed, attempt == 1);
  }
  EXPECT_EQ(*store_->QuotaConsumed("q-a"), 100);

  RecordSpec spec;
  spec.declaration_id = "V-1";
  spec.stream = v1::TRAIL_STREAM_VALIDATE_ONLY;
  AppendRequest dry = MakeRequest(spec);
  dry.quota_draws.push_back({"q-a", 100, 1000});
  ASSERT_THAT(store_->AppendAndWait(std::move(dry)), IsOk());
  EXPECT_EQ(*store_->QuotaConsumed("q-a"), 100);
}

// ------------------------------------------------------------ rule sets

// Every page of a listing, in the order the store walks it.
std::vector<uint64_t> ListAll(const AuditStore& store,
                              const v1::DecisionFilter& filter, ListOrder order) {
  std::vector<uint64_t> out;
  std::string token;
  do {
    auto page = store.ListDecisions(filter, 7, token, order);
    EXPECT_THAT(page, IsOk());
    if (!page.ok()) break;
    for (uint64_t s : Sequences(*page)) out.push_back(s);
    token = page->next_page_token;
  } while (!token.empty());
  return out;
}

// Three waves of 30 records, each appended without waiting, so group
// commits put several records in one posting block; spec(wave, i).
void AppendWaves(AuditStore* store,
                 const std::function<RecordSpec(int, int)>& spec) {
  for (int wave = 0; wave < 3; ++wave) {
    absl::Mutex mu;
    int pending = 30;
    for (int i = 0; i < 30; ++i) {
      store->Append(MakeRequest(spec(wave, i)),
                    [&](absl::StatusOr<AppendResult> r) {
                      EXPECT_THAT(r, IsOk());
                      absl::MutexLock lock(&mu);
                      --pending;
                    });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* n) { return *n == 0; }, &pending));
  }
}

TEST_F(AuditStoreTest, OldestFirstListsExactlyTheNewestFirstListingReversed) {
  OpenStore();
  AppendWaves(store_.get(), [](int wave, int i) {
    RecordSpec spec;
    spec.declaration_id = absl::StrCat("ASC-", wave, "-", i);
    spec.exporter = absl::StrCat("EXP-", i % 3);
    spec.outcome = i % 2 ? v1::OUTCOME_DENY : v1::OUTCOME_ALLOW;
    spec.hs_code = i % 5 ? "850511" : "151110";
    return spec;
  });
  std::vector<v1::DecisionFilter> filters(4);
  filters[1].set_exporter_id("EXP-1");
  filters[2].set_exporter_id("EXP-2");
  filters[2].set_outcome(v1::OUTCOME_DENY);
  filters[3].set_hs_code_prefix("1511");
  for (const v1::DecisionFilter& f : filters) {
    std::vector<uint64_t> newest = ListAll(*store_, f, ListOrder::kNewestFirst);
    std::vector<uint64_t> oldest = ListAll(*store_, f, ListOrder::kOldestFirst);
    ASSERT_FALSE(newest.empty()) << f.DebugString();
    std::reverse(newest.begin(), newest.end());
    EXPECT_EQ(oldest, newest) << f.DebugString();
  }
  EXPECT_THAT(ListAll(*store_, filters[0], ListOrder::kOldestFirst),
              SizeIs(90));
  // A token continues a listing in its own order only.
  TC_ASSERT_OK_AND_ASSIGN(
      ListResult first,
      store_->ListDecisions(filters[1], 5, "", ListOrder::kOldestFirst));
  EXPECT_EQ(first.decisions.front().sequence(), 2u);  // EXP-1: i % 3 == 1
  EXPECT_THAT(store_->ListDecisions(filters[1], 5, first.next_page_token,
                                    ListOrder::kNewestFirst),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token")));
}

TEST_F(AuditStoreTest, GoverningDateOrderWalksTheDaysThenRecordedOrder) {
  OpenStore();
  AppendWaves(store_.get(), [](int wave, int i) {
    RecordSpec spec;
    spec.declaration_id = absl::StrCat("GOV-", wave, "-", i);
    spec.exporter = absl::StrCat("EXP-", i % 3);
    spec.entry_day = 1 + (i * 7 + wave) % 9;  // days out of recorded order
    return spec;
  });
  // Each record's governing day, from the records themselves.
  std::map<uint64_t, int> day_of;
  TC_ASSERT_OK_AND_ASSIGN(ListResult all,
                          store_->ListDecisions(v1::DecisionFilter(), 1000, ""));
  for (const v1::Decision& d : all.decisions) {
    day_of[d.sequence()] = d.governing_date().day();
  }
  ASSERT_EQ(day_of.size(), 90u);
  std::vector<v1::DecisionFilter> filters(2);
  filters[1].set_exporter_id("EXP-1");
  for (v1::DecisionFilter& f : filters) {
    // Days 2..8 of 1..9: the ends are left out.
    *f.mutable_governing_from() = ToDate(absl::CivilDay(2026, 3, 2));
    *f.mutable_governing_to() = ToDate(absl::CivilDay(2026, 3, 8));
    std::vector<std::pair<int, uint64_t>> expected;
    for (uint64_t seq : ListAll(*store_, f, ListOrder::kNewestFirst)) {
      expected.push_back({day_of[seq], seq});
    }
    ASSERT_FALSE(expected.empty());
    std::sort(expected.begin(), expected.end());
    std::vector<uint64_t> ascending, descending;
    for (const auto& [day, seq] : expected) ascending.push_back(seq);
    descending.assign(ascending.rbegin(), ascending.rend());
    // Pages of 7 cross day boundaries and resume inside a day.
    EXPECT_EQ(ListAll(*store_, f, ListOrder::kGoverningOldestFirst), ascending)
        << f.DebugString();
    EXPECT_EQ(ListAll(*store_, f, ListOrder::kGoverningNewestFirst), descending)
        << f.DebugString();
    for (uint64_t seq : ascending) {
      EXPECT_GE(day_of[seq], 2);
      EXPECT_LE(day_of[seq], 8);
    }
  }
  // The range is required, and a token continues its own order only.
  EXPECT_THAT(store_->ListDecisions(v1::DecisionFilter(), 5, "",
                                    ListOrder::kGoverningNewestFirst),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("governing_from")));
  TC_ASSERT_OK_AND_ASSIGN(
      ListResult first,
      store_->ListDecisions(filters[0], 5, "",
                            ListOrder::kGoverningNewestFirst));
  ASSERT_FALSE(first.next_page_token.empty());
  EXPECT_THAT(store_->ListDecisions(filters[0], 5, first.next_page_token,
                                    ListOrder::kNewestFirst),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token")));
  EXPECT_THAT(store_->ListDecisions(filters[0], 5, first.next_page_token,
                                    ListOrder::kGoverningOldestFirst),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token")));
}

v1::RetroactiveImpact ImpactWithChanges(const std::string& new_revision,
                                        int changes) {
  v1::RetroactiveImpact impact;
  impact.set_previous_revision("rev-before");
  impact.set_new_revision(new_revision);
  impact.set_activated_by("local");
  impact.mutable_totals()->set_decisions_evaluated(changes + 10);
  impact.mutable_totals()->set_verdicts_changed(changes);
  for (int i = 1; i <= changes; ++i) {
    v1::PreviewChange* c = impact.add_changes();
    c->set_decision_id(keys::DecisionId(v1::TRAIL_STREAM_BINDING, i));
    c->set_duty_difference_minor_units(100 * i);
  }
  return impact;
}

TEST_F(AuditStoreTest, RetroactiveImpactsAreNumberedChainedPagedAndKept) {
  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(
      v1::RetroactiveImpact first,
      store_->AppendRetroactiveImpact(ImpactWithChanges("rev-1", 5)));
  TC_ASSERT_OK_AND_ASSIGN(
      v1::RetroactiveImpact second,
      store_->AppendRetroactiveImpact(ImpactWithChanges("rev-2", 3)));
  EXPECT_EQ(first.impact_id(), "ri-000000000001");
  EXPECT_EQ(second.impact_id(), "ri-000000000002");
  EXPECT_TRUE(first.previous_digest().empty());
  EXPECT_EQ(second.previous_digest(), first.content_digest());
  EXPECT_NE(first.content_digest(), second.content_digest());

  // Changes in pages of two, in the order they were written.
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    TC_ASSERT_OK_AND_ASSIGN(
        v1::GetRetroactiveImpactResponse page,
        store_->GetRetroactiveImpact("ri-000000000001", 2, token));
    EXPECT_EQ(page.impact().content_digest(), first.content_digest());
    for (const auto& c : page.impact().changes()) ids.push_back(c.decision_id());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_THAT(ids, SizeIs(5));
  EXPECT_EQ(ids.front(), "b-000000000001");
  EXPECT_EQ(ids.back(), "b-000000000005");
  // A token continues its own record only.
  TC_ASSERT_OK_AND_ASSIGN(
      v1::GetRetroactiveImpactResponse one,
      store_->GetRetroactiveImpact("ri-000000000001", 2, ""));
  EXPECT_THAT(store_->GetRetroactiveImpact("ri-000000000002", 2,
                                           one.next_page_token()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token")));
  EXPECT_THAT(store_->GetRetroactiveImpact("ri-000000000003", 0, ""),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("impact_id")));
  EXPECT_THAT(store_->GetRetroactiveImpact("ri-3", 0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("impact_id")));

  // Newest first, one per page, without their changes.
  TC_ASSERT_OK_AND_ASSIGN(RetroactiveImpactPage newest,
                          store_->ListRetroactiveImpacts(1, ""));
  ASSERT_THAT(newest.impacts, SizeIs(1));
  EXPECT_EQ(newest.impacts[0].impact_id(), "ri-000000000002");
  EXPECT_EQ(newest.impacts[0].changes_size(), 0);
  TC_ASSERT_OK_AND_ASSIGN(
      RetroactiveImpactPage older,
      store_->ListRetroactiveImpacts(1, newest.next_page_token));
  ASSERT_THAT(older.impacts, SizeIs(1));
  EXPECT_EQ(older.impacts[0].impact_id(), "ri-000000000001");
  EXPECT_TRUE(older.next_page_token.empty());

  // Kept across a restart; the trail itself is untouched by them.
  CloseStore();
  OpenStore();
  TC_ASSERT_OK_AND_ASSIGN(
      v1::GetRetroactiveImpactResponse reopened,
      store_->GetRetroactiveImpact("ri-000000000002", 0, ""));
  EXPECT_EQ(reopened.impact().content_digest(), second.content_digest());
  EXPECT_EQ(reopened.impact().changes_size(), 3);
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verified,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verified.ok());
}

TEST_F(AuditStoreTest, AnAlteredRetroactiveImpactIsDataLoss) {
  OpenStore();
  ASSERT_THAT(store_->AppendRetroactiveImpact(ImpactWithChanges("rev-1", 4)),
              IsOk());
  ASSERT_THAT(store_->AppendRetroactiveImpact(ImpactWithChanges("rev-2", 4)),
              IsOk());
  CloseStore();
  // One byte inside the first record's changes.
  ASSERT_THAT(testing::FlipByteInMetaValue(path_, keys::RetroactiveImpactKey(1), 60),
              IsOk());
  OpenStore();
  EXPECT_THAT(store_->GetRetroactiveImpact("ri-000000000001", 0, ""),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("ri-000000000001")));
  EXPECT_THAT(store_->ListRetroactiveImpacts(0, ""),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(AuditStoreTest, RuleSetSourcesAreKeptPerRevision) {
  OpenStore();
  const std::map<std::string, std::string> files = {{"a.txtpb", "x: 1"},
                                                    {"b.txtpb", ""}};
  EXPECT_THAT(store_->GetRuleSetSources("rev-a"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->PutRuleSetSources("rev-a", files), IsOk());
  ASSERT_THAT(store_->PutRuleSetSources("rev-a", files), IsOk());
  EXPECT_THAT(store_->PutRuleSetSources("rev-a", {{"a.txtpb", "x: 2"}}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(store_->PutRuleSetSources("rev-a0", {}), IsOk());
  TC_ASSERT_OK_AND_ASSIGN(auto got, store_->GetRuleSetSources("rev-a"));
  EXPECT_EQ(got, files);
  TC_ASSERT_OK_AND_ASSIGN(auto empty, store_->GetRuleSetSources("rev-a0"));
  EXPECT_TRUE(empty.empty());
}

// ------------------------------------------------------------ checkpoint

TEST_F(AuditStoreTest, CheckpointIsAnOpenableStoreAsOfItsCreation) {
  OpenStore();
  for (int i = 1; i <= 5; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  const std::string backup = dir_ + "/backup";
  TC_ASSERT_OK_AND_ASSIGN(uint64_t head, store_->CreateCheckpoint(backup));
  EXPECT_EQ(head, 5u);
  EXPECT_THAT(store_->CreateCheckpoint(backup),
              StatusIs(absl::StatusCode::kAlreadyExists));
  for (int i = 6; i <= 8; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  CloseStore();

  TC_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditStore> restored,
                          AuditStore::Open(Options(backup)));
  TC_ASSERT_OK_AND_ASSIGN(
      ListResult all, restored->ListDecisions(v1::DecisionFilter(), 100, ""));
  EXPECT_EQ(Sequences(all), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  TC_ASSERT_OK_AND_ASSIGN(
      v1::VerifyTrailResponse verify,
      restored->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.records_checked(), 5u);
  EXPECT_THAT(restored->FindByDeclarationId("D-6"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(restored->Close(), IsOk());
}

TEST_F(AuditStoreTest, AVerifiedBackupSharesNoFileWithTheStore) {
  OpenStore();
  for (int i = 1; i <= 4; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  CloseStore();
  OpenStore();  // recovery flushes the log into a table file (a link)
  for (int i = 5; i <= 6; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  const std::string backup = dir_ + "/backup";
  TC_ASSERT_OK_AND_ASSIGN(BackupResult result,
                          store_->CreateVerifiedBackup(backup));
  EXPECT_EQ(result.binding_head, 6u);
  EXPECT_EQ(result.records_verified, 6u);
  EXPECT_GE(result.files_copied, 1u);
  for (const auto& entry : std::filesystem::directory_iterator(backup)) {
    EXPECT_EQ(std::filesystem::hard_link_count(entry.path()), 1u)
        << entry.path();
  }
  CloseStore();
  TC_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditStore> restored,
                          AuditStore::Open(Options(backup)));
  EXPECT_EQ(restored->Stats().binding_head, 6u);
  EXPECT_THAT(restored->Close(), IsOk());
}

// ------------------------------------------------------------ no silent loss

TEST_F(AuditStoreTest, ARetryOfALostRecordIsDataLossNeverAnotherVerdict) {
  OpenStore();
  for (int i = 1; i <= 5; ++i) Append(MakeRequest(absl::StrCat("D-", i)));
  CloseStore();
  ASSERT_THAT(testing::DeleteRecord(path_, v1::TRAIL_STREAM_BINDING, 3),
              IsOk());
  ASSERT_THAT(testing::CopyRecord(path_, v1::TRAIL_STREAM_BINDING, 1, 4),
              IsOk());
  OpenStore();
  EXPECT_THAT(store_->AppendAndWait(MakeRequest("D-3")),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("which the audit trail no longer has")));
  EXPECT_THAT(store_->AppendAndWait(MakeRequest("D-4")),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("holds record b-000000000001")));
  EXPECT_THAT(store_->GetDecision("b-000000000004"),
              StatusIs(absl::StatusCode::kDataLoss));
  // An intact one still replays.
  TC_ASSERT_OK_AND_ASSIGN(AppendResult replay,
                          store_->AppendAndWait(MakeRequest("D-5")));
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.decision.sequence(), 5u);
}

TEST_F(AuditStoreTest, BelowTheFreeSpaceReserveNothingIsWrittenAndReadsGoOn) {
  OpenStore();
  Append(MakeRequest("D-1"));
  CloseStore();
  AuditStoreOptions options = Options(path_);
  options.min_free_bytes = uint64_t{1} << 62;  // more than any disk
  // Opened below the reserve: read-only, not a failure.
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options));
  EXPECT_FALSE(store_->Writable());
  EXPECT_THAT(store_->AppendAndWait(MakeRequest("D-2")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("read-only")));
  TC_ASSERT_OK_AND_ASSIGN(v1::Decision d1,
                          store_->GetDecision("b-000000000001"));
  EXPECT_EQ(d1.declaration().declaration_id(), "D-1");
  TC_ASSERT_OK_AND_ASSIGN(AppendResult replay,
                          store_->AppendAndWait(MakeRequest("D-1")));
  EXPECT_TRUE(replay.replayed);  // a replay writes nothing
  CloseStore();

  // Running below the reserve (a new store): appends are refused before
  // anything reaches RocksDB.
  AuditStoreOptions fresh = Options(dir_ + "/fresh");
  fresh.min_free_bytes = uint64_t{1} << 62;
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(fresh));
  EXPECT_THAT(store_->AppendAndWait(MakeRequest("D-1")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("below the reserve")));
  EXPECT_FALSE(store_->Writable());
  EXPECT_EQ(store_->Stats().binding_head, 0u);
}

}  // namespace
}  // namespace tradecheck::storage
