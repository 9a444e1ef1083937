#pragma once
// cnikitd: the node agent. Owns the store, IPAM, the loaded backends and the unix socket the
// CNI executable and cnikitctl talk to (framed JSON, core/rpc).
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/agent/AgentConfig.hpp"
#include "core/agent/CniService.hpp"
#include "core/agent/Endpoints.hpp"
#include "core/agent/LocalNode.hpp"
#include "core/agent/NodeSync.hpp"
#include "core/agent/PolicyController.hpp"
#include "core/ipam/Ipam.hpp"
#include "core/metrics/Metrics.hpp"
#include "core/service/ServiceController.hpp"
#include "core/store/Store.hpp"

namespace prometheus {
class Exposer;
}

namespace cnikit::agent {

inline constexpr const char* kAgentVersion = CNIKIT_VERSION;
// The route of the service CIDRs to lo (Agent::routeServiceCidrsToLoopback): its own routing
// protocol number (flannel-like's is 202), and a metric any route of the node's own beats.
inline constexpr int kServiceRouteProtocol = 203;
inline constexpr uint32_t kServiceRouteMetric = 4096;

class Agent {
 public:
  // Opens the store (and reads the cluster config from it when the file has none), detects
  // the underlay, loads and creates every backend instance, claims this node's subnet in
  // each pool. Throws std::runtime_error with what failed.
  explicit Agent(AgentConfig config);
  ~Agent();

  // Serves the socket until stop(); returns after in-flight requests finished.
  void serve();
  // Safe from any thread (not from a signal handler: use a signal thread). The datapath stays
  // (backends shut down with KEEP_DATAPATH when the agent is destroyed).
  void stop();
  // The node leaves the cluster: stop, then release every pod, shut backends down with
  // TEARDOWN and withdraw the node's registration and subnets when the agent is destroyed.
  void leave();

  // One request of the agent protocol (also used by tests without a socket).
  nlohmann::json dispatch(const nlohmann::json& request);

  nlohmann::json status();
  nlohmann::json ipamList();
  const AgentConfig& config() const { return config_; }

 private:
  void loadClusterConfig();
  void bringUp(const std::string& name, plugin::BackendInstance& backend, const NodeSubnets& subnets);
  void startServices();
  void routeServiceCidrsToLoopback();
  void removeServiceRoutes();
  void localSubnetsChanged(const NodeSubnets& current);
  std::vector<plugin::PodRequest> podsOf(const std::string& instance);
  void watchClusterConfig();
  void clusterConfigChanged(const std::string& text);
  void serveConnection(int fd);
  void gcLoop();

  AgentConfig config_;
  metrics::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ipam::Ipam> ipam_;
  std::unique_ptr<Endpoints> endpoints_;
  BackendMap backends_;
  plugin::Underlay underlay_;
  std::mutex subnetsMutex_;
  NodeSubnets subnets_;  // what local_node_update last told the backends
  std::unique_ptr<store::Watch> configWatch_;
  std::atomic<bool> leaving_{false};
  std::unique_ptr<CniService> cni_;
  std::unique_ptr<NodeSync> nodeSync_;
  std::unique_ptr<PolicyController> policy_;              // when a backend instance has `policy: iptables`
  std::unique_ptr<service::ServiceController> services_;  // unless services.proxy is none
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  int activeConnections_ = 0;
  std::thread gcThread_;
};

}  // namespace cnikit::agent
