#pragma once
// One iptables rule independent of the address family and of libiptc's binary layout:
// IptcTable encodes it for libip4tc/libip6tc, render() prints it in iptables-save syntax
// (logs, status, tests). Covers what cnikit's policy provider and backends program: addresses
// (negatable), protocol, destination ports, one ipset match, conntrack state, ICMPv6 type,
// a comment, and a verdict, a chain, REJECT (TCP reset) or MASQUERADE.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace cnikit::toolkit {

enum class IpFamily { V4, V6 };
const char* ipFamilyName(IpFamily family);  // "ipv4", "ipv6"
int toAf(IpFamily family);                  // AF_INET, AF_INET6

// conntrack states (xt_conntrack bits, so the encoder can copy them).
inline constexpr uint16_t kCtInvalid = 1 << 0;
inline constexpr uint16_t kCtEstablished = 1 << 1;
inline constexpr uint16_t kCtRelated = 1 << 2;

struct SetMatch {
  std::string name;     // ipset name
  int dimensions = 1;   // 1: ip or net; 2: ip,port
  bool source = false;  // first dimension is the source address (else destination)
  auto operator<=>(const SetMatch&) const = default;
};

struct IptablesRule {
  std::string source;       // address or prefix text; empty = any
  std::string destination;  // idem
  bool sourceInverted = false;       // "! -s"
  bool destinationInverted = false;  // "! -d"
  uint8_t protocol = 0;     // IPPROTO_*; 0 = any
  // Destination port range (needs protocol TCP, UDP or SCTP); nullopt = every port.
  std::optional<std::pair<uint16_t, uint16_t>> destinationPorts;
  std::optional<SetMatch> set;
  uint16_t ctstate = 0;              // 0: no conntrack match
  std::optional<uint8_t> icmp6Type;  // with protocol IPPROTO_ICMPV6
  std::string comment;               // empty: none
  // ACCEPT, DROP, RETURN, REJECT (TCP reset; needs protocol TCP), MASQUERADE (nat table,
  // POSTROUTING) or a chain name.
  std::string target;

  auto operator<=>(const IptablesRule&) const = default;
};

// A rule that only has a target; callers set the matches they need.
inline IptablesRule ruleTo(std::string target) {
  IptablesRule rule;
  rule.target = std::move(target);
  return rule;
}

// "-s 10.0.0.1/32 -p tcp -m tcp --dport 80 -m set --match-set S src -m comment --comment "x" -j ACCEPT"
std::string render(const IptablesRule& rule, IpFamily family);

}  // namespace cnikit::toolkit
