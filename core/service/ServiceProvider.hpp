#pragma once
// The seam between the service table (ServiceTable.hpp) and a datapath that implements it,
// like policy::PolicyProvider: ServiceController hands every change to one provider; the
// core's iptables proxy (core/service/iptables) is the first.
#include <nlohmann/json.hpp>
#include <string>

#include "core/service/ServiceTable.hpp"

namespace cnikit::service {

// sync() and apply() are serialised by the caller; each returns once the kernel has the new
// state or throws, and after a throw the caller runs sync(). status() and explain() may be
// called from any thread at any time.
class ServiceProvider {
 public:
  virtual ~ServiceProvider() = default;

  // "iptables", ...: shown in status and logs.
  virtual const char* name() const = 0;
  // Full state: makes the datapath equal to `table` for this node and removes whatever else
  // of ours it finds (also what an earlier run left), without disturbing what is already
  // right (established connections keep going through an agent restart).
  virtual void sync(const NodeContext& node, const ServiceTable& table) = 0;
  // Incremental: programs only the Services named in `changed` (absent from table: remove).
  virtual void apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) = 0;
  // The node leaves the cluster: removes everything of ours (chains, rules, addresses), also
  // what an earlier run left. Throws when something could not be removed.
  virtual void removeAll() = 0;
  // Provider-specific figures for `cnikitctl status` (a JSON object).
  virtual nlohmann::json status() const = 0;
  // What implements one Service on this node (chains and rules as text), for
  // `cnikitctl service explain`; null when the provider has nothing for it.
  virtual nlohmann::json explain(const std::string& serviceKey) const = 0;
};

}  // namespace cnikit::service
