#pragma once
// Kernel VXLAN devices (one VNI, unicast, learning off: the control plane fills the FDB and
// the neighbour table, nothing is learnt from the wire).
#include <cstdint>
#include <optional>
#include <string>

#include <cnikit/toolkit/IpAddress.hpp>
#include <cnikit/toolkit/Link.hpp>

namespace cnikit::toolkit {

struct VxlanSpec {
  std::string name;
  uint32_t vni = 1;
  uint16_t port = 8472;            // UDP destination port (flannel's default; IANA's is 4789)
  std::optional<IpAddress> local;  // source address of the tunnel (IPv4 or IPv6)
  int underlayIndex = 0;           // the device the tunnel's packets leave through; 0 = any
  bool learning = false;           // "nolearning" unless set
  uint32_t mtu = 0;                // 0 = kernel default (underlay MTU - 50/70)
  std::optional<MacAddress> mac;   // the VTEP MAC; kernel-random when absent
  bool up = true;
};

// What the kernel says about an existing VXLAN device.
struct VxlanInfo {
  LinkInfo link;
  uint32_t vni = 0;
  uint16_t port = 0;
  std::optional<IpAddress> local;
  int underlayIndex = 0;
  bool learning = false;
};

// nullopt when no link has that name; EEXIST naming it when the link is not a VXLAN device.
Result<std::optional<VxlanInfo>> findVxlan(NetlinkSocket& sock, const std::string& name);

// Creates the device (EEXIST when the name is taken).
Status createVxlan(NetlinkSocket& sock, const VxlanSpec& spec);

// Makes the device match spec: created when absent; when it exists with another VNI, port,
// local address, underlay device or learning setting (which the kernel cannot change in
// place) it is deleted and created again, which drops every FDB/neighbour entry and route on
// it: `recreated` tells the caller so. MAC, MTU and up are changed in place.
struct EnsuredVxlan {
  VxlanInfo info;
  bool created = false;    // it did not exist
  bool recreated = false;  // it existed with other tunnel parameters
};
Result<EnsuredVxlan> ensureVxlan(NetlinkSocket& sock, const VxlanSpec& spec);

}  // namespace cnikit::toolkit
