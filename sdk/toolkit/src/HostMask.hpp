#pragma once
// Private: prefix masks over IpInteger.
#include <cnikit/toolkit/IpAddress.hpp>

namespace cnikit::toolkit::detail {

// The host part of a prefix of length prefix in an address of bits bits.
inline IpInteger hostMask(int bits, int prefix) {
  int hostBits = bits - prefix;
  if (hostBits <= 0) return 0;
  if (hostBits >= 128) return ~IpInteger{0};
  return (IpInteger{1} << hostBits) - 1;
}

}  // namespace cnikit::toolkit::detail
