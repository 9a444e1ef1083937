#include "tools/lab/LabPaths.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace cnikit::lab {

namespace {
bool lowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

void validateLabName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 24 && lowerOrDigit(name[0]);
  for (char c : name) ok = ok && (lowerOrDigit(c) || c == '_');
  if (!ok)
    throw std::invalid_argument("lab name '" + name +
                                "' must be 1-24 characters of a-z, 0-9 and '_', starting with a letter or digit "
                                "(no '-': it separates the parts of the lab's namespace names)");
}

void validateNodeName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 40 && lowerOrDigit(name.front()) && lowerOrDigit(name.back());
  for (char c : name) ok = ok && (lowerOrDigit(c) || c == '-');
  if (!ok)
    throw std::invalid_argument("node name '" + name +
                                "' must be a DNS label (a-z, 0-9, '-') of at most 40 characters");
  if (name == "fabric" || name == "external" || name.rfind("pod-", 0) == 0)
    throw std::invalid_argument("node name '" + name +
                                "' is reserved (it names the fabric, the outside client or a pod namespace)");
}

std::filesystem::path labRoot() {
  const char* env = std::getenv("CNIKIT_LAB_ROOT");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path(kLabRoot);
}

std::filesystem::path labDir(const std::string& lab) { return labRoot() / lab; }
std::filesystem::path stateFile(const std::string& lab) { return labDir(lab) / "state.json"; }

std::string netnsPrefix(const std::string& lab) { return std::string(kNetnsPrefix) + lab + "-"; }
std::string netnsName(const std::string& lab, const std::string& part) { return netnsPrefix(lab) + part; }
std::string netnsPath(const std::string& name) { return std::string(kNetnsDir) + "/" + name; }

std::string podNetnsPart(const std::string& ns, const std::string& name) {
  std::string part = "pod-" + ns + "-" + name;
  if (part.size() <= 160) return part;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(ns + "/" + name));
  return part.substr(0, 140) + "-" + hash;
}

}  // namespace cnikit::lab
