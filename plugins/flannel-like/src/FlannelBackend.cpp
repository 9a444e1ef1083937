#include "FlannelBackend.hpp"

#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/Bridge.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/LinkReaper.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Rollback.hpp>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Veth.hpp>

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "Failures.hpp"
#include "Mtu.hpp"
#include "VethName.hpp"

namespace cnikit::flannel {

using namespace cnikit::toolkit;

namespace {

// The loopback device has this index in every network namespace (the kernel's LOOPBACK_IFINDEX).
constexpr int kLoopbackIndex = 1;

struct PodIp {
  IpPrefix address;  // "10.244.1.5/24"
  std::optional<IpAddress> gateway;
  IpPrefix subnet;   // the node subnet; the address's own network when not given
  std::string pool;  // pool CIDR text, may be empty
};

std::vector<PodIp> parseIps(const sdk::PodRequest& req) {
  std::vector<PodIp> out;
  for (size_t i = 0; i < req.ips.size(); ++i) {
    const auto& ip = req.ips[i];
    std::string label = "ips[" + std::to_string(i) + "]";
    auto address = IpPrefix::parse(ip.address);
    if (!address) invalid(label + ".address: " + address.error().message);
    PodIp p{address.value(), std::nullopt, address.value().masked(), ip.poolCidr};
    if (ip.family != 0 && ip.family != p.address.family())
      invalid(label + ": family " + std::to_string(ip.family) + " does not match address '" + ip.address + "'");
    if (!ip.gateway.empty()) {
      auto gw = IpAddress::parse(ip.gateway);
      if (!gw) invalid(label + ".gateway: " + gw.error().message);
      if (gw.value().family() != p.address.family())
        invalid(label + ": gateway '" + ip.gateway + "' is not of the family of '" + ip.address + "'");
      p.gateway = gw.value();
    }
    if (!ip.subnet.empty()) {
      auto subnet = IpPrefix::parse(ip.subnet);
      if (!subnet) invalid(label + ".subnet: " + subnet.error().message);
      if (subnet.value().family() != p.address.family())
        invalid(label + ": subnet '" + ip.subnet + "' is not of the family of '" + ip.address + "'");
      p.subnet = subnet.value().masked();
    }
    if (!ip.poolCidr.empty()) {
      auto pool = IpPrefix::parse(ip.poolCidr);
      if (!pool) invalid(label + ".pool_cidr: " + pool.error().message);
      p.pool = pool.value().masked().str();
    }
    out.push_back(p);
  }
  return out;
}

// The address after a subnet's network address: its gateway.
IpAddress firstHost(const IpPrefix& subnet) { return subnet.network().offset(1); }

void requireBasics(const sdk::PodRequest& req) {
  if (req.containerId.empty()) invalid("container id is empty");
  if (auto valid = validateIfname(req.ifname); !valid) invalid("ifname: " + valid.error().message);
}

// The pair an interrupted ADD of this very container left behind (the agent died before it
// recorded the pod): the pod's interface and our host veth, named after (container id,
// ifname), are each other's peers. Anything else under the pod's interface name is not ours.
std::optional<std::pair<LinkInfo, LinkInfo>> leftoverPair(NetlinkSocket& hostSock, NetlinkSocket& podSock,
                                                          const std::string& hostName, const std::string& ifname) {
  auto host = findLink(hostSock, hostName);
  auto pod = findLink(podSock, ifname);
  if (!host.ok() || !pod.ok() || !host.value() || !pod.value()) return std::nullopt;
  const LinkInfo& h = *host.value();
  const LinkInfo& p = *pod.value();
  if (h.kind != "veth" || p.kind != "veth" || h.link != p.index || p.link != h.index) return std::nullopt;
  return std::pair{h, p};
}

// Brings an adopted pair to what createVeth makes (MTU, MAC, bridge port, up) and takes off
// the pod side any address this ADD does not hand out: it may belong to someone else by now.
void repairPair(NetlinkSocket& hostSock, NetlinkSocket& podSock, const LinkInfo& host, const LinkInfo& pod,
                const VethSpec& spec, const std::vector<PodIp>& ips, const std::string& where) {
  LinkChanges hostChanges;
  hostChanges.mtu = spec.mtu;
  hostChanges.master = spec.master;
  hostChanges.up = spec.up;
  must(changeLink(hostSock, host.index, hostChanges), "repairing host veth '" + host.name + "'");
  const std::string podIf = "'" + pod.name + "' in " + where;
  if (spec.peerMac && pod.mac != *spec.peerMac) {
    // The kernel applies a MAC before the up/down flag of the same message: go down first.
    must(setLinkUp(podSock, pod.index, false), "repairing " + podIf);
    must(setLinkMac(podSock, pod.index, *spec.peerMac), "repairing " + podIf);
  }
  if (pod.mtu != spec.mtu) must(setLinkMtu(podSock, pod.index, spec.mtu), "repairing " + podIf);
  for (const auto& a : must(listAddresses(podSock, pod.index), where)) {
    if (a.scope == RT_SCOPE_LINK) continue;  // IPv6 link-local: the kernel's own
    bool handedOut = false;
    for (const auto& ip : ips) handedOut = handedOut || ip.address == a.prefix;
    if (!handedOut)
      must(deleteAddress(podSock, pod.index, a.prefix), "removing stale " + a.prefix.str() + " from " + podIf);
  }
}

Netns openPodNetns(const std::string& path) {
  if (path.empty()) invalid("pod network namespace path is empty");
  auto ns = Netns::open(path);
  if (!ns) {
    if (ns.error().code == ENOENT)
      throw sdk::Error(CNIKIT_ERR_NOT_FOUND, "pod network namespace '" + path + "' does not exist");
    fail(ns.error(), "");
  }
  return std::move(ns).value();
}

}  // namespace

FlannelBackend::FlannelBackend(const sdk::CreateArgs& args)
    : options_(Options::parse(args.optionsJson)),
      host_(args.host),
      instance_(args.instanceName),
      underlayMtu_(args.underlayMtu),
      pools_(args.pools),
      masquerade_("cnikit flannel-like " + args.instanceName) {
  // The tunnel runs over IPv4 when the node has an IPv4 underlay address, else over IPv6.
  const bool ipv6Underlay = args.underlayIpv4.empty() && !args.underlayIpv6.empty();
  defaultMtu_ = options_.mtu ? options_.mtu : derivedMtu(options_.mode, args.underlayMtu, ipv6Underlay);
  if (options_.mode != Mode::kBridge) {
    RemoteNodes::Context context{args.instanceName, args.nodeName,     args.stateDir, args.underlayInterface,
                                 args.underlayIpv4, args.underlayIpv6, defaultMtu_};
    remote_ = std::make_unique<RemoteNodes>(options_, context, host_);
  }
  reaper_ = must(LinkReaper::create(must(Netns::current(), "host namespace")), "starting the veth reaper");
  host_.info("flannel-like '" + instance_ + "' ready: " + options_.toJson() + ", pod MTU " +
             std::to_string(defaultMtu_));
}

uint32_t FlannelBackend::effectiveMtu(const sdk::PodRequest& req) const {
  if (options_.mtu) return options_.mtu;
  return req.mtu ? req.mtu : defaultMtu_;
}

sdk::PodResult FlannelBackend::podAdd(const sdk::PodRequest& req) {
  requireBasics(req);
  const std::vector<PodIp> ips = parseIps(req);
  std::optional<MacAddress> mac;
  if (!req.mac.empty()) {
    auto parsed = MacAddress::parse(req.mac);
    if (!parsed) invalid("mac: " + parsed.error().message);
    if (parsed.value().bytes[0] & 1) invalid("mac: '" + req.mac + "' is a multicast address");
    mac = parsed.value();
  }
  const uint32_t mtu = effectiveMtu(req);
  const std::string where = "pod network namespace '" + req.netns + "'";

  Netns podNs = openPodNetns(req.netns);
  if (must(Netns::current(), "").sameAs(podNs))
    invalid(where + " is the host's own namespace (the namespace of the calling thread)");
  NetlinkSocket hostSock = must(NetlinkSocket::open(), "host namespace");
  NetlinkSocket podSock = must(NetlinkSocket::openIn(podNs), "");

  const std::string hostName = hostVethName(req.containerId, req.ifname);
  // Called only when creating the pair failed with EEXIST: the common path makes no lookups.
  // Returns the pair to adopt, if any; throws EXISTS when the pod's name is not ours.
  auto resolveNameConflict = [&]() -> std::optional<std::pair<LinkInfo, LinkInfo>> {
    // A pair this backend retired on DEL keeps both names until its batch is deleted (a re-ADD
    // right after DEL): delete the batch now, then look.
    must(reaper_->flush(), "deleting retired veths");
    bool podTaken = must(findLink(podSock, req.ifname), where).has_value();
    bool hostTaken = must(findLink(hostSock, hostName), "host namespace").has_value();
    if (podTaken) {
      // A retried ADD adopts the pair its interrupted predecessor made and repairs it: the
      // address IPAM gives back is the same one, so the result is as if the first ADD had finished.
      auto leftover = leftoverPair(hostSock, podSock, hostName, req.ifname);
      if (!leftover) throw sdk::Error(CNIKIT_ERR_EXISTS, "interface '" + req.ifname + "' already exists in " + where);
      host_.warn("flannel-like: adopting the veth pair '" + hostName + "'/'" + req.ifname +
                 "' an interrupted ADD of container " + req.containerId + " left behind");
      return leftover;
    }
    if (hostTaken) {
      // Same container and ifname, but its pod end is not in the pod: a leftover of an ADD that
      // never finished (e.g. the agent died). It carries nothing: replace it.
      host_.warn("flannel-like: removing stale host veth '" + hostName + "' of container " + req.containerId);
      must(deleteLink(hostSock, hostName), "removing stale host veth");
    }
    return std::nullopt;
  };

  // The bridge, its gateways, the VXLAN subnet address and masquerade are node state, made
  // by localNodeUpdate before the first pod; ADD only attaches.
  const int bridgeIndex = bridgeIndex_.load();
  if (bridgeIndex == 0)
    throw sdk::Error(CNIKIT_ERR_TRY_AGAIN, "bridge '" + options_.bridge + "' is not set up yet (no local_node_update)");

  // From here on every step is undone if a later one fails: deleting the host end of the
  // pair deletes the pod end too, wherever it is.
  Rollback rollback;
  VethSpec spec;
  spec.name = hostName;
  spec.peerName = req.ifname;
  spec.peerNetns = &podNs;
  spec.mtu = mtu;
  spec.peerMac = mac;
  spec.master = bridgeIndex;
  spec.up = true;
  // One message makes the pair, the host end enslaved and up; its echo names both ends. The pod's MAC is
  // chosen here (as the kernel would, at random) so that nothing needs to be looked up.
  VethSpec create = spec;
  if (!create.peerMac) create.peerMac = MacAddress::randomLocal();
  LinkInfo hostLink;
  int podIndex = 0;
  MacAddress podMac = *create.peerMac;
  std::optional<std::pair<LinkInfo, LinkInfo>> leftover;
  if (auto created = createVeth(hostSock, create); created) {
    hostLink = created.value();
    podIndex = hostLink.link;
  } else {
    if (created.error().code != EEXIST) fail(created.error(), "");
    leftover = resolveNameConflict();
    if (leftover) {
      repairPair(hostSock, podSock, leftover->first, leftover->second, spec, ips, where);
      hostLink = leftover->first;
      podIndex = leftover->second.index;
      podMac = spec.peerMac.value_or(leftover->second.mac);
    } else if (auto again = createVeth(hostSock, create); again) {
      hostLink = again.value();
      podIndex = hostLink.link;
    } else {
      auto raced = findLink(podSock, req.ifname);  // the kernel does not say which name was taken
      if (again.error().code == EEXIST && raced.ok() && raced.value())
        throw sdk::Error(CNIKIT_ERR_EXISTS, "interface '" + req.ifname + "' already exists in " + where);
      fail(again.error(), "");
    }
  }
  rollback.add([&hostSock, hostName] { (void)deleteLink(hostSock, hostName); });

  if (options_.hairpin) must(setBridgePortHairpin(hostSock, hostLink.index, true), "");

  const std::string podIf = "'" + req.ifname + "' in " + where;
  for (const auto& ip : ips)
    must(addAddress(podSock, podIndex, ip.address, AddressOptions{.noDad = true, .existOk = leftover.has_value()}),
         "configuring " + podIf);
  must(setLinkUp(podSock, podIndex), "bringing up " + podIf);
  // Setting lo up when it already is changes nothing: no need to look first.
  must(setLinkUp(podSock, kLoopbackIndex), "bringing up 'lo' in " + where);

  bool routed[2] = {false, false};  // one default route per family: the first gateway's
  for (const auto& ip : ips) {
    int slot = ip.address.family() == AF_INET6 ? 1 : 0;
    if (!ip.gateway || routed[slot]) continue;
    Route route;
    route.family = ip.address.family();
    route.gateway = *ip.gateway;
    route.ifindex = podIndex;
    // A gateway outside the address's own prefix (e.g. a /32 address) is still on this link.
    route.onlink = !ip.address.contains(*ip.gateway);
    must(addRoute(podSock, route, RouteOptions{.existOk = leftover.has_value(), .replace = leftover.has_value()}),
         "adding default route in " + where);
    routed[slot] = true;
  }
  rollback.commit();

  sdk::PodResult result;
  result.hostIfname = hostName;
  result.hostMac = hostLink.mac.str();
  result.containerIfname = req.ifname;
  result.containerMac = podMac.str();
  result.mtu = mtu;
  return result;
}

void FlannelBackend::podDel(const sdk::PodRequest& req) {
  requireBasics(req);
  // The host end is found by name in this namespace: no need for the pod's namespace, which
  // may be "" or already gone. Retiring it takes the pod out of service at once; the reaper
  // deletes the pair (both ends) with the next batch, so DEL does not wait for the kernel.
  const std::string hostName = hostVethName(req.containerId, req.ifname);
  must(reaper_->retire(hostName), "pod " + req.containerId);
}

void FlannelBackend::podCheck(const sdk::PodRequest& req) {
  requireBasics(req);
  const std::vector<PodIp> ips = parseIps(req);
  const std::string where = "pod network namespace '" + req.netns + "'";
  Netns podNs = openPodNetns(req.netns);
  NetlinkSocket hostSock = must(NetlinkSocket::open(), "host namespace");
  NetlinkSocket podSock = must(NetlinkSocket::openIn(podNs), "");

  auto podLink = must(findLink(podSock, req.ifname), where);
  if (!podLink) throw sdk::Error(CNIKIT_ERR_NOT_FOUND, "interface '" + req.ifname + "' not found in " + where);
  const LinkInfo pod = *podLink;
  const std::string podIf = "'" + req.ifname + "' in " + where;

  std::vector<std::string> wrong;
  if (pod.kind != "veth")
    wrong.push_back(podIf + " is " + (pod.kind.empty() ? "not a veth" : "a " + pod.kind + ", not a veth"));
  if (!pod.up) wrong.push_back(podIf + " is down");
  if (!req.mac.empty()) {
    auto expected = MacAddress::parse(req.mac);
    if (!expected) invalid("mac: " + expected.error().message);
    if (pod.mac != expected.value()) wrong.push_back(podIf + " has MAC " + pod.mac.str() + ", expected " + req.mac);
  }
  if (pod.mtu != effectiveMtu(req))
    wrong.push_back(podIf + " has MTU " + std::to_string(pod.mtu) + ", expected " + std::to_string(effectiveMtu(req)));

  auto addresses = must(listAddresses(podSock, pod.index), where);
  for (const auto& ip : ips) {
    bool found = false;
    for (const auto& a : addresses) found = found || a.prefix == ip.address;
    if (!found) wrong.push_back("address " + ip.address.str() + " is missing on " + podIf);
  }
  bool checked[2] = {false, false};
  for (const auto& ip : ips) {
    int slot = ip.address.family() == AF_INET6 ? 1 : 0;
    if (!ip.gateway || checked[slot]) continue;
    checked[slot] = true;
    auto routes = must(listRoutes(podSock, ip.address.family()), where);
    bool found = false;
    for (const auto& r : routes) found = found || (!r.destination && r.gateway == ip.gateway && r.ifindex == pod.index);
    if (!found) wrong.push_back("default route via " + ip.gateway->str() + " dev " + podIf + " is missing");
  }

  const std::string hostName = hostVethName(req.containerId, req.ifname);
  auto hostLink = must(findLink(hostSock, hostName), "host namespace");
  auto bridge = must(findLink(hostSock, options_.bridge), "host namespace");
  if (!hostLink) {
    wrong.push_back("host veth '" + hostName + "' does not exist");
  } else {
    if (!hostLink->up) wrong.push_back("host veth '" + hostName + "' is down");
    if (!bridge)
      wrong.push_back("bridge '" + options_.bridge + "' does not exist");
    else if (hostLink->master != bridge->index)
      wrong.push_back("host veth '" + hostName + "' is not attached to bridge '" + options_.bridge + "'");
    if (hostLink->link != pod.index) wrong.push_back("host veth '" + hostName + "' is not the peer of " + podIf);
  }
  if (!wrong.empty()) {
    std::string message = "pod " + req.containerId + ": ";
    for (size_t i = 0; i < wrong.size(); ++i) message += (i ? "; " : "") + wrong[i];
    throw sdk::Error(CNIKIT_ERR_NOT_FOUND, message);
  }
}

std::string FlannelBackend::statusJson() {
  nlohmann::json status = {{"backend", "flannel-like"},
                           {"instance", instance_},
                           {"mode", modeName(options_.mode)},
                           {"options", nlohmann::json::parse(options_.toJson())},
                           {"mtu", defaultMtu_},
                           {"underlayMtu", underlayMtu_}};
  NetlinkSocket sock = must(NetlinkSocket::open(), "host namespace");
  auto links = must(listLinks(sock), "host namespace");
  const LinkInfo* bridge = nullptr;
  for (const auto& l : links)
    if (l.name == options_.bridge) bridge = &l;
  int veths = 0;
  if (bridge)
    for (const auto& l : links)
      if (l.master == bridge->index && l.kind == "veth") ++veths;
  status["bridge"] = {{"name", options_.bridge}, {"exists", bridge != nullptr}, {"up", bridge && bridge->up}};
  if (bridge) status["bridge"]["mac"] = bridge->mac.str();
  status["veths"] = veths;
  if (remote_) status.update(remote_->status());
  return status.dump();
}

std::string FlannelBackend::localNodeData() { return remote_ ? remote_->localNodeData() : "{}"; }

void FlannelBackend::nodeUpsert(const sdk::NodeInfo& node) {
  if (remote_) remote_->upsert(node);  // bridge mode: pods of other nodes are not reachable
}

void FlannelBackend::nodeRemove(const std::string& nodeName) {
  if (remote_) remote_->remove(nodeName);
}

std::string FlannelBackend::poolOf(const std::string& subnet) const {
  auto prefix = IpPrefix::parse(subnet);
  if (!prefix) return "";
  for (const auto& pool : pools_)
    for (const auto& cidr : pool.cidrs) {
      auto p = IpPrefix::parse(cidr);
      if (p && p.value().family() == prefix.value().family() && p.value().contains(prefix.value().address()))
        return p.value().masked().str();
    }
  return "";
}

void FlannelBackend::localNodeUpdate(const sdk::NodeInfo& self) {
  std::vector<IpPrefix> subnets;
  for (const auto& text : self.subnets) {
    auto subnet = IpPrefix::parse(text);
    if (!subnet) invalid("local node subnet '" + text + "': " + subnet.error().message);
    subnets.push_back(subnet.value().masked());
  }
  NetlinkSocket hostSock = must(NetlinkSocket::open(), "host namespace");
  std::lock_guard lock(bridgeMutex_);
  LinkInfo bridge = must(ensureBridge(hostSock, options_.bridge, BridgeOptions{.mtu = defaultMtu_, .up = true}), "");
  // An MTU given at creation is not the user's: the kernel resets it to 1500 when the last
  // port leaves (conformance check 2 saw cni0 change on the last DEL). Only a change marks
  // it as set, and setting the value it already has is no change: step off it and back.
  if (!bridgeMtuPinned_ || bridge.mtu != defaultMtu_) {
    const std::string what = "setting the MTU of bridge '" + options_.bridge + "'";
    if (bridge.mtu == defaultMtu_) must(setLinkMtu(hostSock, bridge.index, defaultMtu_ - 1), what);
    must(setLinkMtu(hostSock, bridge.index, defaultMtu_), what);
    bridgeMtuPinned_ = true;
  }
  // The gateway of a node subnet is its first address (IPAM hands out from the second on).
  for (const auto& subnet : subnets) {
    IpPrefix gateway(firstHost(subnet), subnet.prefixLength());
    must(addAddress(hostSock, bridge.index, gateway),
         "adding gateway " + gateway.str() + " to bridge '" + options_.bridge + "'");
    if (remote_) remote_->ensureLocalSubnet(subnet);
    if (options_.masquerade) masquerade_.ensure(subnet.family(), subnet.str(), poolOf(subnet.str()));
  }
  bridgeIndex_ = bridge.index;
}

sdk::Readiness FlannelBackend::ready() {
  if (bridgeIndex_.load() == 0) return sdk::Readiness::notYet("bridge '" + options_.bridge + "' not set up yet");
  return sdk::Readiness::yes();
}

void FlannelBackend::shutdown(sdk::ShutdownMode mode) {
  if (mode == CNIKIT_SHUTDOWN_KEEP_DATAPATH) {
    (void)reaper_->flush();  // retired veths would otherwise wait for the next agent
    return;
  }
  // TEARDOWN: the node leaves; what pods are left lose their network with it.
  NetlinkSocket hostSock = must(NetlinkSocket::open(), "host namespace");
  std::lock_guard lock(bridgeMutex_);
  bridgeIndex_ = 0;
  if (auto bridge = must(findLink(hostSock, options_.bridge), "host namespace")) {
    for (const auto& link : must(listLinks(hostSock), "host namespace"))
      if (link.master == bridge->index && link.kind == "veth") (void)reaper_->retire(link.name);
    must(reaper_->flush(), "deleting the pods' veths");
    must(deleteLink(hostSock, options_.bridge), "deleting bridge '" + options_.bridge + "'");
  }
  if (remote_) remote_->teardown();
  if (options_.masquerade) masquerade_.removeAll();
}

void FlannelBackend::podsSync(const std::vector<sdk::PodRequest>& pods) {
  std::set<std::string> owned;
  for (const auto& pod : pods) owned.insert(hostVethName(pod.containerId, pod.ifname));
  NetlinkSocket hostSock = must(NetlinkSocket::open(), "host namespace");
  auto bridge = must(findLink(hostSock, options_.bridge), "host namespace");
  std::set<std::string> present;
  if (bridge) {
    for (const auto& link : must(listLinks(hostSock), "host namespace")) {
      if (link.master != bridge->index || link.kind != "veth") continue;
      present.insert(link.name);
      if (owned.count(link.name)) continue;
      host_.warn("flannel-like: retiring host veth '" + link.name + "': no pod owns it (an ADD cut short?)");
      must(reaper_->retire(link.name), "retiring orphan veth '" + link.name + "'");
    }
  }
  // A recorded pod whose pair is gone (deleted by hand) gets it back, with the same addresses.
  for (const auto& pod : pods) {
    if (present.count(hostVethName(pod.containerId, pod.ifname)) || pod.netns.empty()) continue;
    try {
      podAdd(pod);
      host_.warn("flannel-like: re-made the veth of pod " + pod.containerId + " (it was gone)");
    } catch (const std::exception& e) {
      host_.warn("flannel-like: pod " + pod.containerId + " has no veth and cannot get one back: " + e.what());
    }
  }
}

}  // namespace cnikit::flannel
