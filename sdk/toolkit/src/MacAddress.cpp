#include <cnikit/toolkit/MacAddress.hpp>

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <random>

namespace cnikit::toolkit {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
  MacAddress mac;
  bool good = text.size() == 17 && (text[2] == ':' || text[2] == '-');
  const char separator = good ? text[2] : ':';
  for (size_t i = 0; good && i < 6; ++i) {
    int hi = hexValue(text[i * 3]);
    int lo = hexValue(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != separator))
      good = false;
    else
      mac.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!good) return Error{EINVAL, "'" + std::string(text) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)"};
  return mac;
}

std::string MacAddress::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                bytes[5]);
  return buf;
}

MacAddress MacAddress::randomLocal() {
  MacAddress mac;
  if (::getrandom(mac.bytes.data(), mac.bytes.size(), 0) != static_cast<ssize_t>(mac.bytes.size())) {
    std::random_device device;  // getrandom is missing only on kernels older than 3.17
    for (auto& b : mac.bytes) b = static_cast<uint8_t>(device());
  }
  mac.bytes[0] = static_cast<uint8_t>((mac.bytes[0] & 0xfe) | 0x02);  // unicast, locally administered
  return mac;
}

bool MacAddress::isZero() const {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

}  // namespace cnikit::toolkit
