// The schema 5 filters (declaration id, governing date range, caller, caller
// role, destination, duty range) against a brute-force reading of the same
// records, on a fresh store and on a store upgraded from schema 4; and the
// schema 6 summary rows against the records they summarize.
#include "storage/decision_index.h"

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/proto_bytes.h"
#include "common/dates.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/audit_store.h"
#include "storage/keys.h"
#include "storage/testing/open_store.h"
#include "storage/testing/tamper.h"

namespace tradecheck::storage {
namespace {

using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

constexpr int kRecords = 120;

v1::Date Day(int year, int month, int day) {
  v1::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

v1::Money Usd(int64_t minor) {
  v1::Money m;
  m.set_currency_code("USD");
  m.set_minor_units(minor);
  return m;
}

// Record i: governing dates spread over Jan..Apr 2026, three callers, two
// roles, two destinations, duty i * 1000 cents.
AppendRequest Record(int i, v1::TrailStream stream) {
  AppendRequest request;
  request.stream = stream;
  v1::Declaration& d = request.declaration;
  d.set_declaration_id(absl::StrCat("CBP-ENT-", i));
  d.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  d.set_exporter_id("EXP-1");
  d.set_origin_country("MY");
  d.set_destination_country(i % 2 == 0 ? "US" : "CA");
  const absl::CivilDay day = absl::CivilDay(2026, 1, 1) + (i * 7) % 110;
  *d.mutable_entry_date() = ToDate(day);
  v1::LineItem* line = d.add_lines();
  line->set_line_number(1);
  line->set_hs_code("151110");
  v1::Verdict& v = request.verdict;
  v.set_declaration_id(d.declaration_id());
  v.set_outcome(v1::OUTCOME_ALLOW);
  v.set_rule_set_revision("rev-a");
  *v.mutable_governing_date() = d.entry_date();
  *v.mutable_total_duty() = Usd(i * 1000);
  request.caller = absl::StrCat("customs-", i % 3);
  request.caller_role =
      i % 4 == 0 ? v1::CALLER_ROLE_LOCAL : v1::CALLER_ROLE_CUSTOMS;
  return request;
}

class DecisionIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/decision_index_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    options_.path = dir_ + "/db";
    options_.clock = &clock_;
    options_.sync = false;
  }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_THAT(store_->Close(), IsOk());
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Fill() {
    TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options_));
    for (int i = 0; i < kRecords; ++i) {
      for (auto stream :
           {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
        auto appended = store_->AppendAndWait(Record(i, stream));
        ASSERT_THAT(appended, IsOk());
        all_.push_back(appended->decision);
      }
      clock_.Advance(absl::Seconds(1));
    }
  }

  // Every filter shape, each compared with the records read one by one.
  void CheckAllFilters(const std::string& when) {
    for (const v1::DecisionFilter& filter : Filters()) {
      std::vector<std::string> expected;
      const v1::TrailStream stream =
          filter.stream() == v1::TRAIL_STREAM_UNSPECIFIED
              ? v1::TRAIL_STREAM_BINDING
              : filter.stream();
      for (auto it = all_.rbegin(); it != all_.rend(); ++it) {
        if (Matches(filter, stream, *it)) expected.push_back(it->decision_id());
      }
      ASSERT_FALSE(expected.empty()) << filter.ShortDebugString();
      std::vector<std::string> got;
      for (const v1::Decision& d : ListAll(filter, ListView::kFull)) {
        got.push_back(d.decision_id());
      }
      EXPECT_EQ(got, expected) << when << ": " << filter.ShortDebugString();
    }
  }

  // Every filter listed in the summary view: the same decisions as the full
  // view, each exactly SummaryRow of its record.
  void CheckSummaryRows(const std::string& when) {
    for (const v1::DecisionFilter& filter : Filters()) {
      const std::vector<v1::Decision> full = ListAll(filter, ListView::kFull);
      const std::vector<v1::Decision> rows =
          ListAll(filter, ListView::kSummary);
      ASSERT_EQ(rows.size(), full.size())
          << when << ": " << filter.ShortDebugString();
      for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(SerializeDeterministic(rows[i]),
                  SerializeDeterministic(SummaryRow(full[i])))
            << when << ": " << full[i].decision_id();
      }
    }
  }

  std::vector<v1::Decision> ListAll(const v1::DecisionFilter& filter,
                                    ListView view) {
    std::vector<v1::Decision> out;
    std::string token;
    do {
      auto page = store_->ListDecisions(filter, 7, token,
                                        ListOrder::kNewestFirst, view);
      EXPECT_THAT(page, IsOk()) << filter.ShortDebugString();
      if (!page.ok()) break;
      for (v1::Decision& d : page->decisions) out.push_back(std::move(d));
      token = page->next_page_token;
    } while (!token.empty());
    return out;
  }

  static std::vector<v1::DecisionFilter> Filters() {
    std::vector<v1::DecisionFilter> filters;
    v1::DecisionFilter f;
    f.set_declaration_id("CBP-ENT-17");
    filters.push_back(f);
    f.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
    filters.push_back(f);
    f.Clear();
    *f.mutable_governing_from() = Day(2026, 2, 1);
    *f.mutable_governing_to() = Day(2026, 2, 28);
    filters.push_back(f);
    f.set_caller("customs-1");
    filters.push_back(f);
    f.Clear();
    f.set_caller_role(v1::CALLER_ROLE_LOCAL);
    f.set_destination_country("US");
    filters.push_back(f);
    f.Clear();
    *f.mutable_duty_min() = Usd(30'000);
    *f.mutable_duty_max() = Usd(50'000);
    f.set_caller("customs-2");
    filters.push_back(f);
    f.Clear();
    *f.mutable_governing_from() = Day(2026, 3, 15);
    *f.mutable_governing_to() = Day(2026, 3, 15);
    filters.push_back(f);
    return filters;
  }

  static bool Matches(const v1::DecisionFilter& f, v1::TrailStream stream,
                      const v1::Decision& d) {
    if (d.stream() != stream) return false;
    if (!f.declaration_id().empty() &&
        d.declaration().declaration_id() != f.declaration_id()) {
      return false;
    }
    if (f.has_governing_from()) {
      const absl::CivilDay day = *ToCivilDay(d.governing_date());
      if (day < *ToCivilDay(f.governing_from()) ||
          day > *ToCivilDay(f.governing_to())) {
        return false;
      }
    }
    if (!f.caller().empty() && d.caller() != f.caller()) return false;
    if (f.caller_role() != v1::CALLER_ROLE_UNSPECIFIED &&
        d.caller_role() != f.caller_role()) {
      return false;
    }
    if (!f.destination_country().empty() &&
        d.declaration().destination_country() != f.destination_country()) {
      return false;
    }
    const int64_t duty = d.verdict().total_duty().minor_units();
    if (f.has_duty_min() && duty < f.duty_min().minor_units()) return false;
    if (f.has_duty_max() && duty > f.duty_max().minor_units()) return false;
    return true;
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'780'000'000)};
  std::string dir_;
  AuditStoreOptions options_;
  std::unique_ptr<AuditStore> store_;
  std::vector<v1::Decision> all_;
};

TEST_F(DecisionIndexTest, NewFiltersMatchTheRecords) {
  Fill();
  CheckAllFilters("fresh store");
  CheckSummaryRows("fresh store");
}

// The row keeps what a summary reads and nothing else: no declaration id,
// line values, citations or hashes; each rule once.
TEST(SummaryRowTest, KeepsWhatASummaryReads) {
  v1::Decision d;
  d.set_decision_id("b-000000000007");
  d.set_sequence(7);
  d.set_caller("customs-1");
  d.set_caller_role(v1::CALLER_ROLE_CUSTOMS);
  d.set_record_hash("ab");
  *d.mutable_governing_date() = Day(2026, 8, 15);
  v1::Declaration& decl = *d.mutable_declaration();
  decl.set_declaration_id("CBP-ENT-7");
  decl.set_exporter_id("EXP-9");
  decl.set_origin_country("VN");
  decl.set_destination_country("US");
  for (const char* hs : {"640411", "151110"}) {
    v1::LineItem* line = decl.add_lines();
    line->set_hs_code(hs);
    line->set_description("goods");
  }
  v1::Verdict& v = *d.mutable_verdict();
  v.set_outcome(v1::OUTCOME_DENY);
  *v.mutable_total_duty() = Usd(5000);
  v.add_findings()->set_rule_id("R-2");
  for (int i = 0; i < 2; ++i) {
    v1::LineVerdict* line = v.add_lines();
    *line->mutable_total_duty() = Usd(2000 + i * 1000);
    v1::Finding* f = line->add_findings();
    f->set_rule_id(i == 0 ? "R-2" : "R-1");
    f->set_message("a long reason");
    f->mutable_citation()->set_instrument_id("us-eo-14326");
  }
  const v1::Decision row = SummaryRow(d);
  EXPECT_EQ(row.decision_id(), "b-000000000007");
  EXPECT_EQ(row.caller(), "customs-1");
  EXPECT_EQ(row.declaration().exporter_id(), "EXP-9");
  EXPECT_EQ(row.declaration().origin_country(), "VN");
  EXPECT_EQ(row.declaration().destination_country(), "US");
  EXPECT_TRUE(row.declaration().declaration_id().empty());
  ASSERT_EQ(row.declaration().lines_size(), 2);
  EXPECT_EQ(row.declaration().lines(1).hs_code(), "151110");
  EXPECT_TRUE(row.declaration().lines(1).description().empty());
  EXPECT_EQ(row.verdict().outcome(), v1::OUTCOME_DENY);
  EXPECT_EQ(row.verdict().total_duty().minor_units(), 5000);
  ASSERT_EQ(row.verdict().lines_size(), 2);
  EXPECT_EQ(row.verdict().lines(1).total_duty().minor_units(), 3000);
  EXPECT_EQ(row.verdict().lines(1).findings_size(), 0);
  ASSERT_EQ(row.verdict().findings_size(), 2);
  EXPECT_EQ(row.verdict().findings(0).rule_id(), "R-1");
  EXPECT_EQ(row.verdict().findings(1).rule_id(), "R-2");
  EXPECT_TRUE(row.verdict().findings(1).message().empty());
  EXPECT_TRUE(row.record_hash().empty());
  EXPECT_LT(row.ByteSizeLong(), d.ByteSizeLong());
}

// A store written by the release before schema 6 (no summaries family,
// marked version 5): read-only, the summary view reads the records; opened
// for writing it gets a row per record, then version 6.
TEST_F(DecisionIndexTest, UpgradeFromSchema5WritesSummaryRows) {
  Fill();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  ASSERT_THAT(testing::DropSummaryRows(options_.path), IsOk());
  ASSERT_THAT(testing::SetSchemaVersion(options_.path, "5"), IsOk());

  AuditStoreOptions read_only = options_;
  read_only.read_only = true;
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(read_only));
  CheckSummaryRows("schema 5, read-only");
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  TC_ASSERT_OK_AND_ASSIGN(std::string version,
                          testing::GetSchemaVersion(options_.path));
  EXPECT_EQ(version, "5");

  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options_));
  CheckSummaryRows("upgraded from schema 5");
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/true));
  EXPECT_THAT(problems, ::testing::IsEmpty());
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  TC_ASSERT_OK_AND_ASSIGN(version, testing::GetSchemaVersion(options_.path));
  EXPECT_EQ(version, "6");
}

// An upgrade to 6 cut short (the family made, some rows written, the schema
// still 5: the disk filled, say), then a read-only open, as a full disk
// forces: summaries read the records, not the partial rows.
TEST_F(DecisionIndexTest, ReadOnlyAfterAnUpgradeCutShortReadsTheRecords) {
  Fill();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  ASSERT_THAT(
      testing::WithEveryFamily(
          options_.path,
          [](rocksdb::DB* db, testing::Families& cf) -> absl::Status {
            rocksdb::WriteOptions wo;
            wo.sync = true;
            return testing::FromRocks(
                db->Delete(wo, cf[keys::kSummariesCf],
                           keys::RecordKey(v1::TRAIL_STREAM_BINDING, 1)),
                "deleting a row");
          }),
      IsOk());
  ASSERT_THAT(testing::SetSchemaVersion(options_.path, "5"), IsOk());
  AuditStoreOptions read_only = options_;
  read_only.read_only = true;
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(read_only));
  CheckSummaryRows("schema 5 with a partial summaries family, read-only");
}

// A schema 5 store holding a damaged record still opens for the upgrade
// (the record gets no row), so `check` can name it and the operator can
// restore or accept the loss.
TEST_F(DecisionIndexTest, ADamagedRecordDoesNotStopTheUpgrade) {
  Fill();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  ASSERT_THAT(testing::DropSummaryRows(options_.path), IsOk());
  ASSERT_THAT(testing::SetSchemaVersion(options_.path, "5"), IsOk());
  ASSERT_THAT(
      testing::FlipByteInRecord(options_.path, v1::TRAIL_STREAM_BINDING, 3, 1),
      IsOk());
  AuditStoreOptions unchecked = options_;
  unchecked.check_at_open = false;
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(unchecked));
  TC_ASSERT_OK_AND_ASSIGN(v1::VerifyTrailResponse verify,
                          store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_FALSE(verify.ok());
  EXPECT_EQ(verify.first_bad_sequence(), 3u) << verify.ShortDebugString();
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/true));
  EXPECT_THAT(problems, ::testing::Contains(
                           HasSubstr("summary rows disagree with the records "
                                     "(0 differ from their record, 1 missing")));
}

// A row that no longer matches its record is named by the full check and
// rewritten from the records by RebuildSummaryRows; a row that does not
// parse is DATA_LOSS on listing, never a wrong summary.
TEST_F(DecisionIndexTest, DamagedSummaryRowsAreFoundAndRebuilt) {
  Fill();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  v1::Decision forged = SummaryRow(all_[8]);  // b-000000000005
  ASSERT_EQ(forged.decision_id(), "b-000000000005");
  forged.mutable_verdict()->set_outcome(v1::OUTCOME_DENY);
  ASSERT_THAT(testing::PutSummaryRow(options_.path, v1::TRAIL_STREAM_BINDING,
                                     5, SerializeDeterministic(forged)),
              IsOk());
  ASSERT_THAT(testing::PutSummaryRow(options_.path, v1::TRAIL_STREAM_BINDING,
                                     9, "not a row"),
              IsOk());

  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options_));
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/true));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("2 differ from their record"));
  EXPECT_THAT(problems[0], HasSubstr("b-000000000005, b-000000000009"));
  EXPECT_THAT(problems[0], HasSubstr("rebuild-summaries"));
  v1::DecisionFilter f;
  f.set_declaration_id("CBP-ENT-8");  // b-000000000009
  EXPECT_THAT(
      store_->ListDecisions(f, 10, "", ListOrder::kNewestFirst,
                            ListView::kSummary),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("b-000000000009")));

  ASSERT_THAT(store_->RebuildSummaryRows(), IsOk());
  TC_ASSERT_OK_AND_ASSIGN(problems, store_->CheckIntegrity(true));
  EXPECT_THAT(problems, ::testing::IsEmpty());
  CheckSummaryRows("rebuilt");
}

// A store written by the release before schema 5 (the same records, without
// the new postings, marked version 4) is upgraded at open: its records get
// the postings, so the new filters find old and new records alike.
TEST_F(DecisionIndexTest, UpgradeFromSchema4BackfillsPostings) {
  Fill();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  TC_ASSERT_OK_AND_ASSIGN(int dropped,
                          testing::DropPostingsNewerThan(options_.path, 4));
  EXPECT_GT(dropped, 0);
  ASSERT_THAT(testing::SetSchemaVersion(options_.path, "4"), IsOk());

  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options_));
  CheckAllFilters("upgraded from schema 4");
  CheckSummaryRows("upgraded from schema 4");
  // Records appended after the upgrade join the same lists.
  for (int i = kRecords; i < kRecords + 30; ++i) {
    auto appended = store_->AppendAndWait(Record(i, v1::TRAIL_STREAM_BINDING));
    ASSERT_THAT(appended, IsOk());
    all_.push_back(appended->decision);
  }
  CheckAllFilters("after appends to the upgraded store");
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  TC_ASSERT_OK_AND_ASSIGN(std::string version,
                          testing::GetSchemaVersion(options_.path));
  EXPECT_EQ(version, "6");
}

TEST_F(DecisionIndexTest, BadGoverningRangesNameTheField) {
  TC_ASSERT_OK_AND_ASSIGN(store_, AuditStore::Open(options_));
  v1::DecisionFilter f;
  *f.mutable_governing_from() = Day(2026, 3, 1);
  EXPECT_THAT(store_->ListDecisions(f, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter.governing_to")));
  *f.mutable_governing_to() = Day(2026, 2, 1);
  EXPECT_THAT(store_->ListDecisions(f, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must not be before governing_from")));
  *f.mutable_governing_to() = Day(2026, 2, 30);
  EXPECT_THAT(store_->ListDecisions(f, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter.governing_to")));
  *f.mutable_governing_from() = Day(2000, 1, 1);
  *f.mutable_governing_to() = Day(2026, 1, 1);
  EXPECT_THAT(store_->ListDecisions(f, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 3660")));
}

TEST(DecisionIndexTableTest, EveryFieldHasOneRowAndAFilterName) {
  std::set<keys::Field> seen;
  for (const IndexedField& f : IndexedFields()) {
    EXPECT_TRUE(seen.insert(f.field).second);
    EXPECT_THAT(std::string(f.filter_field), ::testing::StartsWith("filter."));
    EXPECT_GE(f.since_schema, 1);
  }
}

}  // namespace
}  // namespace tradecheck::storage
