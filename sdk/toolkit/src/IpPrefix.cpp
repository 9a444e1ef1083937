#include <cnikit/toolkit/IpPrefix.hpp>

#include <cerrno>
#include <charconv>
#include <stdexcept>

#include "HostMask.hpp"
#include "IpAddressText.hpp"

namespace cnikit::toolkit {

namespace {

// One parser for both flavours: why is filled only when the caller wants a message.
std::optional<IpPrefix> parsePrefix(std::string_view text, const PrefixParseOptions& options, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<IpPrefix> {
    if (why) *why = detail::quoted(text) + " " + reason;
    return std::nullopt;
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (options.bareAddress) {
      if (auto address = IpAddress::tryParse(text)) return IpPrefix::host(*address);
      if (why) *why = detail::whyNotAnAddress(text) + " or prefix (a.b.c.d/n or x::y/n)";
      return std::nullopt;
    }
    return fail("is not an address/prefix-length (a.b.c.d/n or x::y/n)");
  }
  auto addressText = text.substr(0, slash);
  auto address = IpAddress::tryParse(addressText);
  if (!address) {
    if (!why) return std::nullopt;
    return fail("does not start with an IP address: " + detail::whyNotAnAddress(addressText));
  }
  auto digits = text.substr(slash + 1);
  int length = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (digits.empty() || digits.size() > 3 || ec != std::errc() || end != digits.data() + digits.size() || length < 0 ||
      length > address->bits()) {
    return fail("has a bad prefix length (0-" + std::to_string(address->bits()) + ")");
  }
  IpPrefix prefix(*address, length);
  if (!prefix.hasHostBits() || options.hostBits == HostBits::Keep) return prefix;
  if (options.hostBits == HostBits::Clear) return prefix.masked();
  return fail("has host bits set (did you mean " + prefix.masked().str() + "?)");
}

}  // namespace

IpPrefix::IpPrefix(const IpAddress& address, int length) : address_(address), length_(length) {
  if (length < 0 || length > address.bits()) {
    throw std::invalid_argument("prefix length " + std::to_string(length) + " is out of range for " + address.str());
  }
}

IpPrefix IpPrefix::host(const IpAddress& address) { return IpPrefix(address, address.bits()); }

Result<IpPrefix> IpPrefix::parse(std::string_view text, const PrefixParseOptions& options) {
  std::string why;
  if (auto prefix = parsePrefix(text, options, &why)) return *prefix;
  return Error{EINVAL, why};
}

std::optional<IpPrefix> IpPrefix::tryParse(std::string_view text, const PrefixParseOptions& options) {
  return parsePrefix(text, options, nullptr);
}

IpAddress IpPrefix::network() const {
  return IpAddress::fromInteger(family(), address_.toInteger() & ~detail::hostMask(address_.bits(), length_));
}

IpAddress IpPrefix::last() const {
  return IpAddress::fromInteger(family(), address_.toInteger() | detail::hostMask(address_.bits(), length_));
}

IpPrefix IpPrefix::masked() const { return IpPrefix(network(), length_); }

bool IpPrefix::contains(const IpAddress& address) const {
  if (address.family() != family()) return false;
  auto mask = ~detail::hostMask(address_.bits(), length_);
  return (address.toInteger() & mask) == (address_.toInteger() & mask);
}

bool IpPrefix::contains(const IpPrefix& other) const { return other.length_ >= length_ && contains(other.address_); }

bool IpPrefix::overlaps(const IpPrefix& other) const { return contains(other.address_) || other.contains(address_); }

std::string IpPrefix::str() const { return address_.str() + "/" + std::to_string(length_); }

}  // namespace cnikit::toolkit
