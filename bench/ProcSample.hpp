#pragma once

#include <sys/types.h>

#include <optional>

namespace cnikit::bench {

// Resident set size (VmRSS of /proc/<pid>/status) in KiB; nullopt when the process is gone.
std::optional<long> readRssKiB(pid_t pid);

// CPU time (user + system) a process has used so far, in milliseconds.
std::optional<double> readCpuMs(pid_t pid);

// CPU time (user + system) of every reaped child of this process, in milliseconds: the
// plugin executables and whatever they reaped themselves (host-local under bridge).
double reapedChildrenCpuMs();

}  // namespace cnikit::bench
