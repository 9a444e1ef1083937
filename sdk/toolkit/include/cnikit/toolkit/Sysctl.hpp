#pragma once
// sysctls of the calling thread's namespace. Files under /proc/sys/net are resolved against
// the netns of the thread that opens them (not the process's), so enter the namespace
// first (writeSysctlIn does) and open them after the setns.
#include <string>

#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

// key: "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/forwarding" (use '/' when a part
// holds a dot, e.g. a VLAN interface name).
Status writeSysctl(const std::string& key, const std::string& value);
Result<std::string> readSysctl(const std::string& key);  // trailing newline stripped
Status writeSysctlIn(const Netns& ns, const std::string& key, const std::string& value);
Result<std::string> readSysctlIn(const Netns& ns, const std::string& key);

}  // namespace cnikit::toolkit
