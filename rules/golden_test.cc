// Golden cases: every file in rules/testdata is a realistic declaration and
// the full verdict the shipped agreement data must give for it. Run with
// TC_UPDATE_GOLDEN=1 to rewrite the expected verdicts after a reviewed data
// change (then read the diff: it is the review).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "golden_case.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "rules/testing/shipped.h"

namespace tradecheck::rules {
namespace {

using google::protobuf::TextFormat;
using google::protobuf::util::MessageDifferencer;

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(TC_GOLDEN_DIR, ec)) {
    if (e.path().extension() == ".textproto")
      out.push_back(e.path().filename());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using ::tradecheck::rules::testing::Shipped;

bool ParseCase(const std::string& file, testing::GoldenCase* c) {
  return TextFormat::ParseFromString(
      Read(absl::StrCat(TC_GOLDEN_DIR, "/", file)), c);
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, VerdictMatches) {
  const std::string file = GetParam();
  testing::GoldenCase c;
  ASSERT_TRUE(ParseCase(file, &c)) << file;
  const Evaluation ev = Evaluate(Shipped(), c.declaration());
  EXPECT_EQ(ev.verdict.rule_set_revision(), Shipped().revision());

  if (std::getenv("TC_UPDATE_GOLDEN") != nullptr) {
    *c.mutable_expected() = ev.verdict;
    c.mutable_expected()->clear_rule_set_revision();
    std::string text;
    TextFormat::Printer printer;
    printer.SetUseShortRepeatedPrimitives(true);
    printer.PrintToString(c, &text);
    std::ofstream(absl::StrCat(TC_GOLDEN_DIR, "/", file), std::ios::binary)
        << "# proto-file: rules/golden_case.proto\n"
           "# proto-message: tradecheck.rules.testing.GoldenCase\n"
        << text;
    return;
  }
  MessageDifferencer diff;
  diff.IgnoreField(
      v1::Verdict::descriptor()->FindFieldByName("rule_set_revision"));
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(c.expected(), ev.verdict))
      << file << ": " << c.description() << "\n"
      << report;
}

TEST_P(GoldenTest, EvaluationIsDeterministic) {
  testing::GoldenCase c;
  ASSERT_TRUE(ParseCase(GetParam(), &c));
  std::string a, b;
  ASSERT_TRUE(
      Evaluate(Shipped(), c.declaration()).verdict.SerializeToString(&a));
  // A freshly loaded set from the same sources must give the same bytes.
  auto again = RuleSet::LoadFromSources(Shipped().sources());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(Evaluate(**again, c.declaration()).verdict.SerializeToString(&b));
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GoldenTest, ::testing::ValuesIn(GoldenFiles()),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name = info.param.substr(0, info.param.find('.'));
      std::replace_if(
          name.begin(), name.end(),
          [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); },
          '_');
      return name;
    });

// The table as a whole covers every instrument, every catalogue rule id in
// the data and every ambiguity of trade-facts.md.
TEST(GoldenCoverageTest, EveryInstrumentRuleAndAmbiguityIsCovered) {
  std::set<std::string> instruments, rule_ids, covers;
  for (const std::string& file : GoldenFiles()) {
    testing::GoldenCase c;
    ASSERT_TRUE(ParseCase(file, &c)) << file;
    for (const auto& id : c.covers()) covers.insert(id);
    auto note = [&](const v1::Finding& f) {
      rule_ids.insert(f.rule_id());
      if (!f.citation().instrument_id().empty()) {
        instruments.insert(f.citation().instrument_id());
      }
    };
    for (const auto& f : c.expected().findings()) note(f);
    for (const auto& l : c.expected().lines()) {
      for (const auto& f : l.findings()) note(f);
    }
  }
  for (const v1::Instrument& in :
       Shipped().ListInstruments(absl::CivilDay(2026, 1, 1), true)) {
    EXPECT_TRUE(instruments.count(in.instrument_id()))
        << "no golden finding cites " << in.instrument_id();
    for (const auto& m : in.measures()) {
      for (const auto& id : m.rule_ids()) {
        EXPECT_TRUE(rule_ids.count(id) || covers.count(id))
            << "rule " << id << " of " << m.measure_id() << " not covered";
      }
    }
  }
  for (int i = 1; i <= 15; ++i) {
    EXPECT_TRUE(covers.count(absl::StrCat("AMB-", i)))
        << "ambiguity " << i << " has no golden case";
  }
}

}  // namespace
}  // namespace tradecheck::rules
