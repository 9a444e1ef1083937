#include "core/policy/iptables/IptcTable.hpp"

#include <arpa/inet.h>
#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" of its own.
extern "C" {
#include <libiptc/libip6tc.h>
}
#include <linux/netfilter/nf_conntrack_common.h>
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

namespace cnikit::policy::iptables {

std::mutex& iptcMutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

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

std::vector<unsigned char> encodeMatches(const IptablesRule& rule, Family family, const SetIndexFn& setIndex) {
  std::vector<unsigned char> out;
  if (rule.destinationPorts) {
    auto [first, last] = *rule.destinationPorts;
    if (rule.protocol == IPPROTO_TCP) {
      xt_tcp tcp{};
      tcp.spts[1] = 0xffff;
      tcp.dpts[0] = first;
      tcp.dpts[1] = last;
      addMatch(out, "tcp", 0, tcp);
    } else if (rule.protocol == IPPROTO_UDP) {
      xt_udp udp{};
      udp.spts[1] = 0xffff;
      udp.dpts[0] = first;
      udp.dpts[1] = last;
      addMatch(out, "udp", 0, udp);
    } else if (rule.protocol == IPPROTO_SCTP) {
      xt_sctp_info sctp{};
      sctp.spts[1] = 0xffff;
      sctp.dpts[0] = first;
      sctp.dpts[1] = last;
      sctp.flags = XT_SCTP_DEST_PORTS;
      addMatch(out, "sctp", 0, sctp);
    } else {
      throw IptcError("a destination port needs protocol tcp, udp or sctp (rule: " + render(rule, family) + ")");
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
    // Revision 4, what iptables 1.8 writes, so iptables-legacy-save can print the rule;
    // counters and flags left at 0 (not matched).
    xt_set_info_match_v4 set{};
    set.match_set.index = setIndex(rule.set->name);
    set.match_set.dim = static_cast<uint8_t>(rule.set->dimensions);
    // Bit i set: dimension i is matched against the source.
    set.match_set.flags = rule.set->source ? IPSET_DIM_ONE_SRC : 0;
    addMatch(out, "set", 4, set);
  }
  if (!rule.comment.empty()) {
    xt_comment_info comment{};
    std::strncpy(comment.comment, rule.comment.c_str(), sizeof(comment.comment) - 1);
    addMatch(out, "comment", 0, comment);
  }
  return out;
}

// Target: a standard verdict or chain name (libiptc maps the name), or REJECT.
std::vector<unsigned char> encodeTarget(const IptablesRule& rule, Family family) {
  std::vector<unsigned char> out;
  if (rule.target == "REJECT") {
    size_t dataSize = family == Family::V4 ? sizeof(ipt_reject_info) : sizeof(ip6t_reject_info);
    size_t size = XT_ALIGN(sizeof(xt_entry_target)) + XT_ALIGN(dataSize);
    out.resize(size, 0);
    auto* t = reinterpret_cast<xt_entry_target*>(out.data());
    t->u.user.target_size = static_cast<uint16_t>(size);
    std::strcpy(t->u.user.name, "REJECT");
    if (family == Family::V4) {
      ipt_reject_info info{};
      info.with = IPT_TCP_RESET;
      std::memcpy(t->data, &info, sizeof info);
    } else {
      ip6t_reject_info info{};
      info.with = IP6T_TCP_RESET;
      std::memcpy(t->data, &info, sizeof info);
    }
    return out;
  }
  size_t size = XT_ALIGN(sizeof(xt_standard_target));
  out.resize(size, 0);
  auto* t = reinterpret_cast<xt_standard_target*>(out.data());
  t->target.u.user.target_size = static_cast<uint16_t>(size);
  if (rule.target.size() >= sizeof(t->target.u.user.name)) throw IptcError("chain name too long: " + rule.target);
  std::strcpy(t->target.u.user.name, rule.target.c_str());
  return out;
}

// "10.0.0.0/8" or "10.0.0.1" -> address and mask bytes.
template <size_t N>
void parsePrefix(const std::string& text, int af, unsigned char (&address)[N], unsigned char (&mask)[N]) {
  auto slash = text.find('/');
  std::string host = text.substr(0, slash);
  int bits = slash == std::string::npos ? static_cast<int>(N * 8) : std::stoi(text.substr(slash + 1));
  if (::inet_pton(af, host.c_str(), address) != 1 || bits < 0 || bits > static_cast<int>(N * 8))
    throw IptcError("bad address '" + text + "' in a rule");
  for (size_t i = 0; i < N; ++i) {
    int take = std::max(0, std::min(8, bits - static_cast<int>(i) * 8));
    mask[i] = static_cast<unsigned char>(take == 0 ? 0 : (0xff << (8 - take)) & 0xff);
    address[i] &= mask[i];
  }
}

}  // namespace

std::vector<unsigned char> encodeEntry(const IptablesRule& rule, Family family, const SetIndexFn& setIndex) {
  auto matches = encodeMatches(rule, family, setIndex);
  auto target = encodeTarget(rule, family);
  std::vector<unsigned char> out;
  if (family == Family::V4) {
    size_t head = XT_ALIGN(sizeof(ipt_entry));
    out.resize(head + matches.size() + target.size(), 0);
    auto* e = reinterpret_cast<ipt_entry*>(out.data());
    if (!rule.source.empty()) {
      unsigned char a[4], m[4];
      parsePrefix(rule.source, AF_INET, a, m);
      std::memcpy(&e->ip.src, a, 4);
      std::memcpy(&e->ip.smsk, m, 4);
    }
    if (!rule.destination.empty()) {
      unsigned char a[4], m[4];
      parsePrefix(rule.destination, AF_INET, a, m);
      std::memcpy(&e->ip.dst, a, 4);
      std::memcpy(&e->ip.dmsk, m, 4);
    }
    e->ip.proto = rule.protocol;
    e->target_offset = static_cast<uint16_t>(head + matches.size());
    e->next_offset = static_cast<uint16_t>(out.size());
    std::memcpy(e->elems, matches.data(), matches.size());
    std::memcpy(out.data() + e->target_offset, target.data(), target.size());
  } else {
    size_t head = XT_ALIGN(sizeof(ip6t_entry));
    out.resize(head + matches.size() + target.size(), 0);
    auto* e = reinterpret_cast<ip6t_entry*>(out.data());
    if (!rule.source.empty()) {
      unsigned char a[16], m[16];
      parsePrefix(rule.source, AF_INET6, a, m);
      std::memcpy(&e->ipv6.src, a, 16);
      std::memcpy(&e->ipv6.smsk, m, 16);
    }
    if (!rule.destination.empty()) {
      unsigned char a[16], m[16];
      parsePrefix(rule.destination, AF_INET6, a, m);
      std::memcpy(&e->ipv6.dst, a, 16);
      std::memcpy(&e->ipv6.dmsk, m, 16);
    }
    if (rule.protocol) {
      e->ipv6.proto = rule.protocol;
      e->ipv6.flags |= IP6T_F_PROTO;
    }
    e->target_offset = static_cast<uint16_t>(head + matches.size());
    e->next_offset = static_cast<uint16_t>(out.size());
    std::memcpy(e->elems, matches.data(), matches.size());
    std::memcpy(out.data() + e->target_offset, target.data(), target.size());
  }
  return out;
}

IptcTable::IptcTable(Family family, const std::string& table) : family_(family), table_(table) {
  handle_ = v4() ? iptc_init(table.c_str()) : ip6tc_init(table.c_str());
  if (!handle_) fail("cannot read the table");
}

IptcTable::~IptcTable() {
  if (!handle_) return;
  if (v4())
    iptc_free(handle_);
  else
    ip6tc_free(handle_);
}

void IptcTable::fail(const std::string& what) const {
  int err = errno;
  const char* why = v4() ? iptc_strerror(err) : ip6tc_strerror(err);
  throw IptcError(std::string(v4() ? "iptables-legacy" : "ip6tables-legacy") + " " + table_ + ": " + what + ": " +
                  (why ? why : std::strerror(err)));
}

std::vector<std::string> IptcTable::chains() const {
  std::vector<std::string> out;
  if (v4()) {
    for (const char* c = iptc_first_chain(handle_); c; c = iptc_next_chain(handle_)) out.emplace_back(c);
  } else {
    for (const char* c = ip6tc_first_chain(handle_); c; c = ip6tc_next_chain(handle_)) out.emplace_back(c);
  }
  return out;
}

bool IptcTable::hasChain(const std::string& chain) const {
  return v4() ? iptc_is_chain(chain.c_str(), handle_) : ip6tc_is_chain(chain.c_str(), handle_);
}

std::vector<std::string> IptcTable::ruleTargets(const std::string& chain) const {
  std::vector<std::string> out;
  if (v4()) {
    for (auto* e = iptc_first_rule(chain.c_str(), handle_); e; e = iptc_next_rule(e, handle_))
      out.emplace_back(iptc_get_target(e, handle_));
  } else {
    for (auto* e = ip6tc_first_rule(chain.c_str(), handle_); e; e = ip6tc_next_rule(e, handle_))
      out.emplace_back(ip6tc_get_target(e, handle_));
  }
  return out;
}

void IptcTable::createChain(const std::string& chain) {
  if (!(v4() ? iptc_create_chain(chain.c_str(), handle_) : ip6tc_create_chain(chain.c_str(), handle_)))
    fail("cannot create chain " + chain);
  changed_ = true;
}

void IptcTable::flushChain(const std::string& chain) {
  if (!(v4() ? iptc_flush_entries(chain.c_str(), handle_) : ip6tc_flush_entries(chain.c_str(), handle_)))
    fail("cannot flush chain " + chain);
  changed_ = true;
}

void IptcTable::deleteChain(const std::string& chain) {
  if (!(v4() ? iptc_delete_chain(chain.c_str(), handle_) : ip6tc_delete_chain(chain.c_str(), handle_)))
    fail("cannot delete chain " + chain);
  changed_ = true;
}

void IptcTable::append(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex) {
  auto entry = encodeEntry(rule, family_, setIndex);
  int ok = v4() ? iptc_append_entry(chain.c_str(), reinterpret_cast<const ipt_entry*>(entry.data()), handle_)
              : ip6tc_append_entry(chain.c_str(), reinterpret_cast<const ip6t_entry*>(entry.data()), handle_);
  if (!ok) fail("cannot append to " + chain + " '" + render(rule, family_) + "'");
  changed_ = true;
}

void IptcTable::insert(const std::string& chain, const IptablesRule& rule, unsigned position,
                       const SetIndexFn& setIndex) {
  auto entry = encodeEntry(rule, family_, setIndex);
  int ok = v4() ? iptc_insert_entry(chain.c_str(), reinterpret_cast<const ipt_entry*>(entry.data()), position, handle_)
              : ip6tc_insert_entry(chain.c_str(), reinterpret_cast<const ip6t_entry*>(entry.data()), position, handle_);
  if (!ok) fail("cannot insert into " + chain + " '" + render(rule, family_) + "'");
  changed_ = true;
}

void IptcTable::deleteRule(const std::string& chain, unsigned position) {
  if (!(v4() ? iptc_delete_num_entry(chain.c_str(), position, handle_) : ip6tc_delete_num_entry(chain.c_str(), position, handle_)))
    fail("cannot delete rule " + std::to_string(position + 1) + " of " + chain);
  changed_ = true;
}

void IptcTable::commit() {
  if (!(v4() ? iptc_commit(handle_) : ip6tc_commit(handle_))) fail("commit failed");
  changed_ = false;
}

}  // namespace cnikit::policy::iptables
