// Test-only: the shipped agreement data, loaded once per test binary.
// Targets that include this define TC_AGREEMENTS_DIR (rules/CMakeLists.txt).
#ifndef TRADECHECK_RULES_TESTING_SHIPPED_H_
#define TRADECHECK_RULES_TESTING_SHIPPED_H_

#include <cstdlib>
#include <memory>

#include "gtest/gtest.h"
#include "rules/rule_set.h"

namespace tradecheck::rules::testing {

inline const RuleSet& Shipped() {
  static const std::shared_ptr<const RuleSet> holder = [] {
    auto r = RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      std::abort();
    }
    return *r;
  }();
  return *holder;
}

}  // namespace tradecheck::rules::testing

#endif  // TRADECHECK_RULES_TESTING_SHIPPED_H_
