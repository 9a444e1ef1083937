#pragma once
// Pod attachments this node made, recorded in the store so DEL, CHECK, GC and a restarted
// agent know what exists:  /cnikit/v1/endpoints/<node>/<containerId>/<ifname>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/store/Keys.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

struct Endpoint {
  std::string containerId;
  std::string ifname;
  std::string netns;
  std::string podNamespace;
  std::string podName;
  std::string pool;
  std::string backend;                // backend instance name
  std::vector<std::string> addresses;  // "10.244.1.5/24"
  std::vector<std::string> gateways;   // parallel to addresses; "" when none
  std::string hostIfname;
  std::string hostMac;
  std::string containerMac;
  uint32_t mtu = 0;
  // What the backend added to the CNI result (ABI 1.1): [{"dst","gw"}] and
  // [{"name","mac","sandbox","mtu"}].
  nlohmann::json routes = nlohmann::json::array();
  nlohmann::json interfaces = nlohmann::json::array();
};

void to_json(nlohmann::json& j, const Endpoint& e);
void from_json(const nlohmann::json& j, Endpoint& e);

class Endpoints {
 public:
  Endpoints(store::Store& store, std::string node) : store_(store), node_(std::move(node)) {}

  void put(const Endpoint& endpoint);
  std::optional<Endpoint> get(const std::string& containerId, const std::string& ifname);
  void remove(const std::string& containerId, const std::string& ifname);
  std::vector<Endpoint> list();

  static std::string prefix(const std::string& node) { return store::keys::endpointPrefix(node); }

 private:
  std::string key(const std::string& containerId, const std::string& ifname) const {
    return store::keys::endpoint(node_, containerId, ifname);
  }
  store::Store& store_;
  std::string node_;
};

}  // namespace cnikit::agent
