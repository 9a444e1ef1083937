#include "core/ipam/IpAddress.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace cnikit::ipam {

namespace {

using U128 = unsigned __int128;

constexpr uint64_t kSaturated = uint64_t{1} << 62;

U128 toInt(const IpAddress& ip) {
  U128 value = 0;
  int n = ip.isV4() ? 4 : 16;
  for (int i = 0; i < n; ++i) value = (value << 8) | ip.bytes()[i];
  return value;
}

std::array<uint8_t, 16> toBytes(U128 value, bool v4) {
  std::array<uint8_t, 16> bytes{};
  int n = v4 ? 4 : 16;
  for (int i = n - 1; i >= 0; --i) {
    bytes[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

U128 hostMask(int bits, int prefix) {
  int hostBits = bits - prefix;
  if (hostBits <= 0) return 0;
  if (hostBits >= 128) return ~U128{0};
  return (U128{1} << hostBits) - 1;
}

uint64_t saturatedPow2(int exponent) { return exponent >= 62 ? kSaturated : uint64_t{1} << exponent; }

}  // namespace

std::optional<IpAddress> IpAddress::tryParse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; bound the copy (the longest v6 text is 45).
  if (text.empty() || text.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.v4_ = true;
  } else {
    if (inet_pton(AF_INET6, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.v4_ = false;
  }
  return ip;
}

IpAddress IpAddress::parse(std::string_view text) {
  auto ip = tryParse(text);
  if (!ip) throw std::invalid_argument("'" + std::string(text) + "' is not an IPv4 or IPv6 address");
  return *ip;
}

IpAddress IpAddress::v4(uint32_t hostOrder) {
  IpAddress ip;
  ip.v4_ = true;
  ip.bytes_ = toBytes(hostOrder, true);
  return ip;
}

IpAddress IpAddress::fromBytes(const std::array<uint8_t, 16>& bytes, bool v4) {
  IpAddress ip;
  ip.v4_ = v4;
  if (v4) {
    std::copy_n(bytes.begin(), 4, ip.bytes_.begin());
  } else {
    ip.bytes_ = bytes;
  }
  return ip;
}

int IpAddress::family() const { return v4_ ? AF_INET : AF_INET6; }

std::string IpAddress::str() const {
  char buf[64];
  if (v4_) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
    return buf;
  }
  // RFC 5952: lowercase hex without leading zeros; the longest run of two or more zero
  // groups (the first of equals) becomes "::"; IPv4-mapped addresses end in dotted quad.
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = static_cast<uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  bool mapped = std::all_of(groups, groups + 5, [](uint16_t g) { return g == 0; }) && groups[5] == 0xffff;
  int count = mapped ? 6 : 8;
  int bestStart = -1, bestLen = 0;
  for (int i = 0; i < count;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < count && groups[j] == 0) ++j;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i == bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", groups[i]);
    out += buf;
  }
  if (mapped) {
    if (out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[12], bytes_[13], bytes_[14], bytes_[15]);
    out += buf;
  }
  return out;
}

IpAddress IpAddress::offset(int64_t n) const {
  U128 value = toInt(*this) + static_cast<U128>(static_cast<__int128>(n));
  if (v4_) value &= 0xffffffffu;
  IpAddress out;
  out.v4_ = v4_;
  out.bytes_ = toBytes(value, v4_);
  return out;
}

std::optional<Cidr> Cidr::tryParse(std::string_view text, bool allowHostBits) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddress::tryParse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  auto digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  int prefix = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 || prefix > ip->bits()) {
    return std::nullopt;
  }
  Cidr cidr(*ip, prefix);
  if (!allowHostBits && cidr.network() != *ip) return std::nullopt;
  return cidr;
}

Cidr Cidr::parse(std::string_view text, bool allowHostBits) {
  auto cidr = tryParse(text, allowHostBits);
  if (cidr) return *cidr;
  // Say which part was wrong.
  std::string why = "is not a CIDR (address/prefix)";
  auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    auto ip = IpAddress::tryParse(text.substr(0, slash));
    if (!ip) {
      why = "does not start with an IP address";
    } else if (auto loose = tryParse(text, true); loose && !allowHostBits) {
      why = "has host bits set (did you mean " + Cidr(loose->network(), loose->prefixLength()).str() + "?)";
    } else {
      why = "has a bad prefix length (0-" + std::to_string(ip->bits()) + ")";
    }
  }
  throw std::invalid_argument("'" + std::string(text) + "' " + why);
}

Cidr::Cidr(IpAddress address, int prefixLength) : address_(address), prefix_(prefixLength) {
  if (prefixLength < 0 || prefixLength > address.bits()) {
    throw std::invalid_argument("prefix length " + std::to_string(prefixLength) + " out of range for " + address.str());
  }
}

IpAddress Cidr::network() const {
  return IpAddress::fromBytes(toBytes(toInt(address_) & ~hostMask(address_.bits(), prefix_), isV4()), isV4());
}

IpAddress Cidr::broadcast() const {
  return IpAddress::fromBytes(toBytes(toInt(address_) | hostMask(address_.bits(), prefix_), isV4()), isV4());
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.isV4() != isV4()) return false;
  U128 mask = ~hostMask(address_.bits(), prefix_);
  return (toInt(ip) & mask) == (toInt(address_) & mask);
}

bool Cidr::contains(const Cidr& other) const { return other.prefix_ >= prefix_ && contains(other.address_); }

bool Cidr::overlaps(const Cidr& other) const { return contains(other.address_) || other.contains(address_); }

uint64_t Cidr::size() const { return saturatedPow2(address_.bits() - prefix_); }

uint64_t Cidr::subnetCount(int newPrefix) const {
  if (newPrefix < prefix_ || newPrefix > address_.bits()) return 0;
  return saturatedPow2(newPrefix - prefix_);
}

Cidr Cidr::subnet(int newPrefix, uint64_t n) const {
  if (newPrefix < prefix_ || newPrefix > address_.bits()) {
    throw std::out_of_range("cannot split " + str() + " into /" + std::to_string(newPrefix) + " subnets");
  }
  if (n >= subnetCount(newPrefix)) {
    throw std::out_of_range(str() + " has no /" + std::to_string(newPrefix) + " subnet number " + std::to_string(n));
  }
  int shift = address_.bits() - newPrefix;
  U128 base = toInt(network()) + (shift >= 128 ? 0 : static_cast<U128>(n) << shift);
  return Cidr(IpAddress::fromBytes(toBytes(base, isV4()), isV4()), newPrefix);
}

std::string Cidr::str() const { return address_.str() + "/" + std::to_string(prefix_); }

}  // namespace cnikit::ipam
