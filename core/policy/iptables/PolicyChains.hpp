#pragma once
// What the iptables provider programs, computed from the engine without touching the kernel
// (so it is unit-testable): names of chains and ipsets, each endpoint's chains per address
// family, the dispatch chain, and each set's members per family.
//
//   FORWARD -> CNIKIT-FORWARD                      (jump inserted first in FORWARD)
//     RELATED,ESTABLISHED -> ACCEPT                (replies of allowed connections; fast path)
//     [ipv6] neighbour discovery -> ACCEPT         (untracked; would hit the final drop)
//     -s <pod ip> -> CNIKIT-OUT-<hash>             (every egress-isolated endpoint, first)
//     -d <pod ip> -> CNIKIT-IN-<hash>              (every ingress-isolated endpoint)
//   CNIKIT-OUT-<hash>: INVALID -> DROP; to itself -> RETURN; allowed -> RETURN (the
//                      destination's ingress is checked next); -p tcp REJECT reset; DROP
//   CNIKIT-IN-<hash>:  INVALID -> DROP; from itself -> ACCEPT; allowed -> ACCEPT;
//                      -p tcp REJECT reset; DROP
// A direction that is not isolated has no chain and no dispatch rule: it is not touched.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/policy/AddressSet.hpp"
#include "core/policy/CompiledRules.hpp"
#include <cnikit/toolkit/IptablesRule.hpp>

namespace cnikit::policy::iptables {

// The rule model is the toolkit's (backends program their own chains with it).
using Family = toolkit::IpFamily;
using toolkit::IptablesRule;
using toolkit::kCtEstablished;
using toolkit::kCtInvalid;
using toolkit::kCtRelated;
using toolkit::ruleTo;
using toolkit::SetMatch;
inline const char* familyName(Family family) { return toolkit::ipFamilyName(family); }

inline constexpr const char* kDispatchChain = "CNIKIT-FORWARD";
inline constexpr const char* kIngressChainPrefix = "CNIKIT-IN-";
inline constexpr const char* kEgressChainPrefix = "CNIKIT-OUT-";
inline constexpr const char* kChainPrefix = "CNIKIT-";
// ipset names: "cnikit-pol4-" + set id (29 characters; ipset allows 31). Temporary sets for
// an atomic refill (create, fill, swap, destroy) use "cnikit-tmp4-".
inline constexpr const char* kSetPrefix = "cnikit-pol";
inline constexpr const char* kTempSetPrefix = "cnikit-tmp";

struct ChainOptions {
  bool rejectTcp = true;  // a blocked TCP connection gets a reset, not a silent drop
  bool comments = true;   // provenance ("x/p ingress[0] from[1]") on each rule
};

// "CNIKIT-IN-" / "CNIKIT-OUT-" + 16 hex digits of a hash of "namespace/name".
std::string ingressChainName(const std::string& endpointKey);
std::string egressChainName(const std::string& endpointKey);
std::string setName(Family family, const std::string& setId);
std::string tempSetName(Family family, const std::string& setId);
Family familyOf(const std::string& address);

// One endpoint in one family.
struct EndpointChains {
  std::vector<std::string> ips;                      // of this family
  std::optional<std::vector<IptablesRule>> ingress;  // nullopt: not isolated
  std::optional<std::vector<IptablesRule>> egress;
  std::set<std::string> setIds;  // sets the rules refer to
  bool empty() const { return !ingress && !egress; }
  bool operator==(const EndpointChains&) const = default;
};

using SetLookup = std::function<const AddressSet*(const std::string& id)>;

// Nothing (empty()) when the endpoint has no address of this family or no isolated direction.
EndpointChains buildEndpointChains(const CompiledEndpoint& endpoint, Family family, const SetLookup& sets,
                                   const ChainOptions& options);

// The dispatch chain for these endpoints (key -> chains of this family).
std::vector<IptablesRule> buildDispatch(const std::map<std::string, EndpointChains>& endpoints, Family family);

// One set's content in one family, in ipset terms.
struct SetContent {
  std::string type;                  // "hash:ip", "hash:net", "hash:ip,port"
  std::vector<std::string> entries;  // ipset add syntax, sorted: "10.0.0.1", "10.0.0.0/8 nomatch", "10.0.0.1,tcp:80"
  bool operator==(const SetContent&) const = default;
};

SetContent setContent(const AddressSet& set, Family family);

}  // namespace cnikit::policy::iptables
