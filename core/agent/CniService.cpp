#include "core/agent/CniService.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cnikit/toolkit/Rollback.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <set>

#include "core/agent/LocalNode.hpp"
#include "core/agent/PodInterface.hpp"
#include "core/agent/PolicyController.hpp"
#include "core/cni/Error.hpp"
#include "core/cni/Result.hpp"
#include "core/cni/Version.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::agent {
namespace {

using cni::CniError;

// Rollback of multi-step verbs: an undo that fails is logged; the verb reports its own error.
void logUndoFailure(const std::string& what) { spdlog::error("rollback failed: {}", what); }

std::optional<Labels> storedNamespaceLabels(store::Store& store, const std::string& name) {
  auto kv = store.get(k8s::storeKey({k8s::Kind::Namespace, "", name}));
  if (!kv) return std::nullopt;
  Labels labels;
  auto object = nlohmann::json::parse(kv->value, nullptr, false);
  if (object.is_discarded()) return labels;
  auto metadata = object.value("metadata", nlohmann::json::object());
  auto objectLabels = metadata.value("labels", nlohmann::json::object());
  for (const auto& [k, v] : objectLabels.items())
    if (v.is_string()) labels[k] = v.get<std::string>();
  return labels;
}

// The labels of the stored Pod object ("{}" when it is not known: no apiserver feeds the
// store, or the pod was created before its object).
std::string storedPodLabels(store::Store& store, const std::string& ns, const std::string& name) {
  if (ns.empty() || name.empty()) return "{}";
  auto kv = store.get(k8s::storeKey({k8s::Kind::Pod, ns, name}));
  if (!kv) return "{}";
  auto object = nlohmann::json::parse(kv->value, nullptr, false);
  if (object.is_discarded()) return "{}";
  auto labels = object.value("metadata", nlohmann::json::object()).value("labels", nlohmann::json::object());
  return labels.is_object() ? labels.dump() : "{}";
}

std::string runtimeConfigJson(const cni::Request& request) {
  auto it = request.conf.raw.find("runtimeConfig");
  return it != request.conf.raw.end() && it->is_object() ? it->dump() : "{}";
}

// CNI_ARGS as an object, and the config's "args" under "config".
std::string cniArgsJson(const cni::Request& request) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : request.args) out[k] = v;
  auto it = request.conf.raw.find("args");
  if (it != request.conf.raw.end() && it->is_object()) out["config"] = *it;
  return out.dump();
}

// runtimeConfig.ips and CNI_ARGS IP= may carry an address with or without a prefix.
toolkit::IpAddress requestedAddress(const std::string& text) {
  auto ip = toolkit::IpPrefix::tryParse(text, {.bareAddress = true});
  if (!ip) throw CniError(cni::kInvalidNetworkConfig, "requested IP '" + text + "' is not an IP address");
  return ip->address();
}

bool pathExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

cni::Dns dnsFromConfig(const nlohmann::json& raw) {
  cni::Dns dns;
  auto it = raw.find("dns");
  if (it == raw.end() || !it->is_object()) return dns;
  auto strings = [&](const char* field) {
    std::vector<std::string> out;
    auto f = it->find(field);
    if (f != it->end() && f->is_array())
      for (const auto& s : *f)
        if (s.is_string()) out.push_back(s.get<std::string>());
    return out;
  };
  dns.nameservers = strings("nameservers");
  dns.search = strings("search");
  dns.options = strings("options");
  if (auto d = it->find("domain"); d != it->end() && d->is_string()) dns.domain = d->get<std::string>();
  return dns;
}

std::string renderAdd(const cni::Request& request, const Endpoint& endpoint) {
  cni::Result result;
  if (request.conf.prevResult) result = *request.conf.prevResult;
  int containerIndex = static_cast<int>(result.interfaces.size()) + 1;
  result.interfaces.push_back({endpoint.hostIfname, endpoint.hostMac, "", std::nullopt});
  result.interfaces.push_back(
      {endpoint.ifname, endpoint.containerMac, endpoint.netns, static_cast<int>(endpoint.mtu)});
  for (const auto& i : endpoint.interfaces) {
    int mtu = i.value("mtu", 0);
    result.interfaces.push_back({i.value("name", ""), i.value("mac", ""), i.value("sandbox", ""),
                                 mtu ? std::optional<int>(mtu) : std::nullopt});
  }
  bool v4Route = false, v6Route = false;
  for (size_t i = 0; i < endpoint.addresses.size(); ++i) {
    const std::string& gateway = endpoint.gateways[i];
    result.ips.push_back({endpoint.addresses[i], gateway, containerIndex});
    if (gateway.empty()) continue;
    bool v4 = gateway.find(':') == std::string::npos;
    if (v4 && !v4Route) result.routes.push_back({"0.0.0.0/0", gateway}), v4Route = true;
    if (!v4 && !v6Route) result.routes.push_back({"::/0", gateway}), v6Route = true;
  }
  for (const auto& r : endpoint.routes) result.routes.push_back({r.value("dst", ""), r.value("gw", "")});
  auto dns = dnsFromConfig(request.conf.raw);
  if (!dns.empty()) result.dns = dns;
  return cni::renderResult(result, request.conf.cniVersion).dump();
}

int cniCodeFor(const ipam::IpamError& e) {
  switch (e.kind()) {
    case ipam::IpamError::Kind::Exhausted: return cni::kAddressesExhausted;
    case ipam::IpamError::Kind::RequestedUnavailable: return cni::kRequestedAddressUnavailable;
    case ipam::IpamError::Kind::InvalidConfig: return cni::kInvalidNetworkConfig;
  }
  return cni::kInternal;
}

int cniCodeFor(const plugin::BackendError& e) {
  return e.status() == CNIKIT_ERR_TRY_AGAIN ? cni::kTryAgainLater : cni::kBackendFailure;
}

}  // namespace

CniService::CniService(const AgentConfig& config, store::Store& store, ipam::Ipam& ipam, Endpoints& endpoints,
                       const BackendMap& backends, metrics::Registry& metrics, PolicyController* policy)
    : config_(config),
      store_(store),
      ipam_(ipam),
      endpoints_(endpoints),
      backends_(backends),
      selector_(config, [&store](const std::string& ns) { return storedNamespaceLabels(store, ns); }),
      metrics_(metrics),
      policy_(policy) {
  for (auto command : {cni::Command::Add, cni::Command::Del, cni::Command::Check, cni::Command::Status,
                       cni::Command::Gc}) {
    std::string name = cni::commandName(command);
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    requestCounters_[command] = metrics_.add("cnikit_cni_" + name + "_requests_total",
                                             "CNI " + name + " requests handled", metrics::Kind::Counter);
  }
  errorCounter_ = metrics_.add("cnikit_cni_errors_total", "CNI requests answered with an error",
                               metrics::Kind::Counter);
}

CniResponse CniService::handle(const std::map<std::string, std::string>& env, const std::string& stdinText) {
  std::string version;  // the caller's spec version, for rendering an error
  try {
    try {
      cni::Request request = cni::parseRequest(env, stdinText);
      version = request.conf.cniVersion;
      metrics_.increment(requestCounters_[request.command], 1);
      switch (request.command) {
        case cni::Command::Add:
          return {0, add(request)};
        case cni::Command::Del:
          del(request);
          return {0, ""};
        case cni::Command::Check:
          check(request);
          return {0, ""};
        case cni::Command::Status:
          status();
          return {0, ""};
        case cni::Command::Gc:
          gc(request);
          return {0, ""};
        case cni::Command::Version:
          return {0, cni::renderVersionInfo(version)};
      }
      throw CniError(cni::kInvalidEnvironment, "unknown CNI_COMMAND");
    } catch (const store::StoreUnavailable& e) {
      bool isStatus = env.count("CNI_COMMAND") && env.at("CNI_COMMAND") == "STATUS";
      throw CniError(isStatus ? cni::kPluginNotAvailable : cni::kTryAgainLater,
                     std::string("cluster store unavailable: ") + e.what());
    } catch (const ipam::IpamError& e) {
      throw CniError(cniCodeFor(e), e.what());
    } catch (const plugin::BackendError& e) {
      throw CniError(cniCodeFor(e), e.what());
    }
  } catch (const CniError& e) {
    // Only a request that failed to parse needs its version guessed: no second parse otherwise.
    if (version.empty()) version = cni::sniffVersion(stdinText);
    metrics_.increment(errorCounter_, 1);
    spdlog::warn("CNI {} failed: code {}: {}", env.count("CNI_COMMAND") ? env.at("CNI_COMMAND") : "?", e.code(),
                 e.msg());
    return {1, cni::renderError(e, version)};
  } catch (const std::exception& e) {
    if (version.empty()) version = cni::sniffVersion(stdinText);
    metrics_.increment(errorCounter_, 1);
    spdlog::error("CNI request failed: {}", e.what());
    return {1, cni::renderError(CniError(cni::kInternal, e.what()), version)};
  }
}

const ipam::PoolConfig& CniService::pool(const std::string& name) const {
  for (const auto& p : config_.pools)
    if (p.name == name) return p;
  throw CniError(cni::kNoPoolSelected, "no pool named '" + name + "'");
}

plugin::BackendInstance& CniService::backendFor(const ipam::PoolConfig& pool) const {
  auto it = backends_.find(pool.backend);
  if (it == backends_.end() || !it->second)
    throw CniError(cni::kBackendFailure, "backend instance '" + pool.backend + "' of pool '" + pool.name +
                                             "' is not loaded");
  return *it->second;
}

std::string CniService::add(const cni::Request& request) {
  auto held = locks_.lock(request.containerId);

  if (!pathExists(request.netns))
    throw CniError(cni::kInvalidEnvironment, "CNI_NETNS " + request.netns + " does not exist");

  if (auto existing = endpoints_.get(request.containerId, request.ifname)) {
    if (existing->netns == request.netns) return renderAdd(request, *existing);
    throw CniError(cni::kInvalidEnvironment, "container " + request.containerId + " interface " + request.ifname +
                                                 " is already attached in netns " + existing->netns);
  }

  auto poolName = selector_.select(request.podNamespace, request.conf.pool);
  if (!poolName) {
    if (!request.conf.pool.empty())
      throw CniError(cni::kInvalidNetworkConfig, "pool: no pool named '" + request.conf.pool + "'");
    throw CniError(cni::kNoPoolSelected,
                   "no selection rule matches namespace '" + request.podNamespace + "' on node " + config_.node);
  }
  const ipam::PoolConfig& chosen = pool(*poolName);
  plugin::BackendInstance& backend = backendFor(chosen);

  ipam::AllocateRequest allocation{request.containerId, request.ifname, {}, request.podNamespace,
                                   request.podName,     request.netns};
  for (const auto& text : request.requestedIps) allocation.requested.push_back(requestedAddress(text));

  auto allocations = ipam_.allocate(chosen, allocation);
  toolkit::Rollback releaseAddresses([&] { ipam_.release(request.containerId, request.ifname); }, logUndoFailure);

  plugin::PodRequest podRequest;
  podRequest.containerId = request.containerId;
  podRequest.netns = request.netns;
  podRequest.ifname = request.ifname;
  podRequest.podNamespace = request.podNamespace;
  podRequest.podName = request.podName;
  podRequest.mac = request.requestedMac;
  podRequest.mtu = request.conf.mtu ? static_cast<uint32_t>(*request.conf.mtu) : 0;
  podRequest.pool = chosen.name;
  podRequest.podLabelsJson = storedPodLabels(store_, request.podNamespace, request.podName);
  podRequest.runtimeConfigJson = runtimeConfigJson(request);
  podRequest.cniArgsJson = cniArgsJson(request);
  for (const auto& a : allocations) podRequest.ips.push_back(ipSpecFor(a));

  plugin::PodResult pod;
  try {
    pod = backend.podAdd(podRequest);
  } catch (const plugin::BackendError& e) {
    // EXISTS: the pod already has an interface of this name. If it carries the address IPAM just gave
    // back (allocation is idempotent for this container and ifname), releasing it would let
    // another pod have an address still in use here: keep it for this container's DEL or GC.
    std::vector<std::string> addresses;
    for (const auto& ip : podRequest.ips) addresses.push_back(ip.address);
    if (e.status() == CNIKIT_ERR_EXISTS && podInterfaceMayCarry(request.netns, request.ifname, addresses))
      releaseAddresses.commit();
    throw;
  }
  toolkit::Rollback removeInterface([&] { backend.podDel(podRequest); }, logUndoFailure);

  Endpoint endpoint;
  endpoint.containerId = request.containerId;
  endpoint.ifname = pod.containerIfname.empty() ? request.ifname : pod.containerIfname;
  endpoint.netns = request.netns;
  endpoint.podNamespace = request.podNamespace;
  endpoint.podName = request.podName;
  endpoint.pool = chosen.name;
  endpoint.backend = chosen.backend;
  for (const auto& ip : podRequest.ips) {
    endpoint.addresses.push_back(ip.address);
    endpoint.gateways.push_back(ip.gateway);
  }
  endpoint.hostIfname = pod.hostIfname;
  endpoint.hostMac = pod.hostMac;
  endpoint.containerMac = pod.containerMac;
  endpoint.mtu = pod.mtu;
  for (const auto& r : pod.routes) endpoint.routes.push_back({{"dst", r.destination}, {"gw", r.gateway}});
  for (const auto& i : pod.interfaces)
    endpoint.interfaces.push_back({{"name", i.name}, {"mac", i.mac}, {"sandbox", i.sandbox}, {"mtu", i.mtu}});
  // The pod's rules exist before ADD returns: no packet of it passes unpoliced.
  if (policy_) {
    try {
      policy_->endpointAdded(endpoint);
    } catch (const std::exception& e) {
      throw CniError(cni::kBackendFailure, std::string("policy for the new pod: ") + e.what());
    }
  }
  toolkit::Rollback removePolicy([&] {
    if (policy_) policy_->endpointRemoved(endpoint);
  }, logUndoFailure);
  endpoints_.put(endpoint);

  std::string rendered = renderAdd(request, endpoint);
  removePolicy.commit();
  removeInterface.commit();
  releaseAddresses.commit();
  spdlog::info("ADD {} {} ({}/{}) -> {}", request.containerId, request.ifname, request.podNamespace,
               request.podName, nlohmann::json(endpoint.addresses).dump());
  return rendered;
}

void CniService::teardown(const std::string& containerId, const std::string& ifname, const std::string& netns) {
  auto endpoint = endpoints_.get(containerId, ifname);
  plugin::PodRequest podRequest;
  podRequest.containerId = containerId;
  podRequest.ifname = ifname;
  if (endpoint) podRequest = podRequestFor(*endpoint);
  podRequest.netns = netns;
  if (endpoint) {
    auto it = backends_.find(endpoint->backend);
    if (it != backends_.end() && it->second && it->second->supportsPods()) it->second->podDel(podRequest);
    if (policy_) policy_->endpointRemoved(*endpoint);
  } else {
    // No record (an ADD that crashed half-way, or never ours): every pod backend's DEL is
    // idempotent, so ask them all.
    for (const auto& [name, backend] : backends_)
      if (backend && backend->supportsPods()) backend->podDel(podRequest);
  }
  ipam_.release(containerId, ifname);
  if (endpoint) endpoints_.remove(containerId, ifname);
}

void CniService::del(const cni::Request& request) {
  auto held = locks_.lock(request.containerId);
  std::string netns = request.netns;
  if (!netns.empty() && !pathExists(netns)) netns.clear();  // already gone: host side only
  teardown(request.containerId, request.ifname, netns);
  spdlog::info("DEL {} {}", request.containerId, request.ifname);
}

void CniService::check(const cni::Request& request) {
  auto held = locks_.lock(request.containerId);
  auto endpoint = endpoints_.get(request.containerId, request.ifname);
  if (!endpoint)
    throw CniError(cni::kUnknownContainer,
                   "container " + request.containerId + " has no interface " + request.ifname + " from cnikit");
  if (!pathExists(request.netns))
    throw CniError(cni::kInvalidEnvironment, "CNI_NETNS " + request.netns + " does not exist");
  if (request.conf.prevResult) {
    for (const auto& address : endpoint->addresses) {
      bool found = false;
      for (const auto& ip : request.conf.prevResult->ips) found = found || ip.address == address;
      if (!found)
        throw CniError(cni::kBackendFailure, "prevResult does not list address " + address + " of container " +
                                                 request.containerId);
    }
  }
  plugin::PodRequest podRequest = podRequestFor(*endpoint);
  podRequest.netns = request.netns;
  auto it = backends_.find(endpoint->backend);
  if (it == backends_.end() || !it->second)
    throw CniError(cni::kBackendFailure, "backend instance '" + endpoint->backend + "' is not loaded");
  it->second->podCheck(podRequest);
}

void CniService::status() {
  store_.get(store::keys::kHealth);  // throws StoreUnavailable when the store is away
  for (const auto& pool : config_.pools) {
    if (!backends_.count(pool.backend) || !backends_.at(pool.backend))
      throw CniError(cni::kPluginNotAvailable, "backend '" + pool.backend + "' of pool '" + pool.name +
                                                   "' is not loaded");
    if (auto reason = backends_.at(pool.backend)->notReadyReason())
      throw CniError(cni::kPluginNotAvailable,
                     "backend instance '" + pool.backend + "' of pool '" + pool.name + "' is not ready: " + *reason);
  }
}

void CniService::release(const std::string& containerId, const std::string& ifname) {
  auto held = locks_.lock(containerId);
  auto endpoint = endpoints_.get(containerId, ifname);
  teardown(containerId, ifname, endpoint && pathExists(endpoint->netns) ? endpoint->netns : "");
}

void CniService::gc(const cni::Request& request) {
  std::set<std::pair<std::string, std::string>> valid;
  for (const auto& a : request.conf.validAttachments) valid.insert({a.containerId, a.ifname});
  int removed = 0;
  for (const auto& endpoint : endpoints_.list()) {
    if (valid.count({endpoint.containerId, endpoint.ifname})) continue;
    auto held = locks_.lock(endpoint.containerId);
    teardown(endpoint.containerId, endpoint.ifname, pathExists(endpoint.netns) ? endpoint.netns : "");
    ++removed;
  }
  std::vector<ipam::Attachment> keep;
  for (const auto& [id, ifname] : valid) keep.push_back({id, ifname});
  removed += static_cast<int>(ipam_.gc(keep).size());
  spdlog::info("GC: released {} attachment(s) the runtime no longer holds", removed);
}

int CniService::collectVanishedNamespaces() {
  int removed = 0;
  for (const auto& endpoint : endpoints_.list()) {
    if (endpoint.netns.empty() || pathExists(endpoint.netns)) continue;
    auto held = locks_.lock(endpoint.containerId);
    auto current = endpoints_.get(endpoint.containerId, endpoint.ifname);
    if (!current || pathExists(current->netns)) continue;  // changed while we looked
    try {
      teardown(endpoint.containerId, endpoint.ifname, "");
      ++removed;
      spdlog::info("GC: netns {} of container {} is gone; released its addresses", endpoint.netns,
                   endpoint.containerId);
    } catch (const std::exception& e) {
      spdlog::warn("GC of container {} failed: {}", endpoint.containerId, e.what());
    }
  }
  return removed;
}

}  // namespace cnikit::agent
