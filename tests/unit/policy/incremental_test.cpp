// Incremental recompute: each update reports exactly what changed (endpoints whose rules_json
// differs, sets whose members differ), and after any sequence of updates the engine equals
// one built from scratch from the final objects.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/policy/PolicyFixture.hpp"

namespace cnikit::policy::test {
namespace {

using k8s::Protocol;
using nlohmann::json;

class Incremental : public ::testing::Test {
 protected:
  void SetUp() override { applyYaml(engine_, netpolModelYaml()); }
  Changes policy(const std::string& ns, const std::string& name, const std::string& spec) {
    return applyYaml(engine_, policyYaml(ns, name, spec));
  }
  Engine engine_;
};

TEST_F(Incremental, APolicyTouchesOnlyThePodsItSelects) {
  auto changes =
      policy("x", "p",
             "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/a"});
  EXPECT_EQ(changes.sets.size(), 1u);
  EXPECT_TRUE(changes.removedSets.empty());
  auto oldSet = *changes.sets.begin();
  // Retarget: the pod it leaves and the pod it selects now.
  changes =
      policy("x", "p",
             "  podSelector: {matchLabels: {pod: c}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  EXPECT_EQ(changes.endpoints, (std::set<std::string>{"x/a", "x/c"}));
  EXPECT_TRUE(changes.sets.empty()) << "same peer, same set";
  // A new peer: a new set, the old one goes.
  changes =
      policy("x", "p",
             "  podSelector: {matchLabels: {pod: c}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: a}}}]");
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/c"});
  EXPECT_EQ(changes.removedSets, std::set<std::string>{oldSet});
  EXPECT_EQ(changes.sets.size(), 1u);
  // Re-applying the same policy changes nothing.
  EXPECT_TRUE(
      policy("x", "p",
             "  podSelector: {matchLabels: {pod: c}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: a}}}]")
          .empty());
  changes = removeYaml(engine_, policyYaml("x", "p", ""));
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/c"});
  EXPECT_EQ(changes.removedSets.size(), 1u);
  EXPECT_TRUE(engine_.setIds().empty());
}

TEST_F(Incremental, APodLabelChangeReevaluatesSelectionAndSets) {
  policy("x", "p",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {}, podSelector: "
         "{matchLabels: {role: client}}}]");
  std::string set = engine_.endpoint("x/a")->ingress.rules.at(0).set;
  EXPECT_TRUE(engine_.set(set)->ips.empty());
  // y/b becomes a client: the set changes, and so does every endpoint using it.
  auto changes = applyYaml(engine_, podYaml("y", "b", "10.0.2.2", ", role: client"));
  EXPECT_TRUE(changes.endpoints.empty()) << "y/b's own rules did not change";
  EXPECT_EQ(changes.sets, std::set<std::string>{set});
  EXPECT_EQ(engine_.affectedEndpoints(changes), std::set<std::string>{"x/a"});
  EXPECT_EQ(engine_.set(set)->ips, std::vector<std::string>{"10.0.2.2"});
  expectReach(engine_, "y/b", "x/a", 80, Protocol::TCP, true);
  // x/b takes the pod=a label: now the policy selects it too.
  changes = applyYaml(
      engine_,
      "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x, labels: {pod: a}}\nstatus: {podIP: 10.0.1.2}\n");
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/b"});
  EXPECT_TRUE(engine_.endpoint("x/b")->ingress.isolated);
}

TEST_F(Incremental, ANamespaceLabelChangeMovesPodsBetweenSets) {
  policy("x", "p",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {env: "
         "prod}}}]");
  policy("x", "q",
         "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: c}}}]");
  auto changes =
      applyYaml(engine_, "apiVersion: v1\nkind: Namespace\nmetadata: {name: z, labels: {ns: z, env: prod}}\n");
  EXPECT_EQ(changes.sets.size(), 1u);
  EXPECT_EQ(engine_.affectedEndpoints(changes), std::set<std::string>{"x/a"});
  expectReach(engine_, "z/c", "x/a", 80, Protocol::TCP, true);
  // A label that no selector looks at changes no set.
  changes = applyYaml(engine_,
                      "apiVersion: v1\nkind: Namespace\nmetadata: {name: z, labels: {ns: z, env: prod, owner: me}}\n");
  EXPECT_TRUE(changes.empty());
  changes = removeYaml(engine_, "apiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n");
  EXPECT_EQ(engine_.affectedEndpoints(changes), std::set<std::string>{"x/a"});
  expectReach(engine_, "z/c", "x/a", 80, Protocol::TCP, false);
}

TEST_F(Incremental, APodAddressOrPortChange) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  egress:
  - ports: [{port: serve-80-tcp}])");
  auto changes = applyYaml(engine_, podYaml("x", "b", "10.0.1.22"));
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/b"});  // its own address is in its rules_json
  EXPECT_EQ(changes.sets.size(), 2u);                          // the pod=b set and the serve-80-tcp set
  EXPECT_EQ(engine_.affectedEndpoints(changes), (std::set<std::string>{"x/a", "x/b"}));
  // A destination renumbers its named port: only the ip-port set changes.
  changes = applyYaml(engine_,
                      "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: z, labels: {pod: c}}\n"
                      "spec: {containers: [{name: c, ports: [{name: serve-80-tcp, containerPort: 8080}]}]}\n"
                      "status: {podIP: 10.0.3.3}\n");
  EXPECT_TRUE(changes.endpoints.empty()) << "no policy selects z/c: its own rules are unchanged";
  EXPECT_EQ(changes.sets.size(), 1u);
  EXPECT_EQ(engine_.affectedEndpoints(changes), std::set<std::string>{"x/a"});
  expectReach(engine_, "x/a", "z/c", 8080, Protocol::TCP, true);
  expectReach(engine_, "x/a", "z/c", 80, Protocol::TCP, false);
  changes = removeYaml(engine_, "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\n");
  EXPECT_EQ(changes.removedEndpoints, std::set<std::string>{"x/b"});
  EXPECT_EQ(engine_.affectedEndpoints(changes), std::set<std::string>{"x/a"});
}

// ---- random sequences --------------------------------------------------------------------

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return below(100) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(static_cast<int>(v.size()))];
  }

 private:
  std::mt19937 rng_;
};

const std::vector<std::string> kNamespaces = {"x", "y", "z"};
const std::vector<std::string> kPodNames = {"a", "b", "c", "d"};
const std::vector<std::string> kKeys = {"pod", "app", "tier"};
const std::vector<std::string> kValues = {"a", "b", "c"};
const std::vector<std::string> kPortNames = {"http", "dns", "admin"};

k8s::Labels randomLabels(Random& r) {
  k8s::Labels labels;
  for (const auto& key : kKeys)
    if (r.chance(60)) labels[key] = r.pick(kValues);
  return labels;
}

k8s::LabelSelector randomSelector(Random& r) {
  k8s::LabelSelector s;
  if (r.chance(30)) return s;
  if (r.chance(60)) s.matchLabels[r.pick(kKeys)] = r.pick(kValues);
  if (r.chance(50)) {
    k8s::SelectorRequirement req;
    req.key = r.pick(kKeys);
    req.op = static_cast<k8s::SelectorOperator>(r.below(4));
    if (req.op == k8s::SelectorOperator::In || req.op == k8s::SelectorOperator::NotIn) {
      req.values.push_back(r.pick(kValues));
      if (r.chance(50)) req.values.push_back(r.pick(kValues));
      std::sort(req.values.begin(), req.values.end());
      req.values.erase(std::unique(req.values.begin(), req.values.end()), req.values.end());
    }
    s.matchExpressions.push_back(req);
  }
  return s;
}

std::string podIp(const std::string& ns, const std::string& name) {
  return "10.0." + std::to_string(ns[0] - 'x' + 1) + "." + std::to_string(name[0] - 'a' + 1);
}

k8s::Pod randomPod(Random& r, const std::string& ns, const std::string& name) {
  k8s::Pod pod{ns, name, randomLabels(r), "", {}, {}};
  // One distinct address per pod (or none yet, as before the CNI ADD).
  if (r.chance(90)) pod.ips.push_back(podIp(ns, name));
  for (const auto& portName : kPortNames)
    if (r.chance(50))
      pod.ports.push_back(
          {portName, static_cast<uint16_t>(80 + r.below(3)), portName == "dns" ? Protocol::UDP : Protocol::TCP});
  return pod;
}

k8s::PolicyRule randomRule(Random& r) {
  k8s::PolicyRule rule;
  int peers = r.below(3);
  for (int i = 0; i < peers; ++i) {
    k8s::PolicyPeer peer;
    int kind = r.below(4);
    if (kind == 0) {
      k8s::IpBlock block;
      block.cidr = r.chance(50) ? "10.0.0.0/16" : "10.0." + std::to_string(r.below(3) + 1) + ".0/24";
      if (r.chance(50))
        block.except.push_back("10.0." + std::to_string(r.below(3) + 1) + "." + std::to_string(r.below(4) + 1) + "/32");
      // Keep except strictly inside the cidr, as validation would.
      if (!block.except.empty() && block.cidr != "10.0.0.0/16" &&
          block.except[0].substr(0, 7) != block.cidr.substr(0, 7))
        block.except.clear();
      peer.ipBlock = block;
    } else {
      if (kind != 1) peer.podSelector = randomSelector(r);
      if (kind != 2) peer.namespaceSelector = randomSelector(r);
    }
    rule.peers.push_back(peer);
  }
  int ports = r.below(3);
  for (int i = 0; i < ports; ++i) {
    k8s::PolicyPort port;
    port.protocol = r.chance(70) ? Protocol::TCP : Protocol::UDP;
    int kind = r.below(4);
    if (kind == 0) {
      port.port = static_cast<uint16_t>(80 + r.below(3));
    } else if (kind == 1) {
      port.port = static_cast<uint16_t>(80);
      port.endPort = static_cast<uint16_t>(80 + r.below(3));
    } else if (kind == 2) {
      port.port = r.pick(kPortNames);
    }
    rule.ports.push_back(port);
  }
  return rule;
}

k8s::NetworkPolicy randomPolicy(Random& r, const std::string& ns, const std::string& name) {
  k8s::NetworkPolicy p;
  p.ns = ns;
  p.name = name;
  p.podSelector = randomSelector(r);
  int ingress = r.below(3), egress = r.below(3);
  for (int i = 0; i < ingress; ++i) p.ingress.push_back(randomRule(r));
  for (int i = 0; i < egress; ++i) p.egress.push_back(randomRule(r));
  switch (r.below(4)) {
    case 0:  // defaulted
      p.ingressType = true;
      p.egressType = !p.egress.empty();
      break;
    case 1:
      p.ingressType = true;
      p.egressType = false;
      break;
    case 2:
      p.ingressType = false;
      p.egressType = true;
      break;
    default:
      p.ingressType = p.egressType = true;
  }
  return p;
}

std::map<std::string, json> snapshotEndpoints(const Engine& engine) {
  std::map<std::string, json> out;
  for (const auto& key : engine.endpointKeys()) out[key] = engine.endpointJson(key);
  return out;
}

std::map<std::string, json> snapshotSets(const Engine& engine) {
  std::map<std::string, json> out;
  for (const auto& id : engine.setIds()) out[id] = engine.set(id)->toJson();
  return out;
}

template <class Map>
void diff(const Map& before, const Map& after, std::set<std::string>& changed, std::set<std::string>& removed) {
  for (const auto& [key, value] : after) {
    auto it = before.find(key);
    if (it == before.end() || it->second != value) changed.insert(key);
  }
  for (const auto& [key, value] : before)
    if (!after.count(key)) removed.insert(key);
}

std::string describe(const std::set<std::string>& s) {
  std::string out;
  for (const auto& e : s) out += (out.empty() ? "" : ",") + e;
  return "{" + out + "}";
}

void expectSameAsFromScratch(const Engine& engine, Random& r) {
  Engine fresh;
  // A different order than the updates took: policies first, then pods, then namespaces.
  for (const auto& [key, p] : engine.policies()) fresh.upsertPolicy(p);
  std::vector<k8s::Pod> pods;
  for (const auto& [key, pod] : engine.pods()) pods.push_back(pod);
  std::shuffle(pods.begin(), pods.end(), std::mt19937(r.below(1000)));
  for (const auto& pod : pods) fresh.upsertPod(pod);
  for (const auto& [key, ns] : engine.namespaces()) fresh.upsertNamespace(ns);
  EXPECT_EQ(fresh.endpointKeys(), engine.endpointKeys());
  EXPECT_EQ(fresh.setIds(), engine.setIds());
  EXPECT_EQ(snapshotEndpoints(fresh), snapshotEndpoints(engine));
}

void runRandomSequence(uint32_t seed, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random r(seed);
  Engine engine;
  for (int step = 0; step < steps; ++step) {
    auto beforeEndpoints = snapshotEndpoints(engine);
    auto beforeSets = snapshotSets(engine);
    Changes changes;
    std::string op;
    int what = r.below(10);
    const auto& ns = r.pick(kNamespaces);
    if (what < 4) {
      auto pod = randomPod(r, ns, r.pick(kPodNames));
      op = "upsert pod " + pod.key();
      changes = engine.upsertPod(pod);
    } else if (what < 5) {
      auto name = r.pick(kPodNames);
      op = "delete pod " + ns + "/" + name;
      changes = engine.deletePod(ns, name);
    } else if (what < 8) {
      auto policy = randomPolicy(r, ns, "p" + std::to_string(r.below(4)));
      op = "upsert policy " + policy.key();
      changes = engine.upsertPolicy(policy);
    } else if (what < 9) {
      auto name = "p" + std::to_string(r.below(4));
      op = "delete policy " + ns + "/" + name;
      changes = engine.deletePolicy(ns, name);
    } else if (r.chance(80)) {
      k8s::Namespace n{ns, randomLabels(r)};
      n.labels[k8s::kNamespaceNameLabel] = ns;
      op = "upsert namespace " + ns;
      changes = engine.upsertNamespace(n);
    } else {
      op = "delete namespace " + ns;
      changes = engine.deleteNamespace(ns);
    }
    SCOPED_TRACE("step " + std::to_string(step) + ": " + op);
    auto afterEndpoints = snapshotEndpoints(engine);
    auto afterSets = snapshotSets(engine);
    std::set<std::string> changedEndpoints, removedEndpoints, changedSets, removedSets;
    diff(beforeEndpoints, afterEndpoints, changedEndpoints, removedEndpoints);
    diff(beforeSets, afterSets, changedSets, removedSets);
    ASSERT_EQ(describe(engine.affectedEndpoints(changes)), describe(changedEndpoints));
    ASSERT_EQ(describe(changes.removedEndpoints), describe(removedEndpoints));
    ASSERT_EQ(describe(changes.sets), describe(changedSets));
    ASSERT_EQ(describe(changes.removedSets), describe(removedSets));
    // The compiled rules answer as the semantics do, for a few random connections.
    auto keys = engine.endpointKeys();
    for (int i = 0; i < 6 && !keys.empty(); ++i) {
      const auto& from = r.pick(keys);
      const auto& to = r.pick(keys);
      // A pod without an address cannot be matched by a datapath (nor send or receive).
      if (engine.pods().at(from).ips.empty() || engine.pods().at(to).ips.empty()) continue;
      auto port = static_cast<uint16_t>(79 + r.below(4));
      auto protocol = r.chance(70) ? Protocol::TCP : Protocol::UDP;
      ASSERT_EQ(engine.verdict(from, to, port, protocol).allowed, engine.compiledVerdict(from, to, port, protocol))
          << from << " -> " << to << " " << k8s::protocolName(protocol) << "/" << port << "\n"
          << engine.endpointJson(from).dump(1) << "\n"
          << engine.endpointJson(to).dump(1);
    }
    if (step % 50 == 49) expectSameAsFromScratch(engine, r);
  }
  expectSameAsFromScratch(engine, r);
}

TEST(IncrementalRandom, ChangesAreExactAndMatchAFullRecompute) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) runRandomSequence(seed, 400);
}

}  // namespace
}  // namespace cnikit::policy::test
