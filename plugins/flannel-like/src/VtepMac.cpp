#include "VtepMac.hpp"

namespace cnikit::flannel {

toolkit::MacAddress vtepMac(const std::string& nodeName, uint32_t vni) {
  // FNV-1a (64 bit) over the name, a separator and the VNI.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint8_t c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : nodeName) mix(c);
  mix(0);
  for (int i = 0; i < 4; ++i) mix(static_cast<uint8_t>(vni >> (8 * i)));
  toolkit::MacAddress mac;
  for (int i = 0; i < 6; ++i) mac.bytes[i] = static_cast<uint8_t>(h >> (8 * i));
  mac.bytes[0] = static_cast<uint8_t>((mac.bytes[0] & 0xfc) | 0x02);  // local, unicast
  return mac;
}

}  // namespace cnikit::flannel
