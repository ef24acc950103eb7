// Access control in the domain: the policy file, the role table, record
// scope, backup names, and the expensive-call limit on a real core.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/synchronization/notification.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "core/access.h"
#include "core/access_policy.h"
#include "core/backup_path.h"
#include "core/call_limiter.h"
#include "core/errors.h"
#include "core/tradecheck_core.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

std::string TempDir(const std::string& prefix) {
  absl::StatusOr<std::string> dir = ::tradecheck::testing::MakeTempDir(prefix);
  if (!dir.ok()) ADD_FAILURE() << dir.status();
  return dir.value_or("");
}

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

TEST(AccessPolicyTest, ValidPolicyResolvesIdentities) {
  const std::string dir = TempDir("policy");
  const std::string path = dir + "/policy.textproto";
  std::ofstream(path) << R"pb(
    grants { identity: "spiffe://x/customs/a" role: CALLER_ROLE_CUSTOMS }
    grants {
      identity: "exporter-cn"
      role: CALLER_ROLE_EXPORTER
      exporter_ids: "MY-EXP-1"
    }
  )pb";
  auto holder = AccessPolicyHolder::Load(path);
  ASSERT_THAT(holder.status(), IsOk());
  Caller exporter = (*holder)->Resolve("exporter-cn");
  EXPECT_EQ(exporter.role, v1::CALLER_ROLE_EXPORTER);
  EXPECT_TRUE(exporter.InScope("MY-EXP-1"));
  Caller stranger = (*holder)->Resolve("spiffe://x/unknown");
  EXPECT_EQ(stranger.role, v1::CALLER_ROLE_UNSPECIFIED);
  EXPECT_THAT(Authorize(stranger, Permission::kReadAgreements),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("no role in the access policy")));

  // A bad reload keeps the policy in force.
  std::ofstream(path) << "grants { identity: \"x\" }\n";
  EXPECT_THAT((*holder)->Reload().status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.textproto:1: grants[0].role")));
  EXPECT_EQ((*holder)->Resolve("exporter-cn").role, v1::CALLER_ROLE_EXPORTER);
}

TEST(AccessPolicyTest, ErrorsNameFileLineAndField) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"grants {\n  identity: \"a\"\n  role: CALLER_ROLE_EXPORTER\n}\n",
       "p.txt:1: grants[0].exporter_ids: an exporter needs"},
      {"grants { identity: \"a\" role: CALLER_ROLE_AUDITOR }\n"
       "grants {\n  identity: \"a\"\n  role: CALLER_ROLE_ADMIN\n}\n",
       "p.txt:3: grants[1].identity: \"a\" is granted twice"},
      {"grants { identity: \"a\" role: CALLER_ROLE_LOCAL }\n",
       "grants[0].role: LOCAL"},
      {"grants {\n identity: \"a\"\n role: CALLER_ROLE_AUDITOR\n"
       " exporter_ids: \"X\"\n}\n",
       "p.txt:4: grants[0].exporter_ids[0]: only an exporter"},
      {"grants {\n identity: \"a\"\n role: CALLER_ROLE_EXPORTER\n"
       " exporter_ids: \"bad id\"\n}\n",
       "p.txt:4: grants[0].exporter_ids[0]: must be"},
      {"grants { identity: \"\" role: CALLER_ROLE_ADMIN }\n",
       "grants[0].identity: is required"},
      {"grants { identity: \"a\" rolle: 1 }\n", "p.txt:1: "},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseAccessPolicy("p.txt", c.text).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.text;
  }
}

TEST(AccessTest, RoleTable) {
  using P = Permission;
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_CUSTOMS, P::kCheckBinding));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_CUSTOMS, P::kVerifyTrail));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_EXPORTER, P::kCheckBinding));
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_EXPORTER, P::kCheckDryRun));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_AUDITOR, P::kCheckDryRun));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_AUDITOR, P::kCreateBackup));
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_AUDITOR, P::kVerifyTrail));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_ADMIN, P::kReadDecisions));
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_ADMIN, P::kCreateBackup));
  // A preview names changed decisions: the data owner and the auditor.
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_ADMIN, P::kPreviewRuleSet));
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_AUDITOR, P::kPreviewRuleSet));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_EXPORTER, P::kPreviewRuleSet));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_CUSTOMS, P::kPreviewRuleSet));
  // A retroactive-impact record lists many exporters' decisions: customs
  // acts on it, auditors check it; exporters and admins may not read it.
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_CUSTOMS, P::kReadImpacts));
  EXPECT_TRUE(RoleHas(v1::CALLER_ROLE_AUDITOR, P::kReadImpacts));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_EXPORTER, P::kReadImpacts));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_ADMIN, P::kReadImpacts));
  EXPECT_FALSE(RoleHas(v1::CALLER_ROLE_UNSPECIFIED, P::kReadAgreements));

  EXPECT_THAT(Authorize(Caller(), P::kReadAgreements),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Caller admin{"ops", v1::CALLER_ROLE_ADMIN, {}};
  absl::Status denied = Authorize(admin, P::kReadDecisions);
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied));
  google::rpc::Status details = ToRpcStatus(denied);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.metadata().at("role"), "ADMIN");
  EXPECT_EQ(info.metadata().at("permission"), "READ_DECISIONS");
}

TEST(AccessTest, RecordScope) {
  v1::Decision d;
  d.set_caller("spiffe://x/customs/a");
  d.mutable_declaration()->set_exporter_id("MY-EXP-1");
  EXPECT_TRUE(CanRead({"spiffe://x/customs/a", v1::CALLER_ROLE_CUSTOMS, {}}, d));
  EXPECT_FALSE(CanRead({"spiffe://x/customs/b", v1::CALLER_ROLE_CUSTOMS, {}}, d));
  EXPECT_TRUE(CanRead({"e", v1::CALLER_ROLE_EXPORTER, {"MY-EXP-1"}}, d));
  EXPECT_FALSE(CanRead({"e", v1::CALLER_ROLE_EXPORTER, {"MY-EXP-2"}}, d));
  EXPECT_TRUE(CanRead({"a", v1::CALLER_ROLE_AUDITOR, {}}, d));
  EXPECT_FALSE(CanRead({"o", v1::CALLER_ROLE_ADMIN, {}}, d));
}

TEST(BackupPathTest, OnlySafeNamesUnderTheRoot) {
  EXPECT_THAT(ResolveBackupPath("/r", "directory", "nightly-2026.12.06_1"),
              IsOk());
  EXPECT_EQ(*ResolveBackupPath("/r", "directory", "n1"), "/r/n1");
  for (const char* bad : {"", "..", ".", "../x", "a/b", "/abs", "a..b",
                          "new\nline", "tab\t", "sp ace", ".hidden", "-x",
                          "a\\b"}) {
    absl::Status s = ResolveBackupPath("/r", "directory", bad).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    google::rpc::BadRequest br = GetBadRequest(s);
    ASSERT_EQ(br.field_violations_size(), 1) << bad;
    EXPECT_EQ(br.field_violations(0).field(), "directory");
  }
  EXPECT_THAT(ResolveBackupPath("", "directory", "n1").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--backup_root")));
  // Candidates for a preview follow the same rules under their own root.
  const NamedRoot candidates{"/c", "--candidates_root", "rule-set previews"};
  EXPECT_EQ(*ResolveUnderRoot(candidates, "agreements_dir", "rev-2026-12"),
            "/c/rev-2026-12");
  EXPECT_THAT(
      ResolveUnderRoot(candidates, "agreements_dir", "/etc").status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("give a name, not a path (the server looks under "
                         "its --candidates_root)")));
  EXPECT_THAT(ResolveUnderRoot({"", "--candidates_root", "rule-set previews"},
                               "agreements_dir", "rev")
                  .status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("rule-set previews are off on this server")));
  // A root inside the live store is refused, and never created.
  absl::StatusOr<std::string> scratch =
      ::tradecheck::testing::MakeTempDir("tc-backup-root");
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  const std::string data = *scratch + "/data";
  EXPECT_THAT(PrepareBackupRoot(data + "/backups", data),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("inside --data_dir")));
  EXPECT_FALSE(std::filesystem::exists(data));
}

class LimitedCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limiter_ = CallLimiter::Create(1);
    CoreOptions options;
    options.agreements_dir = TC_AGREEMENTS_DIR;
    options.data_dir = TempDir("access-core") + "/db";
    options.backup_root = TempDir("access-backups");
    options.expensive_calls = limiter_;
    options.access_log = [this](const std::string& line) {
      denials_.push_back(line);
    };
    auto core = TradecheckCore::Create(options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  std::shared_ptr<CallLimiter> limiter_;
  std::vector<std::string> denials_;
  std::unique_ptr<TradecheckCore> core_;
};

// While the expensive-call slots are taken (here held by the test, as a
// running whole-trail verification holds one), another verification or a
// backup is refused at once and a read still answers.
TEST_F(LimitedCoreTest, ExpensiveCallsAreRefusedWhileReadsAnswer) {
  const Caller auditor{"aud", v1::CALLER_ROLE_AUDITOR, {}};
  {
    auto held = limiter_->TryAcquire();
    ASSERT_TRUE(held.has_value());
    EXPECT_THAT(Wait<v1::VerifyTrailResponse>([&](auto done) {
                  core_->VerifyTrail(auditor, v1::VerifyTrailRequest(), done);
                }).status(),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("retry")));
    v1::CreateBackupRequest backup;
    backup.set_directory("b1");
    EXPECT_THAT(Wait<v1::CreateBackupResponse>([&](auto done) {
                  core_->CreateBackup(backup, done);
                }).status(),
                StatusIs(absl::StatusCode::kResourceExhausted));
    v1::GetDecisionRequest get;
    get.set_decision_id("b-000000000001");
    EXPECT_THAT(Wait<v1::Decision>([&](auto done) {
                  core_->GetDecision(auditor, get, done);
                }).status(),
                StatusIs(absl::StatusCode::kNotFound));
  }
  // Released: verification runs again, and its slot is given back after.
  EXPECT_THAT(Wait<v1::VerifyTrailResponse>([&](auto done) {
                core_->VerifyTrail(auditor, v1::VerifyTrailRequest(), done);
              }).status(),
              IsOk());
  EXPECT_EQ(limiter_->in_use(), 0);
}

TEST_F(LimitedCoreTest, HiddenRecordLooksLikeUnknownAndDenialIsLogged) {
  v1::CheckDeclarationRequest request;
  auto* d = request.mutable_declaration();
  d->set_declaration_id("X-1");  // invalid declaration: fails validation
  const Caller other{"e2", v1::CALLER_ROLE_EXPORTER, {"OTHER"}};
  // The store's answer for an unknown id is what a hidden record gets.
  v1::GetDecisionRequest get;
  get.set_decision_id("b-000000000042");
  absl::StatusOr<v1::Decision> unknown = Wait<v1::Decision>(
      [&](auto done) { core_->GetDecision(get, done); });
  EXPECT_EQ(unknown.status(), NotFoundLikeUnknown("b-000000000042"));
  // A denied call is logged once, naming identity, role and call.
  const Caller admin{"ops", v1::CALLER_ROLE_ADMIN, {}};
  EXPECT_THAT(Wait<v1::Decision>([&](auto done) {
                core_->GetDecision(admin, get, done);
              }).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_EQ(denials_.size(), 1u);
  EXPECT_THAT(denials_[0], HasSubstr("identity=\"ops\" role=ADMIN "
                                     "call=GetDecision"));
  (void)other;
}

}  // namespace
}  // namespace tradecheck
