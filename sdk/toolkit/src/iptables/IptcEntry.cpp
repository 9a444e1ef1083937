#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/IptcEntry.hpp>

#include <arpa/inet.h>
#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" of its own.
extern "C" {
#include <libiptc/libip6tc.h>
}
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_recent.h>
#include <linux/netfilter/xt_statistic.h>
// xt_sctp.h spells bool the C way in inline helpers this file does not use.
#define _Bool bool
#include <linux/netfilter/xt_sctp.h>
#undef _Bool
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace cnikit::toolkit {

namespace {

Error invalid(const std::string& why, const IptablesRule& rule, IpFamily family) {
  return Error{EINVAL, why + " (rule: " + render(rule, family) + ")"};
}

// Appends one XT_ALIGNed match with its data.
template <class Data>
void addMatch(std::vector<unsigned char>& out, const char* name, uint8_t revision, const Data& data) {
  const size_t size = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(Data));
  const size_t at = out.size();
  out.resize(at + size, 0);
  auto* m = reinterpret_cast<xt_entry_match*>(out.data() + at);
  m->u.user.match_size = static_cast<uint16_t>(size);
  std::strncpy(m->u.user.name, name, sizeof(m->u.user.name) - 1);
  m->u.user.revision = revision;
  std::memcpy(m->data, &data, sizeof(Data));
}

// tcp, udp and sctp matches share the port fields: any source port, destination first..last.
template <class Match>
Match portMatch(uint16_t first, uint16_t last) {
  Match m{};
  m.spts[1] = 0xffff;
  m.dpts[0] = first;
  m.dpts[1] = last;
  return m;
}

Result<std::vector<unsigned char>> encodeMatches(const IptablesRule& rule, IpFamily family,
                                                 const SetIndexFn& setIndex) {
  std::vector<unsigned char> out;
  if (rule.destinationPorts) {
    auto [first, last] = *rule.destinationPorts;
    if (rule.protocol == IPPROTO_TCP) {
      addMatch(out, "tcp", 0, portMatch<xt_tcp>(first, last));
    } else if (rule.protocol == IPPROTO_UDP) {
      addMatch(out, "udp", 0, portMatch<xt_udp>(first, last));
    } else if (rule.protocol == IPPROTO_SCTP) {
      auto sctp = portMatch<xt_sctp_info>(first, last);
      sctp.flags = XT_SCTP_DEST_PORTS;
      addMatch(out, "sctp", 0, sctp);
    } else {
      return invalid("a destination port needs protocol tcp, udp or sctp", rule, family);
    }
  }
  if (rule.icmp6Type) {
    ip6t_icmp icmp{};
    icmp.type = *rule.icmp6Type;
    icmp.code[0] = 0;
    icmp.code[1] = 0xff;
    addMatch(out, "icmp6", 0, icmp);
  }
  if (rule.ctstate) {
    xt_conntrack_mtinfo3 ct{};
    ct.match_flags = XT_CONNTRACK_STATE;
    if (rule.ctstate & kCtInvalid) ct.state_mask |= XT_CONNTRACK_STATE_INVALID;
    if (rule.ctstate & kCtEstablished) ct.state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
    if (rule.ctstate & kCtRelated) ct.state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
    addMatch(out, "conntrack", 3, ct);
  }
  if (rule.set) {
    if (!setIndex) return invalid("a set match needs a set index lookup", rule, family);
    auto index = setIndex(rule.set->name);
    if (!index) return index.error();
    // Revision 4, what iptables 1.8 writes, so iptables-legacy-save can print the rule;
    // counters and flags left at 0 (not matched).
    xt_set_info_match_v4 set{};
    set.match_set.index = index.value();
    set.match_set.dim = static_cast<uint8_t>(rule.set->dimensions);
    // Bit i set: dimension i is matched against the source.
    set.match_set.flags = rule.set->source ? IPSET_DIM_ONE_SRC : 0;
    addMatch(out, "set", 4, set);
  }
  if (rule.mark) {
    xt_mark_mtinfo1 mark{};
    mark.mark = rule.mark->first;
    mark.mask = rule.mark->second;
    addMatch(out, "mark", 1, mark);
  }
  if (rule.probability) {
    if (!(*rule.probability > 0 && *rule.probability < 1))
      return invalid("a random draw needs a probability between 0 and 1", rule, family);
    xt_statistic_info statistic{};
    statistic.mode = XT_STATISTIC_MODE_RANDOM;
    // What iptables writes: the probability as a fraction of 2^31.
    statistic.u.random.probability = static_cast<uint32_t>(std::lround(*rule.probability * 0x80000000u));
    addMatch(out, "statistic", 0, statistic);
  }
  if (rule.recent) {
    const auto& r = *rule.recent;
    if (r.name.empty() || r.name.size() >= XT_RECENT_NAME_LEN)
      return invalid("recent list name empty or too long", rule, family);
    if (r.reap && (r.set || !r.seconds))
      return invalid("recent --reap needs --rcheck or --update with --seconds", rule, family);
    xt_recent_mtinfo_v1 recent{};
    recent.seconds = r.set ? 0 : r.seconds;
    recent.check_set =
        r.set ? XT_RECENT_SET : ((r.update ? XT_RECENT_UPDATE : XT_RECENT_CHECK) | (r.reap ? XT_RECENT_REAP : 0));
    std::strncpy(recent.name, r.name.c_str(), sizeof(recent.name) - 1);
    recent.side = XT_RECENT_SOURCE;
    // One entry per client address: the whole address is the key.
    if (family == IpFamily::V4)
      recent.mask.ip = 0xffffffffu;
    else
      std::memset(&recent.mask, 0xff, sizeof(recent.mask));
    addMatch(out, "recent", 1, recent);
  }
  if (!rule.comment.empty()) {
    if (rule.comment.size() >= XT_MAX_COMMENT_LEN) return invalid("comment too long", rule, family);
    xt_comment_info comment{};
    std::strncpy(comment.comment, rule.comment.c_str(), sizeof(comment.comment) - 1);
    addMatch(out, "comment", 0, comment);
  }
  return out;
}

// A target with data (REJECT, MASQUERADE, DNAT, MARK).
template <class Data>
std::vector<unsigned char> moduleTarget(const char* name, const Data& data, uint8_t revision = 0) {
  std::vector<unsigned char> out(XT_ALIGN(sizeof(xt_entry_target)) + XT_ALIGN(sizeof(Data)), 0);
  auto* t = reinterpret_cast<xt_entry_target*>(out.data());
  t->u.user.target_size = static_cast<uint16_t>(out.size());
  t->u.user.revision = revision;
  std::strcpy(t->u.user.name, name);
  std::memcpy(t->data, &data, sizeof data);
  return out;
}

// "10.0.0.1:80" / "[fd00::1]:80" -> a DNAT range of one address and one port.
bool parseDestination(const std::string& text, IpFamily family, nf_nat_range2& range) {
  std::string host, port;
  if (family == IpFamily::V6) {
    auto close = text.find("]:");
    if (text.empty() || text[0] != '[' || close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
  int number = std::stoi(port);
  if (number < 1 || number > 65535) return false;
  if (::inet_pton(toAf(family), host.c_str(), &range.min_addr) != 1) return false;
  range.max_addr = range.min_addr;
  range.min_proto.all = range.max_proto.all = htons(static_cast<uint16_t>(number));
  range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
  return true;
}

// Target: a standard verdict or chain name (libiptc maps the name), REJECT, MASQUERADE, DNAT
// or MARK.
Result<std::vector<unsigned char>> encodeTarget(const IptablesRule& rule, IpFamily family) {
  const bool v4 = family == IpFamily::V4;
  if (rule.target == "REJECT") {
    const bool reset = rule.rejectWith == RejectWith::TcpReset;
    if (reset && rule.protocol != IPPROTO_TCP)
      return invalid("REJECT with a TCP reset needs protocol tcp", rule, family);
    if (v4) {
      ipt_reject_info info{};
      info.with = reset ? IPT_TCP_RESET : IPT_ICMP_PORT_UNREACHABLE;
      return moduleTarget("REJECT", info);
    }
    ip6t_reject_info info{};
    info.with = reset ? IP6T_TCP_RESET : IP6T_ICMP6_PORT_UNREACH;
    return moduleTarget("REJECT", info);
  }
  if (rule.target == "DNAT") {
    // Revision 2 (struct nf_nat_range2): both families, and what iptables 1.8 writes and prints.
    nf_nat_range2 range{};
    if (!parseDestination(rule.toDestination, family, range))
      return invalid("bad DNAT destination '" + rule.toDestination + "' (address:port, [v6]:port)", rule, family);
    if (rule.protocol != IPPROTO_TCP && rule.protocol != IPPROTO_UDP && rule.protocol != IPPROTO_SCTP)
      return invalid("DNAT to a port needs protocol tcp, udp or sctp", rule, family);
    return moduleTarget("DNAT", range, 2);
  }
  if (rule.target == "MARK") {
    xt_mark_tginfo2 mark{};
    mark.mark = mark.mask = rule.orMark;  // --or-mark: (mark & ~bits) ^ bits
    return moduleTarget("MARK", mark, 2);
  }
  if (rule.target == "MASQUERADE") {
    // Revision 0 of each family: IPv4 takes the old multi-range form with one range.
    if (v4) {
      nf_nat_ipv4_multi_range_compat range{};
      range.rangesize = 1;
      return moduleTarget("MASQUERADE", range);
    }
    return moduleTarget("MASQUERADE", nf_nat_range{});
  }
  std::vector<unsigned char> out(XT_ALIGN(sizeof(xt_standard_target)), 0);
  auto* t = reinterpret_cast<xt_standard_target*>(out.data());
  t->target.u.user.target_size = static_cast<uint16_t>(out.size());
  if (rule.target.empty() || rule.target.size() >= sizeof(t->target.u.user.name))
    return invalid("target '" + rule.target + "' is empty or too long for a chain name", rule, family);
  std::strcpy(t->target.u.user.name, rule.target.c_str());
  return out;
}

// "10.0.0.0/8" or "10.0.0.1" -> address and mask bytes (host bits cleared).
template <size_t N>
bool parsePrefix(const std::string& text, unsigned char* address, unsigned char* mask) {
  auto slash = text.find('/');
  if (slash != std::string::npos && text.find_first_of(".:", slash) != std::string::npos) {
    // "0.0.0.7/0.0.0.255": any mask (the kernel compares address & mask).
    auto host = IpAddress::tryParse(text.substr(0, slash));
    auto maskAddress = IpAddress::tryParse(text.substr(slash + 1));
    if (!host || !maskAddress || host->size() != N || maskAddress->size() != N) return false;
    // (bytes): a netfilter header defines a function-like macro of that name.
    std::memcpy(address, (host->bytes)().data(), N);
    std::memcpy(mask, (maskAddress->bytes)().data(), N);
    for (size_t i = 0; i < N; ++i) address[i] &= mask[i];
    return true;
  }
  auto prefix = IpPrefix::tryParse(text, {.hostBits = HostBits::Clear, .bareAddress = true});
  if (!prefix || prefix->address().size() != N) return false;
  std::memcpy(address, (prefix->address().bytes)().data(), N);
  const int bits = prefix->prefixLength();
  for (size_t i = 0; i < N; ++i) {
    int take = std::max(0, std::min(8, bits - static_cast<int>(i) * 8));
    mask[i] = static_cast<unsigned char>(take == 0 ? 0 : (0xff << (8 - take)) & 0xff);
    address[i] &= mask[i];
  }
  return true;
}

// Both families' entries share the shape: a header with the addresses, matches, target.
// Ip is ipt_ip or ip6t_ip6 and Entry its entry; N the address size.
template <class Entry, size_t N, class Fill>
Result<std::vector<unsigned char>> assemble(const IptablesRule& rule, IpFamily family,
                                            const std::vector<unsigned char>& matches,
                                            const std::vector<unsigned char>& target, Fill fill) {
  const size_t head = XT_ALIGN(sizeof(Entry));
  std::vector<unsigned char> out(head + matches.size() + target.size(), 0);
  auto* e = reinterpret_cast<Entry*>(out.data());
  unsigned char src[N] = {}, smsk[N] = {}, dst[N] = {}, dmsk[N] = {};
  if (!rule.source.empty() && !parsePrefix<N>(rule.source, src, smsk))
    return invalid("bad source address '" + rule.source + "'", rule, family);
  if (!rule.destination.empty() && !parsePrefix<N>(rule.destination, dst, dmsk))
    return invalid("bad destination address '" + rule.destination + "'", rule, family);
  fill(*e, src, smsk, dst, dmsk);
  e->target_offset = static_cast<uint16_t>(head + matches.size());
  e->next_offset = static_cast<uint16_t>(out.size());
  std::memcpy(e->elems, matches.data(), matches.size());
  std::memcpy(out.data() + e->target_offset, target.data(), target.size());
  return out;
}

}  // namespace

Result<std::vector<unsigned char>> encodeEntry(const IptablesRule& rule, IpFamily family, const SetIndexFn& setIndex) {
  auto matches = encodeMatches(rule, family, setIndex);
  if (!matches) return matches.error();
  auto target = encodeTarget(rule, family);
  if (!target) return target.error();
  if (family == IpFamily::V4)
    return assemble<ipt_entry, 4>(rule, family, matches.value(), target.value(),
                                  [&](ipt_entry& e, auto* src, auto* smsk, auto* dst, auto* dmsk) {
                                    std::memcpy(&e.ip.src, src, 4);
                                    std::memcpy(&e.ip.smsk, smsk, 4);
                                    std::memcpy(&e.ip.dst, dst, 4);
                                    std::memcpy(&e.ip.dmsk, dmsk, 4);
                                    e.ip.proto = rule.protocol;
                                    if (rule.sourceInverted) e.ip.invflags |= IPT_INV_SRCIP;
                                    if (rule.destinationInverted) e.ip.invflags |= IPT_INV_DSTIP;
                                  });
  return assemble<ip6t_entry, 16>(rule, family, matches.value(), target.value(),
                                  [&](ip6t_entry& e, auto* src, auto* smsk, auto* dst, auto* dmsk) {
                                    std::memcpy(&e.ipv6.src, src, 16);
                                    std::memcpy(&e.ipv6.smsk, smsk, 16);
                                    std::memcpy(&e.ipv6.dst, dst, 16);
                                    std::memcpy(&e.ipv6.dmsk, dmsk, 16);
                                    if (rule.protocol) {
                                      e.ipv6.proto = rule.protocol;
                                      e.ipv6.flags |= IP6T_F_PROTO;
                                    }
                                    if (rule.sourceInverted) e.ipv6.invflags |= IP6T_INV_SRCIP;
                                    if (rule.destinationInverted) e.ipv6.invflags |= IP6T_INV_DSTIP;
                                  });
}

}  // namespace cnikit::toolkit
