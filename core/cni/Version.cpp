#include "core/cni/Version.hpp"

#include <array>
#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace cnikit::cni {
namespace {

// "x.y.z" with decimal numbers only; anything else is not a spec version.
std::array<unsigned, 3> splitVersion(const std::string& text) {
  std::array<unsigned, 3> parts{};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < parts.size(); ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc() || next == p) {
      throw std::invalid_argument("\"" + text + "\" is not a version of the form x.y.z");
    }
    p = next;
    if (i + 1 < parts.size()) {
      if (p == end || *p != '.') {
        throw std::invalid_argument("\"" + text + "\" is not a version of the form x.y.z");
      }
      ++p;
    }
  }
  if (p != end) throw std::invalid_argument("\"" + text + "\" is not a version of the form x.y.z");
  return parts;
}

}  // namespace

const std::vector<std::string>& supportedVersions() {
  static const std::vector<std::string> versions{"0.1.0", "0.2.0", "0.3.0", "0.3.1",
                                                 "0.4.0", "1.0.0", "1.1.0"};
  return versions;
}

bool isSupported(const std::string& version) {
  for (const auto& v : supportedVersions()) {
    if (v == version) return true;
  }
  return false;
}

std::string supportedVersionsText() {
  std::string text;
  for (const auto& v : supportedVersions()) {
    if (!text.empty()) text += ", ";
    text += v;
  }
  return text;
}

int compareVersions(const std::string& a, const std::string& b) {
  auto x = splitVersion(a);
  auto y = splitVersion(b);
  if (x < y) return -1;
  if (y < x) return 1;
  return 0;
}

std::optional<std::string> highestSupported(const std::vector<std::string>& offered) {
  std::optional<std::string> best;
  for (const auto& v : offered) {
    if (!isSupported(v)) continue;
    if (!best || compareVersions(v, *best) > 0) best = v;
  }
  return best;
}

std::string renderVersionInfo(const std::string& configVersion) {
  // The spec echoes the version given on input, even one we do not speak: the runtime
  // compares it against supportedVersions itself.
  nlohmann::json j = {
      {"cniVersion", configVersion.empty() ? std::string(kNewestVersion) : configVersion},
      {"supportedVersions", supportedVersions()},
  };
  return j.dump();
}

}  // namespace cnikit::cni
