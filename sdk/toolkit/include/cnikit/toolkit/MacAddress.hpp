#pragma once
// Ethernet MAC address, parsed from "aa:bb:cc:dd:ee:ff" (or '-'-separated, as CNI_ARGS
// MAC= may carry it) and printed with ':'.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // EINVAL naming the text unless it is six hex octets separated by ':' (or all by '-').
  static Result<MacAddress> parse(std::string_view text);
  // A random locally administered unicast address, what the kernel gives a new veth: set it
  // at creation and the caller knows the MAC without asking the kernel.
  static MacAddress randomLocal();
  std::string str() const;  // lower case
  bool isZero() const;
  bool operator==(const MacAddress&) const = default;
};

}  // namespace cnikit::toolkit
