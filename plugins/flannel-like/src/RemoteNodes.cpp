#include "RemoteNodes.hpp"

#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/Fdb.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/Neighbour.hpp>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Vxlan.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "Failures.hpp"
#include "VtepMac.hpp"

namespace cnikit::flannel {

using toolkit::FdbEntry;
using toolkit::IpAddress;
using toolkit::IpPrefix;
using toolkit::MacAddress;
using toolkit::Neighbour;
using toolkit::NetlinkSocket;
using toolkit::Route;

namespace {

// The first host address of a subnet: where the remote node keeps its bridge gateway.
IpAddress firstHost(const IpPrefix& subnet) { return subnet.network().offset(1); }

std::string familyName(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

std::string prefixesText(const std::vector<toolkit::AddressInfo>& addresses) {
  std::string s;
  for (const auto& a : addresses) s += (s.empty() ? "" : ", ") + a.prefix.str();
  return s.empty() ? "none" : s;
}

// Why a remote subnet must not be routed away from this node: it holds one of this node's own
// addresses (e.g. the remote node claims this node's pod subnet, or covers its underlay);
// "" when it holds none. The node's own subnet network address on the VXLAN device (a /32
// or /128 of this node's subnet) counts like any other.
std::string overlapsLocal(const IpPrefix& subnet, const std::vector<toolkit::AddressInfo>& local) {
  for (const auto& a : local)
    if (a.scope == 0 && subnet.contains(a.prefix.address()))
      return "it holds this node's own address " + a.prefix.address().str();
  return "";
}

}  // namespace

RemoteNodes::RemoteNodes(const Options& options, const Context& context, sdk::Host host)
    : options_(options),
      context_(context),
      host_(host),
      sock_(must(NetlinkSocket::open(), "node namespace")),
      journal_(context.stateDir.empty() ? ""
                                        : context.stateDir + "/flannel-like-" + context.instance + "-nodes.jsonl") {
  const std::string mode = "flannel-like mode \"" + modeName(options_.mode) + "\"";
  std::optional<IpAddress> v4, v6;
  if (!context_.underlayIpv4.empty()) {
    auto a = IpAddress::parse(context_.underlayIpv4);
    if (!a || !a.value().isV4())
      invalid(mode + ": underlay IPv4 '" + context_.underlayIpv4 + "' is not an IPv4 address");
    v4 = a.value();
  }
  if (!context_.underlayIpv6.empty()) {
    auto a = IpAddress::parse(context_.underlayIpv6);
    if (!a || !a.value().isV6())
      invalid(mode + ": underlay IPv6 '" + context_.underlayIpv6 + "' is not an IPv6 address");
    v6 = a.value();
  }

  // The underlay interface: as given, else the one that holds the underlay address.
  if (!context_.underlayInterface.empty()) {
    auto link = must(toolkit::findLink(sock_, context_.underlayInterface), "underlay interface");
    if (!link)
      invalid(mode + ": underlay interface '" + context_.underlayInterface +
              "' does not exist in this node's namespace");
    underlayIndex_ = link->index;
    underlayName_ = link->name;
  } else if (v4 || v6) {
    for (const auto& a : must(toolkit::listAddresses(sock_), "finding the underlay interface"))
      if ((v4 && a.prefix.address() == *v4) || (v6 && a.prefix.address() == *v6)) underlayIndex_ = a.ifindex;
    if (!underlayIndex_)
      invalid(mode + ": no interface holds the underlay address " + (v4 ? v4->str() : v6->str()) +
              " and no underlay interface was given");
    underlayName_ = must(toolkit::getLink(sock_, underlayIndex_), "underlay interface").name;
  } else {
    invalid(mode + " needs the node's underlay (an interface or an address); the host passed none");
  }

  if (options_.mode == Mode::kVxlan) {
    if (!v4 && !v6)
      invalid(mode + " needs the node's underlay IPv4 or IPv6 address for the tunnel; the host passed none");
    localUnderlay_ = v4 ? *v4 : *v6;
    tunnelFamily_ = localUnderlay_.family();
    vtepMac_ = vtepMac(context_.nodeName, options_.vni);
    vxlanName_ = options_.vxlanDeviceName();
    vxlanState_ = ensureDevice();
  }
  loadRecords();
}

// Makes the VXLAN device match the options; "created", "recreated" or "existing".
std::string RemoteNodes::ensureDevice() {
  toolkit::VxlanSpec spec;
  spec.name = vxlanName_;
  spec.vni = options_.vni;
  spec.port = options_.port;
  spec.local = localUnderlay_;
  spec.underlayIndex = underlayIndex_;
  spec.learning = false;
  spec.mtu = context_.mtu;
  spec.mac = vtepMac_;
  spec.up = true;
  auto made = must(toolkit::ensureVxlan(sock_, spec), "");
  vxlanIndex_ = made.info.link.index;
  if (context_.mtu && made.info.link.mtu != context_.mtu)
    host_.warn("flannel-like: vxlan device '" + vxlanName_ + "' has MTU " + std::to_string(made.info.link.mtu) +
               ", not the " + std::to_string(context_.mtu) + " asked for: the kernel caps it at the MTU of '" +
               underlayName_ + "' minus the tunnel headers; pods with a larger MTU lose big packets");
  if (made.recreated)
    host_.warn(
        "flannel-like: vxlan device '" + vxlanName_ +
        "' had other tunnel parameters and was made again; its routes and entries are rebuilt as nodes are upserted");
  return made.created ? "created" : made.recreated ? "recreated" : "existing";
}

// The VXLAN device vanished (someone deleted it) or was replaced: every entry on the old one
// went with it. Makes it again and forgets those entries, so that upserts write them anew.
bool RemoteNodes::recoverDevice() {
  if (options_.mode != Mode::kVxlan) return false;
  auto now = toolkit::findVxlan(sock_, vxlanName_);
  if (now.ok() && now.value() && now.value()->link.index == vxlanIndex_) return false;  // not the problem
  const int old = vxlanIndex_;
  std::string state = ensureDevice();
  host_.warn("flannel-like: vxlan device '" + vxlanName_ + "' was gone or replaced; " + state + " it again");
  for (auto& [name, rec] : records_) {
    auto onOld = [old](const auto& e) { return e.ifindex == old; };
    auto& e = rec.entries;
    e.routes.erase(std::remove_if(e.routes.begin(), e.routes.end(), onOld), e.routes.end());
    e.neighbours.erase(std::remove_if(e.neighbours.begin(), e.neighbours.end(), onOld), e.neighbours.end());
    e.fdb.erase(std::remove_if(e.fdb.begin(), e.fdb.end(), onOld), e.fdb.end());
  }
  owners_.clear();
  for (const auto& [name, rec] : records_) {
    for (const auto& e : rec.entries.routes) owners_[entryKey(e)] = name;
    for (const auto& e : rec.entries.neighbours) owners_[entryKey(e)] = name;
    for (const auto& e : rec.entries.fdb) owners_[entryKey(e)] = name;
  }
  // This node's own subnet addresses went with the old device.
  for (const auto& own : localSubnets_)
    if (auto a = IpPrefix::parse(own); a.ok())
      must(toolkit::addAddress(sock_, vxlanIndex_, a.value()),
           "adding this node's subnet address to vxlan '" + vxlanName_ + "'");
  return true;
}

std::string RemoteNodes::deviceName(int ifindex) const {
  if (ifindex && ifindex == vxlanIndex_) return vxlanName_;
  if (ifindex && ifindex == underlayIndex_) return underlayName_;
  return "";
}

int RemoteNodes::deviceIndex(const std::string& name) const {
  if (!name.empty() && name == vxlanName_) return vxlanIndex_;
  if (!name.empty() && name == underlayName_) return underlayIndex_;
  return 0;
}

void RemoteNodes::loadRecords() {
  std::map<std::string, nlohmann::json> loaded;
  try {
    loaded = journal_.load(stateProblems_);
  } catch (const std::exception& e) {
    stateProblems_ += (stateProblems_.empty() ? "" : "; ") + std::string(e.what());
  }
  for (auto& [name, j] : loaded) {
    try {
      // A record of the other mode (the instance changed mode) is loaded too: the next upsert
      // of that node replaces its entries, nodeRemove withdraws them.
      Record r;
      r.subnets = j.value("subnets", std::vector<std::string>{});
      r.underlay = j.value("underlay", "");
      r.vtepMac = j.value("vtepMac", "");
      r.entries = entriesFromJson(j.at("entries"), [this](const std::string& dev) { return deviceIndex(dev); });
      for (const auto& e : r.entries.routes) owners_[entryKey(e)] = name;
      for (const auto& e : r.entries.neighbours) owners_[entryKey(e)] = name;
      for (const auto& e : r.entries.fdb) owners_[entryKey(e)] = name;
      records_[name] = std::move(r);
    } catch (const std::exception& e) {
      stateProblems_ +=
          (stateProblems_.empty() ? "" : "; ") + std::string("record of node '") + name + "': " + e.what();
    }
  }
  if (!stateProblems_.empty()) host_.warn("flannel-like: state directory: " + stateProblems_);
  if (!records_.empty())
    host_.info("flannel-like: " + std::to_string(records_.size()) + " remote node(s) known from " + journal_.path());
}

std::string RemoteNodes::localNodeData() const {
  if (options_.mode != Mode::kVxlan) return "{}";
  return nlohmann::json{{"vtepMac", vtepMac_.str()}}.dump();
}

RemoteNodes::Desired RemoteNodes::desiredVxlan(const sdk::NodeInfo& node) {
  Desired d;
  if (node.subnets.empty()) return d;
  std::string macText;
  try {
    auto data = nlohmann::json::parse(node.backendDataJson.empty() ? "{}" : node.backendDataJson);
    if (data.is_object() && data.contains("vtepMac") && data["vtepMac"].is_string()) macText = data["vtepMac"];
  } catch (const nlohmann::json::exception&) {
  }
  auto mac = MacAddress::parse(macText);
  if (macText.empty() || !mac) {
    d.refusals.push_back({"", "node published no usable vtepMac (backend data: " + node.backendDataJson + ")"});
    return d;
  }
  if (mac.value().isZero() || (mac.value().bytes[0] & 1)) {
    d.refusals.push_back({"", "vtepMac " + macText + " is not a unicast MAC"});
    return d;
  }
  const std::string& remoteText = tunnelFamily_ == AF_INET ? node.underlayIpv4 : node.underlayIpv6;
  auto remote = IpAddress::parse(remoteText);
  if (remoteText.empty() || !remote || remote.value().family() != tunnelFamily_) {
    d.refusals.push_back({"", "node has no " + familyName(tunnelFamily_) + " underlay address ('" + remoteText +
                                  "'), and this node's tunnel runs over " + familyName(tunnelFamily_)});
    return d;
  }
  if (remote.value() == localUnderlay_) {
    d.refusals.push_back({"", "node has this node's own underlay address " + remoteText});
    return d;
  }
  d.record.underlay = remote.value().str();
  d.record.vtepMac = mac.value().str();
  auto local = must(toolkit::listAddresses(sock_), "reading this node's addresses");
  for (const auto& s : node.subnets) {
    auto subnet = IpPrefix::parse(s);
    if (!subnet || subnet.value().prefixLength() >= subnet.value().address().bits() - 1) {
      d.refusals.push_back({s, "not a pod subnet CIDR with room for a gateway"});
      continue;
    }
    IpPrefix net = subnet.value().masked();
    if (std::string why = overlapsLocal(net, local); !why.empty()) {
      d.refusals.push_back({net.str(), "subnet " + net.str() + " is local to this node: " + why});
      continue;
    }
    IpAddress gateway = firstHost(net);
    d.record.subnets.push_back(net.str());
    d.record.entries.neighbours.push_back(Neighbour{vxlanIndex_, gateway, mac.value()});
    Route r;
    r.family = net.family();
    r.destination = net;
    r.gateway = gateway;
    r.ifindex = vxlanIndex_;
    r.onlink = true;
    r.protocol = kRouteProtocol;
    d.record.entries.routes.push_back(r);
  }
  if (!d.record.entries.routes.empty())
    d.record.entries.fdb.push_back(FdbEntry{vxlanIndex_, mac.value(), remote.value(), true});
  return d;
}

RemoteNodes::Desired RemoteNodes::desiredHostGw(const sdk::NodeInfo& node) {
  Desired d;
  if (node.subnets.empty()) return d;
  auto local = must(toolkit::listAddresses(sock_), "reading this node's addresses");
  std::vector<toolkit::AddressInfo> connected;
  for (const auto& a : local)
    if (a.ifindex == underlayIndex_) connected.push_back(a);
  std::vector<std::string> via;
  for (const auto& s : node.subnets) {
    auto subnet = IpPrefix::parse(s);
    if (!subnet) {
      d.refusals.push_back({s, "not a CIDR"});
      continue;
    }
    IpPrefix net = subnet.value().masked();
    if (std::string why = overlapsLocal(net, local); !why.empty()) {
      d.refusals.push_back({net.str(), "subnet " + net.str() + " is local to this node: " + why});
      continue;
    }
    int family = net.family();
    const std::string& remoteText = family == AF_INET ? node.underlayIpv4 : node.underlayIpv6;
    auto remote = IpAddress::parse(remoteText);
    if (remoteText.empty() || !remote || remote.value().family() != family) {
      d.refusals.push_back({net.str(), "node has no " + familyName(family) + " underlay address to route " +
                                           familyName(family) + " subnet " + net.str() + " through"});
      continue;
    }
    std::vector<toolkit::AddressInfo> sameFamily;
    bool direct = false;
    for (const auto& a : connected) {
      if (a.prefix.family() != family) continue;
      if (family == AF_INET6 && a.scope != 0) continue;  // link-local prefixes do not count
      sameFamily.push_back(a);
      direct = direct || (a.prefix.contains(remote.value()) && a.prefix.address() != remote.value());
    }
    if (!direct) {
      d.refusals.push_back(
          {net.str(), "underlay address " + remote.value().str() +
                          " is not on a subnet of this node's underlay interface '" + underlayName_ + "' (" +
                          prefixesText(sameFamily) +
                          "): host-gw needs every node on one L2 segment; use mode vxlan across routers"});
      continue;
    }
    Route r;
    r.family = family;
    r.destination = net;
    r.gateway = remote.value();
    r.ifindex = underlayIndex_;
    r.protocol = kRouteProtocol;
    d.record.subnets.push_back(net.str());
    d.record.entries.routes.push_back(r);
    if (std::find(via.begin(), via.end(), remote.value().str()) == via.end()) via.push_back(remote.value().str());
  }
  for (const auto& v : via) d.record.underlay += (d.record.underlay.empty() ? "" : ",") + v;
  return d;
}

// Writes every entry (FDB first, then neighbours, then routes: a route never points at an
// unresolved gateway), with replace semantics, so a repeated call repairs drift. `written`
// collects what is in the kernel so far, for the caller's record when a later write fails.
void RemoteNodes::write(const NodeEntries& entries, NodeEntries& written) {
  for (const auto& f : entries.fdb) {
    must(toolkit::addFdbEntry(sock_, f, toolkit::FdbAddOptions{.replace = true}), "");
    written.fdb.push_back(f);
  }
  for (const auto& n : entries.neighbours) {
    must(toolkit::setNeighbour(sock_, n), "");
    written.neighbours.push_back(n);
  }
  for (const auto& r : entries.routes) {
    must(toolkit::addRoute(sock_, r, toolkit::RouteOptions{.existOk = true, .replace = true}), "");
    written.routes.push_back(r);
  }
}

// Deletes exactly these entries, in the reverse order of write. A route is deleted only when
// its protocol, gateway and device still are ours; entries already gone are fine.
void RemoteNodes::withdraw(const NodeEntries& entries) {
  std::string problems;
  auto note = [&](const toolkit::Error& e) { problems += (problems.empty() ? "" : "; ") + e.message; };
  for (const auto& r : entries.routes)
    if (auto done = toolkit::deleteRoute(sock_, r, toolkit::RouteDeleteOptions{.matchProtocol = true}); !done)
      note(done.error());
  for (const auto& n : entries.neighbours)
    if (auto done = toolkit::deleteNeighbour(sock_, n.ifindex, n.address); !done) note(done.error());
  for (const auto& f : entries.fdb)
    if (auto done = toolkit::deleteFdbEntry(sock_, f); !done) note(done.error());
  if (!problems.empty()) throw sdk::Error(CNIKIT_ERR_SYSTEM, problems);
}

// Entries another node held under the same keys (a subnet that moved to this node) now belong
// to this one: drop them from the other record so its removal cannot take them.
void RemoteNodes::takeOver(const std::string& nodeName, const NodeEntries& entries) {
  std::set<std::string> changed;
  auto claim = [&](const std::string& key) {
    auto it = owners_.find(key);
    if (it != owners_.end() && it->second != nodeName) changed.insert(it->second);
    owners_[key] = nodeName;
  };
  for (const auto& e : entries.routes) claim(entryKey(e));
  for (const auto& e : entries.neighbours) claim(entryKey(e));
  for (const auto& e : entries.fdb) claim(entryKey(e));
  for (const auto& other : changed) {
    auto rec = records_.find(other);
    if (rec == records_.end()) continue;
    auto mine = [&](const auto& e) {
      auto it = owners_.find(entryKey(e));
      return it != owners_.end() && it->second == nodeName;
    };
    auto& oe = rec->second.entries;
    oe.routes.erase(std::remove_if(oe.routes.begin(), oe.routes.end(), mine), oe.routes.end());
    oe.neighbours.erase(std::remove_if(oe.neighbours.begin(), oe.neighbours.end(), mine), oe.neighbours.end());
    oe.fdb.erase(std::remove_if(oe.fdb.begin(), oe.fdb.end(), mine), oe.fdb.end());
    host_.info("flannel-like: node '" + nodeName + "' took over entries of node '" + other + "'");
    persist(other);
  }
}

nlohmann::json RemoteNodes::recordJson(const Record& r) const {
  return {{"mode", modeName(options_.mode)},
          {"subnets", r.subnets},
          {"underlay", r.underlay},
          {"vtepMac", r.vtepMac},
          {"entries", toJson(r.entries, [this](int i) { return deviceName(i); })}};
}

void RemoteNodes::persist(const std::string& nodeName) {
  auto it = records_.find(nodeName);
  try {
    if (it == records_.end() || (it->second.entries.empty() && it->second.subnets.empty()))
      journal_.remove(nodeName);
    else
      journal_.save(nodeName, recordJson(it->second));
  } catch (const std::exception& e) {
    // The kernel holds the right state; only a restart would miss this record.
    host_.warn(std::string("flannel-like: ") + e.what());
  }
}

void RemoteNodes::setRefusals(const std::string& nodeName, std::vector<Refusal> refusals) {
  auto it = unreachable_.find(nodeName);
  if (refusals.empty()) {
    if (it != unreachable_.end()) {
      host_.info("flannel-like: node '" + nodeName + "' is reachable again");
      unreachable_.erase(it);
    }
    return;
  }
  bool same = it != unreachable_.end() && it->second.size() == refusals.size() &&
              std::equal(refusals.begin(), refusals.end(), it->second.begin(), [](const Refusal& a, const Refusal& b) {
                return a.subnet == b.subnet && a.reason == b.reason;
              });
  if (!same)
    for (const auto& r : refusals)
      host_.warn("flannel-like: not routing " +
                 (r.subnet.empty() ? std::string("node") : "subnet " + r.subnet + " of node") + " '" + nodeName +
                 "': " + r.reason);
  unreachable_[nodeName] = std::move(refusals);
}

void RemoteNodes::upsert(const sdk::NodeInfo& node) {
  if (node.name.empty()) invalid("node_upsert: the node has no name");
  if (node.name == context_.nodeName) return;  // this node: its own subnets are local
  std::lock_guard lock(mutex_);
  try {
    upsertLocked(node);
  } catch (const sdk::Error&) {
    if (!recoverDevice()) throw;
    upsertLocked(node);
  }
}

void RemoteNodes::upsertLocked(const sdk::NodeInfo& node) {
  Desired want = options_.mode == Mode::kVxlan ? desiredVxlan(node) : desiredHostGw(node);

  Record& rec = records_[node.name];
  const Record before = rec;
  NodeEntries written;
  std::set<std::string> wanted;
  for (const auto& e : want.record.entries.routes) wanted.insert(entryKey(e));
  for (const auto& e : want.record.entries.neighbours) wanted.insert(entryKey(e));
  for (const auto& e : want.record.entries.fdb) wanted.insert(entryKey(e));
  takeOver(node.name, want.record.entries);
  try {
    write(want.record.entries, written);
  } catch (...) {
    // Keep a record of everything that may be in the kernel: the old entries and the new.
    auto keep = [&](auto& into, const auto& from) {
      for (const auto& e : from)
        if (std::none_of(into.begin(), into.end(), [&](const auto& x) { return sameEntry(x, e); })) into.push_back(e);
    };
    keep(rec.entries.routes, written.routes);
    keep(rec.entries.neighbours, written.neighbours);
    keep(rec.entries.fdb, written.fdb);
    persist(node.name);
    if (rec.entries.empty() && rec.subnets.empty()) records_.erase(node.name);
    throw;
  }

  // What was there before and is no longer wanted (a key nobody writes any more).
  NodeEntries stale;
  for (const auto& e : before.entries.routes)
    if (!wanted.count(entryKey(e))) stale.routes.push_back(e);
  for (const auto& e : before.entries.neighbours)
    if (!wanted.count(entryKey(e))) stale.neighbours.push_back(e);
  for (const auto& e : before.entries.fdb)
    if (!wanted.count(entryKey(e))) stale.fdb.push_back(e);
  rec.subnets = want.record.subnets;
  rec.underlay = want.record.underlay;
  rec.vtepMac = want.record.vtepMac;
  rec.entries = want.record.entries;
  auto forget = [&](const auto& list) {
    for (const auto& e : list) {
      auto it = owners_.find(entryKey(e));
      if (it != owners_.end() && it->second == node.name) owners_.erase(it);
    }
  };
  forget(stale.routes);
  forget(stale.neighbours);
  forget(stale.fdb);
  const bool changed = !sameEntries(before.entries, rec.entries) || before.subnets != rec.subnets ||
                       before.underlay != rec.underlay || before.vtepMac != rec.vtepMac;
  if (changed) persist(node.name);
  setRefusals(node.name, std::move(want.refusals));
  if (rec.entries.empty() && rec.subnets.empty()) records_.erase(node.name);
  withdraw(stale);
}

void RemoteNodes::remove(const std::string& nodeName) {
  std::lock_guard lock(mutex_);
  unreachable_.erase(nodeName);
  auto it = records_.find(nodeName);
  if (it == records_.end()) return;
  NodeEntries entries = it->second.entries;
  for (const NodeEntries* list : {&entries}) {
    for (const auto& e : list->routes) owners_.erase(entryKey(e));
    for (const auto& e : list->neighbours) owners_.erase(entryKey(e));
    for (const auto& e : list->fdb) owners_.erase(entryKey(e));
  }
  withdraw(entries);
  records_.erase(it);
  persist(nodeName);
}

void RemoteNodes::teardown() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, record] : records_) names.push_back(name);
  }
  for (const auto& name : names) remove(name);
  std::lock_guard lock(mutex_);
  unreachable_.clear();
  localSubnets_.clear();
  journal_.erase();
  if (options_.mode == Mode::kVxlan && !vxlanName_.empty()) {
    must(toolkit::deleteLink(sock_, vxlanName_), "deleting vxlan '" + vxlanName_ + "'");
    vxlanIndex_ = 0;
  }
}

void RemoteNodes::ensureLocalSubnet(const IpPrefix& subnet) {
  if (options_.mode != Mode::kVxlan || subnet.family() != AF_INET) return;
  IpPrefix own = IpPrefix::host(subnet.network());
  std::lock_guard lock(mutex_);
  if (localSubnets_.count(own.str())) return;
  must(toolkit::addAddress(sock_, vxlanIndex_, own), "adding this node's subnet address to vxlan '" + vxlanName_ + "'");
  localSubnets_.insert(own.str());
}

nlohmann::json RemoteNodes::status() {
  std::lock_guard lock(mutex_);
  nlohmann::json s;
  s["underlay"] = {{"interface", underlayName_}, {"ipv4", context_.underlayIpv4}, {"ipv6", context_.underlayIpv6}};
  if (options_.mode == Mode::kVxlan) {
    nlohmann::json v{{"name", vxlanName_},        {"vni", options_.vni},
                     {"port", options_.port},     {"local", localUnderlay_.str()},
                     {"vtepMac", vtepMac_.str()}, {"atStart", vxlanState_}};
    auto info = toolkit::findVxlan(sock_, vxlanName_);
    v["exists"] = info.ok() && info.value().has_value();
    if (info.ok() && info.value()) {
      v["up"] = info.value()->link.up;
      v["mtu"] = info.value()->link.mtu;
      v["ifindex"] = info.value()->link.index;
    }
    s["vxlan"] = v;
  }
  nlohmann::json nodes = nlohmann::json::array();
  size_t routes = 0;
  std::set<std::string> recorded;
  for (const auto& [name, r] : records_) {
    nodes.push_back({{"node", name},
                     {"subnets", r.subnets},
                     {"underlay", r.underlay},
                     {"vtepMac", r.vtepMac},
                     {"routes", r.entries.routes.size()},
                     {"neighbours", r.entries.neighbours.size()},
                     {"fdb", r.entries.fdb.size()}});
    routes += r.entries.routes.size();
    for (const auto& e : r.entries.routes) recorded.insert(e.destination ? e.destination->masked().str() : "default");
  }
  s["nodes"] = nodes;
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& [name, list] : unreachable_)
    for (const auto& r : list) {
      nlohmann::json j{{"node", name}, {"reason", r.reason}};
      if (!r.subnet.empty()) j["subnet"] = r.subnet;
      refused.push_back(j);
    }
  s["unreachableNodes"] = refused;
  // Routes with our protocol on our devices that no record claims: left by a lost state
  // directory or another instance; listed, never deleted behind anyone's back.
  nlohmann::json orphans = nlohmann::json::array();
  for (int family : {AF_INET, AF_INET6}) {
    auto listed = toolkit::listRoutes(sock_, family);
    if (!listed) continue;
    for (const auto& r : listed.value()) {
      if (r.protocol != kRouteProtocol || (r.ifindex != vxlanIndex_ && r.ifindex != underlayIndex_)) continue;
      std::string dst = r.destination ? r.destination->masked().str() : "default";
      if (!recorded.count(dst)) orphans.push_back(dst);
    }
  }
  s["routes"] = routes;
  s["unclaimedRoutes"] = orphans;
  s["routeProtocol"] = kRouteProtocol;
  s["stateFile"] = journal_.path();
  if (!stateProblems_.empty()) s["stateProblems"] = stateProblems_;
  return s;
}

}  // namespace cnikit::flannel
