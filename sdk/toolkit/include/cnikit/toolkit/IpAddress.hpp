#pragma once
// One IPv4 or IPv6 address as a value: parsed from text (boost::asio::ip underneath), printed
// canonically, compared and ordered (v4 before v6), stepped. The one address type of core,
// the tools and backends.
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

// An address as an unsigned number (IPv4 in the low 32 bits), for range arithmetic.
__extension__ typedef unsigned __int128 IpInteger;

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0

  // "10.244.1.5", "fd00::5". EINVAL naming the text when it is anything else, including
  // IPv4 with leading zeros ("010.0.0.1": octal to some parsers, decimal to others) and IPv6
  // with a zone ("fe80::1%eth0": an address of one link, not of the network). An IPv4-mapped
  // IPv6 address ("::ffff:10.0.0.1") stays IPv6: see isV4Mapped().
  static Result<IpAddress> parse(std::string_view text);
  // The same without building a message, for hot paths and yes/no checks.
  static std::optional<IpAddress> tryParse(std::string_view text);
  static IpAddress v4(uint32_t hostOrder);
  // From network-order bytes: 4 for AF_INET, 16 for AF_INET6 (netlink, sockets).
  static IpAddress fromBytes(int family, const uint8_t* bytes);
  static IpAddress unspecified(int family);  // 0.0.0.0 or ::
  // The low 32 (AF_INET) or 128 (AF_INET6) bits of value.
  static IpAddress fromInteger(int family, IpInteger value);

  int family() const { return family_; }  // AF_INET or AF_INET6
  bool isV4() const { return family_ == AF_INET; }
  bool isV6() const { return family_ == AF_INET6; }
  int bits() const { return isV4() ? 32 : 128; }
  size_t size() const { return isV4() ? 4 : 16; }  // bytes
  // Network order; IPv4 in [0..3] and zeros after.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  IpInteger toInteger() const;
  bool isUnspecified() const;  // 0.0.0.0 or ::
  bool isV4Mapped() const;     // ::ffff:a.b.c.d

  // IPv4 dotted decimal; IPv6 as RFC 5952 says (lower case, longest zero run as "::",
  // "::ffff:a.b.c.d" for a mapped address).
  std::string str() const;

  // this + n (n may be negative); wraps around within the family (255.255.255.255 + 1 is
  // 0.0.0.0).
  IpAddress offset(int64_t n) const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  int family_ = AF_INET;
  std::array<uint8_t, 16> bytes_{};
};

}  // namespace cnikit::toolkit
