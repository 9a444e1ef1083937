#include "core/agent/PoolSelector.hpp"

namespace cnikit::agent {

bool globMatch(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == text[t]) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = t;
    } else if (star != std::string::npos) {
      p = star + 1, t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

PoolSelector::PoolSelector(const AgentConfig& config,
                           std::function<std::optional<Labels>(const std::string&)> namespaceLabels)
    : config_(config), namespaceLabels_(std::move(namespaceLabels)) {}

bool PoolSelector::matches(const SelectionRule& rule, const std::string& podNamespace) const {
  for (const auto& [key, value] : rule.nodeLabels) {
    auto it = config_.nodeLabels.find(key);
    if (it == config_.nodeLabels.end() || it->second != value) return false;
  }
  if (!rule.namespaces.empty()) {
    bool any = false;
    for (const auto& pattern : rule.namespaces) any = any || globMatch(pattern, podNamespace);
    if (!any) return false;
  }
  if (!rule.namespaceLabels.empty()) {
    auto labels = namespaceLabels_ ? namespaceLabels_(podNamespace) : std::nullopt;
    if (!labels) return false;
    for (const auto& [key, value] : rule.namespaceLabels) {
      auto it = labels->find(key);
      if (it == labels->end() || it->second != value) return false;
    }
  }
  return true;
}

std::optional<std::string> PoolSelector::select(const std::string& podNamespace,
                                                const std::string& requestedPool) const {
  if (!requestedPool.empty()) {
    for (const auto& pool : config_.pools)
      if (pool.name == requestedPool) return pool.name;
    return std::nullopt;
  }
  if (config_.selection.empty()) return config_.pools.front().name;
  for (const auto& rule : config_.selection)
    if (matches(rule, podNamespace)) return rule.pool;
  return std::nullopt;
}

}  // namespace cnikit::agent
