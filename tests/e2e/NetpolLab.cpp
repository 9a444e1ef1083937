#include "tests/e2e/NetpolLab.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "core/k8s/Validation.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::e2e {

using nlohmann::json;
using policy::test::ExpectedMatrix;
using policy::test::ScenarioStep;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// Nothing in this machine's kernel serves SCTP, so the lab's pods serve TCP and UDP only.
const std::vector<k8s::Protocol> kLabProtocols{k8s::Protocol::TCP, k8s::Protocol::UDP};

// The default backend instance with the core's iptables/ipset provider (flannel + policy).
constexpr const char* kLabConfig = "nodes: 3\nmode: vxlan\npolicy: iptables\n";

// After a policy is applied on one agent, the other nodes' agents learn it through etcd:
// probes may run before that and are repeated until this long.
constexpr milliseconds kPropagation{5000};

std::vector<k8s::ObjectRef> refsIn(const std::string& yaml) {
  return yaml.empty() ? std::vector<k8s::ObjectRef>{} : k8s::objectRefs(yaml::yamlToJson(yaml));
}

// The expectation as the matrices print it: {from: {to: bool}}, a pod reaching itself.
json asJson(policy::test::Reachability reachability) {
  reachability.allowLoopback();
  return json(reachability.values());
}

// One case of a matrix as the suite's truth table, or raw when it is not the model's.
std::string table(const json& caseTable) {
  try {
    return policy::test::truthTable(policy::test::modelPods(),
                                    caseTable.get<std::map<std::string, std::map<std::string, bool>>>());
  } catch (const std::exception&) {
    return caseTable.dump() + "\n";
  }
}

// `lab probe --show-failures` writes "TCP/80 x/a -> x/b: reason" lines.
std::string linesStartingWith(const std::string& text, const std::string& prefix) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, prefix.size(), prefix) == 0) out += text.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return out;
}

}  // namespace

NetpolLab::NetpolLab() : lab_("np") {
  const fs::path config = fs::temp_directory_path() / (lab_.name() + ".yaml");
  std::ofstream(config) << kLabConfig;
  try {
    lab_.up({"--config", config.string()});
  } catch (...) {
    fs::remove(config);
    throw;
  }
  fs::remove(config);

  policy::test::NetpolModel unplaced{.protocols = kLabProtocols, .addressOf = [](const std::string&) { return ""; }};
  lab_.apply(unplaced.yaml());
  auto state = lab_.state();
  std::map<std::string, int> podsPerNode;
  for (const auto& pod : state.pods) {
    if (pod.ips.empty()) throw std::runtime_error("pod " + pod.key() + " has no address");
    addresses_[pod.key()] = pod.ips.front();
    ++podsPerNode[pod.node];
  }
  if (addresses_.size() != policy::test::modelPods().size())
    throw std::runtime_error("the lab runs " + std::to_string(addresses_.size()) + " of the model's 9 pods");
  // Spread (3 per node): same-namespace traffic crosses VXLAN, some pairs stay on a bridge.
  for (const auto& node : state.nodes)
    if (podsPerNode[node.name] != 3)
      throw std::runtime_error(node.name + " runs " + std::to_string(podsPerNode[node.name]) + " pods, not 3");
  auto status = lab_.agentStatus("node1");
  if (!status.is_object() || status.value("policy", json::object()).value("provider", "") != "iptables")
    throw std::runtime_error("node1's agent runs no iptables policy provider: " + status.dump());
  if (!awaitAllConnected(kPropagation)) throw std::runtime_error("the model's pods do not all reach each other");
}

policy::test::NetpolModel NetpolLab::model() const {
  return {.protocols = kLabProtocols, .addressOf = [addresses = addresses_](const std::string& pod) {
            auto it = addresses.find(pod);
            return it == addresses.end() ? std::string() : it->second;
          }};
}

NetpolLab::Clock::time_point NetpolLab::change(const ScenarioStep& step) const {
  if (!step.apply.empty()) lab_.apply(step.apply);
  if (!step.remove.empty()) lab_.remove(step.remove);
  return Clock::now();
}

bool NetpolLab::isLabelChangeOrDeletion(const ScenarioStep& step) {
  if (!step.remove.empty()) return true;
  for (const auto& ref : refsIn(step.apply))
    if (ref.kind != k8s::Kind::NetworkPolicy) return true;
  return false;
}

json NetpolLab::probe(const std::vector<std::string>& args, std::string* failures) const {
  std::vector<std::string> all{"lab", "probe", "--name", lab_.name(), "-o", "json", "--show-failures"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = lab_.ctl(all);
  if (r.exitCode != 0) {
    ADD_FAILURE() << "lab probe: " << r.describe();
    return nullptr;
  }
  if (failures) *failures = r.err;
  return json::parse(r.out, nullptr, false);
}

bool NetpolLab::awaitAllConnected(milliseconds giveUp) const {
  for (auto until = Clock::now() + giveUp;;) {
    if (allEqual(probe({"--protocol", "TCP"}), true)) return true;
    if (Clock::now() >= until) return false;
  }
}

std::optional<milliseconds> NetpolLab::timeUntilInEffect(const std::vector<ExpectedMatrix>& expected,
                                                         Clock::time_point since, milliseconds giveUp) const {
  for (;;) {
    bool inEffect = showsExpected(expected);
    auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - since);
    if (inEffect) return elapsed;
    if (elapsed >= giveUp) return std::nullopt;
  }
}

bool NetpolLab::showsExpected(const std::vector<ExpectedMatrix>& expected) const {
  for (const auto& e : expected) {
    auto observed =
        probe({"--port", std::to_string(e.portCase.port), "--protocol", k8s::protocolName(e.portCase.protocol)});
    if (!observed.is_object() || observed.value(e.portCase.str(), json()) != asJson(e.reachability)) return false;
  }
  return true;
}

void NetpolLab::expectMatrices(const std::vector<ExpectedMatrix>& expected) const {
  const json engine = lab_.ctlJson({"policy", "matrix"});
  ASSERT_TRUE(engine.is_object()) << engine.dump();
  for (const auto& e : expected) {
    const json want = asJson(e.reachability);
    EXPECT_TRUE(engine.value(e.portCase.str(), json()) == want)
        << "policy matrix " << e.portCase.str() << ", expected:\n"
        << table(want) << "engine:\n"
        << table(engine.value(e.portCase.str(), json()));
  }

  json observed;
  std::string failures;
  for (auto until = Clock::now() + kPropagation; observed != engine && Clock::now() < until;)
    observed = probe({}, &failures);
  EXPECT_EQ(observed.size(), 4u) << "TCP and UDP on 80 and 81: " << observed.dump();
  for (const auto& [portCase, engineTable] : engine.items()) {
    const json probed = observed.is_object() ? observed.value(portCase, json()) : json();
    EXPECT_TRUE(probed == engineTable) << "lab probe " << portCase << " (real connections) differs from policy matrix; "
                                       << "engine:\n"
                                       << table(engineTable) << "probe:\n"
                                       << table(probed) << "blocked connections:\n"
                                       << linesStartingWith(failures, portCase + " ");
  }
}

void NetpolLab::restore(const std::vector<ScenarioStep>& steps) const {
  std::set<std::pair<std::string, std::string>> policies;  // (namespace, name)
  std::set<std::string> namespaces, pods;
  for (const auto& step : steps)
    for (const auto& ref : refsIn(step.apply)) {
      if (ref.kind == k8s::Kind::NetworkPolicy) policies.insert({ref.ns, ref.name});
      if (ref.kind == k8s::Kind::Namespace) namespaces.insert(ref.name);
      if (ref.kind == k8s::Kind::Pod) pods.insert(ref.ns + "/" + ref.name);
    }
  std::string deletions, originals;
  for (const auto& [ns, name] : policies) deletions += policy::test::policyYaml(ns, name, "  podSelector: {}");
  for (const auto& ns : namespaces) originals += policy::test::namespaceYaml(ns);
  const auto lab = model();
  for (const auto& pod : pods) originals += lab.podYaml(pod);
  if (!deletions.empty()) lab_.remove(deletions);
  if (!originals.empty()) lab_.apply(originals);
  EXPECT_TRUE(allEqual(lab_.ctlJson({"policy", "matrix"}), true)) << "policies or labels left after the scenario";
  EXPECT_TRUE(awaitAllConnected(kPropagation)) << "the datapath still blocks pods after the scenario's policies went";
}

}  // namespace cnikit::e2e
