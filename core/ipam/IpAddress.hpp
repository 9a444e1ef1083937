#pragma once
// IPv4/IPv6 addresses and prefixes as values: parse, print, compare, step, contain.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnikit::ipam {

class IpAddress {
 public:
  IpAddress() = default;
  // Throws std::invalid_argument naming the text when it is not an address.
  static IpAddress parse(std::string_view text);
  static std::optional<IpAddress> tryParse(std::string_view text);
  static IpAddress v4(uint32_t hostOrder);
  // From network-order bytes: the first 4 for IPv4, all 16 for IPv6.
  static IpAddress fromBytes(const std::array<uint8_t, 16>& bytes, bool v4);

  bool isV4() const { return v4_; }
  int family() const;       // AF_INET or AF_INET6
  int bits() const { return v4_ ? 32 : 128; }
  std::string str() const;  // canonical text (RFC 5952 for IPv6)
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }  // network order; v4 in [0..3]

  // this + n (n may be negative); wraps within the family.
  IpAddress offset(int64_t n) const;
  auto operator<=>(const IpAddress&) const = default;

 private:
  bool v4_ = true;
  std::array<uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  Cidr() = default;
  // "10.0.0.0/8", "fd00::/64". Host bits must be zero unless allowHostBits (then they are
  // kept in address() and network() clears them). Throws std::invalid_argument naming text.
  static Cidr parse(std::string_view text, bool allowHostBits = false);
  static std::optional<Cidr> tryParse(std::string_view text, bool allowHostBits = false);
  Cidr(IpAddress address, int prefixLength);

  const IpAddress& address() const { return address_; }
  int prefixLength() const { return prefix_; }
  bool isV4() const { return address_.isV4(); }
  IpAddress network() const;
  IpAddress broadcast() const;  // last address of the range
  bool contains(const IpAddress& ip) const;
  bool contains(const Cidr& other) const;
  bool overlaps(const Cidr& other) const;
  // Number of addresses, saturated at 2^62.
  uint64_t size() const;
  // The nth sub-prefix of length newPrefix (n from 0). Throws std::out_of_range.
  Cidr subnet(int newPrefix, uint64_t n) const;
  uint64_t subnetCount(int newPrefix) const;  // saturated at 2^62
  std::string str() const;                    // "10.0.0.0/8"
  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddress address_;
  int prefix_ = 0;
};

}  // namespace cnikit::ipam
