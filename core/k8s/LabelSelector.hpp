#pragma once
// metav1.LabelSelector: matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist).
// An empty selector matches everything.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cnikit::k8s {

using Labels = std::map<std::string, std::string>;

enum class SelectorOperator { In, NotIn, Exists, DoesNotExist };

struct SelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::In;
  std::vector<std::string> values;  // sorted, unique
  auto operator<=>(const SelectorRequirement&) const = default;
};

struct LabelSelector {
  Labels matchLabels;
  std::vector<SelectorRequirement> matchExpressions;  // sorted

  bool empty() const { return matchLabels.empty() && matchExpressions.empty(); }
  bool matches(const Labels& labels) const;
  // "pod=a,tier in (db,web),!legacy" as kubectl prints selectors; "<all>" when empty.
  std::string str() const;
  auto operator<=>(const LabelSelector&) const = default;
};

const char* operatorName(SelectorOperator op);

// From a normalised (already validated) selector object; missing parts are empty.
LabelSelector selectorFromJson(const nlohmann::json& j);
nlohmann::json selectorToJson(const LabelSelector& s);

}  // namespace cnikit::k8s
