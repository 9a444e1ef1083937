#pragma once
// One iptables rule independent of the address family and of libiptc's binary layout:
// IptcTable encodes it for libip4tc/libip6tc, render() prints it in iptables-save syntax
// (logs, status, tests). Covers what cnikit's policy provider, service proxy and backends
// program: addresses (negatable; a prefix length or, for bit-sliced matches, a mask written as
// an address: "0.0.0.7/0.0.0.255"), protocol, destination ports, one ipset match, conntrack
// state, ICMPv6 type, a firewall mark, a random `statistic` draw, a `recent` list, a comment,
// and a verdict, a chain, REJECT, MASQUERADE, DNAT or MARK.
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

// xt_recent: remember (set) or look up (rcheck, update) the packet's source address in a
// named list.
struct RecentMatch {
  std::string name;      // the list (/proc/net/xt_recent/<name>)
  bool set = false;      // --set; else --rcheck (or --update)
  bool update = false;   // without set: --update (a hit also refreshes the entry's time)
  uint32_t seconds = 0;  // with rcheck: only entries seen within this many seconds (0: any)
  bool reap = false;     // with rcheck and seconds: drop older entries of the list
  auto operator<=>(const RecentMatch&) const = default;
};

enum class RejectWith { TcpReset, PortUnreachable };

struct IptablesRule {
  std::string source;                // address or prefix text; empty = any
  std::string destination;           // idem
  bool sourceInverted = false;       // "! -s"
  bool destinationInverted = false;  // "! -d"
  uint8_t protocol = 0;              // IPPROTO_*; 0 = any
  // Destination port range (needs protocol TCP, UDP or SCTP); nullopt = every port.
  std::optional<std::pair<uint16_t, uint16_t>> destinationPorts;
  std::optional<SetMatch> set;
  uint16_t ctstate = 0;              // 0: no conntrack match
  std::optional<uint8_t> icmp6Type;  // with protocol IPPROTO_ICMPV6
  std::string comment;               // empty: none
  // -m mark --mark value/mask (nullopt: no mark match).
  std::optional<std::pair<uint32_t, uint32_t>> mark;
  // -m statistic --mode random --probability p (nullopt: none), 0 < p < 1.
  std::optional<double> probability;
  std::optional<RecentMatch> recent;
  // ACCEPT, DROP, RETURN, REJECT (see rejectWith), MASQUERADE (nat table, POSTROUTING), DNAT
  // (nat table, PREROUTING/OUTPUT; see toDestination), MARK (see orMark) or a chain name.
  std::string target;
  RejectWith rejectWith = RejectWith::TcpReset;  // TcpReset needs protocol TCP
  // DNAT: "10.0.0.1:8080" or "[fd00::1]:8080" (port needs protocol TCP, UDP or SCTP).
  std::string toDestination;
  uint32_t orMark = 0;  // MARK --or-mark

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
