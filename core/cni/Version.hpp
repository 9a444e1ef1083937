#pragma once
// Spec versions cnikit speaks and what each allows.
#include <optional>
#include <string>
#include <vector>

namespace cnikit::cni {

inline constexpr const char* kNewestVersion = "1.1.0";

// Every version cnikit accepts, oldest first: 0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0.
const std::vector<std::string>& supportedVersions();
bool isSupported(const std::string& version);
// "0.1.0, 0.2.0, ..., 1.1.0", for messages.
std::string supportedVersionsText();
// -1, 0, 1 like strcmp; throws std::invalid_argument for text that is not x.y.z.
int compareVersions(const std::string& a, const std::string& b);
// Highest version in `offered` that cnikit supports (the conflist cniVersions field).
std::optional<std::string> highestSupported(const std::vector<std::string>& offered);

// {"cniVersion": configVersion, "supportedVersions": [...]}: the VERSION answer.
std::string renderVersionInfo(const std::string& configVersion);

}  // namespace cnikit::cni
