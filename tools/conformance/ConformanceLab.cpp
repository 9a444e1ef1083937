#include "tools/conformance/ConformanceLab.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/agent/Endpoints.hpp"
#include "core/agent/NodeSync.hpp"
#include "core/ipam/IpamKeys.hpp"
#include "core/store/Keys.hpp"
#include "core/k8s/Validation.hpp"
#include "tools/conformance/BackendLocation.hpp"

namespace cnikit::conformance {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

long msSince(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

std::string firstIpv4(const std::vector<std::string>& ips) {
  for (const auto& ip : ips)
    if (ip.find(':') == std::string::npos) return ip;
  return ips.empty() ? "" : ips.front();
}

std::string reach(const std::string& fromNetnsPath, const std::string& ip, uint16_t port,
                  std::chrono::milliseconds within, bool refusedIsReached) {
  auto deadline = Clock::now() + within;
  std::string why;
  for (;;) {
    // Short attempts: a SYN lost while the path is being built is retried by us, not after
    // TCP's 1 s retransmission timeout.
    auto attempt = std::clamp(within / 5, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    auto started = Clock::now();
    why = lab::inNetns(fromNetnsPath, [&] { return lab::probeOnce(ip, port, k8s::Protocol::TCP, attempt); });
    if (why.empty() || (refusedIsReached && why.find("refused") != std::string::npos)) return "";
    if (Clock::now() >= deadline) return why;
    // A refusal comes back at once: do not spin.
    std::this_thread::sleep_until(std::max(Clock::now(), started + std::chrono::milliseconds(50)));
  }
}

ConformanceLab::ConformanceLab(const KitOptions& options)
    : options_(options), name_(options.labName.empty() ? "conf" + std::to_string(::getpid()) : options.labName) {}

ConformanceLab::~ConformanceLab() {
  try {
    teardown();
  } catch (const std::exception& e) {
    say(std::string("teardown: ") + e.what());
  }
}

void ConformanceLab::say(const std::string& line) const {
  if (options_.progress) options_.progress(line);
}

void ConformanceLab::build(Report& report) {
  std::string binDir = options_.binDir.empty() ? lab::executableDir() : options_.binDir;
  auto where = locateBackend(options_.backend, binDir);
  report.library = where.library;
  lab::LabSpec spec;
  spec.name = name_;
  spec.binDir = binDir;
  spec.backend = where.type;
  spec.backendDir = where.dir;
  spec.mode = "";  // the options say it when the backend has modes
  spec.backendOptions = options_.backendOptions;
  spec.nodeLeaseTtlSeconds = kLeaseTtlSeconds;
  spec.readyTimeout = std::chrono::seconds(60);
  // node1 joins after the others: its namespace is seen before its agent ever ran.
  for (int i = 2; i <= std::max(2, options_.nodes); ++i) spec.nodes.push_back({"node" + std::to_string(i), {}});
  built_ = true;  // from here on, teardown has something to remove
  state_ = lab::upLab(spec, [this](const std::string& l) { say(l); });
  lab::addNodeNetwork(state_, {kNode1, {}});
  pristine_ = snapshot(kNode1);
  lab::startAgent(state_, kNode1);
  lab::waitNodesReady(
      state_, {kNode1}, [this](const std::string& l) { say(l); }, std::chrono::seconds(60));
  baseline_ = snapshot(kNode1);

  auto status = agentStatus(kNode1);
  for (const auto& b : status.value("backends", json::array())) {
    instance_ = b.value("instance", "");
    for (const auto& c : b.value("capabilities", json::array())) report.capabilities.push_back(c.get<std::string>());
  }
  capabilities_ = report.capabilities;
  routesNodes_ = hasCapability("node");
  report.instance = instance_;
}

void ConformanceLab::teardown() {
  if (!built_ || down_) return;
  down_ = true;
  auto removed = lab::downLab(name_, nullptr);
  say("lab " + name_ + " removed (" + std::to_string(removed.size()) + " steps)");
}

bool ConformanceLab::hasCapability(const std::string& name) const {
  return std::find(capabilities_.begin(), capabilities_.end(), name) != capabilities_.end();
}

const lab::NodeState& ConformanceLab::node(const std::string& name) const {
  const auto* n = state_.node(name);
  if (!n) throw std::runtime_error("the lab has no node " + name);
  return *n;
}

std::string ConformanceLab::nodeNetns(const std::string& name) const { return lab::netnsPath(node(name).netns); }

std::string ConformanceLab::stateDir(const std::string& name) const {
  return (fs::path(node(name).dir) / "state").string();
}

std::string ConformanceLab::cnikitPath() const { return (fs::path(state_.binDir) / "cnikit").string(); }

json ConformanceLab::cniConfig(const std::string& nodeName) const {
  return json::parse(lab::cniConfig(node(nodeName)));
}

const lab::PodState& ConformanceLab::servedPod(const std::string& name, const std::string& nodeName) {
  if (const auto* p = state_.pod("conformance/" + name)) return *p;
  json docs = json::array(
      {{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "conformance"}}}},
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", name}, {"namespace", "conformance"}, {"labels", {{"pod", name}}}}},
        {"spec",
         {{"nodeName", nodeName},
          {"containers",
           json::array({{{"name", "serve"},
                         {"ports", json::array({{{"containerPort", kServedPort}, {"protocol", "TCP"}}})}}})}}}}});
  auto objects = k8s::validateObjects(docs.get<std::vector<json>>());
  lab::applyObjects(state_, objects, [this](const std::string& l) { say(l); });
  return *state_.pod("conformance/" + name);
}

void ConformanceLab::deletePod(const std::string& name) {
  if (!state_.pod("conformance/" + name)) return;
  lab::deleteObjects(state_, {{k8s::Kind::Pod, "conformance", name}}, [this](const std::string& l) { say(l); });
}

std::string ConformanceLab::makePodNetns(const std::string& id) {
  std::string netns = lab::netnsName(name_, lab::podNetnsPart("kit", id));
  state_.recordNetns(netns);
  lab::createNetns(netns);
  return lab::netnsPath(netns);
}

void ConformanceLab::removePodNetns(const std::string& id) {
  std::string netns = lab::netnsName(name_, lab::podNetnsPart("kit", id));
  lab::deleteNetns(netns);
  state_.forgetNetns(netns);
}

NodeSnapshot ConformanceLab::snapshot(const std::string& nodeName) const {
  return takeSnapshot(nodeNetns(nodeName), stateDir(nodeName));
}

json ConformanceLab::callAgent(const std::string& nodeName, const std::string& method,
                               std::chrono::milliseconds timeout) const {
  return rpc::AgentClient(node(nodeName).socket).call(method, nullptr, timeout);
}

void ConformanceLab::forgetPodInStore(const std::string& nodeName, const std::string& containerId,
                                      const std::string& ifname, const json& allocations) {
  lab::withLabStore(state_, [&](store::Store& store) {
    store.remove(agent::Endpoints::prefix(nodeName) + containerId + "/" + ifname);
    store.remove(ipam::keys::handle(nodeName, containerId, ifname));
    for (const auto& a : allocations)
      store.remove(ipam::keys::address(a.value("pool", ""), toolkit::IpAddress::parse(a.value("address", "")).value()));
    return 0;
  });
}

bool ConformanceLab::nodeRecorded(const std::string& nodeName) {
  return lab::withLabStore(
      state_, [&](store::Store& store) { return store.get(store::keys::node(nodeName)).has_value(); });
}

void ConformanceLab::ensureAgent(const std::string& nodeName) {
  if (lab::isRunning(node(nodeName).agent)) return;
  say("starting the agent of " + nodeName + " again (an earlier check left it stopped)");
  lab::startAgent(state_, nodeName);
  lab::waitNodesReady(state_, {nodeName}, nullptr, std::chrono::seconds(60));
}

}  // namespace cnikit::conformance
