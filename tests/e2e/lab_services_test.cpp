// Services on a real lab (issue 11, section 4): Services applied with `lab apply` next to the
// pods, real connections with `lab probe --to svc/...` from pods and from the lab's outside
// client, each answered by the endpoint that served it (and the client address it saw).
// LabServices shares one 3-node flannel-like VXLAN lab (dual-stack, iptables policy
// provider) among its tests (ctest: e2e.LabServices, one process); LabServicesHostGw checks a
// representative case on host-gw in its own lab.
//
// A change reaches every node's agent through etcd: each check probes until it holds or a
// generous deadline passes (no timed assertion; the time a change took is printed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/TestLab.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Process.hpp"

namespace cnikit::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Counts = std::map<std::string, int>;

constexpr auto kSettle = std::chrono::seconds(10);
const std::set<std::string> kWeb{"svc/web-1", "svc/web-2", "svc/web-3"};
constexpr const char* kOutsideAddress = "10.250.0.250";

std::string pod(const std::string& ns, const std::string& name, const std::string& node, const std::string& labels,
                const std::string& ports) {
  std::string out = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
                    ", labels: {name: " + name + (labels.empty() ? "" : ", " + labels) +
                    "}}\nspec:\n  nodeName: " + node + "\n  containers:\n  - name: serve\n";
  if (!ports.empty()) out += "    ports:\n" + ports;
  return out;
}

// Backends web-1..3 (one per node) serve 80/TCP and 80/UDP; named-1/2 serve their port "app"
// on different numbers and named-3 has no port of that name; clients serve nothing.
std::string podsYaml() {
  const std::string web =
      "    - {name: http, containerPort: 80}\n    - {name: dns, containerPort: 80, protocol: UDP}\n";
  std::string out =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: svc}\n---\napiVersion: v1\nkind: Namespace\nmetadata: "
      "{name: cli}\n";
  for (int i = 1; i <= 3; ++i) {
    std::string n = std::to_string(i), node = "node" + n;
    out += pod("svc", "web-" + n, node, "app: web", web);
    out += pod("cli", "client-" + n, node, "", "");
  }
  out += pod("svc", "named-1", "node1", "app: named", "    - {name: app, containerPort: 8081}\n");
  out += pod("svc", "named-2", "node2", "app: named", "    - {name: app, containerPort: 8082}\n");
  out += pod("svc", "named-3", "node3", "app: named", "    - {name: other, containerPort: 8083}\n");
  return out;
}

std::string serviceYaml(const std::string& name, const std::string& spec) {
  return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: svc}\nspec:\n" + spec;
}

// TCP http 80 -> 80 and UDP dns 53 -> 80 on the web pods.
const std::string kWebService = serviceYaml("web",
                                            "  selector: {app: web}\n  ports:\n"
                                            "  - {name: http, port: 80, targetPort: 80}\n"
                                            "  - {name: dns, port: 53, targetPort: 80, protocol: UDP}\n");

std::string webService(const std::string& name, const std::string& extra) {
  return serviceYaml(name, "  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: 80}\n" + extra);
}

Counts sum(const json& result, const char* field) {
  Counts out;
  if (!result.is_object()) return out;
  for (const auto& row : result.value("results", json::array())) {
    const json counts = row.value(field, json::object());
    for (const auto& [k, v] : counts.items()) out[k] += v.get<int>();
  }
  return out;
}

int total(const Counts& counts) {
  int n = 0;
  for (const auto& [k, v] : counts) n += v;
  return n;
}

// Every connection answered, each by one of `pods`.
bool servedOnlyBy(const json& result, const std::set<std::string>& pods) {
  auto answered = sum(result, "answered");
  if (answered.empty() || !sum(result, "failed").empty()) return false;
  for (const auto& [p, n] : answered)
    if (!pods.count(p)) return false;
  return true;
}

// No connection answered.
bool noneServed(const json& result) { return result.is_object() && sum(result, "answered").empty(); }

struct NatRules {
  std::set<std::string> chains;  // "4 CNIKIT-..." (family and name, no counters)
  std::set<std::string> rules;   // "4 -A ..." lines
};

// The nat tables of a node as the legacy tools (what libiptc writes) show them.
NatRules natRules(const std::string& netns) {
  NatRules out;
  for (const auto& [family, tool] : {std::pair{"4 ", "iptables-legacy-save"}, {"6 ", "ip6tables-legacy-save"}}) {
    auto r = testing::runInNetns(lab::netnsPath(netns), {tool, "-t", "nat"});
    if (r.exitCode != 0) ADD_FAILURE() << tool << " in " << netns << ": " << r.describe();
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(':', 0) == 0) out.chains.insert(family + line.substr(1, line.find(' ') - 1));
      if (line.rfind("-A ", 0) == 0) out.rules.insert(family + line);
    }
  }
  return out;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "\n  " + i;
  return out;
}

class ServicesLab {
 public:
  explicit ServicesLab(const std::string& base) : lab_(base) {}
  TestLab& lab() { return lab_; }

  // `lab probe --to TO -o json ARGS`; null (and error()) when the command fails, e.g. while
  // the Service has no address yet.
  json probe(const std::string& to, const std::vector<std::string>& args) {
    std::vector<std::string> all{"lab", "probe", "--name", lab_.name(), "--to", to, "-o", "json"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = lab_.ctl(all);
    if (r.exitCode != 0) {
      error_ = r.describe();
      return nullptr;
    }
    error_.clear();
    return json::parse(r.out, nullptr, false);
  }

  // Probes until `holds` is true of the result; the last result either way (also printed
  // with the time it took when it held).
  template <class Predicate>
  json awaitProbe(const std::string& to, const std::vector<std::string>& args, Predicate holds,
                  const std::string& what) {
    const auto start = Clock::now();
    for (;;) {
      json result = probe(to, args);
      if (result.is_object() && holds(result)) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        std::cout << "[ in effect ] " << what << ": " << ms << " ms\n";
        return result;
      }
      if (Clock::now() - start > kSettle) {
        ADD_FAILURE() << what << ": not so after " << kSettle.count()
                      << " s; last probe: " << (result.is_null() ? error_ : result.dump());
        return result;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // The stored Service as `get services -o json` shows it; null when absent.
  json service(const std::string& name) {
    auto r = lab_.ctl({"--lab", lab_.name(), "get", "services", "-n", "svc", "-o", "json"});
    if (r.exitCode != 0) {
      error_ = r.describe();
      return nullptr;
    }
    auto list = json::parse(r.out, nullptr, false);
    for (const auto& item : list.value("items", json::array()))
      if (item["metadata"].value("name", "") == name) return item;
    return nullptr;
  }

  // `cnikitctl --lab NAME apply|delete -f`: the store only, nothing runs (a pod no kubelet
  // has started yet).
  void store(const std::string& verb, const std::string& yaml) {
    auto file = lab::labDir(lab_.name()) / "e2e-stored.yaml";
    std::ofstream(file) << yaml;
    auto r = lab_.ctl({"--lab", lab_.name(), verb, "-f", file.string()});
    if (r.exitCode != 0) ADD_FAILURE() << "cnikitctl " << verb << ": " << r.describe();
  }

  const std::string& error() const { return error_; }

 private:
  TestLab lab_;
  std::string error_;
};

// Removes what a test applied, also when it failed half way.
struct Applied {
  ServicesLab& lab;
  std::string yaml;
  Applied(ServicesLab& l, std::string y) : lab(l), yaml(std::move(y)) { lab.lab().apply(yaml); }
  ~Applied() { lab.lab().remove(yaml); }
};

class LabServices : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sweepStaleLabs();
    try {
      auto lab = std::make_unique<ServicesLab>("svc");
      const auto config = std::filesystem::temp_directory_path() / (lab->lab().name() + ".yaml");
      std::ofstream(config) << "nodes: 3\nmode: vxlan\npolicy: iptables\n";
      lab->lab().up({"--config", config.string()});
      std::filesystem::remove(config);
      lab->lab().apply(podsYaml() + kWebService);
      if (lab->lab().state().pods.size() != 9) throw std::runtime_error("the lab does not run the 9 pods");
      lab_ = std::move(lab);
    } catch (const std::exception& e) {
      setupError_ = e.what();
    }
  }
  static void TearDownTestSuite() { lab_.reset(); }

  void SetUp() override { ASSERT_TRUE(lab_) << "the services lab did not come up: " << setupError_; }

  static std::unique_ptr<ServicesLab> lab_;
  static std::string setupError_;
};

std::unique_ptr<ServicesLab> LabServices::lab_;
std::string LabServices::setupError_;

TEST_F(LabServices, ServiceIsShownAsTheApiWould) {
  auto web = lab_->service("web");
  ASSERT_TRUE(web.is_object()) << lab_->error();
  EXPECT_EQ(web["kind"], "Service");
  const auto& spec = web["spec"];
  EXPECT_EQ(spec.value("type", ""), "ClusterIP");
  ASSERT_TRUE(spec.contains("clusterIP")) << web.dump();
  EXPECT_EQ(spec["clusterIP"].get<std::string>().rfind("10.96.", 0), 0u) << web.dump();  // default 10.96.0.0/16
  EXPECT_EQ(spec["clusterIPs"][0], spec["clusterIP"]) << web.dump();
  ASSERT_EQ(spec["ports"].size(), 2u) << web.dump();
  EXPECT_EQ(spec["ports"][0]["name"], "http");
  EXPECT_EQ(spec["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(spec["ports"][0]["port"], 80);
  EXPECT_EQ(spec["ports"][0]["targetPort"], 80);
  EXPECT_EQ(spec["ports"][1]["protocol"], "UDP");
  EXPECT_FALSE(spec["ports"][0].contains("nodePort")) << "a ClusterIP Service has no nodePort: " << web.dump();
}

TEST_F(LabServices, EveryPodReachesOnlyReadyEndpoints) {
  // A pod that matches the selector but runs nowhere yet (stored without an address, as the
  // apiserver has a pod before the kubelet starts it) must not receive connections.
  const std::string pending = pod("svc", "web-pending", "node1", "app: web", "    - {containerPort: 80}\n");
  lab_->store("apply", pending);
  auto result = lab_->awaitProbe(
      "svc/svc/web:http", {"--count", "6"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "every pod reaches svc/web");
  EXPECT_EQ(result["results"].size(), 9u) << "every pod is a client";
  auto answered = sum(result, "answered");
  for (const auto& web : kWeb) EXPECT_GT(answered[web], 0) << web << " never answered: " << result.dump();
  EXPECT_EQ(answered.count("svc/web-pending"), 0u);
  lab_->store("delete", pending);
}

TEST_F(LabServices, BalancesOverEveryEndpoint) {
  lab_->awaitProbe(
      "svc/svc/web:http", {"--from", "cli/client-1"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "client-1 reaches svc/web");
  auto result = lab_->probe("svc/svc/web:http", {"--from", "cli/client-1", "--count", "300"});
  ASSERT_TRUE(result.is_object()) << lab_->error();
  EXPECT_TRUE(sum(result, "failed").empty()) << result.dump();
  auto answered = sum(result, "answered");
  EXPECT_EQ(total(answered), 300);
  for (const auto& web : kWeb)
    EXPECT_GE(answered[web], 45) << web << " got fewer than 15% of 300 connections: " << result.dump();
}

TEST_F(LabServices, ClientIpAffinityKeepsAClientOnOneEndpoint) {
  Applied sticky(*lab_, webService("sticky",
                                   "  sessionAffinity: ClientIP\n"
                                   "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"));
  for (const char* client : {"cli/client-1", "cli/client-2"}) {
    lab_->awaitProbe(
        "svc/svc/sticky", {"--from", client}, [](const json& r) { return servedOnlyBy(r, kWeb); },
        std::string(client) + " reaches svc/sticky");
    auto result = lab_->probe("svc/svc/sticky", {"--from", client, "--count", "50"});
    ASSERT_TRUE(result.is_object()) << lab_->error();
    EXPECT_TRUE(sum(result, "failed").empty()) << result.dump();
    auto answered = sum(result, "answered");
    EXPECT_EQ(answered.size(), 1u) << client << " was served by more than one endpoint: " << result.dump();
    EXPECT_EQ(total(answered), 50);
  }
}

TEST_F(LabServices, NodePortFromOutsideOnEveryNode) {
  Applied nodePort(*lab_, serviceYaml("np",
                                      "  type: NodePort\n  selector: {app: web}\n  ports:\n"
                                      "  - {name: http, port: 80, targetPort: 80}\n"));
  auto result = lab_->awaitProbe(
      "svc/svc/np", {"--external", "--node-port", "--count", "6"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "the outside client reaches svc/np on every node");
  ASSERT_TRUE(result.is_object());
  std::set<std::string> nodes;
  for (const auto& row : result["results"]) {
    EXPECT_EQ(row["from"], "external");
    nodes.insert(row["via"].get<std::string>());
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"node1", "node2", "node3"})) << result.dump();
  auto np = lab_->service("np");
  ASSERT_TRUE(np.is_object()) << lab_->error();
  int nodePortNumber = np["spec"]["ports"][0].value("nodePort", 0);
  EXPECT_GE(nodePortNumber, 30000);
  EXPECT_LE(nodePortNumber, 32767);
}

TEST_F(LabServices, ExternalTrafficPolicyLocalKeepsTheClientAddress) {
  Applied local(*lab_, serviceYaml("local",
                                   "  type: NodePort\n  externalTrafficPolicy: Local\n  selector: {app: web}\n"
                                   "  ports:\n  - {name: http, port: 80, targetPort: 80}\n"));
  // Each node sends to its own endpoint only (web-N runs on nodeN), and the endpoint sees the
  // outside client's own address.
  auto onlyLocal = [](const json& r) {
    if (!servedOnlyBy(r, kWeb)) return false;
    for (const auto& row : r["results"]) {
      std::string local = "svc/web-" + row["via"].get<std::string>().substr(4);
      if (row["answered"] != json{{local, row["connections"]}}) return false;
    }
    return true;
  };
  auto result = lab_->awaitProbe("svc/svc/local", {"--external", "--node-port", "--count", "10"}, onlyLocal,
                                 "svc/local answered by the node's own endpoint");
  ASSERT_TRUE(result.is_object());
  EXPECT_EQ(result["results"].size(), 3u);
  EXPECT_EQ(sum(result, "seenFrom"), (Counts{{kOutsideAddress, 30}})) << result.dump();
}

TEST_F(LabServices, HairpinAPodReachesItselfThroughItsService) {
  Applied solo(*lab_, serviceYaml("solo", "  selector: {name: web-1}\n  ports:\n  - {port: 80, targetPort: 80}\n"));
  auto result = lab_->awaitProbe(
      "svc/svc/solo", {"--from", "svc/web-1", "--count", "5"},
      [](const json& r) { return servedOnlyBy(r, {"svc/web-1"}); }, "web-1 reaches itself through svc/solo");
  EXPECT_EQ(sum(result, "answered"), (Counts{{"svc/web-1", 5}})) << result.dump();
}

TEST_F(LabServices, ScalingEndpointsUpAndDownTakesEffect) {
  const std::string scale1 = pod("svc", "scale-1", "node2", "app: scale", "    - {containerPort: 80}\n");
  const std::string scale2 = pod("svc", "scale-2", "node3", "app: scale", "    - {containerPort: 80}\n");
  Applied service(
      *lab_, serviceYaml("scale", "  selector: {app: scale}\n  ports:\n  - {port: 80, targetPort: 80}\n") + scale1);
  const std::vector<std::string> from{"--from", "cli/client-1", "--count", "20"};
  lab_->awaitProbe(
      "svc/svc/scale", from, [](const json& r) { return servedOnlyBy(r, {"svc/scale-1"}); }, "scale-1 serves");
  lab_->lab().apply(scale2);
  lab_->awaitProbe(
      "svc/svc/scale", from,
      [](const json& r) {
        return servedOnlyBy(r, {"svc/scale-1", "svc/scale-2"}) && sum(r, "answered").size() == 2;
      },
      "scaled up: scale-2 serves too");
  lab_->lab().remove(scale1);
  lab_->awaitProbe(
      "svc/svc/scale", from, [](const json& r) { return servedOnlyBy(r, {"svc/scale-2"}); },
      "scaled down: scale-2 serves alone");
  lab_->lab().remove(scale2);
}

TEST_F(LabServices, ServiceWithoutSelectorUsesTheEndpointSliceAppliedByHand) {
  const auto state = lab_->lab().state();
  const auto* web2 = state.pod("svc/web-2");
  ASSERT_TRUE(web2 && !web2->ips.empty());
  // One manifest, as users write them: the Service and its EndpointSlice (web-2 alone).
  Applied manual(*lab_, serviceYaml("manual", "  ports:\n  - {name: http, port: 80, targetPort: 80}\n") +
                            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                            "metadata:\n  name: manual-1\n  namespace: svc\n"
                            "  labels: {kubernetes.io/service-name: manual}\n"
                            "addressType: IPv4\nports:\n- {name: http, port: 80, protocol: TCP}\n"
                            "endpoints:\n- addresses: [\"" +
                            web2->ips.front() + "\"]\n  conditions: {ready: true}\n");
  auto result = lab_->awaitProbe(
      "svc/svc/manual", {"--from", "cli/client-1", "--count", "10"},
      [](const json& r) { return servedOnlyBy(r, {"svc/web-2"}); }, "svc/manual answered by its hand-written endpoint");
  EXPECT_EQ(sum(result, "answered"), (Counts{{"svc/web-2", 10}})) << result.dump();
}

TEST_F(LabServices, ServiceWithoutEndpointsRefusesAtOnce) {
  Applied empty(*lab_, serviceYaml("empty",
                                   "  selector: {app: nobody}\n  ports:\n  - {name: http, port: 80, targetPort: 80}\n"
                                   "  - {name: dns, port: 53, targetPort: 80, protocol: UDP}\n"));
  // Refused (a reset or an ICMP error), not dropped: a timeout would be "timed out".
  for (const char* port : {"http", "dns"}) {
    auto result = lab_->awaitProbe(
        std::string("svc/svc/empty:") + port, {"--from", "cli/client-1", "--count", "3"},
        [](const json& r) {
          return sum(r, "failed") == Counts{{"Connection refused", 3}};
        },
        std::string("svc/empty:") + port + " refuses");
    EXPECT_EQ(sum(result, "failed"), (Counts{{"Connection refused", 3}})) << result.dump();
  }
}

TEST_F(LabServices, DeletingAServiceRemovesEveryRule) {
  const std::string doomed = serviceYaml("doomed",
                                         "  type: NodePort\n  sessionAffinity: ClientIP\n  selector: {app: web}\n"
                                         "  ports:\n  - {name: http, port: 80, targetPort: 80}\n"
                                         "  - {name: dns, port: 53, targetPort: 80, protocol: UDP}\n");
  auto state = lab_->lab().state();
  std::map<std::string, NatRules> before;
  for (const auto& node : state.nodes) before[node.name] = natRules(node.netns);

  lab_->lab().apply(doomed);
  lab_->awaitProbe(
      "svc/svc/doomed:http", {"--from", "cli/client-1"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "svc/doomed serves");
  auto service = lab_->service("doomed");
  ASSERT_TRUE(service.is_object()) << lab_->error();
  const std::string clusterIp = service["spec"].value("clusterIP", "?");
  const std::string nodePort = std::to_string(service["spec"]["ports"][0].value("nodePort", 0));
  std::map<std::string, NatRules> added;
  for (const auto& node : state.nodes) {
    auto now = natRules(node.netns);
    for (const auto& c : now.chains)
      if (!before[node.name].chains.count(c)) added[node.name].chains.insert(c);
    for (const auto& r : now.rules)
      if (!before[node.name].rules.count(r)) added[node.name].rules.insert(r);
    EXPECT_FALSE(added[node.name].rules.empty()) << node.name << ": the Service added no nat rule";
  }

  lab_->lab().remove(doomed);
  const auto start = Clock::now();
  for (const auto& node : state.nodes) {
    std::set<std::string> left;
    for (;;) {
      left.clear();
      auto now = natRules(node.netns);
      for (const auto& c : added[node.name].chains)
        if (now.chains.count(c)) left.insert("chain " + c);
      for (const auto& r : now.rules)
        if (added[node.name].rules.count(r) || r.find(clusterIp + "/") != std::string::npos ||
            r.find("--dport " + nodePort + " ") != std::string::npos)
          left.insert(r);
      if (left.empty() || Clock::now() - start > kSettle) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(left.empty()) << node.name << " keeps what svc/doomed added:" << joined(left);
  }
}

TEST_F(LabServices, UdpServiceBalances) {
  auto result = lab_->awaitProbe(
      "svc/svc/web:dns", {"--from", "cli/client-1", "--count", "30"},
      [](const json& r) { return servedOnlyBy(r, kWeb); }, "UDP svc/web:dns serves");
  EXPECT_EQ(result["protocol"], "UDP");
  EXPECT_GE(sum(result, "answered").size(), 2u) << "30 datagram flows all went to one endpoint: " << result.dump();
}

TEST_F(LabServices, NamedTargetPortResolvesPerPod) {
  // named-1 serves "app" on 8081, named-2 on 8082; named-3 has no port "app": no endpoint.
  Applied named(*lab_, serviceYaml("named", "  selector: {app: named}\n  ports:\n  - {port: 80, targetPort: app}\n"));
  auto result = lab_->awaitProbe(
      "svc/svc/named", {"--from", "cli/client-1", "--count", "60"},
      [](const json& r) {
        return servedOnlyBy(r, {"svc/named-1", "svc/named-2"}) && sum(r, "answered").size() == 2;
      },
      "svc/named answered by named-1 and named-2");
  EXPECT_EQ(sum(result, "answered").count("svc/named-3"), 0u) << result.dump();
}

TEST_F(LabServices, Ipv6ClusterIpInADualStackLab) {
  Applied dual(*lab_, webService("dual", "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n"));
  auto service = lab_->service("dual");
  ASSERT_TRUE(service.is_object()) << lab_->error();
  ASSERT_EQ(service["spec"].value("clusterIPs", json::array()).size(), 2u) << service.dump();
  EXPECT_NE(service["spec"]["clusterIPs"][1].get<std::string>().find(':'), std::string::npos) << service.dump();
  auto result = lab_->awaitProbe(
      "svc/svc/dual", {"--ipv6", "--count", "3"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "every pod reaches svc/dual over IPv6");
  for (const auto& [peer, n] : sum(result, "seenFrom"))
    EXPECT_NE(peer.find(':'), std::string::npos) << "an endpoint saw an IPv4 client: " << result.dump();
}

TEST_F(LabServices, NetworkPolicyAppliesToTrafficThroughTheService) {
  const std::string denyAll =
      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: svc}\n"
      "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n";
  const std::string allowClient1 =
      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-client-1, namespace: svc}\n"
      "spec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n"
      "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: cli}}\n"
      "      podSelector: {matchLabels: {name: client-1}}\n";
  const std::vector<std::string> quick{"--count", "3", "--timeout-ms", "500"};
  auto from = [&](const char* client) {
    std::vector<std::string> args{"--from", client};
    args.insert(args.end(), quick.begin(), quick.end());
    return args;
  };
  {
    Applied deny(*lab_, denyAll);
    // The policy sees the endpoint after DNAT: the ClusterIP is no way around it.
    lab_->awaitProbe("svc/svc/web:http", from("cli/client-1"), noneServed, "deny-all blocks client-1 via svc/web");
    Applied allow(*lab_, allowClient1);
    lab_->awaitProbe(
        "svc/svc/web:http", from("cli/client-1"), [](const json& r) { return servedOnlyBy(r, kWeb); },
        "client-1 allowed via svc/web");
    auto other = lab_->probe("svc/svc/web:http", from("cli/client-2"));
    EXPECT_TRUE(noneServed(other)) << "client-2 is not allowed: " << other.dump();
  }
  lab_->awaitProbe(
      "svc/svc/web:http", from("cli/client-2"), [](const json& r) { return servedOnlyBy(r, kWeb); },
      "client-2 reaches svc/web again after the policies went");
}

TEST_F(LabServices, LoadBalancerAddressFromOutside) {
  Applied lb(*lab_, webService("lb", "  type: LoadBalancer\n"));
  // The address comes from the lab's pool on the fabric (10.250.200.0/24).
  json service;
  for (const auto start = Clock::now(); Clock::now() - start < kSettle;) {
    service = lab_->service("lb");
    if (service.is_object() && !service.value("status", json::object())
                                    .value("loadBalancer", json::object())
                                    .value("ingress", json::array())
                                    .empty())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(service.is_object()) << lab_->error();
  const auto ingress =
      service.value("status", json::object()).value("loadBalancer", json::object()).value("ingress", json::array());
  ASSERT_FALSE(ingress.empty()) << "no status.loadBalancer.ingress: " << service.dump();
  EXPECT_EQ(ingress[0].value("ip", "").rfind("10.250.200.", 0), 0u) << service.dump();
  auto result = lab_->awaitProbe(
      "svc/svc/lb", {"--external", "--lb", "--count", "10"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "the outside client reaches svc/lb on its load-balancer address");
  EXPECT_EQ(result["results"][0]["via"], "loadBalancer");
}

// The node holding a load-balancer address dies (its agent killed, its lease left to expire):
// another live node takes the address over and the outside client reaches the Service through
// it. Last of the suite on purpose: it leaves one node without an agent.
TEST_F(LabServices, LoadBalancerAddressMovesWhenItsHolderDies) {
  Applied lb(*lab_, webService("lbmove", "  type: LoadBalancer\n"));
  std::string ip;
  for (const auto start = Clock::now(); ip.empty() && Clock::now() - start < kSettle;) {
    auto service = lab_->service("lbmove");
    auto ingress = service.is_object() ? service.value("status", json::object())
                                             .value("loadBalancer", json::object())
                                             .value("ingress", json::array())
                                       : json::array();
    if (!ingress.empty()) ip = ingress[0].value("ip", "");
    if (ip.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(ip.empty()) << "no load-balancer address: " << lab_->error();
  const auto state = lab_->lab().state();
  // The nodes (other than `except`) that have the address on their underlay interface.
  auto holders = [&](const std::string& except) {
    std::set<std::string> out;
    for (const auto& node : state.nodes) {
      if (node.name == except) continue;
      if (ipIn(node.netns, {"-4", "-o", "address", "show", "dev", "eth0"}).find(" " + ip + "/32 ") != std::string::npos)
        out.insert(node.name);
    }
    return out;
  };
  auto awaitHolders = [&](const std::string& except, std::chrono::seconds deadline) {
    std::set<std::string> found;
    for (const auto start = Clock::now(); Clock::now() - start < deadline;) {
      found = holders(except);
      if (!found.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return found;
  };
  auto first = awaitHolders("", kSettle);
  ASSERT_EQ(first.size(), 1u) << ip << " is held by " << first.size() << " nodes";
  const std::string holder = *first.begin();
  lab_->awaitProbe(
      "svc/svc/lbmove", {"--external", "--lb", "--count", "3"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "the outside client reaches svc/lbmove through " + holder);

  ASSERT_TRUE(lab::killHard(state.node(holder)->agent));
  // The lab's lease is 6 s; the others see the node gone after it and elect a new holder.
  const auto start = Clock::now();
  auto next = awaitHolders(holder, std::chrono::seconds(30));
  ASSERT_EQ(next.size(), 1u) << "no other node took " << ip << " over from " << holder;
  std::cout << "[ in effect ] " << *next.begin() << " holds " << ip << " after " << holder
            << " died: " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
            << " ms\n";
  lab_->awaitProbe(
      "svc/svc/lbmove", {"--external", "--lb", "--count", "6"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "the outside client reaches svc/lbmove through " + *next.begin());
}

// host-gw: the same proxy on another datapath; one representative case in its own lab.
TEST(LabServicesHostGw, ClusterIpFromEveryPodAndNodePortFromOutside) {
  sweepStaleLabs();
  ServicesLab lab("svchg");
  lab.lab().up({"--nodes", "3", "--mode", "host-gw"});
  std::string pods = "apiVersion: v1\nkind: Namespace\nmetadata: {name: svc}\n";
  for (int i = 1; i <= 3; ++i)
    pods += pod("svc", "web-" + std::to_string(i), "node" + std::to_string(i), "app: web",
                "    - {name: http, containerPort: 80}\n");
  lab.lab().apply(pods + serviceYaml("web",
                                     "  type: NodePort\n  selector: {app: web}\n  ports:\n"
                                     "  - {name: http, port: 80, targetPort: 80}\n"));
  ASSERT_EQ(lab.lab().state().pods.size(), 3u) << "the pods and the Service were not applied";
  auto inside = lab.awaitProbe(
      "svc/svc/web", {"--count", "6"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "host-gw: every pod reaches svc/web");
  EXPECT_EQ(sum(inside, "answered").size(), 3u) << inside.dump();
  lab.awaitProbe(
      "svc/svc/web", {"--external", "--node-port", "--count", "6"}, [](const json& r) { return servedOnlyBy(r, kWeb); },
      "host-gw: the outside client reaches svc/web on every node");
}

}  // namespace
}  // namespace cnikit::e2e
