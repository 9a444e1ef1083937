#include <cnikit/toolkit/IptablesRule.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdio>

namespace cnikit::toolkit {

const char* ipFamilyName(IpFamily family) { return family == IpFamily::V4 ? "ipv4" : "ipv6"; }
int toAf(IpFamily family) { return family == IpFamily::V4 ? AF_INET : AF_INET6; }

namespace {

std::string protocolText(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_ICMPV6: return "ipv6-icmp";
  }
  return std::to_string(protocol);
}

std::string withPrefix(const std::string& address, IpFamily family) {
  if (address.find('/') != std::string::npos) return address;
  return address + (family == IpFamily::V4 ? "/32" : "/128");
}

std::string hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", value);
  return text;
}

}  // namespace

std::string render(const IptablesRule& rule, IpFamily family) {
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty()) out += ' ';
    out += part;
  };
  if (!rule.source.empty()) add(std::string(rule.sourceInverted ? "! " : "") + "-s " + withPrefix(rule.source, family));
  if (!rule.destination.empty())
    add(std::string(rule.destinationInverted ? "! " : "") + "-d " + withPrefix(rule.destination, family));
  if (rule.protocol) add("-p " + protocolText(rule.protocol));
  if (rule.destinationPorts) {
    auto [first, last] = *rule.destinationPorts;
    add("-m " + protocolText(rule.protocol) + " --dport " + std::to_string(first) +
        (last != first ? ":" + std::to_string(last) : ""));
  }
  if (rule.icmp6Type) add("-m icmp6 --icmpv6-type " + std::to_string(*rule.icmp6Type));
  if (rule.ctstate) {
    std::string states;
    auto state = [&](uint16_t bit, const char* name) {
      if (rule.ctstate & bit) states += (states.empty() ? "" : ",") + std::string(name);
    };
    state(kCtInvalid, "INVALID");
    state(kCtRelated, "RELATED");
    state(kCtEstablished, "ESTABLISHED");
    add("-m conntrack --ctstate " + states);
  }
  if (rule.set) {
    std::string dirs = rule.set->source ? "src" : "dst";
    for (int i = 1; i < rule.set->dimensions; ++i) dirs += ",dst";
    add("-m set --match-set " + rule.set->name + " " + dirs);
  }
  if (rule.mark) add("-m mark --mark " + hex(rule.mark->first) + "/" + hex(rule.mark->second));
  if (rule.probability) {
    char text[32];
    // As iptables-save prints it: the fraction of 2^31 the kernel holds.
    std::snprintf(text, sizeof text, "%.11f", std::lround(*rule.probability * 0x80000000u) / 2147483648.0);
    add(std::string("-m statistic --mode random --probability ") + text);
  }
  if (rule.recent) {
    const auto& r = *rule.recent;
    std::string text = "-m recent";
    if (r.set) {
      text += " --set";
    } else {
      text += r.update ? " --update" : " --rcheck";
      if (r.seconds) text += " --seconds " + std::to_string(r.seconds);
      if (r.reap) text += " --reap";
    }
    text += " --name " + r.name + " --mask " +
            (family == IpFamily::V4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") + " --rsource";
    add(text);
  }
  if (!rule.comment.empty()) add("-m comment --comment \"" + rule.comment + "\"");
  add("-j " + rule.target);
  if (rule.target == "REJECT")
    add(rule.rejectWith == RejectWith::TcpReset ? "--reject-with tcp-reset"
                                                : (family == IpFamily::V4 ? "--reject-with icmp-port-unreachable"
                                                                          : "--reject-with icmp6-port-unreachable"));
  if (rule.target == "DNAT") add("--to-destination " + rule.toDestination);
  if (rule.target == "MARK") add("--set-xmark " + hex(rule.orMark) + "/" + hex(rule.orMark));
  return out;
}

}  // namespace cnikit::toolkit
