#pragma once
// The flannel-like instance options (JSON object from the cluster config).
#include <cstdint>
#include <string>

namespace cnikit::flannel {

enum class Mode {
  kBridge,  // pods on a local bridge only; no routes to other nodes
  kVxlan,   // other nodes' subnets through a kernel VXLAN device
  kHostGw,  // other nodes' subnets routed via their underlay address (one L2 segment)
};

std::string modeName(Mode mode);

// The options as a JSON Schema (the agent validates with it at start; `cnikitctl backend
// describe flannel-like` prints it). Options::parse checks the same and more (names, the
// options that only vxlan takes).
inline constexpr const char* kOptionsSchema = R"schema({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "flannel-like options",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "mode": {"enum": ["bridge", "vxlan", "host-gw"], "default": "bridge",
             "description": "bridge: local pods only; vxlan: other nodes through a VXLAN device; host-gw: routes via the other nodes' underlay addresses"},
    "bridge": {"type": "string", "minLength": 1, "maxLength": 15, "default": "cni0", "description": "the Linux bridge pods are attached to"},
    "masquerade": {"type": "boolean", "default": false, "description": "SNAT pod traffic that leaves the pool"},
    "mtu": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 0, "description": "pod MTU; 0 = derived from the underlay"},
    "hairpin": {"type": "boolean", "default": true, "description": "hairpin mode on the pods' bridge ports (a pod reaching itself through its Service)"},
    "vni": {"type": "integer", "minimum": 1, "maximum": 16777215, "default": 1, "description": "vxlan: VXLAN network identifier"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 8472, "description": "vxlan: UDP port"},
    "vxlanDevice": {"type": "string", "minLength": 1, "maxLength": 15, "description": "vxlan: device name (default flannel.<vni>)"}
  }
})schema";

struct Options {
  Mode mode = Mode::kBridge;
  std::string bridge = "cni0";  // the Linux bridge pods are attached to
  bool masquerade = false;      // SNAT pod traffic leaving the pool CIDR
  uint32_t mtu = 0;             // 0 = the request's MTU, else derived from the underlay MTU
  bool hairpin = true;          // hairpin mode on the pods' bridge ports, as Flannel's hairpinMode
  uint32_t vni = 1;             // vxlan: VXLAN network identifier
  uint16_t port = 8472;         // vxlan: UDP destination port (flannel's default)
  std::string vxlanDevice;      // vxlan: device name; "" = "flannel.<vni>"

  // Throws cnikit::sdk::Error(CNIKIT_ERR_INVALID_ARGUMENT) naming an unknown key, a value of
  // the wrong type or out of range, or JSON that does not parse.
  static Options parse(const std::string& json);
  std::string toJson() const;
  std::string vxlanDeviceName() const;  // vxlanDevice or "flannel.<vni>"
};

}  // namespace cnikit::flannel
