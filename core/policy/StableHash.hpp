#pragma once
// Stable short ids from text (FNV-1a 64, as 16 hex digits): address set ids and iptables
// chain names must be the same in every process and across restarts.
#include <cstdint>
#include <cstdio>
#include <string>

namespace cnikit::policy {

inline std::string stableHashHex(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

}  // namespace cnikit::policy
