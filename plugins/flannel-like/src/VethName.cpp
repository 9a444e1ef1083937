#include "VethName.hpp"

#include <cstdint>
#include <cstdio>

namespace cnikit::flannel {

std::string hostVethName(const std::string& containerId, const std::string& ifname) {
  // FNV-1a (32 bit); the NUL separates the two parts so ("ab","c") != ("a","bc").
  uint32_t h = 2166136261u;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 16777619u;
  };
  for (unsigned char c : containerId) mix(c);
  mix(0);
  for (unsigned char c : ifname) mix(c);
  char buf[16];
  std::snprintf(buf, sizeof buf, "veth%08x", h);
  return buf;
}

}  // namespace cnikit::flannel
