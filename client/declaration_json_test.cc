#include "client/declaration_json.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tradecheck/v1/compliance_service.pb.h"

namespace tradecheck {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

constexpr char kValid[] = R"({
  "declaration_id": "VN-EL-2025-1104",
  "kind": "DECLARATION_KIND_IMPORT_ENTRY",
  "origin_country": "VN",
  "entry_date": {"year": 2025, "month": 11, "day": 4},
  "lines": [
    {
      "line_number": 1,
      "hs_code": "8471300000",
      "customs_value": {"currency_code": "USD", "minor_units": "4800000"}
    }
  ]
})";

TEST(DeclarationJsonTest, ParsesAValidDeclaration) {
  auto declaration = ParseDeclarationJson(kValid, "vn.json");
  ASSERT_THAT(declaration, IsOk());
  EXPECT_EQ(declaration->declaration_id(), "VN-EL-2025-1104");
  EXPECT_EQ(declaration->lines(0).customs_value().minor_units(), 4800000);
}

TEST(DeclarationJsonTest, AcceptsLowerCamelCaseNames) {
  auto declaration = ParseDeclarationJson(
      R"({"declarationId": "X-1", "kind": "DECLARATION_KIND_EXPORT_SHIPMENT",
          "exportDate": {"year": 2026, "month": 1, "day": 5},
          "lines": [{"lineNumber": 1, "hsCode": "284690",
                     "processingStage": "PROCESSING_STAGE_CONCENTRATE"}]})",
      "x.json");
  ASSERT_THAT(declaration, IsOk());
  EXPECT_EQ(declaration->lines(0).processing_stage(),
            v1::PROCESSING_STAGE_CONCENTRATE);
}

TEST(DeclarationJsonTest, SyntaxErrorHasLineAndColumn) {
  EXPECT_THAT(
      ParseDeclarationJson("{\n  \"declaration_id\": \"x\"\n  \"kind\": 1\n}",
                           "decl.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "decl.json:3:3: invalid JSON: expected ',' or '}' "
               "after a member"));
  EXPECT_THAT(ParseDeclarationJson("", "empty.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("empty.json:1:1: invalid JSON")));
  EXPECT_THAT(
      ParseDeclarationJson("{} {}", "two.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("two.json:1:4: invalid JSON: unexpected text")));
  EXPECT_THAT(
      ParseDeclarationJson("{\"a\": [1, 2,]}", "t.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trailing ','")));
  EXPECT_THAT(
      ParseDeclarationJson("{\"a\": 01}", "t.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.json:1:8")));
}

TEST(DeclarationJsonTest, DuplicateKeyIsAnError) {
  EXPECT_THAT(
      ParseDeclarationJson(
          "{\"declaration_id\": \"a\",\n \"declaration_id\": \"b\"}", "d.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "d.json:2:2: invalid JSON: duplicate key \"declaration_id\""));
}

TEST(DeclarationJsonTest, UnknownFieldNamesPathAndPosition) {
  std::string text = kValid;
  text.replace(text.find("\"hs_code\""), 9, "\"hscode\"");
  EXPECT_THAT(ParseDeclarationJson(text, "vn.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("vn.json:9:7: lines[0].hscode: "),
                             HasSubstr("unknown field"))));
}

TEST(DeclarationJsonTest, UnknownTopLevelField) {
  EXPECT_THAT(ParseDeclarationJson("{\n\"destination\": \"US\"}", "t.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t.json:2:1: destination: unknown field")));
}

TEST(DeclarationJsonTest, BadEnumListsTheNamesThatWork) {
  EXPECT_THAT(ParseDeclarationJson(R"({"kind": "IMPORT"})", "t.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "t.json:1:2: kind: invalid value \"IMPORT\"; expected "
                       "one of DECLARATION_KIND_IMPORT_ENTRY, "
                       "DECLARATION_KIND_EXPORT_SHIPMENT"));
}

TEST(DeclarationJsonTest, WrongTypeNamesTheField) {
  std::string text = kValid;
  text.replace(text.find("\"4800000\""), 9, "\"48k\"");
  EXPECT_THAT(ParseDeclarationJson(text, "vn.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("lines[0].customs_value.minor_units: "
                                 "invalid value")));
}

TEST(DeclarationJsonTest, ListsEveryMissingRequiredField) {
  auto declaration = ParseDeclarationJson(
      R"({"kind": "DECLARATION_KIND_IMPORT_ENTRY", "lines": [{}]})", "t.json");
  EXPECT_THAT(
      declaration,
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("t.json: declaration_id: required"),
                     HasSubstr("t.json: entry_date: required for "
                               "DECLARATION_KIND_IMPORT_ENTRY"),
                     HasSubstr("t.json: lines[0].line_number: required"),
                     HasSubstr("t.json: lines[0].hs_code: required"))));
}

TEST(DeclarationJsonTest, ExportNeedsExportDateAndARealDate) {
  EXPECT_THAT(ParseDeclarationJson(
                  R"({"declaration_id": "MY-RE-1",
              "kind": "DECLARATION_KIND_EXPORT_SHIPMENT",
              "entry_date": {"year": 2026, "month": 2, "day": 30},
              "lines": [{"line_number": 1, "hs_code": "284690"}]})",
                  "t.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("export_date: required for "
                                       "DECLARATION_KIND_EXPORT_SHIPMENT"),
                             HasSubstr("t.json: entry_date: "))));
  EXPECT_THAT(ParseDeclarationJson(R"({"declaration_id": "x"})", "t.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("kind: required"),
                             HasSubstr("lines: at least one line"))));
}

TEST(DeclarationJsonTest, MessageToJsonUsesProtoNamesAndPrintsDefaults) {
  v1::CheckDeclarationResponse response;
  response.mutable_verdict()->set_declaration_id("VN-EL-2025-1104");
  response.mutable_verdict()->set_outcome(v1::OUTCOME_ALLOW);
  const std::string json = MessageToJson(response, /*pretty=*/false);
  EXPECT_THAT(json, HasSubstr("\"declaration_id\":\"VN-EL-2025-1104\""));
  EXPECT_THAT(json, HasSubstr("\"outcome\":\"OUTCOME_ALLOW\""));
  EXPECT_THAT(json, HasSubstr("\"replayed\":false"));
  EXPECT_THAT(json, Not(HasSubstr("\n")));

  v1::CheckDeclarationResponse round_trip;
  EXPECT_THAT(ParseJsonMessage(MessageToJson(response, /*pretty=*/true),
                               "out.json", &round_trip),
              IsOk());
  EXPECT_EQ(round_trip.verdict().declaration_id(), "VN-EL-2025-1104");
}

// Every example a newcomer is pointed at must pass the client's own checks.
TEST(DeclarationJsonTest, EveryExampleParses) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(TC_EXAMPLES_DIR)) {
    const std::string path = entry.path().string();
    if (path.find("/invalid/") != std::string::npos) continue;
    std::ifstream in(path);
    std::stringstream contents;
    contents << in.rdbuf();
    if (entry.path().extension() == ".json") {
      ++files;
      EXPECT_THAT(ParseDeclarationJson(contents.str(), path), IsOk());
    } else if (entry.path().extension() == ".jsonl") {
      std::string line;
      int number = 0;
      while (std::getline(contents, line)) {
        ++number;
        if (line.empty()) continue;
        ++files;
        EXPECT_THAT(ParseDeclarationJson(line, path, number), IsOk());
      }
    }
  }
  EXPECT_GE(files, 8);
}

std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(TC_EXAMPLES_DIR) + "/" + name);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// examples/README.md shows these two messages; keep them true.
TEST(DeclarationJsonTest, InvalidExamplesFailAsTheReadmeSays) {
  EXPECT_THAT(ParseDeclarationJson(ReadExample("invalid/unknown-field.json"),
                                   "examples/invalid/unknown-field.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("examples/invalid/unknown-field.json:9:7: "
                                 "lines[0].hscode: unknown field")));
  EXPECT_THAT(
      ParseDeclarationJson(ReadExample("invalid/missing-entry-date.json"),
                           "examples/invalid/missing-entry-date.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("examples/invalid/missing-entry-date.json: "
                         "entry_date: required for "
                         "DECLARATION_KIND_IMPORT_ENTRY")));
}

}  // namespace
}  // namespace tradecheck
