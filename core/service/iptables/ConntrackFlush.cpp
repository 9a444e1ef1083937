#include "core/service/iptables/ConntrackFlush.hpp"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace cnikit::service::iptables {

namespace {

struct Wanted {
  int family = AF_INET;
  unsigned char address[16] = {};
  uint16_t port = 0;  // network order
};

struct Dump {
  std::vector<Wanted> wanted;
  std::vector<nf_conntrack*> doomed;  // clones, destroyed by the caller
};

bool matches(const nf_conntrack* ct, const Wanted& w) {
  if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != w.family) return false;
  if (nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC) != w.port) return false;
  if (w.family == AF_INET) return std::memcmp(nfct_get_attr(ct, ATTR_REPL_IPV4_SRC), w.address, 4) == 0;
  return std::memcmp(nfct_get_attr(ct, ATTR_REPL_IPV6_SRC), w.address, 16) == 0;
}

int collect(enum nf_conntrack_msg_type, nf_conntrack* ct, void* data) {
  auto* dump = static_cast<Dump*>(data);
  if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
  if (!(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT)) return NFCT_CB_CONTINUE;
  for (const auto& w : dump->wanted)
    if (matches(ct, w)) {
      dump->doomed.push_back(nfct_clone(ct));
      break;
    }
  return NFCT_CB_CONTINUE;
}

toolkit::Error failure(const std::string& what) {
  int err = errno ? errno : EIO;
  return toolkit::Error{err, "conntrack: " + what + ": " + std::strerror(err)};
}

}  // namespace

toolkit::Result<int> flushUdpConntrack(const std::vector<UdpBackend>& backends) {
  if (backends.empty()) return 0;
  Dump dump;
  bool v4 = false, v6 = false;
  for (const auto& b : backends) {
    Wanted w;
    w.family = b.address.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (::inet_pton(w.family, b.address.c_str(), w.address) != 1)
      return toolkit::Error{EINVAL, "conntrack: bad backend address '" + b.address + "'"};
    w.port = htons(b.port);
    (w.family == AF_INET ? v4 : v6) = true;
    dump.wanted.push_back(w);
  }
  std::unique_ptr<nfct_handle, int (*)(nfct_handle*)> handle(nfct_open(CONNTRACK, 0), nfct_close);
  if (!handle) return failure("cannot open a ctnetlink socket");
  nfct_callback_register(handle.get(), NFCT_T_ALL, collect, &dump);
  for (uint32_t family : {uint32_t(AF_INET), uint32_t(AF_INET6)}) {
    if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) continue;
    if (nfct_query(handle.get(), NFCT_Q_DUMP, &family) < 0) {
      for (auto* ct : dump.doomed) nfct_destroy(ct);
      return failure("cannot list the connection table");
    }
  }
  nfct_callback_unregister(handle.get());
  int deleted = 0;
  for (auto* ct : dump.doomed) {
    // ENOENT: it expired meanwhile, which is as good.
    if (nfct_query(handle.get(), NFCT_Q_DESTROY, ct) == 0) ++deleted;
    nfct_destroy(ct);
  }
  return deleted;
}

}  // namespace cnikit::service::iptables
