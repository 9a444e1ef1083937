#pragma once
// Ethernet MAC address, parsed from and printed as "aa:bb:cc:dd:ee:ff".
#include <array>
#include <cstdint>
#include <string>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // EINVAL naming the text unless it is six ':'-separated hex octets.
  static Result<MacAddress> parse(const std::string& text);
  // A random locally administered unicast address, what the kernel gives a new veth: set it
  // at creation and the caller knows the MAC without asking the kernel.
  static MacAddress randomLocal();
  std::string str() const;  // lower case
  bool isZero() const;
  bool operator==(const MacAddress&) const = default;
};

}  // namespace cnikit::toolkit
