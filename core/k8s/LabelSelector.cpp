#include "core/k8s/LabelSelector.hpp"

#include <algorithm>
#include <stdexcept>

namespace cnikit::k8s {

const char* operatorName(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::In:
      return "In";
    case SelectorOperator::NotIn:
      return "NotIn";
    case SelectorOperator::Exists:
      return "Exists";
    case SelectorOperator::DoesNotExist:
      return "DoesNotExist";
  }
  return "?";
}

bool LabelSelector::matches(const Labels& labels) const {
  for (const auto& [k, v] : matchLabels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : matchExpressions) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool inValues = has && std::binary_search(r.values.begin(), r.values.end(), it->second);
    switch (r.op) {
      case SelectorOperator::In:
        if (!inValues) return false;
        break;
      case SelectorOperator::NotIn:
        // As in apimachinery: a missing key satisfies NotIn.
        if (inValues) return false;
        break;
      case SelectorOperator::Exists:
        if (!has) return false;
        break;
      case SelectorOperator::DoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::str() const {
  if (empty()) return "<all>";
  std::string out;
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += ",";
    out += s;
  };
  for (const auto& [k, v] : matchLabels) add(k + "=" + v);
  for (const auto& r : matchExpressions) {
    std::string values;
    for (const auto& v : r.values) values += (values.empty() ? "" : ",") + v;
    switch (r.op) {
      case SelectorOperator::In:
        add(r.key + " in (" + values + ")");
        break;
      case SelectorOperator::NotIn:
        add(r.key + " notin (" + values + ")");
        break;
      case SelectorOperator::Exists:
        add(r.key);
        break;
      case SelectorOperator::DoesNotExist:
        add("!" + r.key);
        break;
    }
  }
  return out;
}

LabelSelector selectorFromJson(const nlohmann::json& j) {
  LabelSelector s;
  if (!j.is_object()) return s;
  if (auto it = j.find("matchLabels"); it != j.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) s.matchLabels[k] = v.get<std::string>();
  if (auto it = j.find("matchExpressions"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      SelectorRequirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In")
        r.op = SelectorOperator::In;
      else if (op == "NotIn")
        r.op = SelectorOperator::NotIn;
      else if (op == "Exists")
        r.op = SelectorOperator::Exists;
      else if (op == "DoesNotExist")
        r.op = SelectorOperator::DoesNotExist;
      else
        throw std::invalid_argument("selector operator '" + op + "' is not In, NotIn, Exists or DoesNotExist");
      if (auto v = e.find("values"); v != e.end() && v->is_array())
        for (const auto& value : *v)
          if (value.is_string()) r.values.push_back(value.get<std::string>());
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
      s.matchExpressions.push_back(std::move(r));
    }
    std::sort(s.matchExpressions.begin(), s.matchExpressions.end());
  }
  return s;
}

nlohmann::json selectorToJson(const LabelSelector& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.matchLabels.empty()) j["matchLabels"] = s.matchLabels;
  if (!s.matchExpressions.empty()) {
    j["matchExpressions"] = nlohmann::json::array();
    for (const auto& r : s.matchExpressions) {
      nlohmann::json e = {{"key", r.key}, {"operator", operatorName(r.op)}};
      if (r.op == SelectorOperator::In || r.op == SelectorOperator::NotIn) e["values"] = r.values;
      j["matchExpressions"].push_back(e);
    }
  }
  return j;
}

}  // namespace cnikit::k8s
