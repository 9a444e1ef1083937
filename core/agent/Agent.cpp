#include "core/agent/Agent.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Sysctl.hpp>

#include "core/agent/Diagnostics.hpp"
#include "core/agent/LocalNode.hpp"
#include "core/agent/ObjectService.hpp"
#include "core/agent/Underlay.hpp"
#include "core/plugin/BackendInstance.hpp"
#include "core/plugin/HostServices.hpp"
#include "core/plugin/OptionsSchema.hpp"
#include "core/policy/iptables/IptablesProvider.hpp"
#include "core/rpc/AgentProtocol.hpp"
#include "core/rpc/Frame.hpp"
#include "core/rpc/UnixListener.hpp"
#include "core/service/LoadBalancerAnnouncer.hpp"
#include "core/service/ProviderSet.hpp"
#include "core/service/ServiceMethods.hpp"
#include "core/service/iptables/IptablesServiceProxy.hpp"
#include "core/store/StoreFactory.hpp"

namespace cnikit::agent {

using nlohmann::json;

Agent::Agent(AgentConfig config) : config_(std::move(config)) {
  std::filesystem::create_directories(config_.stateDir);
  store_ = store::openStore(config_.store);
  if (config_.clusterFromStore) loadClusterConfig();
  ipam_ = std::make_unique<ipam::Ipam>(*store_, config_.node);

  plugin::Underlay underlay;
  try {
    underlay = detectUnderlay(config_.underlayInterface);
    spdlog::info("underlay {} {} {} mtu {}", underlay.interface, underlay.ipv4, underlay.ipv6, underlay.mtu);
  } catch (const std::exception& e) {
    if (!config_.underlayInterface.empty()) throw;
    spdlog::warn("no underlay ({}): this node can serve local pods only", e.what());
  }
  endpoints_ = std::make_unique<Endpoints>(*store_, config_.node);

  underlay_ = underlay;
  for (const auto& backend : config_.backends) {
    auto path = plugin::BackendLibrary::locate(config_.backendDir, backend.type);
    auto library = plugin::BackendLibrary::load(path);
    auto spec = createSpecFor(config_, backend, underlay);
    plugin::validateOptions(library->optionsSchema(), nlohmann::json::parse(spec.optionsJson), backend.name);
    auto host = std::make_shared<plugin::HostServices>(backend.name, store_.get(), &metrics_,
                                                       plugin::HostPaths{spec.stateDir, config_.stateDir / "secrets"});
    std::filesystem::create_directories(spec.stateDir);
    backends_[backend.name] = std::make_unique<plugin::BackendInstance>(library, spec, host);
    spdlog::info("backend instance '{}': {} {} (ABI 1.{}) from {}", backend.name, library->name(), library->version(),
                 library->abiMinor(), path.string());
  }
  NodeSubnets subnets;
  for (const auto& pool : config_.pools) {
    subnets[pool.name] = ipam_->ensureNodeSubnets(pool);
    for (const auto& subnet : subnets[pool.name]) spdlog::info("pool '{}': node subnet {}", pool.name, subnet.str());
  }
  // The order the SDK promises: local_node_update, start, pods_sync; a node is routed before
  // its first pod, and what a crashed agent left half-made is swept before new work comes.
  for (const auto& [name, backend] : backends_) bringUp(name, *backend, subnets);
  std::set<std::string> policed;
  for (const auto& backend : config_.backends)
    if (backend.policy == policy::ProviderKind::Iptables) policed.insert(backend.name);
  if (!policed.empty()) {
    PolicyControllerOptions options;
    options.backends = policed;
    policy_ = std::make_unique<PolicyController>(*store_, config_.node,
                                                 std::make_unique<policy::iptables::IptablesProvider>(), options);
    policy_->start();
  }
  if (config_.services.proxy == ServicesConfig::Proxy::Iptables) startServices();
  cni_ = std::make_unique<CniService>(config_, *store_, *ipam_, *endpoints_, backends_, metrics_, policy_.get());
  nodeSync_ = std::make_unique<NodeSync>(config_, *store_, *ipam_, backends_, underlay);
  nodeSync_->onLocalSubnets([this](const NodeSubnets& current) { localSubnetsChanged(current); });
  if (config_.clusterFromStore) watchClusterConfig();
  if (!config_.metricsAddress.empty()) {
    exposer_ = std::make_unique<prometheus::Exposer>(config_.metricsAddress);
    exposer_->RegisterCollectable(metrics_.prometheus());
  }
}

// The node's Service datapath: the iptables proxy, and the load-balancer announcer when the
// cluster has load-balancer pools and this node an underlay to announce on.
void Agent::startServices() {
  // Pods on one bridge talk through it at L2: their replies are un-DNATed only when bridged
  // traffic passes iptables (kube-proxy asks the same of every node).
  std::vector<std::pair<std::string, std::string>> sysctls = {{"net.bridge.bridge-nf-call-iptables", "1"},
                                                              {"net.bridge.bridge-nf-call-ip6tables", "1"},
                                                              // A node that DNATs a load-balancer address
                                                              // back out of the interface it came in on
                                                              // must not spend its ICMP budget on
                                                              // redirects: the refusal of a Service
                                                              // without endpoints would never be sent.
                                                              {"net.ipv4.conf.all.send_redirects", "0"}};
  if (!underlay_.interface.empty())
    sysctls.push_back({"net/ipv4/conf/" + underlay_.interface + "/send_redirects", "0"});
  for (const auto& [key, value] : sysctls) {
    if (auto set = toolkit::writeSysctl(key, value); !set) spdlog::warn("services: {}", set.error().message);
  }
  routeServiceCidrsToLoopback();
  std::vector<std::unique_ptr<service::ServiceProvider>> providers;
  providers.push_back(std::make_unique<service::iptables::IptablesServiceProxy>());
  std::vector<std::string> lbCidrs;
  for (const auto& pool : config_.services.loadBalancerPools)
    for (const auto& cidr : pool.cidrs) lbCidrs.push_back(cidr.str());
  if (!lbCidrs.empty() && !underlay_.interface.empty()) {
    auto announcer = std::make_unique<service::LoadBalancerAnnouncer>(
        service::LoadBalancerAnnouncerOptions{config_.node, underlay_.interface, lbCidrs});
    announcer->watchNodes(*store_);
    providers.push_back(std::move(announcer));
  }
  service::ServiceControllerOptions options;
  for (const auto& pool : config_.pools)
    for (const auto& cidr : pool.cidrs) options.podCidrs.push_back(cidr.str());
  services_ = std::make_unique<service::ServiceController>(
      *store_, config_.node, std::make_unique<service::ProviderSet>(std::move(providers)), options);
  services_->start();
}

namespace {

std::vector<toolkit::IpPrefix> serviceCidrs(const ServicesConfig& services) {
  std::vector<toolkit::IpPrefix> cidrs{services.clusterIPv4Cidr};
  if (services.clusterIPv6Cidr) cidrs.push_back(*services.clusterIPv6Cidr);
  return cidrs;
}

toolkit::Route serviceRoute(const toolkit::IpPrefix& cidr) {
  toolkit::Route route;
  route.family = cidr.isV4() ? AF_INET : AF_INET6;
  route.destination = cidr;
  route.ifindex = 1;  // lo is index 1 in every namespace
  route.metric = kServiceRouteMetric;
  route.protocol = kServiceRouteProtocol;
  return route;
}

}  // namespace

// Traffic to a service address that no rule DNATs (a Service without endpoints, a port it
// does not have) must meet the proxy's reject rules in FORWARD/INPUT instead of failing
// routing on a node without a default route, or leaving through it: the service CIDRs point
// at lo, with a metric that lets any route of the node's own for them win.
void Agent::routeServiceCidrsToLoopback() {
  auto sock = toolkit::NetlinkSocket::open();
  if (!sock) {
    spdlog::warn("services: {}", sock.error().message);
    return;
  }
  for (const auto& cidr : serviceCidrs(config_.services)) {
    if (auto added = toolkit::addRoute(*sock, serviceRoute(cidr)); !added)
      spdlog::warn("services: route {} to lo: {}", cidr.str(), added.error().message);
  }
}

void Agent::removeServiceRoutes() {
  auto sock = toolkit::NetlinkSocket::open();
  if (!sock) return;
  for (const auto& cidr : serviceCidrs(config_.services)) {
    toolkit::Route route = serviceRoute(cidr);
    if (auto removed = toolkit::deleteRoute(*sock, route, {.matchProtocol = true}); !removed)
      spdlog::warn("leaving: route {} to lo: {}", cidr.str(), removed.error().message);
  }
}

void Agent::bringUp(const std::string& name, plugin::BackendInstance& backend, const NodeSubnets& subnets) {
  backend.localNodeUpdate(localNodeFor(config_, name, subnets, underlay_));
  backend.start();
  backend.podsSync(podsOf(name));
  std::lock_guard lock(subnetsMutex_);
  subnets_ = subnets;
}

// The pods this node holds for one instance: every recorded endpoint, and every attachment
// IPAM holds addresses for without an endpoint yet (an ADD the agent died in: its retry adopts
// the interface, so pods_sync must not sweep it).
std::vector<plugin::PodRequest> Agent::podsOf(const std::string& instance) {
  std::vector<plugin::PodRequest> pods;
  std::set<std::pair<std::string, std::string>> recorded;
  for (const auto& endpoint : endpoints_->list()) {
    recorded.insert({endpoint.containerId, endpoint.ifname});
    if (endpoint.backend == instance) pods.push_back(podRequestFor(endpoint));
  }
  std::map<std::pair<std::string, std::string>, plugin::PodRequest> inFlight;
  for (const auto& pool : config_.pools) {
    if (pool.backend != instance) continue;
    for (const auto& a : ipam_->list(pool.name)) {
      if (recorded.count({a.containerId, a.ifname})) continue;
      auto& pod = inFlight[{a.containerId, a.ifname}];
      pod.containerId = a.containerId;
      pod.ifname = a.ifname;
      pod.netns = a.netns;
      pod.podNamespace = a.podNamespace;
      pod.podName = a.podName;
      pod.pool = a.pool;
      pod.ips.push_back(ipSpecFor(a));
    }
  }
  for (auto& [key, pod] : inFlight) pods.push_back(std::move(pod));
  return pods;
}

void Agent::localSubnetsChanged(const NodeSubnets& current) {
  {
    std::lock_guard lock(subnetsMutex_);
    if (current == subnets_) return;
    subnets_ = current;
  }
  for (const auto& [name, backend] : backends_) {
    try {
      backend->localNodeUpdate(localNodeFor(config_, name, current, underlay_));
    } catch (const std::exception& e) {
      spdlog::error("local_node_update of backend instance '{}': {}", name, e.what());
    }
  }
}

void Agent::watchClusterConfig() {
  configWatch_ = store_->watch(
      kClusterConfigKey, store_->revision(),
      [this](const std::vector<store::Event>& events) {
        for (const auto& e : events)
          if (e.type == store::EventType::Put) clusterConfigChanged(e.kv.value);
      },
      [] { spdlog::warn("cluster config watch compacted: option changes apply at the next restart"); });
}

// Options of an existing backend instance changed: the backend applies them live, or is
// recreated (shutdown KEEP_DATAPATH, destroy, create, local_node_update, start, pods_sync).
// Added or removed instances and pools need an agent restart.
void Agent::clusterConfigChanged(const std::string& text) {
  AgentConfig next = config_;
  try {
    applyClusterConfig(next, text, std::string("store key ") + kClusterConfigKey);
  } catch (const std::exception& e) {
    spdlog::error("new cluster config refused: {}", e.what());
    return;
  }
  for (auto& current : config_.backends) {
    auto it = std::find_if(next.backends.begin(), next.backends.end(),
                           [&](const BackendConfig& b) { return b.name == current.name; });
    if (it == next.backends.end() || it->options == current.options) continue;
    if (it->type != current.type) {
      spdlog::warn("backend instance '{}' changed type: restart the agent to apply", current.name);
      continue;
    }
    auto& backend = *backends_.at(current.name);
    auto spec = createSpecFor(next, *it, underlay_);
    try {
      plugin::validateOptions(backend.library().optionsSchema(), nlohmann::json::parse(spec.optionsJson), it->name);
      if (backend.configUpdate(spec.optionsJson)) {
        spdlog::info("backend instance '{}': options applied live", current.name);
      } else {
        spdlog::info("backend instance '{}': recreating it for its new options", current.name);
        backend.recreate(spec);
        NodeSubnets subnets;
        {
          std::lock_guard lock(subnetsMutex_);
          subnets = subnets_;
        }
        bringUp(current.name, backend, subnets);
        nodeSync_->reprogramAll();
      }
      current.options = it->options;
    } catch (const std::exception& e) {
      spdlog::error("backend instance '{}': new options not applied: {}", current.name, e.what());
    }
  }
}

void Agent::loadClusterConfig() {
  // The cluster config is written once for all nodes (e.g. by `cnikitctl lab up`); an agent
  // that starts first waits for it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool said = false;
  for (;;) {
    try {
      if (auto kv = store_->get(kClusterConfigKey)) {
        applyClusterConfig(config_, kv->value, std::string("store key ") + kClusterConfigKey);
        return;
      }
    } catch (const store::StoreUnavailable& e) {
      if (!said) spdlog::warn("waiting for the cluster store: {}", e.what());
      said = true;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(std::string("no cluster config at ") + kClusterConfigKey + " in " + store_->describe() +
                               " after 60 s");
    if (!said) spdlog::info("waiting for the cluster config at {}", kClusterConfigKey);
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Agent::~Agent() {
  stop();
  if (gcThread_.joinable()) gcThread_.join();
  configWatch_.reset();
  const bool teardown = leaving_.load();
  if (teardown) {
    // The node leaves the cluster: its pods go first (addresses released, records removed),
    // then everything the backends made, then its registration and subnets.
    for (const auto& endpoint : endpoints_->list()) {
      try {
        cni_->release(endpoint.containerId, endpoint.ifname);
      } catch (const std::exception& e) {
        spdlog::warn("leaving: pod {} {}: {}", endpoint.containerId, endpoint.ifname, e.what());
      }
    }
  }
  if (teardown) nodeSync_->leave();  // its lease takes the node record and subnets with it
  nodeSync_.reset();
  policy_.reset();
  if (teardown && services_) {
    try {
      services_->teardown();
    } catch (const std::exception& e) {
      spdlog::error("leaving: services: {}", e.what());
    }
    removeServiceRoutes();
  }
  services_.reset();
  // KEEP_DATAPATH (a restart or upgrade): pods keep their traffic while no agent runs.
  for (const auto& [name, backend] : backends_) {
    try {
      backend->shutdown(teardown ? CNIKIT_SHUTDOWN_TEARDOWN : CNIKIT_SHUTDOWN_KEEP_DATAPATH);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
    backend->host().shutdown(teardown);
  }
  if (teardown) spdlog::info("node {} left the cluster", config_.node);
  backends_.clear();
}

void Agent::leave() {
  leaving_ = true;
  stop();
}

void Agent::stop() {
  stopping_ = true;
  changed_.notify_all();
}

void Agent::gcLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_.wait_for(lock, std::chrono::seconds(config_.gcIntervalSeconds), [&] { return stopping_.load(); });
    if (stopping_) break;
    lock.unlock();
    try {
      cni_->collectVanishedNamespaces();
    } catch (const std::exception& e) {
      spdlog::warn("periodic GC failed: {}", e.what());
    }
    lock.lock();
  }
}

void Agent::serve() {
  std::filesystem::create_directories(std::filesystem::path(config_.socket).parent_path());
  rpc::UnixListener listener(config_.socket);
  spdlog::info("cnikitd {} serving node {} on {}", kAgentVersion, config_.node, config_.socket);
  if (config_.gcIntervalSeconds > 0) gcThread_ = std::thread([this] { gcLoop(); });
  nodeSync_->start();

  while (!stopping_) {
    pollfd pfd{listener.fd(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 200);
    if (ready <= 0) continue;
    int fd = listener.accept();
    if (fd < 0) continue;
    {
      std::lock_guard guard(mutex_);
      ++activeConnections_;
    }
    std::thread([this, fd] {
      serveConnection(fd);
      ::close(fd);
      std::lock_guard guard(mutex_);
      --activeConnections_;
      changed_.notify_all();
    }).detach();
  }
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::seconds(30), [&] { return activeConnections_ == 0; });
  spdlog::info("cnikitd stopped");
}

void Agent::serveConnection(int fd) {
  while (auto frame = rpc::readFrame(fd)) {
    json response;
    auto request = json::parse(*frame, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      response = {{"error", "request is not a JSON object"}};
    } else {
      try {
        response = dispatch(request);
      } catch (const std::exception& e) {
        response = {{"error", e.what()}};
      }
    }
    // Replace, not throw, on bytes that are not UTF-8: a reply must always go out.
    if (!rpc::writeFrame(fd, response.dump(-1, ' ', false, json::error_handler_t::replace))) break;
  }
}

json Agent::dispatch(const json& request) {
  std::string method = request.value("method", "");
  if (method == rpc::kCniMethod) {
    auto cniRequest = rpc::cniRequestFromObject(request);
    auto response = cni_->handle(cniRequest.env, cniRequest.stdinText);
    return rpc::cniResponseObject({response.exitCode, std::move(response.stdoutText), ""});
  }
  if (method == rpc::kStatusMethod) return status();
  if (method == rpc::kIpamListMethod) return ipamList();
  if (method == rpc::kDiagMethod) return agentDiagnostics(config_, *store_, metrics_.serialize());
  if (method == rpc::kVersionMethod)
    return {{"version", kAgentVersion},
            {"abi", std::to_string(CNIKIT_ABI_MAJOR) + "." + std::to_string(CNIKIT_ABI_MINOR)}};
  if (method == rpc::kGcNamespacesMethod) return {{"released", cni_->collectVanishedNamespaces()}};
  if (method == rpc::kNodeLeaveMethod) {
    leave();
    return {{"leaving", config_.node}};
  }
  if (service::ServiceMethods::handles(method)) return service::ServiceMethods::handle(services_.get(), request);
  if (ObjectService::handles(method)) return ObjectService(*store_, config_.services).handle(request);
  return {{"error", "unknown method '" + method + "'"}};
}

json Agent::status() {
  json out;
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  out["agent"] = {{"node", config_.node},
                  {"version", kAgentVersion},
                  {"abi", std::to_string(CNIKIT_ABI_MAJOR) + "." + std::to_string(CNIKIT_ABI_MINOR)},
                  {"socket", config_.socket},
                  {"uptimeSeconds", uptime.count()},
                  {"pid", ::getpid()}};
  json storeStatus = {{"backend", store_->describe()}};
  try {
    storeStatus["revision"] = store_->revision();
    storeStatus["reachable"] = true;
  } catch (const std::exception& e) {
    storeStatus["reachable"] = false;
    storeStatus["error"] = e.what();
  }
  out["store"] = storeStatus;
  out["cluster"] = nodeSync_->status();
  if (policy_) out["policy"] = policy_->status();
  if (services_) out["services"] = services_->status();
  if (out["cluster"].contains("storeError")) {
    storeStatus["reachable"] = false;
    storeStatus["error"] = out["cluster"]["storeError"];
    out["store"] = storeStatus;
  }

  out["backends"] = json::array();
  for (const auto& [name, backend] : backends_) {
    json details = json::parse(backend->statusJson(), nullptr, false);
    auto notReady = backend->notReadyReason();
    auto lifecycle = backend->lifecycleState();
    json lifecycleJson = {{"started", lifecycle.started},
                          {"localNodeUpdates", lifecycle.localNodeUpdates},
                          {"ready", !notReady.has_value()}};
    if (notReady) lifecycleJson["reason"] = *notReady;
    out["backends"].push_back({{"instance", name},
                               {"type", backend->library().name()},
                               {"version", backend->library().version()},
                               {"abi", "1." + std::to_string(backend->library().abiMinor())},
                               {"library", backend->library().path().string()},
                               {"capabilities", backend->library().capabilities()},
                               {"ready", !notReady.has_value()},
                               {"lifecycle", lifecycleJson},
                               {"conditions", backend->host().conditions()},
                               {"status", details.is_discarded() ? json::object() : details}});
  }

  std::vector<ipam::Allocation> allocations;
  bool storeUp = storeStatus["reachable"].get<bool>();
  if (storeUp) allocations = ipam_->list();
  out["pools"] = json::array();
  for (const auto& pool : config_.pools) {
    json cidrs = json::array(), subnets = json::array();
    for (const auto& c : pool.cidrs) cidrs.push_back(c.str());
    size_t used = 0;
    if (storeUp) {
      for (const auto& s : ipam_->nodeSubnets(pool)) subnets.push_back(s.str());  // a status never writes
      for (const auto& a : allocations) used += a.pool == pool.name;
    }
    out["pools"].push_back({{"name", pool.name},
                            {"backend", pool.backend},
                            {"cidrs", cidrs},
                            {"nodeSubnets", subnets},
                            {"allocated", used}});
  }
  out["allocations"] = allocations.size();
  return out;
}

json Agent::ipamList() {
  json out = json::array();
  for (const auto& a : ipam_->list()) {
    out.push_back({{"pool", a.pool},
                   {"address", a.address.str()},
                   {"subnet", a.subnet.str()},
                   {"containerId", a.containerId},
                   {"ifname", a.ifname},
                   {"podNamespace", a.podNamespace},
                   {"podName", a.podName},
                   {"node", a.node}});
  }
  return out;
}

}  // namespace cnikit::agent
