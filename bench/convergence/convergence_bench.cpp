// Convergence of the cluster control loop, measured in a real lab (etcd, one cnikitd per
// node, flannel-like): (a) a pod added on node3 until a pod on node1 connects to it; (b) a
// new node joining until every node routes to it and it routes to every node; (c) 1000
// remote node records appearing in etcd at once until one agent has programmed all their
// routes (and, in vxlan mode, FDB and neighbour entries). Prints figures and targets; asserts
// nothing about speed. Needs root; everything lives in the labs it makes and takes down.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "KernelCounter.hpp"
#include "core/agent/NodeRecord.hpp"
#include "core/k8s/Validation.hpp"
#include "tools/lab/Lab.hpp"
#include "tools/lab/LabEtcd.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabPods.hpp"
#include "tools/lab/Netns.hpp"
#include "tools/lab/Probe.hpp"
#include "core/store/EtcdClient.hpp"
#include "core/store/EtcdCodec.hpp"
#include "core/store/Keys.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace lab = cnikit::lab;
namespace bench = cnikit::bench;

constexpr int kRouteProtocol = 202;  // flannel-like's routes (plugins/flannel-like RemoteNodes.hpp)

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void say(const std::string& line) { std::cout << "  " << line << std::endl; }

// Takes the lab down when the benchmark ends, however it ends.
class LabScope {
 public:
  LabScope(std::string name, bool keep) : name_(std::move(name)), keep_(keep) {}
  ~LabScope() {
    if (keep_) {
      std::cout << "lab " << name_ << " kept (cnikitctl lab down --name " << name_ << ")\n";
      return;
    }
    try {
      lab::downLab(name_, nullptr);
    } catch (const std::exception& e) {
      std::cerr << "lab down " << name_ << ": " << e.what() << "\n";
    }
  }

 private:
  std::string name_;
  bool keep_;
};

json podManifest(const std::string& name, const std::string& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "bench"}}},
          {"spec",
           {{"nodeName", node},
            {"containers", json::array({{{"name", "serve"}, {"ports", json::array({{{"containerPort", 80}}})}}})}}}};
}

struct PodSample {
  double applied = 0;    // lab apply returned: stored, CNI ADD through cnikit, server listening
  double reachable = 0;  // a pod on node1 connected to it
};

std::vector<PodSample> measurePods(const std::string& name, int count) {
  auto state = lab::LabState::load(name);
  auto objects = cnikit::k8s::validateObjects({podManifest("client", "node1")});
  lab::applyObjects(state, objects, nullptr);
  const std::string client = lab::netnsPath(state.pod("bench/client")->netns);
  std::vector<PodSample> out;
  for (int i = 0; i < count; ++i) {
    std::string pod = "p" + std::to_string(i);
    auto manifest = cnikit::k8s::validateObjects({podManifest(pod, "node3")});
    auto t0 = Clock::now();
    lab::applyObjects(state, manifest, nullptr);
    PodSample s;
    s.applied = msSince(t0);
    std::string ip = state.pod("bench/" + pod)->ips.at(0);
    bool ok = lab::inNetns(client, [&] {
      while (msSince(t0) < 10000)
        if (lab::probeOnce(ip, 80, cnikit::k8s::Protocol::TCP, std::chrono::milliseconds(50)).empty()) return true;
      return false;
    });
    if (!ok) throw std::runtime_error("pod " + pod + " on node3 never became reachable from node1");
    s.reachable = msSince(t0);
    out.push_back(s);
    say("pod bench/" + pod + " on node3: applied in " + std::to_string(static_cast<int>(s.applied)) +
        " ms, reachable from node1 after " + std::to_string(static_cast<int>(s.reachable)) + " ms");
  }
  return out;
}

struct JoinSample {
  std::string node;
  double othersRoute = 0;  // every other node has a route to its subnet
  double routesAll = 0;    // it has a route to every other node
};

JoinSample measureJoin(const std::string& name, const std::string& node) {
  lab::LabLock lock(name);
  auto state = lab::LabState::load(name);
  std::vector<std::string> others;
  for (const auto& n : state.nodes) others.push_back(n.name);
  lab::addNodeNetwork(state, {node, {}});  // namespace and underlay: not timed
  std::vector<std::unique_ptr<bench::KernelCounter>> counters;
  std::vector<size_t> baseline;
  for (const auto& o : others) {
    counters.push_back(std::make_unique<bench::KernelCounter>(lab::netnsPath(state.node(o)->netns)));
    baseline.push_back(counters.back()->routes(kRouteProtocol));
  }
  bench::KernelCounter fresh(lab::netnsPath(state.node(node)->netns));

  JoinSample s{node};
  auto t0 = Clock::now();
  lab::startAgent(state, node);  // from here: exec, store, subnet claim, registration, watches
  while ((s.othersRoute == 0 || s.routesAll == 0) && msSince(t0) < 30000) {
    if (s.othersRoute == 0) {
      bool all = true;
      for (size_t i = 0; i < counters.size(); ++i) all = all && counters[i]->routes(kRouteProtocol) > baseline[i];
      if (all) s.othersRoute = msSince(t0);
    }
    if (s.routesAll == 0 && fresh.routes(kRouteProtocol) >= others.size()) s.routesAll = msSince(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (s.othersRoute == 0 || s.routesAll == 0) throw std::runtime_error(node + " did not converge within 30 s");
  lab::waitNodesReady(state, {node}, nullptr, std::chrono::seconds(30));
  say(node + " joined: every node routes to it after " + std::to_string(static_cast<int>(s.othersRoute)) +
      " ms, it routes to every node after " + std::to_string(static_cast<int>(s.routesAll)) + " ms");
  return s;
}

struct ScaleSample {
  double written = 0, routes = 0, fdb = 0, neighbours = 0, withdrawn = 0;
};

ScaleSample measureScale(const std::string& name, int count, bool vxlan) {
  auto state = lab::LabState::load(name);
  const std::string instance = state.clusterConfig["backends"][0]["name"];
  const std::string pool = state.clusterConfig["pools"][0]["name"];
  bench::KernelCounter node1(lab::netnsPath(state.node("node1")->netns));
  size_t routes0 = node1.routes(kRouteProtocol), fdb0 = node1.fdbEntries("flannel.1"),
         neigh0 = node1.permanentNeighbours("flannel.1");

  const std::string prefix = cnikit::store::keys::node("fake-");  // every fake node
  json puts = json::array();
  for (int i = 0; i < count; ++i) {
    char name[32], mac[32], underlay[32], subnet[32];
    std::snprintf(name, sizeof name, "fake-%04d", i);
    std::snprintf(mac, sizeof mac, "02:fa:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
    // Underlay addresses on the fabric /16 (so host-gw accepts them), subnets outside the pool.
    std::snprintf(underlay, sizeof underlay, "10.250.%d.%d", 10 + i / 250, 1 + i % 250);
    std::snprintf(subnet, sizeof subnet, "10.%d.%d.0/24", 100 + i / 256, i % 256);
    cnikit::agent::NodeRecord record{name, underlay, "", {}, {{instance, {{"vtepMac", mac}}}}, {{pool, {subnet}}}};
    puts.push_back({{"requestPut",
                     {{"key", cnikit::store::etcd::base64Encode(cnikit::store::keys::node(name))},
                      {"value", cnikit::store::etcd::base64Encode(json(record).dump())}}}});
  }
  auto txn = [&](const json& body) {
    lab::inNetns(lab::netnsPath(state.fabricNetns), [&] {
      cnikit::store::etcd::EtcdClient client({state.etcd.endpoint}, {});
      client.call("/v3/kv/txn", body, cnikit::store::etcd::Retry::OnlyUnsent);
    });
  };

  ScaleSample s;
  auto t0 = Clock::now();
  txn({{"success", puts}});  // all records at one revision, as a burst of joins would look
  s.written = msSince(t0);
  while (msSince(t0) < 60000 && (s.routes == 0 || (vxlan && (s.fdb == 0 || s.neighbours == 0)))) {
    if (s.routes == 0 && node1.routes(kRouteProtocol) >= routes0 + count) s.routes = msSince(t0);
    if (vxlan && s.fdb == 0 && node1.fdbEntries("flannel.1") >= fdb0 + count) s.fdb = msSince(t0);
    if (vxlan && s.neighbours == 0 && node1.permanentNeighbours("flannel.1") >= neigh0 + count)
      s.neighbours = msSince(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (s.routes == 0) throw std::runtime_error("node1 did not program " + std::to_string(count) + " routes within 60 s");
  say(std::to_string(count) + " records written in " + std::to_string(static_cast<int>(s.written)) +
      " ms; node1 has every route after " + std::to_string(static_cast<int>(s.routes)) + " ms" +
      (vxlan ? ", every FDB entry after " + std::to_string(static_cast<int>(s.fdb)) + " ms, every neighbour after " +
                   std::to_string(static_cast<int>(s.neighbours)) + " ms"
             : std::string()));

  auto t1 = Clock::now();
  txn({{"success",
        json::array(
            {{{"requestDeleteRange",
               {{"key", cnikit::store::etcd::base64Encode(prefix)},
                {"range_end", cnikit::store::etcd::base64Encode(cnikit::store::etcd::prefixRangeEnd(prefix))}}}}})}});
  while (msSince(t1) < 60000 && node1.routes(kRouteProtocol) > routes0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  s.withdrawn = msSince(t1);
  say("records deleted: node1 withdrew every route after " + std::to_string(static_cast<int>(s.withdrawn)) + " ms");
  return s;
}

std::string verdict(double value, double target) { return value <= target ? "met" : "MISSED"; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"convergence of cnikit's cluster control loop in a lab (root)"};
  std::string mode = "vxlan";
  int pods = 5, fakeNodes = 1000, joins = 2;
  bool keep = false;
  app.add_option("--mode", mode, "flannel-like mode: vxlan or host-gw")
      ->check(CLI::IsMember({"vxlan", "host-gw"}))
      ->capture_default_str();
  app.add_option("--pods", pods, "pods added on node3, one after the other")->capture_default_str();
  app.add_option("--joins", joins, "nodes joined one after the other")->capture_default_str();
  app.add_option("--fake-nodes", fakeNodes, "remote node records written at once")->capture_default_str();
  app.add_flag("--keep", keep, "leave the labs up");
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0) {
    std::cerr << "convergence_bench needs root (network namespaces)\n";
    return 2;
  }
  const bool vxlan = mode == "vxlan";
  const std::string base = "conv" + std::to_string(::getpid());
  try {
    std::cout << "cluster lab: 3 nodes, flannel-like " << mode << std::endl;
    std::vector<PodSample> podSamples;
    std::vector<JoinSample> joinSamples;
    {
      lab::LabSpec spec;
      spec.name = base + "_a";
      spec.mode = mode;
      spec.setNodeCount(3);
      LabScope scope(spec.name, keep);
      lab::upLab(spec, say);
      std::cout << "(a) pod added on node3 until reachable from node1" << std::endl;
      podSamples = measurePods(spec.name, pods);
      std::cout << "(b) a new node joins" << std::endl;
      for (int i = 0; i < joins; ++i) joinSamples.push_back(measureJoin(spec.name, "node" + std::to_string(4 + i)));
    }
    ScaleSample scale;
    {
      lab::LabSpec spec;
      spec.name = base + "_c";
      spec.mode = mode;
      spec.setNodeCount(1);
      LabScope scope(spec.name, keep);
      std::cout << "one-node lab for (c), flannel-like " << mode << std::endl;
      lab::upLab(spec, say);
      std::cout << "(c) " << fakeNodes << " remote node records in etcd, programmed by node1's agent" << std::endl;
      scale = measureScale(spec.name, fakeNodes, vxlan);
    }

    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v[v.size() / 2];
    };
    std::vector<double> later, applied;
    for (size_t i = 1; i < podSamples.size(); ++i) {
      later.push_back(podSamples[i].reachable);
      applied.push_back(podSamples[i].applied);
    }
    double joinWorst = 0, joinBack = 0;
    for (const auto& j : joinSamples) {
      joinWorst = std::max(joinWorst, j.othersRoute);
      joinBack = std::max(joinBack, j.routesAll);
    }
    double scaleAll = std::max({scale.routes, scale.fdb, scale.neighbours});
    std::printf("\nConvergence, flannel-like %s (ms)\n", mode.c_str());
    std::printf(
        "  (a) pod on node3 reachable from node1: first pod (makes the bridge) %.0f, next pods median %.0f "
        "(lab apply alone %.0f)\n",
        podSamples.empty() ? 0.0 : podSamples[0].reachable, median(later), median(applied));
    std::printf(
        "  (b) node joins, every node routes to it: worst of %zu %.0f (target <= 1000: %s); it routes to every node "
        "%.0f\n",
        joinSamples.size(), joinWorst, verdict(joinWorst, 1000).c_str(), joinBack);
    std::printf("  (c) %d node records, one agent has programmed all: %.0f (target <= 2000: %s)", fakeNodes, scaleAll,
                verdict(scaleAll, 2000).c_str());
    if (vxlan) std::printf(" [routes %.0f, FDB %.0f, neighbours %.0f]", scale.routes, scale.fdb, scale.neighbours);
    std::printf("; write %.0f; all withdrawn after delete %.0f\n", scale.written, scale.withdrawn);
  } catch (const std::exception& e) {
    std::cerr << "convergence_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
