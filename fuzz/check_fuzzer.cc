// libFuzzer target: a CheckDeclarationRequest as the server receives it
// (protobuf bytes), through the validator and, when valid, the rule engine
// on the shipped agreement data. Asserts the engine's money invariants the
// validator's ceilings promise: no negative total, totals equal the checked
// sums of their parts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/money.h"
#include "core/declaration_validator.h"
#include "core/unknown_fields.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/compliance_service.pb.h"

namespace {

const tradecheck::rules::RuleSet& Rules() {
  static const auto* rules = [] {
    auto loaded = tradecheck::rules::RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    if (!loaded.ok()) std::abort();
    return new std::shared_ptr<const tradecheck::rules::RuleSet>(*loaded);
  }();
  return **rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tradecheck::v1::CheckDeclarationRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  tradecheck::FindUnknownFields(request);
  const auto& declaration = request.declaration();
  if (!tradecheck::ValidateDeclaration(declaration, Rules()).ok()) return 0;
  const auto evaluation = tradecheck::rules::Evaluate(Rules(), declaration);
  int64_t total = 0;
  for (const auto& line : evaluation.verdict.lines()) {
    int64_t line_total = 0;
    for (const auto& duty : line.duties()) {
      if (duty.amount().minor_units() < 0) __builtin_trap();
      auto sum = tradecheck::AddMinorUnits(line_total, duty.amount().minor_units());
      if (!sum.ok()) __builtin_trap();  // the ceilings promise no overflow
      line_total = *sum;
    }
    if (line.total_duty().minor_units() != line_total) __builtin_trap();
    auto sum = tradecheck::AddMinorUnits(total, line_total);
    if (!sum.ok()) __builtin_trap();
    total = *sum;
  }
  if (evaluation.verdict.total_duty().minor_units() != total) __builtin_trap();
  return 0;
}
