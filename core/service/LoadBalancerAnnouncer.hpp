#pragma once
// Load-balancer addresses on the underlay, as MetalLB's and Cilium's L2 announcements do:
// every address in status.loadBalancer.ingress is held by exactly one live node, chosen by
// rendezvous hashing over the candidates (stable: a node joining or leaving moves only the
// addresses it wins or held). The holder puts the address (/32, /128) on its underlay
// interface, so its kernel answers ARP/NDP for it, and announces it (gratuitous ARP,
// unsolicited NA) so a takeover is seen at once; the proxy's rules then DNAT it like a
// clusterIP. With externalTrafficPolicy Local only nodes with a ready backend of that
// Service are candidates (when some node has one), so the client's address can be kept.
//
// It is a ServiceProvider (it follows the service table) and also watches the node records
// for liveness: a node whose lease expires loses its addresses to the next candidate.
// Addresses inside the load-balancer pools found on the interface are taken as ours, so a
// restarted agent removes those no Service holds any more.
//
// Acts in the network namespace of the thread that constructs it.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Netns.hpp>

#include "core/service/ServiceProvider.hpp"
#include "core/store/Store.hpp"

namespace cnikit::service {

struct LoadBalancerAnnouncerOptions {
  std::string node;                // this node's name
  std::string interface;           // the underlay interface addresses go on
  std::vector<std::string> pools;  // load-balancer pool CIDRs ("10.250.200.0/24")
};

class LoadBalancerAnnouncer : public ServiceProvider {
 public:
  // Throws std::runtime_error naming what failed (no such interface, no netlink socket).
  explicit LoadBalancerAnnouncer(LoadBalancerAnnouncerOptions options);
  ~LoadBalancerAnnouncer() override;
  LoadBalancerAnnouncer(const LoadBalancerAnnouncer&) = delete;
  LoadBalancerAnnouncer& operator=(const LoadBalancerAnnouncer&) = delete;

  // The holder of `address` among `candidates`: the highest hash of (address, node); ""
  // when there are none. The same answer on every node for the same inputs.
  static std::string holderOf(const std::string& address, const std::set<std::string>& candidates);

  // Follows the node records (/cnikit/v1/nodes/) of `store` from now on: a node is alive while
  // its record exists. Without it, setLiveNodes() is the only source (tests).
  void watchNodes(store::Store& store);
  void setLiveNodes(std::set<std::string> nodes);

  const char* name() const override { return "l2-announcer"; }
  void sync(const NodeContext& node, const ServiceTable& table) override;
  void apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) override;
  // Releases every address of the pools on the interface and stops following the nodes.
  void removeAll() override;
  // {"interface", "held": [...], "addresses": {ip: holder}}
  nlohmann::json status() const override;
  // {"loadBalancerIPs": [{"ip", "holder", "candidates"}]} or null when the Service has none.
  nlohmann::json explain(const std::string& serviceKey) const override;

  std::set<std::string> heldAddresses() const;

 private:
  struct Address {
    std::string service;  // "ns/name"
    bool local = false;   // externalTrafficPolicy Local
    std::set<std::string> backendNodes;
  };
  void takeTable(const ServiceTable& table);
  void reconcileLocked();
  std::set<std::string> candidatesLocked(const Address& address) const;
  bool inPools(const toolkit::IpAddress& address) const;

  LoadBalancerAnnouncerOptions options_;
  std::vector<toolkit::IpPrefix> pools_;  // options_.pools, parsed once
  toolkit::Netns netns_;
  mutable std::mutex mutex_;
  std::unique_ptr<toolkit::NetlinkSocket> netlink_;
  std::map<std::string, Address> addresses_;  // by address
  std::set<std::string> liveNodes_;
  std::set<std::string> held_;
  std::string lastError_;
  std::unique_ptr<store::Watch> nodeWatch_;
};

}  // namespace cnikit::service
