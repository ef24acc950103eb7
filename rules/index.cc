#include "rules/index.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tradecheck::rules {

std::vector<std::string> IndexKeys(const v1::Scope& scope) {
  std::vector<std::pair<std::string, std::string>> dims;
  if (!scope.origins().countries().empty()) {
    for (const auto& c : scope.origins().countries()) dims.push_back({"O", c});
  } else if (!scope.exporting_countries().countries().empty()) {
    for (const auto& c : scope.exporting_countries().countries()) {
      dims.push_back({"X", c});
    }
  } else if (!scope.destinations().countries().empty()) {
    for (const auto& c : scope.destinations().countries()) {
      dims.push_back({"D", c});
    }
  } else {
    dims.push_back({"*", ""});
  }
  std::vector<std::string> prefixes(scope.hs().include().begin(),
                                    scope.hs().include().end());
  prefixes.insert(prefixes.end(), scope.hs().unconfirmed_include().begin(),
                  scope.hs().unconfirmed_include().end());
  if (prefixes.empty()) prefixes.push_back("");
  std::vector<std::string> keys;
  for (const auto& [dim, country] : dims) {
    for (const auto& p : prefixes) {
      keys.push_back(absl::StrCat(dim, "|", country, "|", p));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void Candidates(const LineIndex& index, absl::string_view origin,
                absl::string_view exporter, absl::string_view destination,
                absl::string_view hs_code, std::vector<int>* out) {
  out->clear();
  const std::pair<absl::string_view, absl::string_view> dims[] = {
      {"O", origin}, {"X", exporter}, {"D", destination}, {"*", ""}};
  // "<dim>|<country>|" followed by the code: each prefix is a view of it.
  std::string key;
  for (const auto& [dim, country] : dims) {
    if (dim != "*" && country.empty()) continue;
    key.assign(dim.data(), dim.size());
    key.push_back('|');
    key.append(country.data(), country.size());
    key.push_back('|');
    const size_t head = key.size();
    key.append(hs_code.data(), std::min<size_t>(hs_code.size(), 10));
    for (size_t len = 0; len <= hs_code.size() && len <= 10; len += 2) {
      auto it = index.find(absl::string_view(key.data(), head + len));
      if (it != index.end()) {
        out->insert(out->end(), it->second.begin(), it->second.end());
      }
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

HsMatch MatchHs(const v1::HsSelector& selector, absl::string_view code,
                int* matched_len) {
  *matched_len = 0;
  if (selector.include().empty() && selector.unconfirmed_include().empty()) {
    for (const auto& e : selector.exclude()) {
      if (absl::StartsWith(code, e)) return HsMatch::kNo;
    }
    return HsMatch::kYes;
  }
  int inc = -1;
  for (const auto& p : selector.include()) {
    if (absl::StartsWith(code, p)) inc = std::max<int>(inc, p.size());
  }
  int unc = -1;
  for (const auto& p : selector.unconfirmed_include()) {
    if (absl::StartsWith(code, p)) unc = std::max<int>(unc, p.size());
  }
  int exc = -1;
  for (const auto& p : selector.exclude()) {
    if (absl::StartsWith(code, p)) exc = std::max<int>(exc, p.size());
  }
  const int best = std::max(inc, unc);
  if (best < 0 || exc >= best) return HsMatch::kNo;
  *matched_len = best;
  // A confirmed entry at least as specific as the unconfirmed one decides.
  return inc >= unc ? HsMatch::kYes : HsMatch::kUnconfirmed;
}

CompiledHs CompileHs(const v1::HsSelector& selector) {
  CompiledHs c;
  for (const auto& p : selector.include()) c.include.insert(p);
  for (const auto& p : selector.exclude()) c.exclude.insert(p);
  for (const auto& p : selector.unconfirmed_include()) c.unconfirmed.insert(p);
  return c;
}

HsMatch MatchHs(const CompiledHs& compiled, absl::string_view code,
                int* matched_len) {
  *matched_len = 0;
  // The longest prefix of the code in each set; a set that is empty or
  // already answered is not looked up again.
  int inc = compiled.include.empty() ? 0 : -1;
  int unc = compiled.unconfirmed.empty() ? 0 : -1;
  int exc = compiled.exclude.empty() ? 0 : -1;
  for (int n = static_cast<int>(code.size());
       n >= 1 && (inc < 0 || unc < 0 || exc < 0); --n) {
    const absl::string_view p = code.substr(0, n);
    if (inc < 0 && compiled.include.contains(p)) inc = n;
    if (unc < 0 && compiled.unconfirmed.contains(p)) unc = n;
    if (exc < 0 && compiled.exclude.contains(p)) exc = n;
  }
  // 0 above meant "empty set": no match.
  if (inc == 0) inc = -1;
  if (unc == 0) unc = -1;
  if (exc == 0) exc = -1;
  if (compiled.include.empty() && compiled.unconfirmed.empty()) {
    return exc >= 0 ? HsMatch::kNo : HsMatch::kYes;
  }
  const int best = std::max(inc, unc);
  if (best < 0 || exc >= best) return HsMatch::kNo;
  *matched_len = best;
  return inc >= unc ? HsMatch::kYes : HsMatch::kUnconfirmed;
}

bool MatchCountry(const v1::CountrySelector& selector,
                  absl::string_view country) {
  for (const auto& e : selector.except()) {
    if (e == country) return false;
  }
  if (selector.countries().empty()) return true;
  for (const auto& c : selector.countries()) {
    if (c == country) return true;
  }
  return false;
}

}  // namespace tradecheck::rules
