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

Result<std::vector<unsigned char>> encodeMatches(const IptablesRule& rule, IpFamily family, const SetIndexFn& setIndex) {
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
  if (!rule.comment.empty()) {
    if (rule.comment.size() >= XT_MAX_COMMENT_LEN) return invalid("comment too long", rule, family);
    xt_comment_info comment{};
    std::strncpy(comment.comment, rule.comment.c_str(), sizeof(comment.comment) - 1);
    addMatch(out, "comment", 0, comment);
  }
  return out;
}

// A target with data (REJECT, MASQUERADE).
template <class Data>
std::vector<unsigned char> moduleTarget(const char* name, const Data& data) {
  std::vector<unsigned char> out(XT_ALIGN(sizeof(xt_entry_target)) + XT_ALIGN(sizeof(Data)), 0);
  auto* t = reinterpret_cast<xt_entry_target*>(out.data());
  t->u.user.target_size = static_cast<uint16_t>(out.size());
  std::strcpy(t->u.user.name, name);
  std::memcpy(t->data, &data, sizeof data);
  return out;
}

// Target: a standard verdict or chain name (libiptc maps the name), REJECT or MASQUERADE.
Result<std::vector<unsigned char>> encodeTarget(const IptablesRule& rule, IpFamily family) {
  const bool v4 = family == IpFamily::V4;
  if (rule.target == "REJECT") {
    if (v4) {
      ipt_reject_info info{};
      info.with = IPT_TCP_RESET;
      return moduleTarget("REJECT", info);
    }
    ip6t_reject_info info{};
    info.with = IP6T_TCP_RESET;
    return moduleTarget("REJECT", info);
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
  auto prefix = IpPrefix::tryParse(text, {.hostBits = HostBits::Clear, .bareAddress = true});
  if (!prefix || prefix->address().size() != N) return false;
  // (bytes): a netfilter header defines a function-like macro of that name.
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
