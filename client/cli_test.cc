// The `tradecheck` commands against a client over mock stubs: exit codes a
// script branches on, what is sent, and that bad input is caught before any
// connection is made.
#include "client/cli.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client/client_test_util.h"
#include "client/declaration_json.h"
#include "absl/strings/escaping.h"
#include "common/proto_bytes.h"
#include "common/sha256.h"
#include "common/tree_head.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "grpcpp/test/mock_stream.h"
#include "gtest/gtest.h"

namespace tradecheck::cli {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::MakeMockedClient;
using ::tradecheck::testing::MockedClient;
using ::tradecheck::testing::PalmOilDeclaration;
using ::tradecheck::testing::VerdictWith;

class CliTest : public ::testing::Test {
 protected:
  CliTest() : mocked_(MakeMockedClient()) {}

  int Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    in_.str(stdin_text);
    CliIo io{in_, out_, err_};
    return RunCli(args, options_, io, [this](const ClientOptions& options) {
      ++clients_made_;
      last_client_options_ = options;
      return absl::StatusOr<std::unique_ptr<TradecheckClient>>(
          std::move(mocked_.client));
    });
  }

  // Files in a scratch directory of this test's own, removed when the test
  // process exits.
  std::string WriteFile(const std::string& name, const std::string& text) {
    if (scratch_.empty()) {
      scratch_ = ::tradecheck::testing::MakeTempDir("tc-cli-test").value();
    }
    const std::string path = scratch_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string scratch_;

  std::string DeclarationFile(const std::string& name = "palm.json") {
    return WriteFile(name, MessageToJson(PalmOilDeclaration(), true));
  }

  void ExpectCheckReturns(v1::Outcome outcome, bool validate_only = false) {
    EXPECT_CALL(*mocked_.compliance, CheckDeclaration(_, _, _))
        .WillOnce(Invoke([=](auto*, const v1::CheckDeclarationRequest& request,
                             v1::CheckDeclarationResponse* response) {
          EXPECT_EQ(request.validate_only(), validate_only);
          EXPECT_EQ(request.declaration().declaration_id(),
                    "MY-PALM-2025-0917");
          *response = VerdictWith(outcome);
          return grpc::Status::OK;
        }));
  }

  MockedClient mocked_;
  CliOptions options_;
  std::istringstream in_;
  std::ostringstream out_;
  std::ostringstream err_;
  int clients_made_ = 0;
  ClientOptions last_client_options_;
};

TEST_F(CliTest, CheckExitCodeFollowsTheOutcome) {
  ExpectCheckReturns(v1::OUTCOME_ALLOW);
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitAllow);
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("Outcome       ALLOW"), HasSubstr("1511100000"),
                    HasSubstr("Executive Order 14326")));
}

TEST_F(CliTest, DenyAndNeedsReviewHaveTheirOwnCodes) {
  ExpectCheckReturns(v1::OUTCOME_DENY);
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitDeny);
}

TEST_F(CliTest, NeedsReviewCode) {
  ExpectCheckReturns(v1::OUTCOME_NEEDS_REVIEW);
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitNeedsReview);
}

TEST_F(CliTest, ValidateOnlyIsADryRun) {
  options_.validate_only = true;
  ExpectCheckReturns(v1::OUTCOME_ALLOW, /*validate_only=*/true);
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitAllow);
}

TEST_F(CliTest, CheckFromStdinWithJsonOutput) {
  options_.json = true;
  ExpectCheckReturns(v1::OUTCOME_ALLOW);
  EXPECT_EQ(Run({"check", "-"}, MessageToJson(PalmOilDeclaration(), false)),
            kExitAllow);
  v1::CheckDeclarationResponse printed;
  EXPECT_THAT(ParseJsonMessage(out_.str(), "stdout", &printed), IsOk());
  EXPECT_EQ(printed.verdict().decision_id(), "dec-000042");
}

TEST_F(CliTest, BadInputIsReportedBeforeAnythingIsSent) {
  const std::string path = WriteFile("unknown_field.json",
                                     "{\n  \"declaration_id\": \"x\",\n  "
                                     "\"lines\": [{\"hscode\": \"1511\"}]\n}");
  EXPECT_EQ(Run({"check", path}), kExitInput);
  EXPECT_THAT(err_.str(),
              HasSubstr(path + ":3:14: lines[0].hscode: unknown field"));
  EXPECT_EQ(clients_made_, 0);
}

TEST_F(CliTest, MissingRequiredFieldIsAnInputError) {
  v1::Declaration declaration = PalmOilDeclaration();
  declaration.clear_entry_date();
  const std::string path =
      WriteFile("no_date.json", MessageToJson(declaration, true));
  EXPECT_EQ(Run({"check", path}), kExitInput);
  EXPECT_THAT(err_.str(), HasSubstr(path + ": entry_date: required"));
  EXPECT_EQ(clients_made_, 0);
}

TEST_F(CliTest, UnreadableFileIsAnInputError) {
  EXPECT_EQ(Run({"check", "/nonexistent/decl.json"}), kExitInput);
  EXPECT_THAT(err_.str(), HasSubstr("/nonexistent/decl.json: cannot open"));
  EXPECT_EQ(clients_made_, 0);
}

TEST_F(CliTest, ServerRejectionNamesTheField) {
  EXPECT_CALL(*mocked_.compliance, CheckDeclaration(_, _, _))
      .WillOnce(Return(testing::InvalidArgumentWithViolation(
          "lines[0].hs_code", "151110 is not an HS 2022 subheading")));
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitInput);
  EXPECT_THAT(err_.str(),
              HasSubstr("lines[0].hs_code: 151110 is not an HS 2022"));
}

TEST_F(CliTest, UnreachableServerIsAnRpcError) {
  EXPECT_CALL(*mocked_.compliance, CheckDeclaration(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "failed to connect to all addresses")));
  EXPECT_EQ(Run({"check", DeclarationFile()}), kExitServer);
  EXPECT_THAT(err_.str(), HasSubstr("is the server running?"));
}

TEST_F(CliTest, UsageErrors) {
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_EQ(Run({"check"}), kExitUsage);
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_EQ(Run({"decision", "get"}), kExitUsage);
  options_.outcome = "maybe";
  EXPECT_EQ(Run({"audit", "list"}), kExitUsage);
  options_.outcome = "";
  options_.from = "yesterday";
  EXPECT_EQ(Run({"audit", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--from=yesterday"));
  EXPECT_EQ(clients_made_, 0);
}

using Stream =
    grpc::testing::MockClientReaderWriter<v1::CheckDeclarationRequest,
                                          v1::CheckResult>;

// Answers each written request in turn with the next outcome (or an error).
class BatchServer {
 public:
  BatchServer(Stream* stream, std::vector<v1::Outcome> outcomes)
      : outcomes_(std::move(outcomes)) {
    EXPECT_CALL(*stream, Write(_, _))
        .WillRepeatedly(Invoke(
            [this](const v1::CheckDeclarationRequest& r, grpc::WriteOptions) {
              requests_.push_back(r);
              return true;
            }));
    EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
    ::testing::InSequence sequence;
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      v1::CheckResult result;
      result.set_index(i);
      result.set_declaration_id("D" + std::to_string(i));
      if (outcomes_[i] == v1::OUTCOME_UNSPECIFIED) {
        result.mutable_error()->set_code(3);
        result.mutable_error()->set_message("the declaration is malformed");
      } else {
        *result.mutable_response() = VerdictWith(outcomes_[i]);
      }
      EXPECT_CALL(*stream, Read(_))
          .WillOnce(DoAll(SetArgPointee<0>(result), Return(true)));
    }
    EXPECT_CALL(*stream, Read(_)).WillOnce(Return(false));
    EXPECT_CALL(*stream, Finish()).WillOnce(Return(grpc::Status::OK));
  }
  const std::vector<v1::CheckDeclarationRequest>& requests() const {
    return requests_;
  }

 private:
  std::vector<v1::Outcome> outcomes_;
  std::vector<v1::CheckDeclarationRequest> requests_;
};

std::string JsonLines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    v1::Declaration declaration = PalmOilDeclaration();
    declaration.set_declaration_id("D" + std::to_string(i));
    text += MessageToJson(declaration, false) + "\n";
    if (i == 0) text += "\n";  // blank lines are skipped
  }
  return text;
}

TEST_F(CliTest, BatchStreamsEveryLineAndSummarises) {
  options_.batch = true;
  options_.validate_only = true;
  auto* stream = new Stream();
  BatchServer server(
      stream, {v1::OUTCOME_ALLOW, v1::OUTCOME_DENY, v1::OUTCOME_NEEDS_REVIEW});
  EXPECT_CALL(*mocked_.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  EXPECT_EQ(Run({"check", WriteFile("batch.jsonl", JsonLines(3))}), kExitDeny);
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_TRUE(server.requests()[2].validate_only());
  EXPECT_EQ(server.requests()[2].declaration().declaration_id(), "D2");
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("D1"), HasSubstr("DENY"),
                    HasSubstr("3 declarations: 1 ALLOW, 1 DENY, "
                              "1 NEEDS_REVIEW, 0 rejected; total duty "
                              "USD 71,250.00")));
  // Not a terminal: no progress.
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliTest, BatchProgressOnlyWhenAskedAndClearedAtTheEnd) {
  options_.batch = true;
  options_.progress = true;  // main sets this when stderr is a terminal
  auto* stream = new Stream();
  BatchServer server(stream, {v1::OUTCOME_ALLOW, v1::OUTCOME_ALLOW});
  EXPECT_CALL(*mocked_.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  EXPECT_EQ(Run({"check", WriteFile("progress.jsonl", JsonLines(2))}),
            kExitAllow);
  EXPECT_THAT(err_.str(), HasSubstr("\rchecked 0/2"));
  // The last thing on stderr erases the progress line.
  EXPECT_THAT(err_.str(), ::testing::EndsWith("\r\033[K"));
  EXPECT_THAT(out_.str(), HasSubstr("2 declarations: 2 ALLOW"));
}

TEST_F(CliTest, BatchFromStdinAsJsonLines) {
  options_.batch = true;
  options_.json = true;
  auto* stream = new Stream();
  BatchServer server(stream, {v1::OUTCOME_NEEDS_REVIEW, v1::OUTCOME_ALLOW});
  EXPECT_CALL(*mocked_.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  EXPECT_EQ(Run({"check", "-"}, JsonLines(2)), kExitNeedsReview);
  std::istringstream lines(out_.str());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    v1::CheckResult result;
    EXPECT_THAT(ParseJsonMessage(line, "stdout", &result), IsOk());
    ++count;
  }
  EXPECT_EQ(count, 2);
  EXPECT_THAT(err_.str(), HasSubstr("2 declarations: 1 ALLOW"));
}

TEST_F(CliTest, BatchWithARejectedDeclarationIsAnInputError) {
  options_.batch = true;
  auto* stream = new Stream();
  BatchServer server(stream, {v1::OUTCOME_ALLOW, v1::OUTCOME_UNSPECIFIED});
  EXPECT_CALL(*mocked_.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  EXPECT_EQ(Run({"check", WriteFile("batch2.jsonl", JsonLines(2))}),
            kExitInput);
  EXPECT_THAT(out_.str(), HasSubstr("1 rejected"));
}

TEST_F(CliTest, BatchWithABadLineSendsNothing) {
  options_.batch = true;
  std::string text = JsonLines(3);
  text += "{\"declaration_id\": \"D9\", \"kind\": \"EXPORT\"}\n";
  const std::string path = WriteFile("bad_batch.jsonl", text);
  EXPECT_EQ(Run({"check", path}), kExitInput);
  EXPECT_THAT(err_.str(),
              AllOf(HasSubstr(path + ":5:26: kind: invalid value"),
                    HasSubstr("1 of 4 declarations are invalid; nothing was "
                              "sent")));
  EXPECT_EQ(clients_made_, 0);
}

v1::ListDecisionsResponse Page(int first, int count, std::string next) {
  v1::ListDecisionsResponse page;
  for (int i = first; i < first + count; ++i) {
    v1::Decision* decision = page.add_decisions();
    decision->set_decision_id("dec-" + std::to_string(i));
    *decision->mutable_declaration() = PalmOilDeclaration();
    *decision->mutable_verdict() = VerdictWith(v1::OUTCOME_ALLOW).verdict();
  }
  page.set_next_page_token(std::move(next));
  return page;
}

TEST_F(CliTest, AuditListSendsEveryFilterAndFollowsPages) {
  options_.exporter = "MY-EXP-0042";
  options_.importer = "US-IMP-7781";
  options_.origin = "MY";
  options_.hs_prefix = "1511";
  options_.outcome = "needs_review";
  options_.rule = "EXM-003";
  options_.from = "2026-03-01";
  options_.to = "2026-03-02T12:00:00Z";
  options_.revision = "abc123";
  options_.stream = "validate_only";
  options_.page_size = 2;
  options_.json = true;
  EXPECT_CALL(*mocked_.audit, ListDecisions(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::ListDecisionsRequest& request,
                          v1::ListDecisionsResponse* response) {
        const v1::DecisionFilter& f = request.filter();
        EXPECT_EQ(f.exporter_id(), "MY-EXP-0042");
        EXPECT_EQ(f.importer_id(), "US-IMP-7781");
        EXPECT_EQ(f.origin_country(), "MY");
        EXPECT_EQ(f.hs_code_prefix(), "1511");
        EXPECT_EQ(f.outcome(), v1::OUTCOME_NEEDS_REVIEW);
        EXPECT_EQ(f.rule_id(), "EXM-003");
        EXPECT_EQ(f.recorded_from().seconds(), 1772323200);
        EXPECT_EQ(f.recorded_to().seconds(), 1772323200 + 86400 + 43200);
        EXPECT_EQ(f.rule_set_revision(), "abc123");
        EXPECT_EQ(f.stream(), v1::TRAIL_STREAM_VALIDATE_ONLY);
        EXPECT_EQ(request.page_size(), 2);
        *response = Page(0, 2, "next");
        return grpc::Status::OK;
      }))
      .WillOnce(
          DoAll(SetArgPointee<2>(Page(2, 1, "")), Return(grpc::Status::OK)));
  EXPECT_EQ(Run({"audit", "list"}), kExitAllow);
  // JSON Lines: one decision per line.
  std::istringstream lines(out_.str());
  std::string line;
  std::vector<std::string> ids;
  while (std::getline(lines, line)) {
    v1::Decision decision;
    ASSERT_THAT(ParseJsonMessage(line, "stdout", &decision), IsOk());
    ids.push_back(decision.decision_id());
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("dec-0", "dec-1", "dec-2"));
}

TEST_F(CliTest, AuditListTable) {
  EXPECT_CALL(*mocked_.audit, ListDecisions(_, _, _))
      .WillOnce(
          DoAll(SetArgPointee<2>(Page(0, 2, "")), Return(grpc::Status::OK)));
  EXPECT_EQ(Run({"audit", "list"}), kExitAllow);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("DECISION"), HasSubstr("dec-1"),
                                HasSubstr("2 decisions")));
}

TEST_F(CliTest, AuditVerifyBrokenChainHasItsOwnCode) {
  options_.from_sequence = 10;
  EXPECT_CALL(*mocked_.audit, VerifyTrail(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::VerifyTrailRequest& request,
                          v1::VerifyTrailResponse* response) {
        EXPECT_EQ(request.stream(), v1::TRAIL_STREAM_BINDING);
        EXPECT_EQ(request.from_sequence(), 10u);
        response->set_ok(false);
        response->set_first_bad_sequence(12);
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"audit", "verify"}), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("BROKEN"));
}

TEST_F(CliTest, AuditReevaluate) {
  EXPECT_CALL(*mocked_.audit, ReevaluateDecision(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::ReevaluateDecisionRequest& request,
                          v1::ReevaluateDecisionResponse* response) {
        EXPECT_EQ(request.decision_id(), "dec-7");
        response->set_matches_stored(true);
        response->add_changes("line 1: duty us-s122 added");
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"audit", "reevaluate", "dec-7"}), kExitAllow);
  EXPECT_THAT(out_.str(), HasSubstr("line 1: duty us-s122 added"));
}

TEST_F(CliTest, DecisionGetNotFoundIsAServerError) {
  EXPECT_CALL(*mocked_.audit, GetDecision(_, _, _))
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::NOT_FOUND, "no decision dec-404")));
  EXPECT_EQ(Run({"decision", "get", "dec-404"}), kExitServer);
  EXPECT_THAT(err_.str(), HasSubstr("NOT_FOUND: no decision dec-404"));
}

TEST_F(CliTest, AdminCommands) {
  EXPECT_CALL(*mocked_.admin, CreateBackup(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::CreateBackupRequest& request,
                          v1::CreateBackupResponse* response) {
        EXPECT_EQ(request.directory(), "/srv/backups/tc-1");
        response->set_directory(request.directory());
        response->set_binding_sequence(1234);
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"backup", "/srv/backups/tc-1"}), kExitAllow);
  EXPECT_THAT(out_.str(), HasSubstr("binding trail through #1234"));
}

TEST_F(CliTest, StatsShowsRecordsPerFsyncAndHeads) {
  EXPECT_CALL(*mocked_.admin, GetStoreStats(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::GetStoreStatsRequest&,
                          v1::GetStoreStatsResponse* response) {
        response->set_records_written(600);
        response->set_group_commits(40);
        response->set_synced_writes(40);
        response->set_replays(3);
        response->set_binding_head_sequence(5321);
        response->set_validate_only_head_sequence(17);
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"stats"}), kExitAllow);
  EXPECT_THAT(out_.str(), HasSubstr("binding #5321, validate-only #17"));
  EXPECT_THAT(out_.str(), HasSubstr("600 records in 40 group commits"));
  EXPECT_THAT(out_.str(), HasSubstr("Records per fsync: 15.0"));
}

TEST_F(CliTest, RulesReload) {
  EXPECT_CALL(*mocked_.admin, ReloadRuleSet(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::ReloadRuleSetRequest&,
                          v1::ReloadRuleSetResponse* response) {
        response->set_changed(true);
        response->set_previous_revision("aaaa");
        response->mutable_rule_set()->set_revision("bbbb");
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"rules", "reload"}), kExitAllow);
  EXPECT_THAT(out_.str(), HasSubstr("Rule set reloaded: aaaa -> bbbb"));
}

// The activation before this reload was not on record (the start's walk
// could not write it): the reload recorded it first, and says which record.
TEST_F(CliTest, RulesReloadNamesTheEarlierActivationItRecordedFirst) {
  EXPECT_CALL(*mocked_.admin, ReloadRuleSet(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::ReloadRuleSetRequest&,
                          v1::ReloadRuleSetResponse* response) {
        response->set_changed(true);
        response->set_previous_revision("bbbb");
        response->mutable_rule_set()->set_revision("cccc");
        response->set_earlier_activation_accounted(true);
        response->set_earlier_retroactive_impact_id("ri-000000000001");
        response->set_retroactive_impact_id("ri-000000000002");
        response->set_retroactive_verdicts_changed(3);
        response->set_retroactive_decisions_evaluated(5);
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"rules", "reload"}), kExitAllow);
  EXPECT_THAT(out_.str(),
              HasSubstr("Accounted first for the activation before (not on "
                        "record yet): retroactive impact ri-000000000001"));
  EXPECT_THAT(out_.str(), HasSubstr("Retroactive impact ri-000000000002: 3 "
                                    "of 5 past binding decisions"));
}

TEST_F(CliTest, AgreementsListAsOf) {
  options_.as_of = "2026-02-24";
  EXPECT_CALL(*mocked_.agreement, ListInstruments(_, _, _))
      .WillOnce(Invoke([](auto*, const v1::ListInstrumentsRequest& request,
                          v1::ListInstrumentsResponse* response) {
        EXPECT_EQ(request.as_of().day(), 24);
        auto* instrument = response->add_instruments();
        instrument->set_instrument_id("us-procl-s122");
        instrument->set_status(v1::INSTRUMENT_STATUS_IN_FORCE);
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"agreements", "list"}), kExitAllow);
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("us-procl-s122"), HasSubstr("IN_FORCE")));
}

TEST_F(CliTest, HelpDocumentsEveryExitCode) {
  const std::string help = HelpText();
  for (const char* code :
       {"  0 ", "  1 ", "  2 ", "  3 ", "  10 ", "  11 ", "  12 "}) {
    EXPECT_THAT(help, HasSubstr(code));
  }
  EXPECT_THAT(help, HasSubstr("127.0.0.1:50051"));
}


// `audit impacts ID --public-key`: the CLI recomputes the record's digest
// from every change it fetched and checks the server's signature, so a
// server that alters a record (or vouches for one it did not sign) is
// caught without trusting it.
class ImpactVerifyTest : public CliTest {
 protected:
  ImpactVerifyTest() {
    signer_ = *TreeHeadSigner::FromPrivateKeyPem(
        TreeHeadSigner::GeneratePrivateKeyPem());
    options_.public_key = WriteFile("heads.pem.pub", signer_->PublicKeyPem());
    record_.set_impact_id("ri-000000000001");
    record_.set_previous_revision("rev-a");
    record_.set_new_revision("rev-b");
    for (int i = 0; i < 3; ++i) {
      v1::PreviewChange* c = record_.add_changes();
      c->set_decision_id(absl::StrCat("b-00000000000", i + 1));
      c->set_duty_difference_minor_units(100 * (i + 1));
    }
    const std::string digest = Sha256(SerializeDeterministic(record_));
    record_.set_content_digest(absl::BytesToHexString(digest));
    record_.set_signature(signer_->SignImpact(digest));
  }

  // The server answers with `served`, all changes on one page.
  int RunWith(const v1::RetroactiveImpact& served) {
    EXPECT_CALL(*mocked_.audit, GetRetroactiveImpact(_, _, _))
        .WillOnce(Invoke([served](auto*, const auto&,
                                  v1::GetRetroactiveImpactResponse* r) {
          *r->mutable_impact() = served;
          return grpc::Status::OK;
        }));
    return Run({"audit", "impacts", "ri-000000000001"});
  }

  std::unique_ptr<TreeHeadSigner> signer_;
  v1::RetroactiveImpact record_;
};

TEST_F(ImpactVerifyTest, ASignedWholeRecordVerifies) {
  EXPECT_EQ(RunWith(record_), kExitAllow) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("Verified      the content digest of all "
                                    "3 changes, and the signature"));
}

TEST_F(ImpactVerifyTest, AChangeAlteredAfterSigningIsCaught) {
  v1::RetroactiveImpact altered = record_;
  altered.mutable_changes(1)->set_duty_difference_minor_units(1);
  EXPECT_EQ(RunWith(altered), kExitAuditMismatch);
  EXPECT_THAT(err_.str(), HasSubstr("ri-000000000001 does not match its "
                                    "content digest"));
}

TEST_F(ImpactVerifyTest, ADigestTheKeyDidNotSignIsCaught) {
  v1::RetroactiveImpact forged = record_;
  forged.mutable_changes(0)->set_duty_difference_minor_units(7);
  v1::RetroactiveImpact unsigned_copy = forged;
  unsigned_copy.clear_content_digest();
  unsigned_copy.clear_signature();
  forged.set_content_digest(absl::BytesToHexString(
      Sha256(SerializeDeterministic(unsigned_copy))));  // digest recomputed
  EXPECT_EQ(RunWith(forged), kExitAuditMismatch);
  EXPECT_THAT(err_.str(), HasSubstr("signature of retroactive-impact record "
                                    "ri-000000000001 does not match"));
  v1::RetroactiveImpact bare = record_;
  bare.clear_signature();
  mocked_ = MakeMockedClient();
  err_.str("");
  EXPECT_EQ(RunWith(bare), kExitAuditMismatch);
  EXPECT_THAT(err_.str(), HasSubstr("is not signed"));
}

TEST_F(ImpactVerifyTest, APublicKeyWithoutAnIdIsAUsageError) {
  EXPECT_EQ(Run({"audit", "impacts"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--public-key checks one record"));
}

// `audit verify-impacts`: the whole chain, against a server that lies by
// leaving records out, serving altered ones or a fork, and against the
// anchors of the tree-head log.
class ImpactChainTest : public ImpactVerifyTest {
 protected:
  // Records 1..n chained and signed the way the store writes them
  // (AuditStore::AppendRetroactiveImpact), record i changing i decisions.
  std::vector<v1::RetroactiveImpact> Chain(int n) {
    std::vector<v1::RetroactiveImpact> chain;
    for (int i = 1; i <= n; ++i) {
      v1::RetroactiveImpact r;
      r.set_impact_id(ImpactId(i));
      r.set_previous_revision(absl::StrCat("rev-", i));
      r.set_new_revision(absl::StrCat("rev-", i + 1));
      for (int c = 0; c < i; ++c) {
        r.add_changes()->set_decision_id(absl::StrCat("b-00000000000", c + 1));
      }
      r.set_previous_digest(chain.empty() ? ""
                                          : chain.back().content_digest());
      Seal(r);
      chain.push_back(r);
    }
    return chain;
  }
  // Digest and signature recomputed, as a server holding the key would.
  void Seal(v1::RetroactiveImpact& r) {
    const std::string digest = ImpactDigest(r);
    r.set_content_digest(absl::BytesToHexString(digest));
    r.set_signature(signer_->SignImpact(digest));
  }
  // The RI1 lines the server appends to its tree-head log, after a head.
  std::string AnchorLog(const std::vector<v1::RetroactiveImpact>& records) {
    SignedTreeHead head;
    head.head.tree_size = 1;
    head.head.root_hash = std::string(32, 'r');
    head.signature = signer_->Sign(head.head);
    std::string log = FormatTreeHeadLine(head) + "\n";
    for (const v1::RetroactiveImpact& r : records) {
      SignedImpactAnchor a;
      a.anchor.number = *ParseImpactId(r.impact_id());
      a.anchor.content_digest = absl::HexStringToBytes(r.content_digest());
      a.signature = signer_->SignImpactAnchor(a.anchor);
      log += FormatImpactAnchorLine(a) + "\n";
    }
    return log;
  }
  // The server lists `listed` (newest first, one page) and serves each
  // record by id, its changes two per page; NOT_FOUND for any other id.
  int Verify(const std::vector<v1::RetroactiveImpact>& listed,
             const std::string& log_text = "") {
    mocked_ = MakeMockedClient();
    out_.str("");
    err_.str("");
    options_.log = log_text.empty() ? "" : WriteFile("heads.log", log_text);
    EXPECT_CALL(*mocked_.audit, ListRetroactiveImpacts(_, _, _))
        .WillRepeatedly(Invoke([listed](auto*, const auto&,
                                        v1::ListRetroactiveImpactsResponse* r) {
          for (auto it = listed.rbegin(); it != listed.rend(); ++it) {
            *r->add_impacts() = *it;
            r->mutable_impacts()->rbegin()->clear_changes();
          }
          return grpc::Status::OK;
        }));
    EXPECT_CALL(*mocked_.audit, GetRetroactiveImpact(_, _, _))
        .WillRepeatedly(Invoke([listed](auto*,
                                        const v1::GetRetroactiveImpactRequest& q,
                                        v1::GetRetroactiveImpactResponse* r) {
          for (const v1::RetroactiveImpact& record : listed) {
            if (record.impact_id() != q.impact_id()) continue;
            const int from = q.page_token().empty()
                                 ? 0
                                 : std::stoi(q.page_token());
            *r->mutable_impact() = record;
            r->mutable_impact()->clear_changes();
            for (int c = from; c < from + 2 && c < record.changes_size(); ++c) {
              *r->mutable_impact()->add_changes() = record.changes(c);
            }
            if (from + 2 < record.changes_size()) {
              r->set_next_page_token(std::to_string(from + 2));
            }
            return grpc::Status::OK;
          }
          return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such record");
        }));
    return Run({"audit", "verify-impacts"});
  }
};

TEST_F(ImpactChainTest, AWholeChainAndItsAnchorsVerify) {
  const auto chain = Chain(3);
  EXPECT_EQ(Verify(chain, AnchorLog(chain)), kExitAllow) << out_.str();
  EXPECT_THAT(out_.str(),
              HasSubstr("ok: 3 retroactive-impact records, ri-000000000001 "
                        "to ri-000000000003"));
  EXPECT_THAT(out_.str(), HasSubstr("3 anchored in"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("not anchored")));
  // A log from before anchors (heads only) still verifies; what it cannot
  // show is said.
  EXPECT_EQ(Verify(chain, AnchorLog({})), kExitAllow) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("not anchored: ri-000000000001 to "
                                    "ri-000000000003"));
}

TEST_F(ImpactChainTest, APreviousDigestThatDoesNotLinkIsNamed) {
  auto chain = Chain(3);
  // A fork: record 2 signed, but over a link to some other record 1.
  chain[1].set_previous_digest(std::string(64, 'a'));
  Seal(chain[1]);
  chain[2].set_previous_digest(chain[1].content_digest());
  Seal(chain[2]);
  EXPECT_EQ(Verify(chain), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("MISMATCH"));
  EXPECT_THAT(out_.str(),
              HasSubstr("  ri-000000000002: previous_digest aaaa"));
  EXPECT_THAT(out_.str(), HasSubstr("is not the content digest of "
                                    "ri-000000000001"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ri-000000000003:")));
}

TEST_F(ImpactChainTest, AGapInTheIdsIsNamed) {
  const auto chain = Chain(4);
  EXPECT_EQ(Verify({chain[0], chain[3]}), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("records ri-000000000002 to "
                                    "ri-000000000003 are missing from the "
                                    "chain"));
  // A chain that does not start at the first record.
  EXPECT_EQ(Verify({chain[1], chain[2]}), kExitAuditMismatch);
  EXPECT_THAT(out_.str(),
              HasSubstr("ri-000000000001 is missing from the chain"));
}

TEST_F(ImpactChainTest, ARecordDroppedFromTheEndIsNamedByTheLog) {
  const auto chain = Chain(3);
  const std::string log = AnchorLog(chain);
  const std::vector<v1::RetroactiveImpact> shorter = {chain[0], chain[1]};
  // On its own the shorter chain is whole: only the log shows the loss.
  EXPECT_EQ(Verify(shorter), kExitAllow) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("not anchored: without --log"));
  EXPECT_EQ(Verify(shorter, log), kExitAuditMismatch);
  EXPECT_THAT(out_.str(),
              HasSubstr("the tree-head log anchors ri-000000000003, which "
                        "the server does not serve: the chain after "
                        "ri-000000000002 was cut from its end"));
  // Every record gone: the log still names them.
  EXPECT_EQ(Verify({}, log), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("anchors ri-000000000001 to "
                                    "ri-000000000003, which the server does "
                                    "not serve: the whole chain"));
}

TEST_F(ImpactChainTest, ARecordAlteredAfterSigningIsNamed) {
  auto chain = Chain(3);
  const std::string log = AnchorLog(chain);
  auto altered = chain;
  altered[1].mutable_changes(1)->set_decision_id("b-000000000999");
  EXPECT_EQ(Verify(altered), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("  ri-000000000002: content_digest "));
  EXPECT_THAT(out_.str(), HasSubstr("it was altered after it was written"));
  // Re-digested to hide it: the signature no longer matches.
  altered[1].set_content_digest(
      absl::BytesToHexString(ImpactDigest(altered[1])));
  EXPECT_EQ(Verify(altered), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("ri-000000000002: signature: the "
                                    "signature of retroactive-impact record "
                                    "ri-000000000002 does not match"));
  // A forged anchor line (another digest, the signature kept) is refused.
  std::string forged = log;
  const size_t at = forged.find(chain[2].content_digest());
  ASSERT_NE(at, std::string::npos);
  forged[at] = forged[at] == '0' ? '1' : '0';
  EXPECT_EQ(Verify(chain, forged), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("the tree-head log's anchor of "
                                    "ri-000000000003 does not match"));
}

TEST_F(ImpactChainTest, UnsignedRecordsPassOnlyWhenALaterSignatureCoversThem) {
  auto chain = Chain(3);
  chain[0].clear_signature();  // written before records were signed
  EXPECT_EQ(Verify(chain), kExitAllow) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("unsigned: records up to "
                                    "ri-000000000001"));
  for (auto& r : chain) r.clear_signature();
  EXPECT_EQ(Verify(chain), kExitAuditMismatch);
  EXPECT_THAT(out_.str(), HasSubstr("ri-000000000001: signature: the record "
                                    "is not signed"));
  // The log's anchor of the newest covers them all.
  EXPECT_EQ(Verify(chain, AnchorLog({chain[2]})), kExitAllow) << out_.str();
}

TEST_F(ImpactChainTest, BadFlagCombinationsAreUsageErrors) {
  options_.public_key.clear();
  EXPECT_EQ(Run({"audit", "verify-impacts"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--public-key is required"));
  options_.public_key = WriteFile("k.pub", signer_->PublicKeyPem());
  options_.head = WriteFile("heads.log", AnchorLog({}));
  EXPECT_EQ(Run({"audit", "verify-impacts"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("anchors from --log=FILE"));
  options_.head.clear();
  EXPECT_EQ(Run({"audit", "verify-impacts", "ri-000000000001"}), kExitUsage);
  options_.log = WriteFile("heads.log", AnchorLog({}));
  EXPECT_EQ(Run({"audit", "impacts", "ri-000000000001"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--log applies to"));
  EXPECT_EQ(clients_made_, 0);
}

}  // namespace
}  // namespace tradecheck::cli
