#pragma once
// Picks the pool (and so the backend instance) for a pod from the selection rules: by the
// pod's namespace name or the labels of its stored Namespace object, and by node labels.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/agent/AgentConfig.hpp"

namespace cnikit::agent {

using Labels = std::map<std::string, std::string>;

class PoolSelector {
 public:
  // namespaceLabels looks up the labels of a namespace (nullopt when not known).
  PoolSelector(const AgentConfig& config, std::function<std::optional<Labels>(const std::string&)> namespaceLabels);

  // The chosen pool's name, or nullopt when no rule matches. Without rules, the first pool.
  // requestedPool (from the network config's "pool") wins when it names a known pool.
  std::optional<std::string> select(const std::string& podNamespace, const std::string& requestedPool = "") const;

 private:
  bool matches(const SelectionRule& rule, const std::string& podNamespace) const;

  const AgentConfig& config_;
  std::function<std::optional<Labels>(const std::string&)> namespaceLabels_;
};

// Shell-style match with '*' only ("team-*").
bool globMatch(const std::string& pattern, const std::string& text);

}  // namespace cnikit::agent
