#pragma once
// A CNI invocation: environment (CNI_*) plus the network configuration on stdin, parsed
// and validated the way the spec says, with errors that name what was wrong.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cni/Result.hpp"

namespace cnikit::cni {

enum class Command { Add, Del, Check, Status, Gc, Version };
Command parseCommand(const std::string& text);  // throws CniError(kInvalidEnvironment)
const char* commandName(Command c);

struct Attachment {
  std::string containerId;
  std::string ifname;
};

// The plugin configuration cnikit reads. Unknown fields are ignored (spec); known fields
// of the wrong type are kInvalidNetworkConfig naming the field.
struct NetConf {
  std::string cniVersion;               // resolved: cniVersion, or highest of cniVersions
  std::string name;
  std::string type;
  std::string agentSocket;              // default /run/cnikit/cnikitd.sock
  std::optional<int> mtu;
  std::string pool;                     // optional: ask for a pool by name
  // runtimeConfig
  std::vector<std::string> runtimeIps;  // runtimeConfig.ips (CIDR or bare address)
  std::string runtimeMac;               // runtimeConfig.mac
  std::optional<Result> prevResult;
  std::vector<Attachment> validAttachments;  // GC: cni.dev/valid-attachments
  nlohmann::json raw;                   // the whole config as given
};

inline constexpr const char* kDefaultAgentSocket = "/run/cnikit/cnikitd.sock";

struct Request {
  Command command;
  std::string containerId;
  std::string netns;
  std::string ifname;
  std::string path;
  std::map<std::string, std::string> args;  // CNI_ARGS, K=V;K=V
  NetConf conf;
  // From CNI_ARGS / runtimeConfig, already merged: runtimeConfig wins over CNI_ARGS.
  std::vector<std::string> requestedIps;
  std::string requestedMac;
  std::string podNamespace;  // K8S_POD_NAMESPACE
  std::string podName;       // K8S_POD_NAME
};

// Parses env (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH) and
// the stdin config. Requirements per command follow the spec: ADD needs CNI_CONTAINERID,
// CNI_NETNS, CNI_IFNAME; CHECK the same; DEL needs CNI_CONTAINERID and CNI_IFNAME (netns may
// be empty); STATUS/GC/VERSION need none. CNI_ARGS keys other than IgnoreUnknown,
// K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID, IP, MAC are an
// error (kInvalidEnvironment) unless IgnoreUnknown=1|true. The config version must be
// supported (kIncompatibleVersion), and the command must exist in it (CHECK >= 0.4.0,
// STATUS and GC >= 1.1.0). Throws CniError.
Request parseRequest(const std::map<std::string, std::string>& env, const std::string& stdinText);

// Best effort cniVersion of a raw stdin (for rendering errors before parsing succeeded).
std::string sniffVersion(const std::string& stdinText);

}  // namespace cnikit::cni
