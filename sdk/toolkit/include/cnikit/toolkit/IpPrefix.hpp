#pragma once
// An address with a prefix length ("10.244.1.5/24", "fd00::/64"): an interface address, a
// route destination, a pool or a policy's ipBlock. The one prefix type of core, the tools
// and backends.
#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include <cnikit/toolkit/IpAddress.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

// What parsing does with host bits ("10.0.0.5/24" has them; "10.0.0.0/24" does not).
enum class HostBits {
  Keep,    // kept as written: an interface address, a CNI result
  Clear,   // cleared, as Go's net.ParseCIDR does (Kubernetes ipBlock.cidr)
  Refuse,  // an error that names the network meant (pool CIDRs)
};

struct PrefixParseOptions {
  HostBits hostBits = HostBits::Keep;
  bool bareAddress = false;  // "10.0.0.1" is read as 10.0.0.1/32 (an exclude list, a requested IP)
};

class IpPrefix {
 public:
  IpPrefix() = default;  // 0.0.0.0/0
  // Throws std::invalid_argument when length is not in 0..address.bits().
  IpPrefix(const IpAddress& address, int length);
  static IpPrefix host(const IpAddress& address);  // /32 or /128

  // "a.b.c.d/n" or "x::y/n": the address as IpAddress::parse takes it, n decimal (at most
  // three digits) in 0..32 or 0..128. EINVAL naming the text and what is wrong with it.
  static Result<IpPrefix> parse(std::string_view text, const PrefixParseOptions& options = {});
  // The same without building a message, for hot paths and yes/no checks.
  static std::optional<IpPrefix> tryParse(std::string_view text, const PrefixParseOptions& options = {});

  const IpAddress& address() const { return address_; }  // host bits as parsed
  int prefixLength() const { return length_; }
  int family() const { return address_.family(); }
  bool isV4() const { return address_.isV4(); }
  bool isV6() const { return address_.isV6(); }

  IpAddress network() const;  // first address: host bits cleared
  IpAddress last() const;     // last address: host bits set (IPv4's broadcast)
  IpPrefix masked() const;    // network()/prefixLength()
  bool hasHostBits() const { return address_ != network(); }

  bool contains(const IpAddress& address) const;  // false for the other family
  bool contains(const IpPrefix& other) const;     // other lies inside this (or equals it)
  bool overlaps(const IpPrefix& other) const;

  std::string str() const;  // "10.244.1.5/24"

  // Family, then address, then length.
  auto operator<=>(const IpPrefix&) const = default;

 private:
  IpAddress address_;
  int length_ = 0;
};

}  // namespace cnikit::toolkit
