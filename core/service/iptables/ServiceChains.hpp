#pragma once
// What the iptables service proxy programs, computed from the service table without touching
// the kernel (so it is unit-testable): chain names and each Service's rules per address
// family. Layout (nat table unless said otherwise; <h> = 16 hex digits of a stable hash):
//
//   PREROUTING, OUTPUT -> CNIKIT-SERVICES
//     -d 0.0.0.<b>/0.0.0.255 -> CNIKIT-SVCS-<b>   one shard per last address byte in use
//     -d <node address>      -> CNIKIT-NODEPORTS
//   CNIKIT-SVCS-<b>: -d <clusterIP> -p <proto> --dport <port> -> CNIKIT-SVC-<h> (or SVL)
//                    -d <LB ip>     -p <proto> --dport <port> -> CNIKIT-EXT-<h>
//   CNIKIT-NODEPORTS: -p <proto> --dport <nodePort>           -> CNIKIT-EXT-<h>
//   CNIKIT-EXT-<h>:  -s <pod cidr> -> CNIKIT-SVC-<h>      (pods reaching an external frontend)
//                    Cluster: MARK masquerade; -> CNIKIT-SVC-<h>
//                    Local:   -> CNIKIT-SVL-<h>           (the client's address is kept)
//   CNIKIT-SVC-<h>:  -d <clusterIP> -p <proto> --dport <port> -> CNIKIT-MARK-NONPOD
//                                                        (masquerade non-pod clients of a cluster IP)
//                    [affinity] -m recent --update --seconds T --reap --name CNIKIT-AFF-<h>
//                               DNAT --to <that backend>   (one per backend)
//                    -m statistic --probability 1/n [-m recent --set --name CNIKIT-AFF-<h>]
//                               DNAT --to <backend 1>, then 1/(n-1), ..., the last one plain
//   CNIKIT-SVL-<h>:  the same over the local ready backends only
//   CNIKIT-MARK-NONPOD: -s <pod cidr> RETURN ...; MARK masquerade
//   POSTROUTING -> CNIKIT-POSTROUTING: -m mark --mark M/M MASQUERADE;
//                    -s <local backend> -d <same> MASQUERADE   (hairpin: a pod reaching itself)
//
// Unlike kube-proxy there is no chain per backend: a chain costs two table entries of its
// own, and every update (libiptc) replaces the whole table, so the table is kept small.
//   filter: INPUT, FORWARD, OUTPUT -> CNIKIT-SVC-REJECT:
//     -d <frontend> -p <proto> --dport <port> REJECT icmp-port-unreachable
//     (a frontend with no backend to use: fast refusal instead of a black hole)
//
// Shards keep the dispatch walk short (≤ 256 jumps + the shard's entries, not one rule per
// Service) and let a change rewrite one small shard instead of a chain of every Service.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <cnikit/toolkit/IptablesRule.hpp>
#include "core/service/ServiceTable.hpp"

namespace cnikit::service::iptables {

using Family = toolkit::IpFamily;
using toolkit::IptablesRule;

inline constexpr const char* kServicesChain = "CNIKIT-SERVICES";
inline constexpr const char* kShardChainPrefix = "CNIKIT-SVCS-";
inline constexpr const char* kNodePortsChain = "CNIKIT-NODEPORTS";
inline constexpr const char* kPostroutingChain = "CNIKIT-POSTROUTING";
inline constexpr const char* kMarkNonPodChain = "CNIKIT-MARK-NONPOD";
inline constexpr const char* kRejectChain = "CNIKIT-SVC-REJECT";  // filter table
inline constexpr const char* kServiceChainPrefix = "CNIKIT-SVC-";
inline constexpr const char* kLocalChainPrefix = "CNIKIT-SVL-";
inline constexpr const char* kExternalChainPrefix = "CNIKIT-EXT-";
inline constexpr const char* kAffinityListPrefix = "CNIKIT-AFF-";  // xt_recent lists

struct ChainOptions {
  uint32_t masqueradeMark = 0x4000;  // the fwmark bit that asks CNIKIT-POSTROUTING to masquerade
  bool comments = true;              // "ns/name:port" on each dispatch entry
};

Family familyOf(const std::string& address);
// The key a port's chains are named after: "ns/name:portName/TCP".
std::string portKey(const Service& service, const ServicePort& port);
std::string serviceChainName(const std::string& portKey);
std::string localChainName(const std::string& portKey);
std::string externalChainName(const std::string& portKey);
// The xt_recent list that remembers the clients of one backend (ClientIP affinity).
std::string affinityListName(const std::string& portKey, const Backend& backend);
std::string shardChainName(uint8_t shard);
// The dispatch shard of a frontend address: its last byte.
uint8_t shardOf(const std::string& address);
// Whether a chain name is one of the per-Service chains (SVC, SVL, EXT) or a shard.
bool isServiceOwnedChain(const std::string& chain);
bool isShardChain(const std::string& chain);

// One Service in one family: its own chains and its entries in the shared ones.
struct ServiceRules {
  std::map<std::string, std::vector<IptablesRule>> chains;  // nat chains only it uses
  std::map<uint8_t, std::vector<IptablesRule>> shardEntries;
  std::vector<IptablesRule> nodePortEntries;
  std::vector<IptablesRule> rejectEntries;                 // filter table
  std::set<std::string> hairpinAddresses;                  // local backends it may send a pod back to
  std::set<std::pair<std::string, uint16_t>> udpBackends;  // UDP backends its chains DNAT to
  bool empty() const {
    return chains.empty() && shardEntries.empty() && nodePortEntries.empty() && rejectEntries.empty() &&
           hairpinAddresses.empty();
  }
  size_t ruleCount() const;
  bool operator==(const ServiceRules&) const = default;
};

// iptables-save lines: its dispatch entries, node-port entries, "-N"/"-A" of its own chains,
// its hairpin rules (in the shared CNIKIT-POSTROUTING), then its reject entries prefixed
// "-t filter ".
std::vector<std::string> renderLines(const ServiceRules& rules, Family family);

ServiceRules buildServiceRules(const Service& service, Family family, const NodeContext& node,
                               const ChainOptions& options);

// The shared chains' fixed parts.
std::vector<IptablesRule> buildServicesDispatch(const std::vector<uint8_t>& shards, const NodeContext& node,
                                                Family family, bool anyNodePorts);
std::vector<IptablesRule> buildPostrouting(const std::vector<std::string>& hairpinAddresses,
                                           const ChainOptions& options);
std::vector<IptablesRule> buildMarkNonPod(const NodeContext& node, Family family, const ChainOptions& options);

}  // namespace cnikit::service::iptables
