#pragma once
#include <functional>
// This node in the cluster: registers its record (underlay, labels, per-backend data,
// subnets) under a lease it keeps alive, and keeps every backend's routes to the other
// nodes equal to the node records in the store (watch-triggered, plus a periodic full
// resync). Nodes whose lease expired vanish from the store, and so from the datapath.
//
//   /cnikit/v1/nodes/<name>  a NodeRecord (NodeRecord.hpp)
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/agent/AgentConfig.hpp"
#include "core/agent/CniService.hpp"
#include "core/agent/LocalNode.hpp"
#include "core/agent/NodeRecord.hpp"
#include "core/ipam/Ipam.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

class NodeSync {
 public:
  NodeSync(const AgentConfig& config, store::Store& store, ipam::Ipam& ipam, const BackendMap& backends,
           plugin::Underlay underlay);
  ~NodeSync();

  // Registers (retrying while the store is away) and starts keepalive, watch and resync.
  void start();
  void stop();
  // Stops and revokes the node's lease: its record and subnets leave the store.
  void leave();
  // Called (on the sync thread) with this node's subnets each time it registers.
  void onLocalSubnets(std::function<void(const NodeSubnets&)> listener) { localSubnets_ = std::move(listener); }
  // Forgets what was programmed: the next reconcile upserts every node again (a backend
  // instance was recreated).
  void reprogramAll();

  nlohmann::json status();

 private:
  void run();
  void registerNode();
  void reconcile();
  void startWatch();
  void markDirty();
  void forgetProgrammed(const std::string& node);
  void saveProgrammed();

  const AgentConfig& config_;
  store::Store& store_;
  ipam::Ipam& ipam_;
  const BackendMap& backends_;
  plugin::Underlay underlay_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool dirty_ = true;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unique_ptr<store::Watch> watch_;
  bool watchBroken_ = false;

  store::LeaseId lease_ = 0;
  // Node name -> the record text last programmed into the backends.
  std::map<std::string, std::string> programmed_;
  std::map<std::string, std::string> nodeErrors_;  // node -> last backend error
  std::string storeError_;
  std::chrono::system_clock::time_point storeErrorSince_;
  std::chrono::system_clock::time_point lastResync_;
  std::function<void(const NodeSubnets&)> localSubnets_;
};

}  // namespace cnikit::agent
