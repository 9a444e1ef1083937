#include <cnikit/toolkit/IpAddress.hpp>

#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "IpAddressText.hpp"

namespace cnikit::toolkit {

namespace {

// The longest address text is 45 characters ("ffff:...:255.255.255.255").
constexpr size_t kMaxText = 63;

bool hasLeadingZero(std::string_view v4Text) {
  for (size_t i = 0; i + 1 < v4Text.size(); ++i) {
    bool octetStart = i == 0 || v4Text[i - 1] == '.';
    if (octetStart && v4Text[i] == '0' && v4Text[i + 1] >= '0' && v4Text[i + 1] <= '9') return true;
  }
  return false;
}

}  // namespace

namespace detail {

std::string quoted(std::string_view text) {
  constexpr size_t kShown = 100;  // a megabyte of garbage is named by its start
  if (text.size() <= kShown) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kShown)) + "...'";
}

std::string whyNotAnAddress(std::string_view text) {
  std::string why = quoted(text) + " is not an IPv4 or IPv6 address";
  if (text.find('%') != std::string_view::npos) {
    why += " (zone ids are not allowed)";
  } else if (text.find(':') == std::string_view::npos && hasLeadingZero(text)) {
    why += " (leading zeros are not allowed)";
  }
  return why;
}

}  // namespace detail

std::optional<IpAddress> IpAddress::tryParse(std::string_view text) {
  // inet_pton (under asio) reads a C string: bound the copy, and an embedded NUL must not
  // end the text early.
  if (text.empty() || text.size() > kMaxText || text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[kMaxText + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  boost::system::error_code ec;
  if (text.find(':') == std::string_view::npos) {
    // glibc's inet_pton refuses leading zeros, as Go's net.ParseIP does.
    auto v4 = boost::asio::ip::make_address_v4(buf, ec);
    if (ec) return std::nullopt;
    return fromBytes(AF_INET, v4.to_bytes().data());
  }
  // asio would resolve a zone ("%eth0") through if_nametoindex: refuse it first.
  if (text.find('%') != std::string_view::npos) return std::nullopt;
  auto v6 = boost::asio::ip::make_address_v6(buf, ec);
  if (ec || v6.scope_id() != 0) return std::nullopt;
  return fromBytes(AF_INET6, v6.to_bytes().data());
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  if (auto ip = tryParse(text)) return *ip;
  return Error{EINVAL, detail::whyNotAnAddress(text)};
}

IpAddress IpAddress::v4(uint32_t hostOrder) { return fromInteger(AF_INET, hostOrder); }

IpAddress IpAddress::fromInteger(int family, IpInteger value) {
  uint8_t bytes[16];
  size_t n = family == AF_INET ? 4 : 16;
  for (size_t i = n; i-- > 0;) {
    bytes[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
  return fromBytes(family, bytes);
}

IpInteger IpAddress::toInteger() const {
  IpInteger value = 0;
  for (size_t i = 0; i < size(); ++i) value = (value << 8) | bytes_[i];
  return value;
}

IpAddress IpAddress::fromBytes(int family, const uint8_t* bytes) {
  if (family != AF_INET && family != AF_INET6) {
    throw std::invalid_argument("address family " + std::to_string(family) + " is not AF_INET or AF_INET6");
  }
  IpAddress ip;
  ip.family_ = family;
  std::copy_n(bytes, ip.size(), ip.bytes_.begin());
  return ip;
}

IpAddress IpAddress::unspecified(int family) {
  const uint8_t zeros[16] = {};
  return fromBytes(family, zeros);
}

bool IpAddress::isUnspecified() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t b) { return b == 0; });
}

bool IpAddress::isV4Mapped() const {
  return isV6() && std::all_of(bytes_.begin(), bytes_.begin() + 10, [](uint8_t b) { return b == 0; }) &&
         bytes_[10] == 0xff && bytes_[11] == 0xff;
}

std::string IpAddress::str() const {
  char buf[64];
  if (isV4()) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
    return buf;
  }
  // RFC 5952 by hand: glibc's inet_ntop (under asio's to_string) writes "::2:3" as
  // "::0.2.0.3", the deprecated IPv4-compatible form.
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = static_cast<uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  const bool mapped = isV4Mapped();
  const int count = mapped ? 6 : 8;
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  int bestStart = -1, bestLen = 1;
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
  // Two's complement: adding the 128-bit image of a negative n subtracts; fromInteger keeps
  // the family's low bits, which is the wrap.
  return fromInteger(family_, toInteger() + static_cast<IpInteger>(static_cast<__int128>(n)));
}

}  // namespace cnikit::toolkit
