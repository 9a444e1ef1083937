#pragma once
// What a node namespace holds that a backend may add: links, addresses, routes (every
// table, both families), ip rules, iptables rules as iptables-legacy-save and the nft-based
// iptables-save print them (both families), and the files under the agent's state dir.
// Each section is a sorted list of normalised lines (no counters, no carrier state, no
// lifetimes), so two snapshots of an unchanged node compare equal.
#include <map>
#include <string>
#include <vector>

namespace cnikit::conformance {

struct NodeSnapshot {
  std::map<std::string, std::vector<std::string>> sections;  // "routes4" -> lines
};

// Waits (up to 4 s) until no IPv6 address is tentative, so a device that just came up is
// seen as it will stay. Throws std::runtime_error when a tool fails (ip, iptables-*-save).
NodeSnapshot takeSnapshot(const std::string& netnsPath, const std::string& stateDir);

// "+ routes4: 10.244.1.5 dev cnp1 ..." for lines only in `after`, "- ..." for lines only in
// `before`; empty when equal.
std::vector<std::string> diffSnapshots(const NodeSnapshot& before, const NodeSnapshot& after);

// The first `limit` lines of a diff, then "... N more".
std::string summariseDiff(const std::vector<std::string>& diff, size_t limit = 8);

// iptables-save text -> "nat: -A POSTROUTING ...", user chains as "nat: :CHAIN"; built-in
// chains only when their policy is not ACCEPT (a table that was merely loaded adds nothing).
std::vector<std::string> normaliseIptablesSave(const std::string& text);

}  // namespace cnikit::conformance
