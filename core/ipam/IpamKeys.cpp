#include "core/ipam/IpamKeys.hpp"

#include <algorithm>
#include <cstdio>

namespace cnikit::ipam::keys {

namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out(kRoot);
  for (auto part : parts) out += part;
  return out;
}

}  // namespace

std::string ipText(const toolkit::IpAddress& ip) {
  if (ip.isV4()) return ip.str();
  const auto& b = ip.bytes();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

std::string cidrText(const toolkit::IpPrefix& cidr) {
  std::string text = cidr.str();
  std::replace(text.begin(), text.end(), '/', '_');
  return text;
}

std::optional<toolkit::IpPrefix> parseCidrText(std::string_view text) {
  std::string copy(text);
  auto underscore = copy.rfind('_');
  if (underscore == std::string::npos) return std::nullopt;
  copy[underscore] = '/';
  return toolkit::IpPrefix::tryParse(copy, {.hostBits = toolkit::HostBits::Refuse});
}

std::string subnetPrefix(std::string_view pool) { return join({"subnets/", pool, "/"}); }

std::string subnet(std::string_view pool, const toolkit::IpPrefix& subnet) {
  return subnetPrefix(pool) + cidrText(subnet);
}

std::string addressPrefix(std::string_view pool) { return join({"addresses/", pool, "/"}); }

std::string address(std::string_view pool, const toolkit::IpAddress& ip) { return addressPrefix(pool) + ipText(ip); }

std::vector<std::string> addressScanPrefixes(std::string_view pool, const toolkit::IpPrefix& subnet) {
  std::string base = addressPrefix(pool);
  std::string net = ipText(subnet.network());
  int prefix = subnet.prefixLength();
  std::vector<std::string> out;
  if (subnet.isV4()) {
    const auto b = subnet.network().bytes();
    int full = prefix / 8, rem = prefix % 8;
    auto octets = [&](int n) {
      std::string s;
      for (int i = 0; i < n; ++i) s += std::to_string(b[i]) + ".";
      return s;
    };
    if (full >= 3) {
      out.push_back(base + octets(3));  // the /24 around it; callers filter
    } else if (rem == 0) {
      out.push_back(base + octets(full));
    } else {
      // Decimal octets have no common text prefix across a partial octet: one prefix per
      // value of that octet (at most 128).
      int span = 1 << (8 - rem);
      for (int v = b[full]; v < b[full] + span; ++v) out.push_back(base + octets(full) + std::to_string(v) + ".");
    }
  } else {
    // Fixed-width hex: the first prefix/4 nibbles (with their colons) are shared.
    int nibbles = prefix / 4;
    size_t chars = std::min<size_t>(nibbles + nibbles / 4, net.size());
    out.push_back(base + net.substr(0, chars));
  }
  return out;
}

std::string handlePrefix(std::string_view node) { return join({"handles/", node, "/"}); }

std::string handle(std::string_view node, std::string_view containerId, std::string_view ifname) {
  return handlePrefix(node) + std::string(containerId) + "/" + std::string(ifname);
}

std::string last(std::string_view pool, const toolkit::IpPrefix& subnet) {
  return join({"last/", pool, "/"}) + cidrText(subnet);
}

}  // namespace cnikit::ipam::keys
