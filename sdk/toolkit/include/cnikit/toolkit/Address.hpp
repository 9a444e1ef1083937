#pragma once
// Interface addresses (IPv4 and IPv6).
#include <string>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

namespace cnikit::toolkit {

struct AddressOptions {
  bool noDad = true;    // IPv6: IFA_F_NODAD, usable at once (DAD would delay it ~1-2 s)
  bool existOk = true;  // an identical address already there is success
};

Status addAddress(NetlinkSocket& sock, int ifindex, const IpPrefix& prefix, const AddressOptions& options = {});
// true when deleted, false when it was not there.
Result<bool> deleteAddress(NetlinkSocket& sock, int ifindex, const IpPrefix& prefix);

struct AddressInfo {
  int ifindex = 0;
  IpPrefix prefix;
  int scope = 0;       // RT_SCOPE_*
  uint32_t flags = 0;  // IFA_F_*
};
// ifindex 0 = every interface; family AF_UNSPEC = both.
Result<std::vector<AddressInfo>> listAddresses(NetlinkSocket& sock, int ifindex = 0, int family = 0);

}  // namespace cnikit::toolkit
