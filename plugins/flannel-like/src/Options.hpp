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

struct Options {
  Mode mode = Mode::kBridge;
  std::string bridge = "cni0";  // the Linux bridge pods are attached to
  bool masquerade = false;      // SNAT pod traffic leaving the pool CIDR
  uint32_t mtu = 0;             // 0 = the request's MTU, else derived from the underlay MTU
  bool hairpin = false;         // hairpin mode on the pods' bridge ports
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
