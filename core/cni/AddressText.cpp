#include "core/cni/AddressText.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <string>

namespace cnikit::cni {
namespace {

bool parseIp(std::string_view text, bool& v6) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return false;
  std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

}  // namespace

bool isIpAddress(std::string_view text) {
  bool v6 = false;
  return parseIp(text, v6);
}

bool isCidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  bool v6 = false;
  if (!parseIp(text.substr(0, slash), v6)) return false;
  auto len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3) return false;
  int prefix = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || end != len.data() + len.size()) return false;
  return prefix >= 0 && prefix <= (v6 ? 128 : 32);
}

bool isIpOrCidr(std::string_view text) {
  return text.find('/') == std::string_view::npos ? isIpAddress(text) : isCidr(text);
}

bool isMacAddress(std::string_view text) {
  if (text.size() != 17) return false;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i % 3 == 2) {
      if (text[i] != sep) return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

bool isV6Text(std::string_view text) { return text.find(':') != std::string_view::npos; }

}  // namespace cnikit::cni
