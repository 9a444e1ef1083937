#pragma once
// Address management on the Store, shared by every agent of a cluster.
//
// Store layout (docs/store-layout.md):
//   /cnikit/v1/ipam/subnets/<pool>/<cidr with '/' as '_'>   {"node": N}        node subnet lease
//   /cnikit/v1/ipam/addresses/<pool>/<ip>                   {"containerId","ifname","node","subnet",
//                                                            "podNamespace","podName","netns"}
//   /cnikit/v1/ipam/handles/<node>/<containerId>/<ifname>   {"addresses":["<pool>/<ip>",...]}
// Uniqueness comes from createIfAbsent on the address key, so concurrent ADDs (threads, or
// agents on other nodes) never get one address twice, also across a crash.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/ipam/Pool.hpp"
#include "core/store/Store.hpp"

namespace cnikit::ipam {

struct Allocation {
  std::string pool;
  toolkit::IpPrefix poolCidr;  // the pool CIDR the address belongs to
  toolkit::IpPrefix subnet;    // the node subnet it came from
  toolkit::IpAddress address;
  std::optional<toolkit::IpAddress> gateway;  // first address of the subnet
  std::string containerId;
  std::string ifname;
  std::string node;
  std::string podNamespace;
  std::string podName;
  std::string netns;
};

struct AllocateRequest {
  std::string containerId;
  std::string ifname;
  std::vector<toolkit::IpAddress> requested;  // exact addresses wanted (one per family at most)
  std::string podNamespace;
  std::string podName;
  std::string netns;
};

struct Attachment {
  std::string containerId;
  std::string ifname;
};

class IpamError : public std::runtime_error {
 public:
  enum class Kind {
    Exhausted,             // no free address (or no free node subnet) in the pool
    RequestedUnavailable,  // requested address outside the node subnet, excluded, or in use
    InvalidConfig,
  };
  IpamError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class Ipam {
 public:
  Ipam(store::Store& store, std::string node);

  // The node's subnet in each of the pool's CIDRs, claiming one if the node has none. A
  // node keeps the subnet it had (the same key), so a restart gets it back.
  std::vector<toolkit::IpPrefix> ensureNodeSubnets(const PoolConfig& pool, store::LeaseId lease = 0);
  // The node's subnets the pool already has (one per pool CIDR at most, in the order of the
  // CIDRs), claiming nothing: only reads the store (status, diagnostics).
  std::vector<toolkit::IpPrefix> nodeSubnets(const PoolConfig& pool);

  // One address per pool CIDR family (dual-stack: two). Idempotent: the same
  // (containerId, ifname) gets its existing allocations back. Throws IpamError.
  // On any failure nothing stays allocated.
  std::vector<Allocation> allocate(const PoolConfig& pool, const AllocateRequest& request);

  // Existing allocations of (containerId, ifname) on this node; empty if none.
  std::vector<Allocation> find(const std::string& containerId, const std::string& ifname);

  // Releases and returns what (containerId, ifname) held; empty if nothing (not an error).
  std::vector<Allocation> release(const std::string& containerId, const std::string& ifname);

  // Every allocation on this node (optionally of one pool), sorted by address.
  std::vector<Allocation> list(const std::string& pool = "");

  // Releases this node's allocations whose (containerId, ifname) is not in valid;
  // returns what was released.
  std::vector<Allocation> gc(const std::vector<Attachment>& valid);

  const std::string& node() const { return node_; }

 private:
  // This node's subnet of cidr (cached, checked against the store on each use).
  toolkit::IpPrefix nodeSubnet(const PoolConfig& pool, const toolkit::IpPrefix& cidr);
  // This node's subnets in every pool (or one), from the store.
  std::vector<std::pair<std::string, toolkit::IpPrefix>> ownSubnets(const std::string& pool);
  // One address of poolCidr from the node's subnet of it; announce(candidate) writes the
  // handle before the candidate's record. Appends the address keys it wrote to taken.
  Allocation allocateOne(const PoolConfig& pool, const toolkit::IpPrefix& poolCidr, const toolkit::IpPrefix& subnet,
                         const AllocateRequest& request, const std::optional<toolkit::IpAddress>& requested,
                         std::vector<std::string>& taken, const std::function<void(const Allocation&)>& announce);
  void purgeForeign(const std::string& pool, const toolkit::IpPrefix& subnet);
  // Lists this node's address records that no handle names in their handle.
  void adoptOrphans(const std::string& pool, const toolkit::IpPrefix& subnet);

  store::Store& store_;
  std::string node_;
  std::mutex claimMutex_;                // one subnet claim at a time (else two threads claim two)
  std::mutex mutex_;                     // guards subnets_, inFlight_ and marks_
  std::map<std::string, toolkit::IpPrefix> subnets_;  // "<pool> <cidr>" -> this node's subnet
  // "<pool> <subnet>" -> addresses this process's ADDs are claiming at the moment.
  std::map<std::string, std::set<unsigned __int128>> inFlight_;
  struct RoundRobinMark {
    unsigned __int128 last = 0;  // the address handed out last
    int unsaved = 0;             // allocations since the store's copy was written
  };
  std::map<std::string, RoundRobinMark> marks_;  // "<pool> <subnet>" -> where the search resumes
};

}  // namespace cnikit::ipam
