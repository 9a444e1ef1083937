#pragma once
// Which iptables flavour holds the node's rules. The kernel enforces the legacy tables
// (which libiptc, and so cnikit, writes) and the nf_tables `ip`/`ip6` iptables tables side
// by side, but each `iptables` binary shows only its own: Debian 12's `iptables` is the nft
// one, so cnikit's rules are invisible to it, and kube-proxy or a host firewall may live in
// the other flavour. Counted from the *-save tools' output, in the calling thread's namespace.
#include <nlohmann/json.hpp>
#include <string>

namespace cnikit::policy::iptables {

struct FlavourReport {
  int nftRules = -1;          // "-A" lines of iptables-nft-save + ip6tables-nft-save; -1: tool missing
  int legacyRules = -1;       // of the legacy tools, without cnikit's own (CNIKIT-* chains)
  int cnikitLegacyRules = -1;  // cnikit's own, as the legacy tools print them
  std::string warning;        // empty when the node's other rules are not in the nft flavour
  nlohmann::json toJson() const;
};

FlavourReport inspectFlavours();

}  // namespace cnikit::policy::iptables
