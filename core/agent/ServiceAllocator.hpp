#pragma once
// Cluster-wide allocation of what a Service holds, at apply time (ObjectService): ClusterIPs
// from the service CIDR(s), NodePorts from the NodePort range, load-balancer addresses from
// the load-balancer pools (ServicesConfig). Each allocation is one store key created with
// create-if-absent (store::keys::kServicesPrefix), so no two Services ever hold one address
// or port, also when several agents apply at once. A re-applied Service keeps what it holds
// (spec.clusterIP is immutable once set); a requested address or port that another Service
// holds is refused naming the owner.
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/agent/ServicesConfig.hpp"
#include "core/k8s/Validation.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

class ServiceAllocator {
 public:
  ServiceAllocator(store::Store& store, ServicesConfig config) : store_(store), config_(std::move(config)) {}

  // Completes a normalised Service object in place: spec.clusterIP(s), spec.ipFamilies,
  // spec.ipFamilyPolicy, spec.ports[].nodePort and status.loadBalancer, keeping what
  // `previous` (the stored object, null when new) holds. Every key it created is appended to
  // `created` (the caller frees them with release() when the apply does not go through).
  // Problems are appended to `errors` as "<object>: <field>: <detail>"; nothing is thrown for
  // them.
  void allocate(const k8s::ObjectRef& ref, nlohmann::json& object, const nlohmann::json& previous,
                std::vector<std::string>& created, std::vector<std::string>& errors);

  // The allocation keys a (completed) Service object holds.
  static std::set<std::string> keysOf(const nlohmann::json& object);
  // Deletes those of `keys` that `serviceKey` ("ns/name") owns.
  void release(const std::string& serviceKey, const std::vector<std::string>& keys);

 private:
  // Creates `key` for serviceKey, or finds it already ours. Returns the owner when another
  // Service holds it ("" on success).
  std::string claim(const std::string& key, const std::string& serviceKey, const std::string& pool = "");
  // A free address of `cidr` claimed for serviceKey (network and broadcast addresses skipped
  // for IPv4); nullopt when the range is full.
  std::optional<std::string> allocateAddress(const toolkit::IpPrefix& cidr, bool loadBalancer, const std::string& serviceKey,
                                             const std::string& pool, std::vector<std::string>& created);
  std::optional<uint16_t> allocateNodePort(const std::string& serviceKey, std::vector<std::string>& created);

  store::Store& store_;
  ServicesConfig config_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace cnikit::agent
