#include <cnikit/toolkit/IpPrefix.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>

namespace cnikit::toolkit {

Result<IpAddress> IpAddress::parse(const std::string& text) {
  IpAddress a;
  if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return Error{EINVAL, "'" + text + "' is not an IPv4 or IPv6 address"};
}

size_t IpAddress::size() const { return family == AF_INET ? 4 : 16; }

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "<no address>";
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

bool IpAddress::isZero() const {
  for (size_t i = 0; i < size(); ++i)
    if (bytes[i] != 0) return false;
  return true;
}

Result<IpPrefix> IpPrefix::parse(const std::string& text) {
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return Error{EINVAL, "'" + text + "' is not an IP address with prefix length (a.b.c.d/n or x::y/n)"};
  IpPrefix p{address.value(), static_cast<int>(address.value().size() * 8)};
  if (slash != std::string::npos) {
    const char* begin = text.data() + slash + 1;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, p.prefixLen);
    if (begin == end || ec != std::errc() || ptr != end || p.prefixLen < 0 ||
        p.prefixLen > static_cast<int>(p.address.size() * 8))
      return Error{EINVAL, "'" + text + "' has an invalid prefix length"};
  }
  return p;
}

std::string IpPrefix::str() const { return address.str() + "/" + std::to_string(prefixLen); }

IpPrefix IpPrefix::network() const {
  IpPrefix n = *this;
  for (size_t i = 0; i < n.address.size(); ++i) {
    int bitsHere = prefixLen - static_cast<int>(i * 8);
    if (bitsHere >= 8) continue;
    n.address.bytes[i] &= bitsHere <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bitsHere));
  }
  return n;
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  IpPrefix other{a, prefixLen};
  return other.network().address == network().address;
}

}  // namespace cnikit::toolkit
