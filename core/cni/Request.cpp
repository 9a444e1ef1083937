#include "core/cni/Request.hpp"

#include <sys/un.h>

#include <cctype>

#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/MacAddress.hpp>

#include "core/cni/CniArgs.hpp"
#include "core/cni/Error.hpp"
#include "core/cni/JsonText.hpp"
#include "core/cni/Version.hpp"

namespace cnikit::cni {
namespace {

using nlohmann::json;

// runtimeConfig.ips and CNI_ARGS IP= carry an address with or without a prefix length.
bool isIpOrCidr(std::string_view text) { return toolkit::IpPrefix::tryParse(text, {.bareAddress = true}).has_value(); }

// GC's list of attachments still in use. libcni sends "cni.dev/valid-attachments"; the
// 1.1.0 spec text says "cni.dev/attachments", so both are read (the first one wins).
constexpr const char* kValidAttachmentsKey = "cni.dev/valid-attachments";
constexpr const char* kAttachmentsKeyInSpecText = "cni.dev/attachments";

constexpr int kMinMtu = 68;  // IPv4 minimum; IPv6 needs 1280 but the family is not known here
constexpr int kMaxMtu = 65535;

// CNI_ARGS keys cnikit understands; anything else needs IgnoreUnknown.
constexpr const char* kKnownArgs[] = {"IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME",
                                      "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID", "IP", "MAC"};

[[noreturn]] void invalidConfig(const std::string& field, const std::string& what) {
  throw CniError(kInvalidNetworkConfig, "network configuration field \"" + field + "\": " + what);
}

const json* member(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string optionalString(const json& obj, const char* name, const std::string& field) {
  const json* v = member(obj, name);
  if (!v) return {};
  if (!v->is_string()) invalidConfig(field, "expected a string, got " + jsonText(*v));
  return v->get<std::string>();
}

// The spec's rule for container IDs and network names.
bool isCniName(const std::string& s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// What the kernel accepts as a link name (dev_valid_name).
std::string interfaceNameProblem(const std::string& name) {
  if (name.size() > 15) return "is longer than 15 characters";
  if (name == "." || name == "..") return "is \".\" or \"..\"";
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || std::isspace(c)) return "contains '/', ':' or whitespace";
  }
  return {};
}

std::string resolveVersion(const json& j) {
  if (const json* v = member(j, "cniVersion")) {
    if (!v->is_string()) invalidConfig("cniVersion", "expected a string, got " + jsonText(*v));
    std::string version = v->get<std::string>();
    if (!version.empty()) {
      if (!isSupported(version)) {
        throw CniError(kIncompatibleVersion, "unsupported CNI version \"" + version +
                                                 "\" in cniVersion; cnikit supports " + supportedVersionsText());
      }
      return version;
    }
  }
  if (const json* list = member(j, "cniVersions")) {
    if (!list->is_array()) invalidConfig("cniVersions", "expected an array of strings, got " + jsonText(*list));
    std::vector<std::string> offered;
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_string()) {
        invalidConfig("cniVersions[" + std::to_string(i) + "]", "expected a string, got " + jsonText((*list)[i]));
      }
      offered.push_back((*list)[i].get<std::string>());
    }
    if (auto best = highestSupported(offered)) return *best;
    if (!offered.empty()) {
      throw CniError(kIncompatibleVersion, "none of the versions in cniVersions " + jsonText(*list) +
                                               " is supported; cnikit supports " + supportedVersionsText());
    }
  }
  invalidConfig("cniVersion", "missing (the spec requires it; cniVersions may offer a list instead)");
}

void requireCommandInVersion(Command command, const std::string& version) {
  const char* needs = nullptr;
  if (command == Command::Check) needs = "0.4.0";
  if (command == Command::Status || command == Command::Gc) needs = "1.1.0";
  if (needs && compareVersions(version, needs) < 0) {
    throw CniError(kIncompatibleVersion, std::string(commandName(command)) + " is not part of CNI " + version +
                                             " (it needs cniVersion " + needs + " or newer)");
  }
}

std::vector<Attachment> parseAttachments(const json& list, const std::string& field) {
  if (!list.is_array()) invalidConfig(field, "expected an array of {containerID, ifname}, got " + jsonText(list));
  std::vector<Attachment> out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto at = field + "[" + std::to_string(i) + "]";
    const json& o = list[i];
    if (!o.is_object()) invalidConfig(at, "expected an object, got " + jsonText(o));
    Attachment a;
    for (auto [key, target] : {std::pair{"containerID", &a.containerId}, std::pair{"ifname", &a.ifname}}) {
      const json* v = member(o, key);
      if (!v || !v->is_string()) {
        invalidConfig(at + "." + key, v ? "expected a string, got " + jsonText(*v) : std::string("missing"));
      }
      *target = v->get<std::string>();
    }
    out.push_back(std::move(a));
  }
  return out;
}

NetConf parseNetConf(json j, Command command) {
  NetConf conf;
  conf.cniVersion = resolveVersion(j);
  requireCommandInVersion(command, conf.cniVersion);

  conf.name = optionalString(j, "name", "name");
  if (conf.name.empty()) invalidConfig("name", "missing (every network configuration needs a name)");
  if (!isCniName(conf.name)) {
    invalidConfig("name", "\"" + conf.name + "\" must start with a letter or digit and hold only letters, digits, '_', '.', '-'");
  }
  conf.type = optionalString(j, "type", "type");
  // The runtime found this executable through "type"; without it the config is not one.
  if (conf.type.empty())
    invalidConfig("type", "missing (every network configuration names its plugin, e.g. \"cnikit\")");
  conf.pool = optionalString(j, "pool", "pool");

  conf.agentSocket = optionalString(j, "agentSocket", "agentSocket");
  if (conf.agentSocket.empty()) {
    conf.agentSocket = kDefaultAgentSocket;
  } else if (conf.agentSocket[0] != '/') {
    // The runtime's working directory is not ours to rely on.
    invalidConfig("agentSocket", "\"" + conf.agentSocket + "\" is not an absolute path");
  } else if (conf.agentSocket.size() >= sizeof(sockaddr_un::sun_path)) {
    invalidConfig("agentSocket", "\"" + conf.agentSocket + "\" is longer than a unix socket path may be (" +
                                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)");
  }

  if (const json* mtu = member(j, "mtu")) {
    if (!mtu->is_number_integer()) invalidConfig("mtu", "expected an integer, got " + jsonText(*mtu));
    auto value = mtu->get<int64_t>();
    if (value < kMinMtu || value > kMaxMtu) {
      invalidConfig("mtu", jsonText(*mtu) + " is outside " + std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu));
    }
    conf.mtu = static_cast<int>(value);
  }

  if (const json* rc = member(j, "runtimeConfig")) {
    if (!rc->is_object()) invalidConfig("runtimeConfig", "expected an object, got " + jsonText(*rc));
    if (const json* ips = member(*rc, "ips")) {
      if (!ips->is_array()) invalidConfig("runtimeConfig.ips", "expected an array of strings, got " + jsonText(*ips));
      for (size_t i = 0; i < ips->size(); ++i) {
        auto field = "runtimeConfig.ips[" + std::to_string(i) + "]";
        const json& ip = (*ips)[i];
        if (!ip.is_string()) invalidConfig(field, "expected a string, got " + jsonText(ip));
        auto text = ip.get<std::string>();
        if (!isIpOrCidr(text)) invalidConfig(field, "\"" + text + "\" is not an IP address or CIDR");
        conf.runtimeIps.push_back(text);
      }
    }
    conf.runtimeMac = optionalString(*rc, "mac", "runtimeConfig.mac");
    if (!conf.runtimeMac.empty() && !toolkit::MacAddress::parse(conf.runtimeMac).ok()) {
      invalidConfig("runtimeConfig.mac", "\"" + conf.runtimeMac + "\" is not a MAC address");
    }
  }

  if (const json* prev = member(j, "prevResult")) {
    conf.prevResult = parseResult(*prev, conf.cniVersion, "prevResult");
  }

  if (const json* list = member(j, kValidAttachmentsKey)) {
    conf.validAttachments = parseAttachments(*list, kValidAttachmentsKey);
  } else if (const json* list = member(j, kAttachmentsKeyInSpecText)) {
    conf.validAttachments = parseAttachments(*list, kAttachmentsKeyInSpecText);
  }

  conf.raw = std::move(j);
  return conf;
}

std::vector<std::string> parseArgsIps(const std::string& value) {
  std::vector<std::string> ips;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t end = value.find(',', pos);
    if (end == std::string::npos) end = value.size();
    std::string ip = value.substr(pos, end - pos);
    pos = end + 1;
    // Trim: "IP=10.0.0.5, fd00::5" is a common way to write it.
    auto first = ip.find_first_not_of(" \t");
    auto last = ip.find_last_not_of(" \t");
    ip = first == std::string::npos ? std::string() : ip.substr(first, last - first + 1);
    if (!isIpOrCidr(ip)) {
      throw CniError(kInvalidEnvironment, "CNI_ARGS: IP=" + value + ": \"" + ip + "\" is not an IP address or CIDR");
    }
    ips.push_back(ip);
  }
  return ips;
}

}  // namespace

Command parseCommand(const std::string& text) {
  if (text == "ADD") return Command::Add;
  if (text == "DEL") return Command::Del;
  if (text == "CHECK") return Command::Check;
  if (text == "STATUS") return Command::Status;
  if (text == "GC") return Command::Gc;
  if (text == "VERSION") return Command::Version;
  if (text.empty()) throw CniError(kInvalidEnvironment, "required environment variable CNI_COMMAND is missing");
  throw CniError(kInvalidEnvironment,
                 "CNI_COMMAND \"" + text + "\" is not one of ADD, DEL, CHECK, STATUS, GC, VERSION");
}

const char* commandName(Command c) {
  switch (c) {
    case Command::Add: return "ADD";
    case Command::Del: return "DEL";
    case Command::Check: return "CHECK";
    case Command::Status: return "STATUS";
    case Command::Gc: return "GC";
    case Command::Version: return "VERSION";
  }
  return "?";
}

Request parseRequest(const std::map<std::string, std::string>& env, const std::string& stdinText) {
  auto get = [&env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };

  Request req;
  req.command = parseCommand(get("CNI_COMMAND"));
  req.containerId = get("CNI_CONTAINERID");
  req.netns = get("CNI_NETNS");
  req.ifname = get("CNI_IFNAME");
  req.path = get("CNI_PATH");

  // Required variables per command (spec section 2).
  std::vector<const char*> required;
  if (req.command == Command::Add || req.command == Command::Check) {
    required = {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"};
  } else if (req.command == Command::Del) {
    required = {"CNI_CONTAINERID", "CNI_IFNAME"};
  }
  std::string missing;
  for (const char* name : required) {
    if (get(name).empty()) missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) {
    throw CniError(kInvalidEnvironment, std::string("required environment variable(s) ") + missing +
                                            " missing for " + commandName(req.command));
  }
  if (!required.empty()) {
    if (!isCniName(req.containerId)) {
      throw CniError(kInvalidEnvironment, "CNI_CONTAINERID \"" + req.containerId +
                                              "\" must start with a letter or digit and hold only letters, "
                                              "digits, '_', '.', '-'");
    }
    if (auto problem = interfaceNameProblem(req.ifname); !problem.empty()) {
      throw CniError(kInvalidEnvironment, "CNI_IFNAME \"" + req.ifname + "\" " + problem);
    }
  }

  if (req.command == Command::Version) {
    // VERSION reports what we support whatever the config says; nothing else to validate.
    auto version = sniffVersion(stdinText);
    req.conf.cniVersion = version.empty() ? kNewestVersion : version;
    req.conf.agentSocket = kDefaultAgentSocket;
    req.conf.raw = json::parse(stdinText, nullptr, false);
    if (req.conf.raw.is_discarded()) req.conf.raw = nullptr;
    return req;
  }

  req.args = parseCniArgs(get("CNI_ARGS"));
  bool ignoreUnknown = false;
  if (auto it = req.args.find("IgnoreUnknown"); it != req.args.end()) {
    ignoreUnknown = parseArgsBool(it->first, it->second);
  }
  std::vector<std::string> argsIps;
  std::string argsMac;
  for (const auto& [key, value] : req.args) {
    bool known = false;
    for (const char* k : kKnownArgs) known = known || key == k;
    if (!known && !ignoreUnknown) {
      throw CniError(kInvalidEnvironment,
                     "CNI_ARGS: unknown key \"" + key + "\" (add IgnoreUnknown=1 to allow unknown keys)");
    }
    if (key == "IP") argsIps = parseArgsIps(value);
    if (key == "MAC") {
      if (!toolkit::MacAddress::parse(value).ok())
        throw CniError(kInvalidEnvironment, "CNI_ARGS: MAC=" + value + " is not a MAC address");
      argsMac = value;
    }
  }
  if (auto it = req.args.find("K8S_POD_NAMESPACE"); it != req.args.end()) req.podNamespace = it->second;
  if (auto it = req.args.find("K8S_POD_NAME"); it != req.args.end()) req.podName = it->second;

  json j;
  try {
    j = json::parse(stdinText);
  } catch (const json::parse_error& e) {
    throw CniError(kDecodeFailure, std::string("cannot decode the network configuration on stdin: ") + e.what());
  }
  if (!j.is_object()) {
    throw CniError(kDecodeFailure, "the network configuration on stdin is not a JSON object: " + jsonText(j));
  }
  req.conf = parseNetConf(std::move(j), req.command);

  // Capability arguments (runtimeConfig) are the newer, explicit channel: they win.
  req.requestedIps = req.conf.runtimeIps.empty() ? argsIps : req.conf.runtimeIps;
  req.requestedMac = req.conf.runtimeMac.empty() ? argsMac : req.conf.runtimeMac;
  return req;
}

std::string sniffVersion(const std::string& stdinText) {
  auto j = json::parse(stdinText, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  if (auto it = j.find("cniVersion"); it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
    return it->get<std::string>();
  }
  if (auto it = j.find("cniVersions"); it != j.end() && it->is_array()) {
    std::vector<std::string> offered;
    for (const auto& v : *it) {
      if (v.is_string()) offered.push_back(v.get<std::string>());
    }
    if (auto best = highestSupported(offered)) return *best;
  }
  return {};
}

}  // namespace cnikit::cni
