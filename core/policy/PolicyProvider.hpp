#pragma once
// The seam between the policy engine and a datapath that enforces it. PolicyController
// (core/agent) feeds the engine from the store and hands what changed to one provider:
// iptables/ipset today (core/policy/iptables), eBPF maps when a backend brings them.
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/policy/Engine.hpp"

namespace cnikit::policy {

// Which provider polices a backend instance's pods (`backends[].policy` of the cluster config).
enum class ProviderKind { None, Iptables };

inline constexpr const char* providerKindName(ProviderKind kind) {
  return kind == ProviderKind::Iptables ? "iptables" : "none";
}
inline std::optional<ProviderKind> parseProviderKind(std::string_view text) {
  if (text == "none") return ProviderKind::None;
  if (text == "iptables") return ProviderKind::Iptables;
  return std::nullopt;
}

// sync() and apply() are serialised by the caller; each returns once the kernel has the new
// state (a pod's rules exist when apply() returns) or throws, and after a throw the caller
// runs sync(). status() may be called from any thread at any time.
class PolicyProvider {
 public:
  virtual ~PolicyProvider() = default;

  // "iptables", ...: shown in status and logs.
  virtual const char* name() const = 0;
  // Full state: makes the datapath equal to the engine (every local endpoint and the sets
  // they use) and removes whatever else of ours it finds, also what an earlier run left.
  virtual void sync(const Engine& engine) = 0;
  // Incremental: programs what `changes` (the engine's updates, merged) touched.
  virtual void apply(const Engine& engine, const Changes& changes) = 0;
  // Provider-specific figures for `cnikitctl status` (a JSON object).
  virtual nlohmann::json status() const = 0;
};

}  // namespace cnikit::policy
