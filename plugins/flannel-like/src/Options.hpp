#pragma once
// The flannel-like instance options (JSON object from the cluster config).
#include <cstdint>
#include <string>

namespace cnikit::flannel {

struct Options {
  std::string bridge = "cni0";  // the Linux bridge pods are attached to
  bool masquerade = false;      // SNAT pod traffic leaving the pool CIDR
  uint32_t mtu = 0;             // 0 = the request's MTU, else 1500
  bool hairpin = false;         // hairpin mode on the pods' bridge ports

  // Throws cnikit::sdk::Error(CNIKIT_ERR_INVALID_ARGUMENT) naming an unknown key, a value of
  // the wrong type or out of range, or JSON that does not parse.
  static Options parse(const std::string& json);
  std::string toJson() const;
};

}  // namespace cnikit::flannel
