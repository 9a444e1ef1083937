#pragma once
// Forwarding database entries of a device itself (NTF_SELF), such as a VXLAN device's
// "MAC -> remote tunnel endpoint" entries (`bridge fdb append MAC dev vx dst IP self
// permanent`). Not for entries of a bridge's ports.
#include <optional>
#include <vector>

#include <cnikit/toolkit/IpAddress.hpp>
#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

namespace cnikit::toolkit {

struct FdbEntry {
  int ifindex = 0;
  MacAddress mac;
  std::optional<IpAddress> destination;  // the remote VTEP (VXLAN); nullopt = none
  bool permanent = true;                 // NUD_PERMANENT: never aged out

  std::string str() const;  // "0e:.. dst 192.168.1.2 dev #5"
  bool operator==(const FdbEntry&) const = default;
};

struct FdbAddOptions {
  // NLM_F_REPLACE instead of NLM_F_APPEND: an existing entry for the MAC gets this
  // destination instead of its old one (the way to move a unicast MAC to a new VTEP).
  bool replace = false;
};

// Adds (MAC, destination) with NLM_F_CREATE|NLM_F_APPEND; an identical entry already there
// is success. The kernel keeps several destinations only for the all-zero and multicast MACs
// (flooding); for a unicast MAC that already has an entry, APPEND changes nothing: use
// replace to move it.
Status addFdbEntry(NetlinkSocket& sock, const FdbEntry& entry, const FdbAddOptions& options = {});
// Deletes exactly (MAC, destination): an entry of that MAC with another destination stays.
// false when the MAC has no entry at all; the kernel answers success (true) when the MAC has
// entries but none with this destination, so true does not prove that one was removed.
Result<bool> deleteFdbEntry(NetlinkSocket& sock, const FdbEntry& entry);
// The device's own entries (one per destination), ifindex 0 = every device.
Result<std::vector<FdbEntry>> listFdbEntries(NetlinkSocket& sock, int ifindex = 0);

}  // namespace cnikit::toolkit
