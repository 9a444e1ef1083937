#pragma once
// flannel-like backend: each pod gets a veth pair whose host end sits on a Linux bridge in
// the host network namespace (the namespace of the calling thread) that holds the subnet
// gateways; the pod end is created directly in the pod's namespace. In vxlan and host-gw
// modes the node capability routes to the other nodes' pods (RemoteNodes).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/LinkReaper.hpp>

#include "Masquerade.hpp"
#include "Options.hpp"
#include "RemoteNodes.hpp"

namespace cnikit::flannel {

class FlannelBackend : public sdk::LifecycleDefaults {
 public:
  CNIKIT_PODS;
  CNIKIT_NODES;
  CNIKIT_LIFECYCLE;
  CNIKIT_OPTIONS_SCHEMA(kOptionsSchema);
  explicit FlannelBackend(const sdk::CreateArgs& args);

  sdk::PodResult podAdd(const sdk::PodRequest& request);
  void podDel(const sdk::PodRequest& request);
  void podCheck(const sdk::PodRequest& request);
  std::string statusJson();

  std::string localNodeData();
  void nodeUpsert(const sdk::NodeInfo& node);
  void nodeRemove(const std::string& nodeName);

  // The bridge with this node's gateways, the VXLAN device's subnet address and masquerade:
  // a node is routed before its first pod.
  void localNodeUpdate(const sdk::NodeInfo& self);
  sdk::Readiness ready();
  void shutdown(sdk::ShutdownMode mode);
  // Retires host veths no pod owns (an ADD a crash cut short); re-adds pods whose veth is gone.
  void podsSync(const std::vector<sdk::PodRequest>& pods);

 private:
  uint32_t effectiveMtu(const sdk::PodRequest& request) const;
  std::string poolOf(const std::string& subnet) const;

  Options options_;
  sdk::Host host_;
  std::string instance_;
  uint32_t underlayMtu_ = 0;             // as the host passed it (0 = unknown)
  uint32_t defaultMtu_ = 0;              // the option, else derived from the underlay for the mode
  std::unique_ptr<RemoteNodes> remote_;  // vxlan and host-gw only
  std::vector<sdk::PoolInfo> pools_;
  std::mutex bridgeMutex_;           // one creator of the bridge and its gateway addresses at a time
  std::atomic<int> bridgeIndex_{0};  // set by localNodeUpdate; 0 = not yet
  bool bridgeMtuPinned_ = false;     // under bridgeMutex_
  Masquerade masquerade_;
  std::unique_ptr<toolkit::LinkReaper> reaper_;  // DEL retires veths; it deletes them in batches
};

}  // namespace cnikit::flannel
