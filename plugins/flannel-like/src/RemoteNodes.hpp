#pragma once
// Routing to the pods of other nodes (the node capability) in vxlan and host-gw modes.
//
// vxlan:   one kernel VXLAN device (learning off) and, per remote node, an FDB entry
//          "VTEP MAC -> underlay address" plus, per remote subnet, a permanent neighbour
//          entry "subnet gateway -> VTEP MAC" and a route "subnet via gateway dev vxlan
//          onlink". The remote gateway (first host address) lives on the remote bridge.
// host-gw: per remote subnet a route "subnet via <node's underlay address> dev <underlay>",
//          refused (not programmed, reported in status) when that address is not on a subnet
//          of this node's underlay interface: such a node is behind a router.
//
// Every route carries kRouteProtocol, so the backend's routes can be told from anyone
// else's. What was programmed for each node is kept in memory and, when a state directory
// is given, in a journal there (NodeJournal): nodeRemove withdraws exactly that, also after
// a restart.
// Nothing is removed when the backend is destroyed: the datapath outlives the agent.
//
// All kernel work happens in the network namespace of the thread that made the object (the
// node's), through one netlink socket made there.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

#include <nlohmann/json.hpp>

#include "NodeEntries.hpp"
#include "NodeJournal.hpp"
#include "Options.hpp"

namespace cnikit::flannel {

// rtm_protocol of every route this backend makes ("ip route show proto 202"); not one of
// /etc/iproute2/rt_protos' assigned numbers.
inline constexpr int kRouteProtocol = 202;

class RemoteNodes {
 public:
  struct Context {
    std::string instance;
    std::string nodeName;
    std::string stateDir;  // "" = no state files
    std::string underlayInterface;
    std::string underlayIpv4;
    std::string underlayIpv6;
    uint32_t mtu = 0;  // of the VXLAN device
  };

  // Resolves the underlay and, in vxlan mode, makes the VXLAN device. Throws sdk::Error
  // (CNIKIT_ERR_INVALID_ARGUMENT when the underlay is unknown or unusable).
  RemoteNodes(const Options& options, const Context& context, sdk::Host host);

  // {"vtepMac": "..."} in vxlan mode, {} in host-gw mode.
  std::string localNodeData() const;
  // Makes the kernel hold exactly what `node` needs (replacing what changed, withdrawing what
  // it no longer needs); idempotent. A node that cannot be programmed is withdrawn and listed
  // under unreachableNodes in status, and the call still succeeds.
  void upsert(const sdk::NodeInfo& node);
  // Withdraws what was programmed for the node (nothing else); unknown names are fine.
  void remove(const std::string& nodeName);
  // vxlan: this node's own subnet network address (IPv4, /32) on the VXLAN device, as
  // flannel does, so traffic the node itself sends to remote pods has an address the remote
  // side routes back through the tunnel. A no-op in host-gw mode.
  void ensureLocalSubnet(const toolkit::IpPrefix& subnet);
  // The node leaves the cluster: withdraws every node's entries, forgets the journal and
  // deletes the VXLAN device.
  void teardown();
  nlohmann::json status();

 private:
  struct Refusal {
    std::string subnet;  // "" = the whole node
    std::string reason;
  };
  struct Record {
    std::vector<std::string> subnets;
    std::string underlay;  // the address the entries point at
    std::string vtepMac;   // vxlan
    NodeEntries entries;
  };
  struct Desired {
    Record record;
    std::vector<Refusal> refusals;
  };

  std::string ensureDevice();
  bool recoverDevice();
  void upsertLocked(const sdk::NodeInfo& node);
  Desired desiredVxlan(const sdk::NodeInfo& node);
  Desired desiredHostGw(const sdk::NodeInfo& node);
  void write(const NodeEntries& entries, NodeEntries& written);
  void withdraw(const NodeEntries& entries);
  void takeOver(const std::string& nodeName, const NodeEntries& entries);
  void persist(const std::string& nodeName);
  void loadRecords();
  std::string deviceName(int ifindex) const;
  int deviceIndex(const std::string& name) const;
  nlohmann::json recordJson(const Record& r) const;
  void setRefusals(const std::string& nodeName, std::vector<Refusal> refusals);

  Options options_;
  Context context_;
  sdk::Host host_;
  std::mutex mutex_;  // one writer at a time: the socket and the maps below
  toolkit::NetlinkSocket sock_;
  int underlayIndex_ = 0;
  std::string underlayName_;
  int tunnelFamily_ = 0;  // vxlan: family of the underlay addresses (AF_INET or AF_INET6)
  toolkit::IpAddress localUnderlay_;
  int vxlanIndex_ = 0;
  std::string vxlanName_;
  toolkit::MacAddress vtepMac_;
  std::string vxlanState_;  // "created", "recreated" or "existing" at start
  NodeJournal journal_;
  std::string stateProblems_;
  std::map<std::string, Record> records_;
  std::map<std::string, std::vector<Refusal>> unreachable_;
  std::unordered_map<std::string, std::string> owners_;  // entry key -> node that holds it
  std::set<std::string> localSubnets_;
};

}  // namespace cnikit::flannel
