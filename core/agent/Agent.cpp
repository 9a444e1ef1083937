#include "core/agent/Agent.hpp"

#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "core/agent/ObjectService.hpp"
#include "core/policy/iptables/IptablesProvider.hpp"
#include "core/plugin/BackendInstance.hpp"
#include "core/plugin/HostServices.hpp"
#include "core/rpc/AgentProtocol.hpp"
#include "core/rpc/Frame.hpp"
#include "core/rpc/UnixListener.hpp"
#include "core/store/StoreFactory.hpp"
#include "core/agent/Underlay.hpp"

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

  for (const auto& backend : config_.backends) {
    auto path = plugin::BackendLibrary::locate(config_.backendDir, backend.type);
    auto library = plugin::BackendLibrary::load(path);
    auto host = std::make_shared<plugin::HostServices>(backend.name, store_.get(), &metrics_);
    auto stateDir = config_.stateDir / "backends" / backend.name;
    std::filesystem::create_directories(stateDir);
    backends_[backend.name] = std::make_unique<plugin::BackendInstance>(
        library, backend.name, config_.node, backend.options.dump(), stateDir.string(), host, underlay);
    hostServices_.push_back(host);
    spdlog::info("backend instance '{}': {} {} from {}", backend.name, library->name(), library->version(),
                 path.string());
  }
  for (const auto& pool : config_.pools) {
    auto subnets = ipam_->ensureNodeSubnets(pool);
    for (const auto& subnet : subnets) spdlog::info("pool '{}': node subnet {}", pool.name, subnet.str());
  }
  std::set<std::string> policed;
  for (const auto& backend : config_.backends)
    if (backend.policy == policy::ProviderKind::Iptables) policed.insert(backend.name);
  if (!policed.empty()) {
    PolicyControllerOptions options;
    options.backends = policed;
    policy_ = std::make_unique<PolicyController>(
        *store_, config_.node, std::make_unique<policy::iptables::IptablesProvider>(), options);
    policy_->start();
  }
  cni_ = std::make_unique<CniService>(config_, *store_, *ipam_, *endpoints_, backends_, metrics_, policy_.get());
  nodeSync_ = std::make_unique<NodeSync>(config_, *store_, *ipam_, backends_, underlay);
  if (!config_.metricsAddress.empty()) {
    exposer_ = std::make_unique<prometheus::Exposer>(config_.metricsAddress);
    exposer_->RegisterCollectable(metrics_.prometheus());
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
      throw std::runtime_error(std::string("no cluster config at ") + kClusterConfigKey + " in " +
                               store_->describe() + " after 60 s");
    if (!said) spdlog::info("waiting for the cluster config at {}", kClusterConfigKey);
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Agent::~Agent() {
  stop();
  if (gcThread_.joinable()) gcThread_.join();
  nodeSync_.reset();
  policy_.reset();
  // Backends are destroyed without tearing pods down: the datapath outlives the agent.
  backends_.clear();
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
    if (!rpc::writeFrame(fd, response.dump())) break;
  }
}

json Agent::dispatch(const json& request) {
  std::string method = request.value("method", "");
  if (method == rpc::kCniMethod) {
    auto cniRequest = rpc::parseCniRequest(request.dump());
    auto response = cni_->handle(cniRequest.env, cniRequest.stdinText);
    return json::parse(rpc::makeCniResponse({response.exitCode, response.stdoutText, ""}));
  }
  if (method == rpc::kStatusMethod) return status();
  if (method == rpc::kIpamListMethod) return ipamList();
  if (method == rpc::kVersionMethod)
    return {{"version", kAgentVersion},
            {"abi", std::to_string(CNIKIT_ABI_MAJOR) + "." + std::to_string(CNIKIT_ABI_MINOR)}};
  if (method == rpc::kGcNamespacesMethod) return {{"released", cni_->collectVanishedNamespaces()}};
  if (ObjectService::handles(method)) return ObjectService(*store_).handle(request);
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
  if (out["cluster"].contains("storeError")) {
    storeStatus["reachable"] = false;
    storeStatus["error"] = out["cluster"]["storeError"];
    out["store"] = storeStatus;
  }

  out["backends"] = json::array();
  for (const auto& [name, backend] : backends_) {
    json details = json::parse(backend->statusJson(), nullptr, false);
    out["backends"].push_back({{"instance", name},
                               {"type", backend->library().name()},
                               {"version", backend->library().version()},
                               {"library", backend->library().path().string()},
                               {"capabilities", backend->library().capabilities()},
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
