// End-to-end tests of the audit trail through the real server: crash safety
// under SIGKILL, tamper evidence, backup and restore, paging, re-evaluation,
// idempotency under concurrent retries.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

struct Stubs {
  explicit Stubs(const std::string& address)
      : channel(Connect(address)),
        compliance(v1::ComplianceService::NewStub(channel)),
        audit(v1::AuditService::NewStub(channel)),
        admin(v1::AdminService::NewStub(channel)) {}
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::ComplianceService::Stub> compliance;
  std::unique_ptr<v1::AuditService::Stub> audit;
  std::unique_ptr<v1::AdminService::Stub> admin;

  grpc::Status Check(const v1::Declaration& d,
                     v1::CheckDeclarationResponse* out) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = d;
    return compliance->CheckDeclaration(Ctx().get(), request, out);
  }
  v1::VerifyTrailResponse Verify() {
    v1::VerifyTrailRequest request;
    v1::VerifyTrailResponse response;
    grpc::Status status = audit->VerifyTrail(Ctx(60).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
};

TEST(AuditE2eTest, EveryAcknowledgedVerdictSurvivesSigkill) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  struct Ack {
    std::string decision_id;
    std::string record_hash;
  };
  absl::Mutex mu;
  std::map<std::string, Ack> acked;  // declaration id -> what the client got
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      Stubs stubs(server->address());
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = absl::StrCat("CRASH-", t, "-", i);
        v1::CheckDeclarationResponse response;
        if (stubs.Check(PalmOilImport(id), &response).ok()) {
          absl::MutexLock lock(&mu);
          acked[id] = {response.verdict().decision_id(),
                       response.verdict().record_hash()};
        }
      }
    });
  }
  // Kill mid-load, once a few hundred verdicts were acknowledged.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
    absl::MutexLock lock(&mu);
    if (acked.size() >= 300) break;
  }
  ASSERT_TRUE(server->Kill().ok());
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GE(acked.size(), 300u);

  ServerProcessOptions options;
  options.data_dir = server->data_dir();
  TC_ASSERT_OK_AND_ASSIGN(auto restarted, ServerProcess::Start(options));
  Stubs stubs(restarted->address());
  for (const auto& [declaration_id, ack] : acked) {
    v1::GetDecisionRequest get;
    get.set_decision_id(ack.decision_id);
    v1::Decision decision;
    grpc::Status status = stubs.audit->GetDecision(Ctx().get(), get, &decision);
    ASSERT_TRUE(status.ok()) << declaration_id << ": " << status.error_message();
    EXPECT_EQ(decision.record_hash(), ack.record_hash) << declaration_id;
    EXPECT_EQ(decision.declaration().declaration_id(), declaration_id);
  }
  v1::VerifyTrailResponse verified = stubs.Verify();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_GE(verified.records_checked(), acked.size());
}

// An export that draws 30 t from the test-only 1,000 t quota of
// tests/testdata/zz-test-export-quota.textproto.
v1::Declaration CobaltExport(const std::string& id) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_EXPORT_SHIPMENT
    exporter_id: "ZA-EXP-1"
    importer_id: "US-IMP-1"
    origin_country: "ZA"
    export_country: "ZA"
    destination_country: "US"
    export_date { year: 2026 month: 1 day: 15 }
    lines {
      line_number: 1
      hs_code: "260500"
      description: "Cobalt ore"
      customs_value { currency_code: "USD" minor_units: 3000000 }
      quantity { amount_milli: 30000 unit: "TNE" }
      processing_stage: PROCESSING_STAGE_ORE
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE
    }
  )pb");
  d.set_declaration_id(id);
  return d;
}

TEST(AuditE2eTest, QuotaAndTrailAgreeAfterSigkill) {
  TC_ASSERT_OK_AND_ASSIGN(std::string agreements, MakeTempDir("quota-agreements"));
  const std::string copy = absl::StrCat(
      "cp -r '", TC_AGREEMENTS_DIR, "/.' '", agreements, "/' && cp '",
      TC_TESTDATA_DIR, "/zz-test-export-quota.textproto' '", agreements, "/'");
  ASSERT_EQ(std::system(copy.c_str()), 0);
  ServerProcessOptions options;
  options.agreements_dir = agreements;
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));

  // Concurrent draws, then a crash mid-load.
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      Stubs stubs(server->address());
      for (int i = 0; !stop.load(); ++i) {
        v1::CheckDeclarationResponse response;
        if (stubs.Check(CobaltExport(absl::StrCat("QUOTA-", t, "-", i)),
                        &response).ok()) {
          ++acknowledged;
        }
      }
    });
  }
  while (acknowledged.load() < 20) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(server->Kill().ok());
  stop = true;
  for (auto& c : clients) c.join();

  // After the restart, drain whatever quota is left.
  options.data_dir = server->data_dir();
  TC_ASSERT_OK_AND_ASSIGN(auto restarted, ServerProcess::Start(options));
  Stubs stubs(restarted->address());
  for (int i = 0; i < 40; ++i) {
    v1::CheckDeclarationResponse response;
    ASSERT_TRUE(stubs.Check(CobaltExport(absl::StrCat("QUOTA-AFTER-", i)),
                            &response).ok());
  }

  // The trail: 1,000 t allow exactly 33 draws of 30 t; every other draw is
  // denied for lack of quota. More allowed would mean a balance lost its
  // decrements in the crash; fewer, that it kept ones the trail does not.
  int allowed = 0, denied = 0;
  v1::ListDecisionsRequest list;
  list.set_page_size(1000);
  while (true) {
    v1::ListDecisionsResponse page;
    ASSERT_TRUE(stubs.audit->ListDecisions(Ctx().get(), list, &page).ok());
    for (const v1::Decision& d : page.decisions()) {
      if (d.verdict().outcome() == v1::OUTCOME_ALLOW) ++allowed;
      if (d.verdict().outcome() == v1::OUTCOME_DENY) {
        ++denied;
        bool shortfall = false;
        for (const auto& f : d.verdict().lines(0).findings()) {
          shortfall |= f.rule_id() == "QTA-001";
        }
        EXPECT_TRUE(shortfall) << d.decision_id();
      }
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(allowed, 33);
  EXPECT_GE(denied, 1);
  EXPECT_TRUE(stubs.Verify().ok());
}

TEST(AuditE2eTest, VerificationNamesARecordAlteredOnDisk) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  std::vector<std::string> ids;
  {
    Stubs stubs(server->address());
    for (int i = 1; i <= 5; ++i) {
      v1::CheckDeclarationResponse response;
      ASSERT_TRUE(stubs.Check(PalmOilImport(absl::StrCat("TAMPER-", i)),
                              &response).ok());
      ids.push_back(response.verdict().decision_id());
    }
    EXPECT_TRUE(stubs.Verify().ok());
  }
  TC_ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  ASSERT_EQ(code, 0);

  // Flip one byte of record 3 underneath the service.
  const std::string tamper = absl::StrCat(
      TC_TAMPER_BINARY, " --db='", server->data_dir(),
      "' --stream=binding --sequence=3 --offset=40");
  ASSERT_EQ(std::system(tamper.c_str()), 0);

  ServerProcessOptions options;
  options.data_dir = server->data_dir();
  TC_ASSERT_OK_AND_ASSIGN(auto restarted, ServerProcess::Start(options));
  Stubs stubs(restarted->address());
  v1::VerifyTrailResponse verified = stubs.Verify();
  EXPECT_FALSE(verified.ok());
  EXPECT_EQ(verified.first_bad_sequence(), 3u);
  EXPECT_EQ(verified.first_bad_decision_id(), ids[2]);
  EXPECT_FALSE(verified.problem().empty());
}

TEST(AuditE2eTest, BackupIsAWorkingStoreUpToItsSequence) {
  TC_ASSERT_OK_AND_ASSIGN(std::string scratch, MakeTempDir("backup"));
  // Backups go only under --backup_root, by name.
  ServerProcessOptions server_options;
  server_options.extra_flags = {"--backup_root=" + scratch + "/backups"};
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(server_options));
  const std::string backup = scratch + "/backups/backup-1";
  {
    Stubs stubs(server->address());
    for (int i = 1; i <= 3; ++i) {
      v1::CheckDeclarationResponse response;
      ASSERT_TRUE(stubs.Check(PalmOilImport(absl::StrCat("BK-", i)), &response).ok());
    }
    v1::CreateBackupRequest request;
    request.set_directory("backup-1");
    v1::CreateBackupResponse response;
    grpc::Status status = stubs.admin->CreateBackup(Ctx(60).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.binding_sequence(), 3u);
    EXPECT_EQ(response.records_verified(), 3u);  // checked after writing
    // The target must not exist: a second backup there is refused.
    status = stubs.admin->CreateBackup(Ctx().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    for (int i = 4; i <= 5; ++i) {
      v1::CheckDeclarationResponse more;
      ASSERT_TRUE(stubs.Check(PalmOilImport(absl::StrCat("BK-", i)), &more).ok());
    }
  }
  // The documented restore: stop, copy the backup to a data directory,
  // start on it.
  TC_ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  ASSERT_EQ(code, 0);
  const std::string restored = scratch + "/restored";
  ASSERT_EQ(std::system(("cp -a '" + backup + "' '" + restored + "'").c_str()), 0);
  ServerProcessOptions options;
  options.data_dir = restored;
  TC_ASSERT_OK_AND_ASSIGN(auto from_backup, ServerProcess::Start(options));
  Stubs stubs(from_backup->address());
  v1::ListDecisionsRequest list;
  v1::ListDecisionsResponse listed;
  ASSERT_TRUE(stubs.audit->ListDecisions(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.decisions_size(), 3);
  EXPECT_EQ(listed.decisions(0).declaration().declaration_id(), "BK-3");
  v1::VerifyTrailResponse verified = stubs.Verify();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.records_checked(), 3u);
}

TEST(AuditE2eTest, PagesAreStableAndTokensCannotBeForged) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  Stubs stubs(server->address());
  for (int i = 0; i < 25; ++i) {
    v1::CheckDeclarationResponse response;
    ASSERT_TRUE(stubs.Check(PalmOilImport(absl::StrCat("PG-", i)), &response).ok());
  }
  v1::ListDecisionsRequest request;
  request.set_page_size(10);
  request.mutable_filter()->set_origin_country("MY");
  request.mutable_filter()->set_hs_code_prefix("1511");
  std::vector<uint64_t> sequences;
  std::string first_token;
  for (int page = 0; page < 5; ++page) {
    v1::ListDecisionsResponse response;
    ASSERT_TRUE(stubs.audit->ListDecisions(Ctx().get(), request, &response).ok());
    for (const auto& d : response.decisions()) sequences.push_back(d.sequence());
    if (page == 0) {
      first_token = response.next_page_token();
      // New records arrive between pages; they must not shift the listing.
      v1::CheckDeclarationResponse late;
      ASSERT_TRUE(stubs.Check(PalmOilImport("PG-LATE"), &late).ok());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  ASSERT_EQ(sequences.size(), 25u);
  for (size_t i = 0; i < sequences.size(); ++i) {
    EXPECT_EQ(sequences[i], 25u - i);  // newest first, no gaps, no repeats
  }

  ASSERT_FALSE(first_token.empty());
  std::string forged = first_token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  request.set_page_token(forged);
  v1::ListDecisionsResponse response;
  grpc::Status status = stubs.audit->ListDecisions(Ctx().get(), request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(BadRequestOf(status).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), "page_token");
}

TEST(AuditE2eTest, ReevaluationUnderTheOriginalRevisionMatches) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  Stubs stubs(server->address());
  v1::CheckDeclarationResponse checked;
  ASSERT_TRUE(stubs.Check(PalmOilImport("RE-1"), &checked).ok());
  v1::ReevaluateDecisionRequest request;
  request.set_decision_id(checked.verdict().decision_id());
  v1::ReevaluateDecisionResponse response;
  grpc::Status status =
      stubs.audit->ReevaluateDecision(Ctx().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.matches_stored());
  EXPECT_TRUE(response.changes().empty());
  request.set_decision_id("b-does-not-exist");
  status = stubs.audit->ReevaluateDecision(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(AuditE2eTest, ConcurrentRetriesOfOneDeclarationMakeOneRecord) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  constexpr int kRetries = 16;
  std::vector<v1::CheckDeclarationResponse> responses(kRetries);
  std::vector<grpc::Status> statuses(kRetries);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRetries; ++i) {
    threads.emplace_back([&, i] {
      Stubs stubs(server->address());
      statuses[i] = stubs.Check(PalmOilImport("RETRY-1"), &responses[i]);
    });
  }
  for (auto& t : threads) t.join();
  int fresh = 0;
  std::set<std::string> ids;
  for (int i = 0; i < kRetries; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    if (!responses[i].replayed()) ++fresh;
    ids.insert(responses[i].verdict().decision_id());
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(ids.size(), 1u);
  Stubs stubs(server->address());
  EXPECT_EQ(stubs.Verify().records_checked(), 1u);
  // The operator's view agrees: one record, the rest answered as replays.
  v1::GetStoreStatsResponse stats;
  grpc::Status status = stubs.admin->GetStoreStats(
      Ctx().get(), v1::GetStoreStatsRequest(), &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.records_written(), 1u);
  EXPECT_EQ(stats.replays(), static_cast<uint64_t>(kRetries - 1));
  EXPECT_EQ(stats.binding_head_sequence(), 1u);
  EXPECT_EQ(stats.validate_only_head_sequence(), 0u);
  EXPECT_GE(stats.synced_writes(), 1u);
}

TEST(AuditE2eTest, ConcurrentChecksShareFsyncs) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  constexpr int kClients = 8;
  constexpr int kChecksEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Stubs stubs(server->address());
      for (int i = 0; i < kChecksEach; ++i) {
        v1::CheckDeclarationResponse response;
        if (stubs.Check(PalmOilImport(absl::StrCat("GC-", t, "-", i)),
                        &response)
                .ok()) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(ok.load(), kClients * kChecksEach);
  Stubs stubs(server->address());
  v1::GetStoreStatsResponse stats;
  grpc::Status status = stubs.admin->GetStoreStats(
      Ctx().get(), v1::GetStoreStatsRequest(), &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.records_written(),
            static_cast<uint64_t>(kClients * kChecksEach));
  EXPECT_EQ(stats.binding_head_sequence(), stats.records_written());
  // Every acknowledged verdict was synced, and checks that arrived together
  // shared one fsync (group commit), so there were fewer fsyncs than records.
  EXPECT_GE(stats.synced_writes(), 1u);
  EXPECT_EQ(stats.synced_writes(), stats.group_commits());
  EXPECT_LT(stats.synced_writes(), stats.records_written());
}

}  // namespace
}  // namespace tradecheck::testing
