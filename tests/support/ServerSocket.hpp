#pragma once
// A listening (TCP) or bound (UDP) dual-stack socket on [::]:port, IPv4-mapped too, for the
// small servers integration tests run inside pod namespaces. Made on the calling thread, so
// in its network namespace.
#include <cstdint>

namespace cnikit::testing {

// type: SOCK_STREAM or SOCK_DGRAM. Throws std::runtime_error naming the port when it cannot
// bind. The caller closes the fd.
int openServerSocket(int type, uint16_t port);

}  // namespace cnikit::testing
