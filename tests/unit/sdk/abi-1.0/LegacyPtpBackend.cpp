// custom-ptp: a small but real cnikit backend. Each pod gets a veth pair; the host end is
// not bridged. The host end carries the pod subnet's gateway address as a /32 (/128) and a
// host route to the pod address; inside the pod the address has no prefix route, and the
// pod reaches everything through the gateway (point-to-point, like the CNI ptp plugin).
//
// It uses only the cnikit SDK and the kernel's rtnetlink, so it shows the whole contract
// in one file: a class, CNIKIT_BACKEND, errors as exceptions, host services.
#include <cnikit/backend.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

using cnikit::sdk::CreateArgs;
using cnikit::sdk::Error;
using cnikit::sdk::PodRequest;
using cnikit::sdk::PodResult;

namespace {

[[noreturn]] void systemError(const std::string& what, int err) {
  throw Error(CNIKIT_ERR_SYSTEM, what + ": " + std::strerror(err));
}

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// One rtnetlink request under construction.
class Message {
 public:
  Message(uint16_t type, uint16_t flags) {
    header()->nlmsg_len = NLMSG_LENGTH(0);
    header()->nlmsg_type = type;
    header()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_); }
  template <class T>
  T* add(const T& value) {
    return static_cast<T*>(append(&value, sizeof(T), NLMSG_ALIGN(sizeof(T))));
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
    append(&a, sizeof(a), RTA_LENGTH(0));
    append(data, len, RTA_ALIGN(len));
  }
  void attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  template <class T>
  void attr(uint16_t type, T value) {
    attr(type, &value, sizeof(value));
  }
  // Nested attributes: begin() returns the offset that end() closes.
  size_t begin(uint16_t type) {
    size_t at = header()->nlmsg_len;
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(0)), type};
    append(&a, sizeof(a), RTA_LENGTH(0));
    return at;
  }
  void end(size_t at) { reinterpret_cast<rtattr*>(buf_ + at)->rta_len = header()->nlmsg_len - at; }

 private:
  void* append(const void* data, size_t len, size_t aligned) {
    if (header()->nlmsg_len + aligned > sizeof(buf_)) throw Error(CNIKIT_ERR_INTERNAL, "netlink message too long");
    char* at = buf_ + header()->nlmsg_len;
    std::memset(at, 0, aligned);
    std::memcpy(at, data, len);
    header()->nlmsg_len += aligned;
    return at;
  }
  alignas(nlmsghdr) char buf_[1024] = {};
};

struct LinkInfo {
  int index = 0;
  std::string mac;
  bool up = false;
};

// A NETLINK_ROUTE socket. A socket works in the namespace it was created in, so one made
// on a helper thread that entered the pod's netns configures the pod from any thread
// without moving the caller's thread between namespaces.
class Netlink {
 public:
  static Netlink inCurrentNetns() { return Netlink(openSocket()); }
  static Netlink inNetns(const std::string& path) {
    Fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (ns.get() < 0) systemError("open netns " + path, errno);
    int sock = -1, err = 0;
    std::thread([&] {
      // This thread ends right after: it never has to come back.
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        err = errno;
        return;
      }
      sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (sock < 0) err = errno;
    }).join();
    if (sock < 0) systemError("netlink socket in netns " + path, err);
    return Netlink(Fd(sock));
  }

  // Sends msg and waits for its ACK; returns 0 or the kernel's errno. parse sees any
  // answer before the ACK (for GET requests).
  template <class Parse>
  int call(Message& msg, Parse&& parse) {
    msg.header()->nlmsg_seq = ++seq_;
    if (::send(fd_.get(), msg.header(), msg.header()->nlmsg_len, 0) < 0) return errno;
    alignas(nlmsghdr) char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_type == NLMSG_ERROR) return -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        parse(h);
      }
    }
  }
  int call(Message& msg) {
    return call(msg, [](nlmsghdr*) {});
  }

  std::optional<LinkInfo> findLink(const std::string& name) {
    Message m(RTM_GETLINK, 0);
    m.add(ifinfomsg{});
    m.attr(IFLA_IFNAME, name);
    LinkInfo info;
    int err = call(m, [&](nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWLINK) return;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
      info.index = ifi->ifi_index;
      info.up = ifi->ifi_flags & IFF_UP;
      int len = IFLA_PAYLOAD(h);
      for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type != IFLA_ADDRESS || RTA_PAYLOAD(a) != 6) continue;
        auto* b = static_cast<unsigned char*>(RTA_DATA(a));
        char mac[18];
        std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
        info.mac = mac;
      }
    });
    if (err == ENODEV) return std::nullopt;
    if (err != 0) systemError("get link " + name, err);
    return info;
  }

  void setUp(int index) {
    Message m(RTM_NEWLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_index = index;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    m.add(ifi);
    if (int err = call(m)) systemError("set link #" + std::to_string(index) + " up", err);
  }

  // Deleting one end of a veth deletes both. Returns false when it was already gone.
  bool deleteLink(const std::string& name) {
    Message m(RTM_DELLINK, 0);
    m.add(ifinfomsg{});
    m.attr(IFLA_IFNAME, name);
    int err = call(m);
    if (err == ENODEV) return false;
    if (err != 0) systemError("delete link " + name, err);
    return true;
  }

 private:
  explicit Netlink(Fd fd) : fd_(std::move(fd)) {}
  static Fd openSocket() {
    int s = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) systemError("netlink socket", errno);
    return Fd(s);
  }
  Fd fd_;
  uint32_t seq_ = 0;
};

// An address in binary form with its family.
struct Ip {
  int family = AF_INET;
  unsigned char bytes[16] = {};
  int prefix = 32;
  size_t size() const { return family == AF_INET ? 4 : 16; }
  int hostPrefix() const { return family == AF_INET ? 32 : 128; }
};

Ip parseIp(const std::string& text, int family) {
  Ip ip;
  ip.family = family;
  std::string addr = text;
  ip.prefix = ip.hostPrefix();
  if (auto slash = text.find('/'); slash != std::string::npos) {
    addr = text.substr(0, slash);
    ip.prefix = std::stoi(text.substr(slash + 1));
  }
  if (::inet_pton(family, addr.c_str(), ip.bytes) != 1)
    throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "'" + text + "' is not an address of family " + std::to_string(family));
  return ip;
}

void addAddress(Netlink& nl, int index, const Ip& ip, int prefix, const std::string& where) {
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  ifaddrmsg ifa{};
  ifa.ifa_family = ip.family;
  ifa.ifa_prefixlen = prefix;
  ifa.ifa_index = index;
  m.add(ifa);
  m.attr(IFA_LOCAL, ip.bytes, ip.size());
  m.attr(IFA_ADDRESS, ip.bytes, ip.size());
  // No subnet route: other pods of the subnet are reached through the gateway, not ARP.
  m.attr<uint32_t>(IFA_FLAGS, IFA_F_NOPREFIXROUTE | IFA_F_NODAD);
  if (int err = nl.call(m)) systemError("add address to " + where, err);
}

// dst/len dev index [via gateway]
void addRoute(Netlink& nl, int index, const Ip& dst, int dstLen, const Ip* gateway, const std::string& where) {
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
  rtmsg rt{};
  rt.rtm_family = dst.family;
  rt.rtm_dst_len = dstLen;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_STATIC;
  rt.rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt.rtm_type = RTN_UNICAST;
  m.add(rt);
  if (dstLen > 0) m.attr(RTA_DST, dst.bytes, dst.size());
  if (gateway) m.attr(RTA_GATEWAY, gateway->bytes, gateway->size());
  m.attr<uint32_t>(RTA_OIF, index);
  if (int err = nl.call(m)) systemError("add route in " + where, err);
}

class CustomPtpBackend {
 public:
  explicit CustomPtpBackend(const CreateArgs& args) : host_(args.host), node_(args.nodeName) {
    podsAdded_ = host_.registerMetric("cnikit_custom_ptp_pods_added_total", "Pods wired by custom-ptp",
                                      CNIKIT_METRIC_COUNTER);
    host_.info("custom-ptp instance " + args.instanceName + " on node " + node_ + " (options " + args.optionsJson +
               ")");
  }

  PodResult podAdd(const PodRequest& req) {
    if (req.netns.empty()) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add needs a netns path");
    if (req.ifname.empty() || req.ifname.size() >= IFNAMSIZ)
      throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "bad pod interface name '" + req.ifname + "'");
    const std::string hostIf = hostIfname(req);
    const uint32_t mtu = req.mtu ? req.mtu : 1500;

    Netlink hostNl = Netlink::inCurrentNetns();
    Netlink podNl = Netlink::inNetns(req.netns);
    Fd podNs(::open(req.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (podNs.get() < 0) systemError("open netns " + req.netns, errno);

    createVeth(hostNl, hostIf, req.ifname, podNs.get(), mtu, req.mac);
    // From here on a failure must leave nothing behind: the pair goes with its host end.
    try {
      auto host = hostNl.findLink(hostIf);
      auto pod = podNl.findLink(req.ifname);
      if (!host || !pod) throw Error(CNIKIT_ERR_SYSTEM, "veth " + hostIf + " vanished after creation");
      hostNl.setUp(host->index);
      podNl.setUp(pod->index);
      for (const auto& cfg : req.ips) {
        Ip ip = parseIp(cfg.address, cfg.family);
        addAddress(podNl, pod->index, ip, ip.prefix, req.ifname + " in " + req.netns);
        // Host side: a route to the pod address over this veth.
        addRoute(hostNl, host->index, ip, ip.hostPrefix(), nullptr, "host for " + cfg.address);
        if (cfg.gateway.empty()) continue;
        // The gateway lives on the host end; the pod reaches it on-link and routes all else via it.
        Ip gw = parseIp(cfg.gateway, cfg.family);
        addAddress(hostNl, host->index, gw, gw.hostPrefix(), hostIf);
        addRoute(podNl, pod->index, gw, gw.hostPrefix(), nullptr, "pod for gateway " + cfg.gateway);
        Ip any;
        any.family = cfg.family;
        addRoute(podNl, pod->index, any, 0, &gw, "pod default route");
      }
      auto podAfter = podNl.findLink(req.ifname);
      host_.metricAdd(podsAdded_, 1);
      host_.info("pod " + req.podNamespace + "/" + req.podName + " wired: " + hostIf + " <-> " + req.ifname);
      return PodResult{hostIf, host->mac, req.ifname, podAfter ? podAfter->mac : pod->mac, mtu};
    } catch (...) {
      try {
        hostNl.deleteLink(hostIf);
      } catch (...) {
        // Keep the first error; the host will retry DEL.
      }
      throw;
    }
  }

  // The host end is in our namespace: deleting it removes the pair, so DEL works without
  // the pod's netns.
  void podDel(const PodRequest& req) {
    Netlink nl = Netlink::inCurrentNetns();
    if (nl.deleteLink(hostIfname(req))) host_.info("pod " + req.containerId + " unwired");
  }

  void podCheck(const PodRequest& req) {
    const std::string hostIf = hostIfname(req);
    auto host = Netlink::inCurrentNetns().findLink(hostIf);
    if (!host) throw Error(CNIKIT_ERR_NOT_FOUND, "host interface " + hostIf + " is missing");
    if (!host->up) throw Error(CNIKIT_ERR_SYSTEM, "host interface " + hostIf + " is down");
    auto pod = Netlink::inNetns(req.netns).findLink(req.ifname);
    if (!pod) throw Error(CNIKIT_ERR_NOT_FOUND, "interface " + req.ifname + " is missing in " + req.netns);
  }

  std::string statusJson() { return "{\"node\":\"" + node_ + "\",\"datapath\":\"veth ptp\"}"; }

 private:
  // "cnp" + 8 hex digits of a hash of (container, ifname): stable, so DEL finds it.
  static std::string hostIfname(const PodRequest& req) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (char c : req.containerId + "/" + req.ifname) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    char name[IFNAMSIZ];
    std::snprintf(name, sizeof(name), "cnp%08x", h);
    return name;
  }

  static void createVeth(Netlink& nl, const std::string& hostIf, const std::string& podIf, int podNs, uint32_t mtu,
                         const std::string& podMac) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.add(ifinfomsg{});
    m.attr(IFLA_IFNAME, hostIf);
    m.attr<uint32_t>(IFLA_MTU, mtu);
    size_t info = m.begin(IFLA_LINKINFO);
    m.attr(IFLA_INFO_KIND, std::string("veth"));
    size_t data = m.begin(IFLA_INFO_DATA);
    size_t peer = m.begin(VETH_INFO_PEER);
    m.add(ifinfomsg{});
    // The peer is born inside the pod under its final name: nothing half-moved to undo.
    m.attr(IFLA_IFNAME, podIf);
    m.attr<uint32_t>(IFLA_NET_NS_FD, podNs);
    m.attr<uint32_t>(IFLA_MTU, mtu);
    if (!podMac.empty()) {
      unsigned b[6];
      if (std::sscanf(podMac.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "bad MAC '" + podMac + "'");
      unsigned char mac[6];
      for (int i = 0; i < 6; ++i) mac[i] = static_cast<unsigned char>(b[i]);
      m.attr(IFLA_ADDRESS, mac, sizeof(mac));
    }
    m.end(peer);
    m.end(data);
    m.end(info);
    int err = nl.call(m);
    if (err == EEXIST)
      throw Error(CNIKIT_ERR_EXISTS, "veth " + hostIf + " or " + podIf + " in the pod already exists");
    if (err != 0) systemError("create veth " + hostIf + " <-> " + podIf, err);
  }

  cnikit::sdk::Host host_;
  std::string node_;
  int32_t podsAdded_ = -1;
};

}  // namespace

CNIKIT_BACKEND(CustomPtpBackend, "legacy-ptp", "0.1.0")
