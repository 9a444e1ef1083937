#pragma once
// The agent's handling of CNI verbs: validate, pick pool and backend, allocate, call the
// backend, record the endpoint, render the result in the caller's spec version. Every
// multi-step verb undoes what it did when a later step fails.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/agent/AgentConfig.hpp"
#include "core/agent/ContainerLocks.hpp"
#include "core/agent/Endpoints.hpp"
#include "core/agent/PoolSelector.hpp"
#include "core/cni/Request.hpp"
#include "core/ipam/Ipam.hpp"
#include "core/metrics/Metrics.hpp"
#include "core/plugin/BackendInstance.hpp"

namespace cnikit::agent {

class PolicyController;

struct CniResponse {
  int exitCode = 0;
  std::string stdoutText;
};

using BackendMap = std::map<std::string, std::unique_ptr<plugin::BackendInstance>>;

class CniService {
 public:
  CniService(const AgentConfig& config, store::Store& store, ipam::Ipam& ipam, Endpoints& endpoints,
             const BackendMap& backends, metrics::Registry& metrics, PolicyController* policy = nullptr);

  // One CNI invocation: env (CNI_*) and the raw stdin config; never throws.
  CniResponse handle(const std::map<std::string, std::string>& env, const std::string& stdinText);

  // Tears down endpoints whose network namespace no longer exists; returns how many.
  int collectVanishedNamespaces();
  // Tears one pod down as DEL would (the node is leaving).
  void release(const std::string& containerId, const std::string& ifname);

 private:
  std::string add(const cni::Request& request);
  void del(const cni::Request& request);
  void check(const cni::Request& request);
  void status();
  void gc(const cni::Request& request);

  const ipam::PoolConfig& pool(const std::string& name) const;
  plugin::BackendInstance& backendFor(const ipam::PoolConfig& pool) const;
  // Undoes one attachment: backend teardown, address release, record removal.
  void teardown(const std::string& containerId, const std::string& ifname, const std::string& netns);

  const AgentConfig& config_;
  store::Store& store_;
  ipam::Ipam& ipam_;
  Endpoints& endpoints_;
  const BackendMap& backends_;
  PoolSelector selector_;
  ContainerLocks locks_;
  metrics::Registry& metrics_;
  PolicyController* policy_;  // null when no backend instance is policed
  std::map<cni::Command, int32_t> requestCounters_;
  int32_t errorCounter_ = -1;
};

}  // namespace cnikit::agent
