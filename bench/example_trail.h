// Realistic audit records for the storage benchmarks and the trail
// generator: the example declarations of examples/ (every valid one),
// varied per record and evaluated by the real rule engine with the bundled
// agreement data, so records carry what the server would write.
#ifndef TRADECHECK_BENCH_EXAMPLE_TRAIL_H_
#define TRADECHECK_BENCH_EXAMPLE_TRAIL_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/rule_set.h"
#include "storage/audit_store.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck::bench {

class ExampleTrail {
 public:
  // Loads the bundled agreement data and the examples beside it (found as
  // DefaultAgreementsDir() does, so it works from the build tree).
  static absl::StatusOr<ExampleTrail> Load();

  // Record `i` of a trail: the example i % size(), with declaration id
  // `BENCH-<i>`, one of 1,000 exporters and 300 importers, and one of 20
  // customs callers. When `vary` is set, every line's customs value,
  // quantity and US content are scaled by a random factor in [0.5, 2) and
  // the dates are all moved back by up to 180 days, then the verdict is evaluated
  // afresh (duties, margins and findings follow the varied facts).
  storage::AppendRequest Record(uint64_t i, bool vary,
                                std::mt19937_64& rng) const;

  size_t size() const { return declarations_.size(); }

 private:
  std::shared_ptr<const rules::RuleSet> rules_;
  std::vector<v1::Declaration> declarations_;
};

}  // namespace tradecheck::bench

#endif  // TRADECHECK_BENCH_EXAMPLE_TRAIL_H_
