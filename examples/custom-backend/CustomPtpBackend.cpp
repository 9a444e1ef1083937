// custom-ptp: a small but real cnikit backend. Each pod gets a veth pair; the host end is
// not bridged. The host end carries the pod subnet's gateway address as a /32 (/128) and a
// host route to the pod; inside the pod the address is a host address too and everything,
// the gateway included, is reached through the veth (point-to-point, like the CNI ptp plugin).
//
// It shows the whole contract in one file: a class that declares its capabilities,
// CNIKIT_BACKEND, errors as exceptions, host services, and the SDK's toolkit for netlink.
#include <cnikit/backend.hpp>
#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Veth.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <set>

namespace tk = cnikit::toolkit;
using cnikit::sdk::CreateArgs;
using cnikit::sdk::Error;
using cnikit::sdk::PodRequest;
using cnikit::sdk::PodResult;

namespace {

// A toolkit failure as the status the host understands; its message names what failed.
cnikit_status statusOf(int code) {
  if (code == EEXIST) return CNIKIT_ERR_EXISTS;
  if (code == ENOENT || code == ENODEV) return CNIKIT_ERR_NOT_FOUND;
  if (code == EINVAL) return CNIKIT_ERR_INVALID_ARGUMENT;
  return CNIKIT_ERR_SYSTEM;
}
template <class T>
T must(tk::Result<T> r) {
  if (!r) throw Error(statusOf(r.error().code), r.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

class CustomPtpBackend : public cnikit::sdk::LifecycleDefaults {
 public:
  CNIKIT_PODS;
  CNIKIT_LIFECYCLE;
  CNIKIT_OPTIONS_SCHEMA(R"({"type": "object", "additionalProperties": false})");

  explicit CustomPtpBackend(const CreateArgs& args) : host_(args.host), node_(args.nodeName) {
    podsAdded_ =
        host_.registerMetric("cnikit_custom_ptp_pods_added_total", "Pods wired by custom-ptp", CNIKIT_METRIC_COUNTER);
    host_.info("custom-ptp instance " + args.instanceName + " on node " + node_);
  }

  PodResult podAdd(const PodRequest& req) {
    if (req.netns.empty()) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add needs a netns path");
    must(tk::validateIfname(req.ifname));
    const std::string hostIf = hostIfname(req);
    const uint32_t mtu = req.mtu ? req.mtu : 1500;
    tk::Netns podNs = must(tk::Netns::open(req.netns));
    tk::NetlinkSocket hostNl = must(tk::NetlinkSocket::open());
    tk::NetlinkSocket podNl = must(tk::NetlinkSocket::openIn(podNs));

    tk::VethSpec spec{.name = hostIf, .peerName = req.ifname, .peerNetns = &podNs, .mtu = mtu, .up = true};
    if (!req.mac.empty()) spec.peerMac = must(tk::MacAddress::parse(req.mac));
    must(tk::createVeth(hostNl, spec));  // the peer is born inside the pod under its final name
    try {
      tk::LinkInfo host = must(tk::getLink(hostNl, hostIf));
      tk::LinkInfo pod = must(tk::getLink(podNl, req.ifname));
      must(tk::setLinkUp(podNl, pod.index));
      for (const auto& ip : req.ips) {
        tk::IpPrefix address = tk::IpPrefix::host(must(tk::IpPrefix::parse(ip.address)).address());
        must(tk::addAddress(podNl, pod.index, address));
        must(
            tk::addRoute(hostNl, tk::Route{.family = address.family(), .destination = address, .ifindex = host.index}));
        if (ip.gateway.empty()) continue;
        // The gateway lives on the host end; the pod reaches it on-link, and all else via it.
        tk::IpAddress gateway = must(tk::IpAddress::parse(ip.gateway));
        must(tk::addAddress(hostNl, host.index, tk::IpPrefix::host(gateway)));
        must(tk::addRoute(
            podNl, tk::Route{.family = address.family(), .gateway = gateway, .ifindex = pod.index, .onlink = true}));
      }
      host_.metricAdd(podsAdded_, 1);
      host_.info("pod " + req.podNamespace + "/" + req.podName + " wired: " + hostIf + " <-> " + req.ifname);
      return PodResult{hostIf, host.mac.str(), req.ifname, pod.mac.str(), mtu, {}, {}};
    } catch (...) {
      (void)tk::deleteLink(hostNl, hostIf);  // takes the pod end with it; keep the first error
      throw;
    }
  }

  // The host end is in our namespace: deleting it removes the pair, so DEL works without
  // the pod's netns.
  void podDel(const PodRequest& req) {
    tk::NetlinkSocket nl = must(tk::NetlinkSocket::open());
    if (must(tk::deleteLink(nl, hostIfname(req)))) host_.info("pod " + req.containerId + " unwired");
  }

  void podCheck(const PodRequest& req) {
    tk::NetlinkSocket hostNl = must(tk::NetlinkSocket::open());
    auto host = must(tk::findLink(hostNl, hostIfname(req)));
    if (!host) throw Error(CNIKIT_ERR_NOT_FOUND, "host interface " + hostIfname(req) + " is missing");
    if (!host->up) throw Error(CNIKIT_ERR_SYSTEM, "host interface " + hostIfname(req) + " is down");
    tk::NetlinkSocket podNl = must(tk::NetlinkSocket::openIn(must(tk::Netns::open(req.netns))));
    if (!must(tk::findLink(podNl, req.ifname)))
      throw Error(CNIKIT_ERR_NOT_FOUND, "interface " + req.ifname + " is missing in " + req.netns);
  }

  // After a crash: a host end whose pod the host no longer records goes.
  void podsSync(const std::vector<PodRequest>& pods) {
    std::set<std::string> owned;
    for (const auto& pod : pods) owned.insert(hostIfname(pod));
    tk::NetlinkSocket nl = must(tk::NetlinkSocket::open());
    for (const auto& link : must(tk::listLinks(nl)))
      if (link.name.starts_with("cnp") && link.kind == "veth" && !owned.count(link.name))
        must(tk::deleteLink(nl, link.name));
  }

  std::string statusJson() { return "{\"node\":\"" + node_ + "\",\"datapath\":\"veth ptp\"}"; }

 private:
  // "cnp" + 8 hex digits of a hash of (container, ifname): stable, so DEL finds it.
  static std::string hostIfname(const PodRequest& req) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (char c : req.containerId + "/" + req.ifname) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    char name[16];
    std::snprintf(name, sizeof(name), "cnp%08x", h);
    return name;
  }

  cnikit::sdk::Host host_;
  std::string node_;
  int32_t podsAdded_ = -1;
};

}  // namespace

CNIKIT_BACKEND(CustomPtpBackend, "custom-ptp", "0.1.0")
