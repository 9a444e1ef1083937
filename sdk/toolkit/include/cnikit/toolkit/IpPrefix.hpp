#pragma once
// IPv4/IPv6 addresses and prefixes parsed from text ("10.244.1.5", "fd00::5/64").
#include <array>
#include <cstdint>
#include <string>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

struct IpAddress {
  int family = 0;                   // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 in the first 4 bytes

  // EINVAL naming the text when it is not an IPv4 or IPv6 address.
  static Result<IpAddress> parse(const std::string& text);
  size_t size() const;  // 4 or 16
  std::string str() const;
  bool isZero() const;
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;  // host bits kept as given ("10.244.1.5/24")
  int prefixLen = 0;

  // "a.b.c.d/n" or "x::y/n"; without "/n" the full length is used. EINVAL names the text.
  static Result<IpPrefix> parse(const std::string& text);
  int family() const { return address.family; }
  std::string str() const;
  IpPrefix network() const;  // host bits cleared
  bool contains(const IpAddress& a) const;
  bool operator==(const IpPrefix&) const = default;
};

}  // namespace cnikit::toolkit
