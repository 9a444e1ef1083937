#include "core/k8s/IpNet.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace cnikit::k8s {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  IpAddr ip;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    ip.v4 = true;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    ip.v4 = false;
  }
  return ip;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

namespace {

bool samePrefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int prefix) {
  int full = prefix / 8;
  for (int i = 0; i < full; ++i)
    if (a[i] != b[i]) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

std::optional<IpNet> IpNet::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  auto lenText = text.substr(slash + 1);
  int len = -1;
  auto [end, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
  if (ec != std::errc() || end != lenText.data() + lenText.size() || lenText.empty()) return std::nullopt;
  if (len < 0 || len > ip->bits()) return std::nullopt;
  IpNet net;
  net.prefix = len;
  net.address = *ip;
  // Clear host bits.
  for (int bit = len; bit < ip->bits(); ++bit) net.address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return net;
}

bool IpNet::contains(const IpAddr& ip) const {
  return ip.v4 == address.v4 && samePrefix(address.bytes, ip.bytes, prefix);
}

bool IpNet::contains(const IpNet& other) const {
  return other.address.v4 == address.v4 && other.prefix >= prefix &&
         samePrefix(address.bytes, other.address.bytes, prefix);
}

std::string IpNet::str() const { return address.str() + "/" + std::to_string(prefix); }

}  // namespace cnikit::k8s
