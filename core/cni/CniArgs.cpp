#include "core/cni/CniArgs.hpp"

#include <algorithm>
#include <cctype>

#include "core/cni/Error.hpp"

namespace cnikit::cni {

std::map<std::string, std::string> parseCniArgs(const std::string& text) {
  std::map<std::string, std::string> args;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(pos, end - pos);
    pos = end + 1;
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CniError(kInvalidEnvironment,
                     "CNI_ARGS: \"" + pair + "\" is not a KEY=VALUE pair (in \"" + text + "\")");
    }
    args[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return args;
}

bool parseArgsBool(const std::string& key, const std::string& value) {
  std::string lower = value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "1" || lower == "true") return true;
  if (lower == "0" || lower == "false") return false;
  throw CniError(kInvalidEnvironment,
                 "CNI_ARGS: " + key + "=" + value + " is not a boolean (use 1, true, 0 or false)");
}

}  // namespace cnikit::cni
