#pragma once
// What the kernel says about a pod's interface, for decisions the store alone cannot make.
#include <string>
#include <vector>

namespace cnikit::agent {

// True when interface `ifname` in the network namespace at `netns` carries one of `addresses`
// ("10.244.1.5/24"), or when that cannot be told (an address that may be in use is never
// given to another pod on a guess).
bool podInterfaceMayCarry(const std::string& netns, const std::string& ifname,
                          const std::vector<std::string>& addresses);

}  // namespace cnikit::agent
