// cnikitctl policy matrix | explain: the NetworkPolicy engine run offline, on manifests
// (-f) or on the objects in the store (through the agent), with the semantics the datapath
// enforces.
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "core/k8s/Objects.hpp"
#include "core/policy/Engine.hpp"
#include "core/policy/Matrix.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

void load(policy::Engine& engine, k8s::Kind kind, const json& object) {
  switch (kind) {
    case k8s::Kind::Namespace: engine.upsertNamespace(k8s::namespaceFromJson(object)); break;
    case k8s::Kind::Pod: engine.upsertPod(k8s::podFromJson(object)); break;
    case k8s::Kind::NetworkPolicy: engine.upsertPolicy(k8s::networkPolicyFromJson(object)); break;
    case k8s::Kind::Service:
    case k8s::Kind::EndpointSlice: break;  // policy sees the endpoint behind a Service, never the Service
  }
}

// From the manifests, or (none given) from the store through the agent.
void loadEngine(policy::Engine& engine, const GlobalOptions& options, const std::vector<std::string>& files,
                const std::string& defaultNamespace) {
  if (!files.empty()) {
    for (const auto& object : readObjects(files, defaultNamespace)) load(engine, object.ref.kind, object.object);
    return;
  }
  for (auto kind : {k8s::Kind::Namespace, k8s::Kind::Pod, k8s::Kind::NetworkPolicy}) {
    auto list = callAgent(options, rpc::kObjectsListMethod, {{"kind", k8s::kindName(kind)}, {"all", true}});
    for (const auto& item : list.value("items", json::array())) {
      try {
        load(engine, kind, item);
      } catch (const std::exception& e) {
        std::cerr << "warning: skipping a stored " << k8s::kindName(kind) << ": " << e.what() << "\n";
      }
    }
  }
}

std::string podKey(const std::string& text, const std::string& defaultNamespace) {
  return text.find('/') == std::string::npos ? defaultNamespace + "/" + text : text;
}

std::string peerText(const k8s::NetworkPolicy& policy, const k8s::PolicyRule& rule, int peer) {
  if (peer < 0) return "every peer";
  const auto& p = rule.peers.at(peer);
  if (p.ipBlock) {
    std::string out = "ipBlock " + p.ipBlock->cidr;
    for (size_t i = 0; i < p.ipBlock->except.size(); ++i) out += (i ? "," : " except ") + p.ipBlock->except[i];
    return out;
  }
  std::string ns = p.namespaceSelector ? "namespaces " + p.namespaceSelector->str() : "namespace " + policy.ns;
  std::string pods = p.podSelector ? "pods " + p.podSelector->str() : "every pod";
  return pods + " in " + ns;
}

std::string portText(const k8s::PolicyRule& rule, int port) {
  if (port < 0) return "every port";
  const auto& p = rule.ports.at(port);
  std::string protocol = k8s::protocolName(p.protocol);
  if (std::holds_alternative<std::monostate>(p.port)) return "every " + protocol + " port";
  if (const auto* name = std::get_if<std::string>(&p.port)) return protocol + " port named " + *name;
  auto number = std::get<uint16_t>(p.port);
  std::string out = protocol + "/" + std::to_string(number);
  if (p.endPort && *p.endPort != number) out += "-" + std::to_string(*p.endPort);
  return out;
}

json sideJson(const policy::Engine& engine, const policy::DirectionVerdict& side, const std::string& pod,
              bool ingress) {
  json allowedBy = json::array();
  for (const auto& m : side.allowedBy) {
    const auto& policy = engine.policies().at(m.policy);
    const auto& rule = (ingress ? policy.ingress : policy.egress).at(m.rule);
    allowedBy.push_back({{"policy", m.policy},
                         {"rule", m.rule},
                         {"peer", m.peer < 0 ? json(nullptr) : json(m.peer)},
                         {"port", m.port < 0 ? json(nullptr) : json(m.port)},
                         {"peerText", peerText(policy, rule, m.peer)},
                         {"portText", portText(rule, m.port)}});
  }
  return {{"pod", pod},
          {"direction", ingress ? "ingress" : "egress"},
          {"isolated", side.isolated},
          {"allowed", side.allowed()},
          {"policies", side.policies},
          {"allowedBy", allowedBy}};
}

void printSide(const json& side) {
  std::string direction = side["direction"];
  std::string pod = side["pod"];
  std::cout << "  " << direction << " of " << pod << ": ";
  if (!side["isolated"].get<bool>()) {
    std::cout << "not isolated (no policy selects " << pod << " for " << direction << "): allowed\n";
    return;
  }
  std::string policies;
  for (const auto& p : side["policies"]) policies += (policies.empty() ? "" : ", ") + p.get<std::string>();
  std::cout << "isolated by " << policies << "\n";
  if (side["allowedBy"].empty()) {
    std::cout << "    no rule allows it\n";
    return;
  }
  for (const auto& m : side["allowedBy"]) {
    std::string where = m["policy"].get<std::string>() + " " + direction + "[" + m["rule"].dump() + "]";
    if (!m["peer"].is_null()) where += std::string(direction == "ingress" ? ".from[" : ".to[") + m["peer"].dump() + "]";
    if (!m["port"].is_null()) where += ".ports[" + m["port"].dump() + "]";
    std::cout << "    allowed by " << where << ": " << m["peerText"].get<std::string>() << ", "
              << m["portText"].get<std::string>() << "\n";
  }
}

}  // namespace

void registerPolicyCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  struct State {
    std::vector<std::string> files;
    std::string ns = "default";
    int port = 0;
    std::string protocol;
    std::string from;
    std::string to;
  };
  auto state = std::make_shared<State>();

  auto* group = app.add_subcommand("policy", "NetworkPolicy: reachability matrix and explanations");
  group->require_subcommand(1);

  auto* matrix = group->add_subcommand("matrix", "which pod reaches which, per protocol/port ('.' yes, 'X' no)");
  matrix->add_option("-f,--filename", state->files, "manifests (FILE, DIR or -); default: the objects in the store");
  matrix->add_option("--port", state->port, "destination port (default: every port a pod declares)")
      ->check(CLI::Range(1, 65535));
  matrix->add_option("--protocol", state->protocol, "TCP, UDP or SCTP (default: TCP with --port, else every one)");
  matrix->add_option("-n,--namespace", state->ns, "namespace for manifests that name none")->capture_default_str();
  matrix->callback([&options, &exitCode, state] {
    std::optional<k8s::Protocol> protocol;
    if (!state->protocol.empty()) {
      std::string upper = state->protocol;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      protocol = k8s::parseProtocol(upper);
      if (!protocol) {
        std::cerr << "error: --protocol " << state->protocol << ": must be TCP, UDP or SCTP\n";
        exitCode = 1;
        return;
      }
    }
    policy::Engine engine;
    try {
      loadEngine(engine, options, state->files, state->ns);
    } catch (const k8s::ValidationError& e) {
      std::cerr << "error: the manifests are invalid:\n" << e.what() << "\n";
      exitCode = 1;
      return;
    }
    std::vector<policy::PortCase> cases;
    if (state->port > 0) {
      cases.push_back({protocol.value_or(k8s::Protocol::TCP), static_cast<uint16_t>(state->port)});
    } else {
      for (const auto& c : policy::declaredPorts(engine.state()))
        if (!protocol || c.protocol == *protocol) cases.push_back(c);
      if (cases.empty()) {
        std::cerr << "error: no pod declares a containerPort" << (protocol ? " of that protocol" : "")
                  << "; name one with --port\n";
        exitCode = 1;
        return;
      }
    }
    auto m = policy::computeMatrix(engine.state(), cases);
    if (options.output == "table")
      std::cout << policy::toTable(m);
    else
      std::cout << policy::toJson(m).dump(options.output == "json" ? 2 : 2) << "\n";
  });

  auto* explain = group->add_subcommand("explain", "why a connection between two pods is allowed or blocked");
  explain->add_option("--from", state->from, "source pod, NAMESPACE/POD")->required();
  explain->add_option("--to", state->to, "destination pod, NAMESPACE/POD")->required();
  explain->add_option("--port", state->port, "destination port")->required()->check(CLI::Range(1, 65535));
  explain->add_option("--protocol", state->protocol, "TCP (default), UDP or SCTP");
  explain->add_option("-f,--filename", state->files, "manifests (FILE, DIR or -); default: the objects in the store");
  explain->add_option("-n,--namespace", state->ns, "namespace of pods given without one")->capture_default_str();
  explain->callback([&options, &exitCode, state] {
    std::string upper = state->protocol.empty() ? "TCP" : state->protocol;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto protocol = k8s::parseProtocol(upper);
    if (!protocol) {
      std::cerr << "error: --protocol " << state->protocol << ": must be TCP, UDP or SCTP\n";
      exitCode = 1;
      return;
    }
    policy::Engine engine;
    try {
      loadEngine(engine, options, state->files, state->ns);
    } catch (const k8s::ValidationError& e) {
      std::cerr << "error: the manifests are invalid:\n" << e.what() << "\n";
      exitCode = 1;
      return;
    }
    auto from = podKey(state->from, state->ns), to = podKey(state->to, state->ns);
    for (const auto& key : {from, to})
      if (!engine.pods().count(key)) {
        std::cerr << "error: no pod " << key << " among the " << engine.pods().size() << " pods "
                  << (state->files.empty() ? "in the store" : "in the manifests") << "\n";
        exitCode = 1;
        return;
      }
    auto port = static_cast<uint16_t>(state->port);
    auto verdict = engine.verdict(from, to, port, *protocol);
    json out = {{"from", from},
                {"to", to},
                {"protocol", k8s::protocolName(*protocol)},
                {"port", port},
                {"allowed", verdict.allowed},
                {"samePod", verdict.samePod},
                {"egress", sideJson(engine, verdict.egress, from, false)},
                {"ingress", sideJson(engine, verdict.ingress, to, true)}};
    if (options.output != "table") {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << from << " -> " << to << " " << k8s::protocolName(*protocol) << "/" << port << ": "
              << (verdict.allowed ? "ALLOWED" : "BLOCKED") << "\n";
    if (verdict.samePod) {
      std::cout << "  a pod always reaches itself; policies do not apply\n";
      return;
    }
    printSide(out["egress"]);
    printSide(out["ingress"]);
  });
}

}  // namespace cnikit::ctl
