// Access control over real sockets: the real server with mutual TLS and the
// certificates deploy/make-dev-certs.sh makes, every RPC called by every
// role and by a caller with no certificate, exporters kept apart, backups
// kept under their root, and plaintext refused off loopback.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kExporterA[] = "MY-EXP-SIMEDARBY-PLT-0042";
constexpr char kExporterB[] = "VN-EXP-HAIPHONG-AUDIO-0412";
constexpr char kCustomsIdentity[] = "spiffe://tradecheck.dev/customs/port-klang";

// The roles of the matrix; kNone has no client certificate.
enum Who { kCustoms, kExporterAWho, kExporterBWho, kAuditor, kAdmin, kNone };
const char* const kWhoNames[] = {"customs", "exporter-a", "exporter-b",
                                 "auditor", "admin",      "no-certificate"};

struct Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::ComplianceService::Stub> compliance;
  std::unique_ptr<v1::AuditService::Stub> audit;
  std::unique_ptr<v1::AgreementService::Stub> agreements;
  std::unique_ptr<v1::AdminService::Stub> admin;
};

class AccessE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = MakeTempDir("access-e2e");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = new std::string(*dir);
    certs_ = new std::string(*dir_ + "/certs");
    const std::string make = std::string(TC_SOURCE_DIR) +
                             "/deploy/make-dev-certs.sh '" + *certs_ +
                             "' 2>/dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
    backup_root_ = new std::string(*dir_ + "/backups");
    ServerProcessOptions options;
    options.extra_flags = {
        "--tls_cert=" + *certs_ + "/server.crt",
        "--tls_key=" + *certs_ + "/server.key",
        "--tls_client_ca=" + *certs_ + "/ca.crt",
        "--access_policy=" + *certs_ + "/access-policy.textproto",
        "--backup_root=" + *backup_root_,
        std::string("--candidates_root=") + TC_SOURCE_DIR,
        "--workers=3",
        "--max_expensive_calls=2"};
    auto server = ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      auto code = server_->Stop();
      EXPECT_TRUE(code.ok() && *code == 0) << server_->log();
    }
    delete server_;
    server_ = nullptr;
  }

  static Stubs Connect(Who who) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrEmpty(*certs_ + "/ca.crt");
    if (who != kNone) {
      const std::string name = kWhoNames[who];
      ssl.pem_cert_chain = ReadFileOrEmpty(*certs_ + "/" + name + ".crt");
      ssl.pem_private_key = ReadFileOrEmpty(*certs_ + "/" + name + ".key");
    }
    grpc::ChannelArguments args;
    // Distinct channels per identity (identical arguments would share one
    // connection, and with it one identity).
    args.SetString("tradecheck.test.identity", kWhoNames[who]);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    Stubs s;
    s.channel = grpc::CreateCustomChannel(server_->address(),
                                          grpc::SslCredentials(ssl), args);
    s.compliance = v1::ComplianceService::NewStub(s.channel);
    s.audit = v1::AuditService::NewStub(s.channel);
    s.agreements = v1::AgreementService::NewStub(s.channel);
    s.admin = v1::AdminService::NewStub(s.channel);
    return s;
  }

  static v1::Declaration Declaration(const std::string& id,
                                     const std::string& exporter) {
    v1::Declaration d = PalmOilImport(id);
    d.set_exporter_id(exporter);
    return d;
  }

  // A binding check by customs; returns the decision id.
  static std::string CustomsCheck(const std::string& id,
                                  const std::string& exporter) {
    Stubs s = Connect(kCustoms);
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = Declaration(id, exporter);
    v1::CheckDeclarationResponse response;
    grpc::Status status =
        s.compliance->CheckDeclaration(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdict().decision_id();
  }

  static std::string DryRun(Who who, const std::string& id,
                            const std::string& exporter) {
    Stubs s = Connect(who);
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = Declaration(id, exporter);
    request.set_validate_only(true);
    v1::CheckDeclarationResponse response;
    grpc::Status status =
        s.compliance->CheckDeclaration(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdict().decision_id();
  }

  static std::string* dir_;
  static std::string* certs_;
  static std::string* backup_root_;
  static ServerProcess* server_;
};

std::string* AccessE2eTest::dir_ = nullptr;
std::string* AccessE2eTest::certs_ = nullptr;
std::string* AccessE2eTest::backup_root_ = nullptr;
ServerProcess* AccessE2eTest::server_ = nullptr;

// One call of the matrix: returns the status code the caller sees (for a
// batch or a stream, the code of the call or else of its one item).
using Call = std::function<grpc::StatusCode(Stubs&, int n)>;

TEST_F(AccessE2eTest, EveryRpcForEveryRole) {
  const std::string record = CustomsCheck("ACC-MATRIX-A", kExporterA);
  ASSERT_FALSE(record.empty());
  using C = grpc::StatusCode;
  const C OK = C::OK, PD = C::PERMISSION_DENIED, NF = C::NOT_FOUND,
          UA = C::UNAUTHENTICATED;

  auto check = [](bool validate_only, const std::string& exporter) -> Call {
    return [=](Stubs& s, int n) {
      v1::CheckDeclarationRequest request;
      *request.mutable_declaration() = Declaration(
          absl::StrCat("ACC-M-", validate_only, "-", n), exporter);
      request.set_validate_only(validate_only);
      v1::CheckDeclarationResponse response;
      return s.compliance->CheckDeclaration(Ctx().get(), request, &response)
          .error_code();
    };
  };
  struct Row {
    std::string rpc;
    Call call;
    // customs, exporter A, exporter B, auditor, admin, no certificate
    std::vector<C> expected;
  };
  std::vector<Row> rows = {
      {"CheckDeclaration binding", check(false, kExporterA),
       {OK, PD, PD, PD, PD, UA}},
      {"CheckDeclaration dry run for exporter A", check(true, kExporterA),
       {OK, OK, PD, PD, PD, UA}},
      {"CheckDeclarations (binding)",
       [](Stubs& s, int n) {
         v1::CheckDeclarationsRequest request;
         *request.add_requests()->mutable_declaration() =
             Declaration(absl::StrCat("ACC-B-", n), kExporterA);
         v1::CheckDeclarationsResponse response;
         grpc::Status st =
             s.compliance->CheckDeclarations(Ctx().get(), request, &response);
         if (!st.ok()) return st.error_code();
         return static_cast<C>(response.results(0).error().code());
       },
       {OK, PD, PD, PD, PD, UA}},
      {"StreamCheckDeclarations (binding)",
       [](Stubs& s, int n) {
         auto ctx = Ctx();
         auto stream = s.compliance->StreamCheckDeclarations(ctx.get());
         v1::CheckDeclarationRequest request;
         *request.mutable_declaration() =
             Declaration(absl::StrCat("ACC-S-", n), kExporterA);
         stream->Write(request);
         stream->WritesDone();
         v1::CheckResult result;
         bool got = stream->Read(&result);
         grpc::Status st = stream->Finish();
         if (!st.ok()) return st.error_code();
         return got ? static_cast<C>(result.error().code()) : C::UNKNOWN;
       },
       {OK, PD, PD, PD, PD, UA}},
      {"GetDecision",
       [record](Stubs& s, int) {
         v1::GetDecisionRequest request;
         request.set_decision_id(record);
         v1::Decision response;
         return s.audit->GetDecision(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, NF, OK, PD, UA}},
      {"ListDecisions",
       [](Stubs& s, int) {
         v1::ListDecisionsRequest request;
         v1::ListDecisionsResponse response;
         return s.audit->ListDecisions(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, OK, OK, PD, UA}},
      {"SummarizeDecisions",
       [](Stubs& s, int) {
         v1::SummarizeDecisionsRequest request;
         request.add_group_by(v1::SUMMARY_DIMENSION_OUTCOME);
         v1::SummarizeDecisionsResponse response;
         return s.audit->SummarizeDecisions(Ctx().get(), request, &response)
             .error_code();
       },
       {PD, PD, PD, OK, PD, UA}},
      // A retroactive-impact record names many exporters' decisions: customs
      // acts on it and auditors check it; nobody else reads it. (No reload
      // here changes the revision, so there is no record to find.)
      {"ListRetroactiveImpacts",
       [](Stubs& s, int) {
         v1::ListRetroactiveImpactsResponse response;
         return s.audit
             ->ListRetroactiveImpacts(Ctx().get(),
                                      v1::ListRetroactiveImpactsRequest(),
                                      &response)
             .error_code();
       },
       {OK, PD, PD, OK, PD, UA}},
      {"GetRetroactiveImpact",
       [](Stubs& s, int) {
         v1::GetRetroactiveImpactRequest request;
         request.set_impact_id("ri-000000000001");
         v1::GetRetroactiveImpactResponse response;
         return s.audit->GetRetroactiveImpact(Ctx().get(), request, &response)
             .error_code();
       },
       {NF, PD, PD, NF, PD, UA}},
      {"ReevaluateDecision",
       [record](Stubs& s, int) {
         v1::ReevaluateDecisionRequest request;
         request.set_decision_id(record);
         v1::ReevaluateDecisionResponse response;
         return s.audit->ReevaluateDecision(Ctx().get(), request, &response)
             .error_code();
       },
       {PD, OK, NF, OK, PD, UA}},
      {"VerifyTrail",
       [](Stubs& s, int) {
         v1::VerifyTrailResponse response;
         return s.audit
             ->VerifyTrail(Ctx().get(), v1::VerifyTrailRequest(), &response)
             .error_code();
       },
       {PD, PD, PD, OK, PD, UA}},
      // The verifiable log: heads and consistency proofs hold only sizes
      // and hashes; an inclusion proof is as readable as its record.
      {"GetSignedTreeHead",
       [](Stubs& s, int) {
         v1::SignedTreeHead response;
         return s.audit
             ->GetSignedTreeHead(Ctx().get(), v1::GetSignedTreeHeadRequest(),
                                 &response)
             .error_code();
       },
       {OK, OK, OK, OK, PD, UA}},
      {"GetInclusionProof",
       [record](Stubs& s, int) {
         v1::GetInclusionProofRequest request;
         request.set_decision_id(record);
         v1::GetInclusionProofResponse response;
         return s.audit->GetInclusionProof(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, NF, OK, PD, UA}},
      {"GetConsistencyProof",
       [](Stubs& s, int) {
         v1::GetConsistencyProofRequest request;
         request.set_first_size(1);
         v1::GetConsistencyProofResponse response;
         return s.audit->GetConsistencyProof(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, OK, OK, PD, UA}},
      {"ListInstruments",
       [](Stubs& s, int) {
         v1::ListInstrumentsResponse response;
         return s.agreements
             ->ListInstruments(Ctx().get(), v1::ListInstrumentsRequest(),
                               &response)
             .error_code();
       },
       {OK, OK, OK, OK, OK, UA}},
      {"GetInstrument",
       [](Stubs& s, int) {
         v1::GetInstrumentRequest request;
         request.set_instrument_id("us-eo-14326");
         v1::Instrument response;
         return s.agreements->GetInstrument(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, OK, OK, OK, UA}},
      {"GetRuleSet",
       [](Stubs& s, int) {
         v1::RuleSetInfo response;
         return s.agreements
             ->GetRuleSet(Ctx().get(), v1::GetRuleSetRequest(), &response)
             .error_code();
       },
       {OK, OK, OK, OK, OK, UA}},
      {"LookupMeasures",
       [](Stubs& s, int) {
         v1::LookupMeasuresRequest request;
         request.set_hs_code("640411");
         request.set_origin("VN");
         v1::LookupMeasuresResponse response;
         return s.agreements->LookupMeasures(Ctx().get(), request, &response)
             .error_code();
       },
       {OK, OK, OK, OK, OK, UA}},
      {"PreviewRuleSet",
       [](Stubs& s, int) {
         v1::PreviewRuleSetRequest request;
         request.set_agreements_dir("agreements");  // under TC_SOURCE_DIR
         request.set_limit(10);
         auto context = Ctx(60);
         auto reader = s.admin->PreviewRuleSet(context.get(), request);
         v1::PreviewRuleSetResponse item;
         while (reader->Read(&item)) {
         }
         return reader->Finish().error_code();
       },
       {PD, PD, PD, OK, OK, UA}},
      {"ReloadRuleSet",
       [](Stubs& s, int) {
         v1::ReloadRuleSetResponse response;
         return s.admin
             ->ReloadRuleSet(Ctx(60).get(), v1::ReloadRuleSetRequest(),
                             &response)
             .error_code();
       },
       {PD, PD, PD, PD, OK, UA}},
      {"CreateBackup",
       [](Stubs& s, int n) {
         v1::CreateBackupRequest request;
         request.set_directory(absl::StrCat("matrix-", n));
         v1::CreateBackupResponse response;
         return s.admin->CreateBackup(Ctx(60).get(), request, &response)
             .error_code();
       },
       {PD, PD, PD, PD, OK, UA}},
      {"GetStoreStats",
       [](Stubs& s, int) {
         v1::GetStoreStatsResponse response;
         return s.admin
             ->GetStoreStats(Ctx().get(), v1::GetStoreStatsRequest(),
                             &response)
             .error_code();
       },
       {PD, PD, PD, OK, OK, UA}},
  };
  int n = 0;
  for (int who = kCustoms; who <= kNone; ++who) {
    Stubs s = Connect(static_cast<Who>(who));
    for (const Row& row : rows) {
      EXPECT_EQ(row.call(s, ++n), row.expected[who])
          << row.rpc << " as " << kWhoNames[who];
    }
  }
  // Denied attempts are logged, one line each, naming role and call (a
  // JSON string in the log line, so its quotes are escaped).
  EXPECT_THAT(server_->log(),
              HasSubstr("access denied: identity=\\\"spiffe://tradecheck.dev/"
                        "admin/operator\\\" role=ADMIN call=GetDecision"));
}

TEST_F(AccessE2eTest, DeniedCarriesErrorInfoNamingRoleAndPermission) {
  Stubs s = Connect(kAuditor);
  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = Declaration("ACC-INFO-1", kExporterA);
  v1::CheckDeclarationResponse response;
  grpc::Status status =
      s.compliance->CheckDeclaration(Ctx().get(), request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  google::rpc::ErrorInfo info = ErrorInfoOf(status);
  EXPECT_EQ(info.reason(), "PERMISSION_DENIED");
  EXPECT_EQ(info.domain(), "tradecheck.v1");
  EXPECT_EQ(info.metadata().at("role"), "AUDITOR");
  EXPECT_EQ(info.metadata().at("permission"), "CHECK_BINDING");
}

TEST_F(AccessE2eTest, HealthAnswersWithoutCertificate) {
  Stubs s = Connect(kNone);
  auto health = grpc::health::v1::Health::NewStub(s.channel);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(
      Ctx().get(), grpc::health::v1::HealthCheckRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AccessE2eTest, RecordsCarryCallerIdentityAndRole) {
  const std::string id = CustomsCheck("ACC-WHO-1", kExporterA);
  Stubs s = Connect(kAuditor);
  v1::GetDecisionRequest request;
  request.set_decision_id(id);
  v1::Decision decision;
  ASSERT_TRUE(s.audit->GetDecision(Ctx().get(), request, &decision).ok());
  EXPECT_EQ(decision.caller(), kCustomsIdentity);
  EXPECT_EQ(decision.caller_role(), v1::CALLER_ROLE_CUSTOMS);
  // The role is inside the hashed bytes: the chain verifies with it.
  v1::VerifyTrailResponse verified;
  ASSERT_TRUE(
      s.audit->VerifyTrail(Ctx().get(), v1::VerifyTrailRequest(), &verified)
          .ok());
  EXPECT_TRUE(verified.ok()) << verified.problem();
}

TEST_F(AccessE2eTest, ExporterCannotReachAnotherExportersRecords) {
  const std::string a_record = CustomsCheck("ACC-ISO-A", kExporterA);
  const std::string b_record = CustomsCheck("ACC-ISO-B", kExporterB);
  const std::string b_dry = DryRun(kExporterBWho, "ACC-ISO-B-DRY", kExporterB);
  ASSERT_FALSE(b_dry.empty());
  Stubs a = Connect(kExporterAWho);

  // B's id answers exactly like an id nobody holds.
  const std::string unknown = "b-000000999999";
  for (const std::string& target : {b_record, b_dry}) {
    v1::GetDecisionRequest get;
    v1::Decision decision;
    get.set_decision_id(target);
    grpc::Status theirs = a.audit->GetDecision(Ctx().get(), get, &decision);
    get.set_decision_id(unknown);
    grpc::Status none = a.audit->GetDecision(Ctx().get(), get, &decision);
    EXPECT_EQ(theirs.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(theirs.error_code(), none.error_code());
    auto strip = [](const std::string& m, const std::string& id) {
      std::string out = m;
      out.replace(out.find(id), id.size(), "ID");
      return out;
    };
    EXPECT_EQ(strip(theirs.error_message(), target),
              strip(none.error_message(), unknown));

    v1::ReevaluateDecisionRequest re;
    v1::ReevaluateDecisionResponse re_response;
    re.set_decision_id(target);
    grpc::Status re_theirs =
        a.audit->ReevaluateDecision(Ctx().get(), re, &re_response);
    re.set_decision_id(unknown);
    grpc::Status re_none =
        a.audit->ReevaluateDecision(Ctx().get(), re, &re_response);
    EXPECT_EQ(re_theirs.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(strip(re_theirs.error_message(), target),
              strip(re_none.error_message(), unknown));
  }

  // A's listing, paged one record at a time through both streams, holds
  // only A's records; asking for B's exporter id lists nothing.
  for (v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    v1::ListDecisionsRequest list;
    list.set_page_size(1);
    list.mutable_filter()->set_stream(stream);
    int seen = 0;
    do {
      v1::ListDecisionsResponse page;
      ASSERT_TRUE(a.audit->ListDecisions(Ctx().get(), list, &page).ok());
      for (const v1::Decision& d : page.decisions()) {
        EXPECT_EQ(d.declaration().exporter_id(), kExporterA);
        ++seen;
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty() && seen < 1000);
    if (stream == v1::TRAIL_STREAM_BINDING) {
      EXPECT_GE(seen, 1);
    }
  }
  {
    v1::ListDecisionsRequest list;
    list.mutable_filter()->set_exporter_id(kExporterB);
    v1::ListDecisionsResponse page;
    ASSERT_TRUE(a.audit->ListDecisions(Ctx().get(), list, &page).ok());
    EXPECT_EQ(page.decisions_size(), 0);
    EXPECT_TRUE(page.next_page_token().empty());
  }

  // B's page token does not open B's records to A.
  Stubs b = Connect(kExporterBWho);
  CustomsCheck("ACC-ISO-B2", kExporterB);
  v1::ListDecisionsRequest b_list;
  b_list.set_page_size(1);
  v1::ListDecisionsResponse b_page;
  ASSERT_TRUE(b.audit->ListDecisions(Ctx().get(), b_list, &b_page).ok());
  ASSERT_FALSE(b_page.next_page_token().empty());
  for (const std::string& filter_exporter : {std::string(), std::string(kExporterB)}) {
    v1::ListDecisionsRequest steal;
    steal.set_page_size(1);
    steal.set_page_token(b_page.next_page_token());
    steal.mutable_filter()->set_exporter_id(filter_exporter);
    v1::ListDecisionsResponse stolen;
    grpc::Status status = a.audit->ListDecisions(Ctx().get(), steal, &stolen);
    if (status.ok()) {
      for (const v1::Decision& d : stolen.decisions()) {
        EXPECT_EQ(d.declaration().exporter_id(), kExporterA);
      }
      EXPECT_EQ(stolen.decisions_size(), 0);
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
  }
  // And A may not dry-run in B's name.
  v1::CheckDeclarationRequest dry;
  *dry.mutable_declaration() = Declaration("ACC-ISO-A-AS-B", kExporterB);
  dry.set_validate_only(true);
  v1::CheckDeclarationResponse dry_response;
  EXPECT_EQ(a.compliance->CheckDeclaration(Ctx().get(), dry, &dry_response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  (void)a_record;
}

TEST_F(AccessE2eTest, CustomsReadsOnlyWhatItSubmitted) {
  const std::string own = CustomsCheck("ACC-CUS-1", kExporterA);
  const std::string exporters = DryRun(kExporterAWho, "ACC-CUS-DRY", kExporterA);
  Stubs s = Connect(kCustoms);
  v1::GetDecisionRequest get;
  v1::Decision decision;
  get.set_decision_id(own);
  EXPECT_TRUE(s.audit->GetDecision(Ctx().get(), get, &decision).ok());
  get.set_decision_id(exporters);
  EXPECT_EQ(s.audit->GetDecision(Ctx().get(), get, &decision).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListDecisionsRequest list;
  list.mutable_filter()->set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  v1::ListDecisionsResponse page;
  ASSERT_TRUE(s.audit->ListDecisions(Ctx().get(), list, &page).ok());
  for (const v1::Decision& d : page.decisions()) {
    EXPECT_EQ(d.caller(), kCustomsIdentity);
  }
}

TEST_F(AccessE2eTest, BackupNamesStayUnderTheRoot) {
  Stubs s = Connect(kAdmin);
  auto listing = [](const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      names.insert(e.path().filename().string());
    }
    return names;
  };
  const std::set<std::string> before = listing(*dir_);
  for (const std::string& bad :
       {std::string("../escape"), std::string("a/b"), std::string(".."),
        std::string("/tmp/abs"), std::string("new\nline"),
        std::string("tab\tname"), std::string("")}) {
    v1::CreateBackupRequest request;
    request.set_directory(bad);
    v1::CreateBackupResponse response;
    grpc::Status status = s.admin->CreateBackup(Ctx().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    google::rpc::BadRequest details = BadRequestOf(status);
    ASSERT_EQ(details.field_violations_size(), 1) << bad;
    EXPECT_EQ(details.field_violations(0).field(), "directory");
  }
  EXPECT_EQ(listing(*dir_), before);  // nothing created beside the root

  v1::CreateBackupRequest request;
  request.set_directory("nightly-1");
  v1::CreateBackupResponse response;
  grpc::Status status =
      s.admin->CreateBackup(Ctx(60).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string path = *backup_root_ + "/nightly-1";
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : fs::directory_iterator(path)) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
  }
  // The same name again finds the directory.
  status = s.admin->CreateBackup(Ctx(60).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

// The CLI as each kind of user runs it: certificate files from the
// TRADECHECK_* environment, the exit code tells the outcome.
TEST_F(AccessE2eTest, CliOverMutualTlsFromEnvironment) {
  auto run = [](const std::string& who, const std::string& args) {
    const std::string command = absl::StrCat(
        "TRADECHECK_CA='", *certs_, "/ca.crt' TRADECHECK_CERT='", *certs_, "/",
        who, ".crt' TRADECHECK_KEY='", *certs_, "/", who, ".key' '",
        TC_CLI_BINARY, "' --server=", server_->address(), " ", args,
        " >/dev/null 2>&1");
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string examples = std::string(TC_SOURCE_DIR) + "/examples/";
  // Exporter B dry-runs its own shipment: a verdict (0, 10 or 11).
  EXPECT_THAT(run("exporter-b", "check --validate-only " + examples +
                                    "exporters/vn-speakers-dry-run.json"),
              ::testing::AnyOf(0, 10, 11));
  // The same exporter may not bind it: an RPC error (3).
  EXPECT_EQ(run("exporter-b",
                "check " + examples + "exporters/vn-speakers-dry-run.json"),
            3);
  EXPECT_EQ(run("auditor", "audit verify"), 0);
  EXPECT_EQ(run("admin", "stats"), 0);
  EXPECT_EQ(run("admin", "audit verify"), 3);
}

TEST(AccessStartE2eTest, ReflectionCanBeSwitchedOff) {
  ServerProcessOptions options;
  options.extra_flags = {"--reflection=false"};
  auto server = ServerProcess::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = testing::Connect((*server)->address());
  auto reflection =
      grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  auto context = Ctx();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  stream->Write(request);
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  auto code = (*server)->Stop();
  EXPECT_TRUE(code.ok() && *code == 0);
}

TEST(AccessStartE2eTest, PlaintextOffLoopbackRefusesToStart) {
  ServerProcessOptions options;
  options.extra_flags = {"--listen=0.0.0.0:0"};
  std::string log;
  auto code = ServerProcess::RunToExit(options, &log);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1);
  EXPECT_THAT(log, HasSubstr("not a loopback address"));
}

}  // namespace
}  // namespace tradecheck::testing
