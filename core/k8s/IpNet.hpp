#pragma once
// IPv4/IPv6 addresses and prefixes as Kubernetes objects carry them (status.podIP,
// ipBlock.cidr): parse, print, contain. Small on purpose: policy matching needs nothing more.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnikit::k8s {

struct IpAddr {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 in [0..3]

  static std::optional<IpAddr> parse(std::string_view text);
  int bits() const { return v4 ? 32 : 128; }
  std::string str() const;
  auto operator<=>(const IpAddr&) const = default;
};

struct IpNet {
  IpAddr address;  // host bits cleared
  int prefix = 0;

  // "10.0.0.0/8", "fd00::/64". Host bits are cleared (as Go's net.ParseCIDR does, which the
  // apiserver uses); nullopt for anything else, including a bare address.
  static std::optional<IpNet> parse(std::string_view text);
  bool contains(const IpAddr& ip) const;
  bool contains(const IpNet& other) const;  // other lies inside this (or equals it)
  std::string str() const;
  auto operator<=>(const IpNet&) const = default;
};

}  // namespace cnikit::k8s
