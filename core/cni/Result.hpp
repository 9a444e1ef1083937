#pragma once
// The CNI result, rendered in any supported spec version.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cnikit::cni {

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;  // netns path for the pod side; empty for host side
  std::optional<int> mtu;  // rendered from 1.1.0 on
  // Added members carry default initializers so {name, mac, sandbox, mtu} still compiles
  // without -Wmissing-field-initializers noise.
  std::string socketPath{};  // 1.1.0 on, optional (vhost-user style interfaces)
  std::string pciId{};       // 1.1.0 on, optional ("pciID" in JSON)
};

struct IpConfig {
  std::string address;  // CIDR notation, "10.244.1.5/24"
  std::string gateway;  // may be empty
  std::optional<int> interfaceIndex;  // index into interfaces
  bool isV4() const { return address.find(':') == std::string::npos; }
};

struct Route {
  std::string dst;                                                  // "0.0.0.0/0"
  std::string gw;                                                   // may be empty
  bool isV4() const { return dst.find(':') == std::string::npos; }  // dst is checked at parse
  // 1.1.0 route attributes; kept so a chained prevResult passes through unchanged.
  std::optional<int> mtu{};
  std::optional<int> advmss{};
  std::optional<int> priority{};
  std::optional<int> table{};
  std::optional<int> scope{};
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool empty() const { return nameservers.empty() && domain.empty() && search.empty() && options.empty(); }
};

struct Result {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
};

// Renders in the given version: 0.1.0/0.2.0 use ip4/ip6, 0.3.x/0.4.0 add "version" to each
// ip, 1.x drop it. Throws CniError(kIncompatibleVersion) for an unsupported version.
nlohmann::json renderResult(const Result& result, const std::string& cniVersion);

// Parses a prevResult written in the given version (for chaining). Throws
// CniError(kDecodeFailure) naming the field that is wrong.
Result parseResult(const nlohmann::json& j, const std::string& cniVersion);
// Same; error messages name fields under `fieldPrefix` (e.g. "prevResult").
Result parseResult(const nlohmann::json& j, const std::string& cniVersion,
                   const std::string& fieldPrefix);

}  // namespace cnikit::cni
