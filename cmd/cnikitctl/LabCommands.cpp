// cnikitctl lab ...: a multi-node cluster in network namespaces on this machine (tools/lab):
// up, down, list, status, apply/delete -f, exec (in a pod or the outside client), probe (the
// pod matrix, or a Service), node and etcd control, and the hidden `serve` that runs in
// every pod.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "cmd/cnikitctl/Table.hpp"
#include "core/policy/Matrix.hpp"
#include "tools/lab/Lab.hpp"
#include "tools/lab/LabEtcd.hpp"
#include "tools/lab/LabExternal.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabPods.hpp"
#include "tools/lab/LabSpec.hpp"
#include "tools/lab/Probe.hpp"
#include "tools/lab/ProbeServer.hpp"
#include "tools/lab/ServiceProbe.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

void printLine(const std::string& line) { std::cout << line << std::endl; }

std::string podKeyOf(const std::string& text) { return text.find('/') == std::string::npos ? "default/" + text : text; }

std::optional<k8s::Protocol> protocolOption(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::string upper = text;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto p = k8s::parseProtocol(upper);
  if (!p || *p == k8s::Protocol::SCTP) throw std::runtime_error("--protocol " + text + ": must be TCP or UDP");
  return p;
}

std::map<std::string, std::string> parseLabels(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error("--label " + item + ": expected KEY=VALUE");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

void printSummaries(const GlobalOptions& options, const json& labs) {
  if (options.output != "table") {
    std::cout << labs.dump(2) << "\n";
    return;
  }
  if (labs.empty()) {
    std::cout << "No labs (cnikitctl lab up --name NAME).\n";
    return;
  }
  Table table({"NAME", "STATE", "NODES", "PODS", "PROCESSES", "BACKEND", "CREATED"});
  for (const auto& l : labs)
    table.add({l.value("name", ""), l.value("state", ""), std::to_string(l.value("nodes", 0)),
               std::to_string(l.value("pods", 0)),
               std::to_string(l.value("processesAlive", 0)) + "/" + std::to_string(l.value("processes", 0)),
               l.value("backend", ""), l.value("created", "")});
  table.print(std::cout);
}

void printStatus(const json& s) {
  std::cout << "Lab:     " << s["name"].get<std::string>() << " (" << s["dir"].get<std::string>() << ", created "
            << s["created"].get<std::string>() << ")\n";
  std::cout << "Fabric:  " << s["fabric"]["netns"].get<std::string>() << ", bridge "
            << s["fabric"]["bridge"].get<std::string>() << " " << s["fabric"]["ipv4"].get<std::string>() << "\n";
  std::cout << "etcd:    " << s["etcd"]["endpoint"].get<std::string>() << ", "
            << (s["etcd"]["running"].get<bool>() ? "running, pid " + s["etcd"]["process"]["pid"].dump() : "NOT running")
            << "\n";
  if (s["external"].value("present", false))
    std::cout << "Outside: " << s["external"]["netns"].get<std::string>() << ", "
              << s["external"]["ipv4"].get<std::string>() << ", " << s["external"]["ipv6"].get<std::string>()
              << " (lab exec --external)\n";
  std::cout << "\n";
  Table nodes({"NODE", "UNDERLAY", "AGENT", "SUBNETS", "SOCKET"});
  for (const auto& n : s["nodes"]) {
    std::string agent = n.value("running", false) ? "running (pid " + n["agent"]["pid"].dump() + ")" : "stopped";
    if (n.contains("error")) agent += ", not answering";
    if (n.contains("registered") && !n["registered"].get<bool>()) agent += ", NOT registered";
    if (n.contains("storeReachable") && !n["storeReachable"].get<bool>()) agent += ", store unreachable";
    nodes.add({n["name"], n["underlayIpv4"], agent, n.value("subnets", "-"), n["socket"]});
  }
  nodes.print(std::cout);
  if (s["pods"].empty()) return;
  std::cout << "\n";
  Table pods({"POD", "NODE", "IPS", "SERVER", "NETNS"});
  for (const auto& p : s["pods"]) {
    std::string ips;
    for (const auto& ip : p["ips"]) ips += (ips.empty() ? "" : ",") + ip.get<std::string>();
    pods.add({p["namespace"].get<std::string>() + "/" + p["name"].get<std::string>(), p["node"],
              ips.empty() ? "-" : ips, p.value("running", false) ? "running" : "stopped", p["netns"]});
  }
  pods.print(std::cout);
}

// "x/b 97 (32%), x/c 104 (35%)": the distribution over `connections`.
std::string counts(const std::map<std::string, int>& items, int connections) {
  std::string out;
  for (const auto& [what, n] : items)
    out += (out.empty() ? "" : ", ") + what + " " + std::to_string(n) + " (" +
           std::to_string(connections > 0 ? (n * 100 + connections / 2) / connections : 0) + "%)";
  return out.empty() ? "-" : out;
}

void printServiceProbe(const lab::ServiceProbeResult& r) {
  const auto& f = r.frontends;
  std::cout << "Service " << f.service << " port " << (f.portName.empty() ? "" : f.portName + " ") << f.port << "/"
            << k8s::protocolName(f.protocol) << ", " << r.count << " connection(s) per client and address\n";
  Table table({"FROM", "TO", "VIA", "ANSWERED", "FAILED"});
  for (const auto& row : r.rows)
    table.add({row.from, row.to.str(), row.to.via, counts(row.answered, row.connections),
               counts(row.failed, row.connections)});
  table.print(std::cout);
}

}  // namespace

std::string labAgentSocket(const std::string& lab) {
  auto state = lab::LabState::load(lab);
  if (state.nodes.empty()) throw std::runtime_error("lab " + lab + " has no nodes");
  for (const auto& n : state.nodes)
    if (lab::isRunning(n.agent)) return n.socket;
  return state.nodes.front().socket;  // none runs: the call will say so
}

void registerLabCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  struct State {
    std::string name;
    int nodes = 3;
    std::string backend = "flannel-like";
    std::string mode = "vxlan";
    std::string config;
    int timeoutSeconds = 60;
    bool noIpv6 = false;
    std::vector<std::string> files;
    std::string ns = "default";
    std::string pod;
    std::vector<std::string> command;
    int port = 0;
    std::string protocol;
    int probeTimeoutMs = 1000;
    bool ipv6 = false;
    bool showFailures = false;
    std::string to;
    std::vector<std::string> from;
    bool external = false;
    bool nodePort = false;
    bool loadBalancer = false;
    std::vector<std::string> probeNodes;
    int count = 1;
    std::string node;
    std::vector<std::string> labels;
    std::string ports;
    std::string podKey;
    int readyFd = -1;
  };
  auto state = std::make_shared<State>();

  auto* group = app.add_subcommand("lab", "a multi-node cluster in network namespaces on this machine");
  group->require_subcommand(1);
  auto nameOption = [state](CLI::App* cmd) {
    cmd->add_option("--name", state->name, "lab name (env CNIKIT_LAB)")->envname("CNIKIT_LAB")->required();
  };

  auto* up = group->add_subcommand("up", "build a lab: fabric, etcd, N nodes each with its own cnikitd");
  nameOption(up);
  auto* nodesOpt =
      up->add_option("--nodes", state->nodes, "number of nodes")->check(CLI::Range(1, 200))->capture_default_str();
  auto* backendOpt =
      up->add_option("--backend", state->backend, "backend library of the default instance")->capture_default_str();
  auto* modeOpt = up->add_option("--mode", state->mode, "backend mode: vxlan, host-gw or bridge (flannel-like)")
                      ->capture_default_str();
  up->add_option("--config", state->config, "lab.yaml: nodes, labels, backends, pools, selection, agent settings");
  up->add_option("--timeout", state->timeoutSeconds, "seconds to wait for the nodes")->capture_default_str();
  up->add_flag("--no-ipv6", state->noIpv6, "IPv4-only default pool");
  up->callback([state, nodesOpt, backendOpt, modeOpt] {
    lab::LabSpec spec;
    spec.name = state->name;
    if (!state->config.empty()) lab::readLabConfig(state->config, spec);
    // Flags given on the command line win over the file.
    if (state->config.empty() || nodesOpt->count()) spec.setNodeCount(state->nodes);
    if (backendOpt->count()) spec.backend = state->backend;
    if (state->config.empty() || modeOpt->count()) spec.mode = state->mode;
    if (state->noIpv6) spec.ipv6 = false;
    spec.readyTimeout = std::chrono::seconds(state->timeoutSeconds);
    try {
      lab::upLab(spec, printLine);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) + "\nthe lab is left as it is: `cnikitctl lab down --name " +
                               state->name + "` removes it");
    }
  });

  auto* down = group->add_subcommand("down", "remove every namespace, process and file of a lab");
  nameOption(down);
  down->callback([state] {
    auto done = lab::downLab(state->name, printLine);
    if (done.empty())
      std::cout << "lab " << state->name << ": nothing to remove\n";
    else
      std::cout << "lab " << state->name << " is gone\n";
  });

  auto* list = group->add_subcommand("list", "the labs on this machine");
  list->callback([&options] { printSummaries(options, lab::labSummaries()); });

  auto* status = group->add_subcommand("status", "nodes, agents, pods and etcd of a lab");
  nameOption(status);
  status->callback([state, &options] {
    auto s = lab::labStatus(state->name);
    if (options.output != "table")
      std::cout << s.dump(2) << "\n";
    else
      printStatus(s);
  });

  auto* apply = group->add_subcommand(
      "apply", "run Pods and store them with Namespaces, NetworkPolicies, Services and EndpointSlices in a lab");
  nameOption(apply);
  apply->add_option("-f,--filename", state->files, "FILE, DIR or - (multi-document YAML or JSON)")->required();
  apply->add_option("-n,--namespace", state->ns, "namespace for objects that name none")->capture_default_str();
  apply->callback([state, &exitCode] {
    auto read = readObjectsForApply(state->files, state->ns, exitCode);
    if (!read) return;
    const auto& objects = *read;
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    lab::applyObjects(lab, objects, printLine);
  });

  auto* del = group->add_subcommand("delete", "stop and delete the objects named in manifests");
  nameOption(del);
  del->add_option("-f,--filename", state->files, "FILE, DIR or -")->required();
  del->add_option("-n,--namespace", state->ns, "namespace for objects that name none")->capture_default_str();
  del->callback([state] {
    std::vector<k8s::ObjectRef> refs;
    for (const auto& o : readObjects(state->files, state->ns)) refs.push_back(o.ref);
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    lab::deleteObjects(lab, refs, printLine);
  });

  auto* exec = group->add_subcommand("exec", "run a command inside a pod's network namespace, or the outside client's");
  nameOption(exec);
  exec->add_flag("--external", state->external, "in the lab's outside client (no POD then)");
  exec->add_option("pod", state->pod, "NAMESPACE/POD, or POD in default");
  exec->add_option("command", state->command, "the command and its arguments (after --)");
  exec->callback([state] {
    auto lab = lab::LabState::load(state->name);
    std::string netns;
    if (state->external) {
      // No pod: what CLI11 took for one is the command's first word.
      if (!state->pod.empty()) state->command.insert(state->command.begin(), state->pod);
      netns = lab::externalNetns(lab);
    } else {
      if (state->pod.empty()) throw std::runtime_error("lab exec: name a POD (or --external)");
      const auto* pod = lab.pod(podKeyOf(state->pod));
      if (!pod) throw std::runtime_error("lab " + state->name + " has no pod " + podKeyOf(state->pod));
      netns = pod->netns;
    }
    if (state->command.empty()) throw std::runtime_error("lab exec: no command (give it after --)");
    // setns, then exec: the command keeps this process's mounts (/sys stays the host's view,
    // unlike `ip netns exec`).
    int fd = ::open(lab::netnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
      throw std::runtime_error("cannot enter " + lab::netnsPath(netns) + ": " + std::strerror(errno));
    std::vector<char*> argv;
    for (auto& a : state->command) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    ::execvp(argv[0], argv.data());
    throw std::runtime_error("cannot execute " + state->command[0] + ": " + std::strerror(errno));
  });

  auto* probe = group->add_subcommand(
      "probe", "connect from every pod to every pod (the real reachability matrix), or to a Service (--to)");
  nameOption(probe);
  probe->add_option("--port", state->port, "destination port (default: every port a pod serves)")
      ->check(CLI::Range(1, 65535));
  probe->add_option("--protocol", state->protocol,
                    "TCP or UDP (default: TCP with --port, else both; with --to: picks among the Service's ports)");
  probe->add_option("--timeout-ms", state->probeTimeoutMs, "per connection")->capture_default_str();
  probe->add_flag("--ipv6", state->ipv6, "probe IPv6 addresses (pods', or the Service's IPv6 frontends)");
  probe->add_flag("--show-failures", state->showFailures, "list each blocked connection and why (stderr)");
  probe->add_option("--to", state->to,
                    "svc/NAMESPACE/NAME[:PORT]: connect to a Service (its ClusterIP unless --node-port or --lb) "
                    "and report which endpoint answered");
  probe->add_option("--from", state->from, "with --to: client pod NAMESPACE/POD (repeatable; default every pod)");
  probe->add_flag("--external", state->external, "with --to: the lab's outside client is the client");
  probe->add_flag("--node-port", state->nodePort, "with --to: every node's underlay address and the nodePort");
  probe->add_option("--node", state->probeNodes, "with --node-port: only this node (repeatable)");
  probe->add_flag("--lb", state->loadBalancer, "with --to: the Service's load-balancer addresses");
  probe->add_option("--count", state->count, "with --to: connections per client and address")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  probe->callback([state, &options, probe] {
    auto lab = lab::LabState::load(state->name);
    if (!state->to.empty()) {
      if (state->port > 0) throw std::runtime_error("--port does not go with --to: write svc/NS/NAME:PORT");
      if (state->nodePort && state->loadBalancer) throw std::runtime_error("--node-port and --lb exclude each other");
      if (!state->probeNodes.empty() && !state->nodePort) throw std::runtime_error("--node needs --node-port");
      lab::ServiceProbeOptions serviceOptions;
      serviceOptions.target = lab::parseServiceProbeTarget(state->to);
      serviceOptions.protocol = protocolOption(state->protocol);
      serviceOptions.frontend = state->nodePort       ? lab::ServiceFrontend::NodePort
                                : state->loadBalancer ? lab::ServiceFrontend::LoadBalancer
                                                      : lab::ServiceFrontend::ClusterIP;
      serviceOptions.ipv6 = state->ipv6;
      for (const auto& f : state->from) serviceOptions.from.push_back(podKeyOf(f));
      serviceOptions.external = state->external;
      serviceOptions.nodes = state->probeNodes;
      serviceOptions.count = state->count;
      serviceOptions.timeout = std::chrono::milliseconds(state->probeTimeoutMs);
      auto result = lab::probeService(lab, serviceOptions);
      if (options.output == "table")
        printServiceProbe(result);
      else
        std::cout << lab::toJson(result).dump(2) << "\n";
      return;
    }
    for (const auto* flag : {"--from", "--external", "--node-port", "--node", "--lb", "--count"})
      if (probe->count(flag)) throw std::runtime_error(std::string(flag) + " needs --to svc/NAMESPACE/NAME");
    lab::ProbeOptions probeOptions;
    if (state->port > 0) probeOptions.port = static_cast<uint16_t>(state->port);
    probeOptions.protocol = protocolOption(state->protocol);
    probeOptions.timeout = std::chrono::milliseconds(state->probeTimeoutMs);
    probeOptions.ipv6 = state->ipv6;
    auto result = lab::probeLab(lab, probeOptions);
    // Exactly what `cnikitctl policy matrix` prints, so the two can be compared as text.
    if (options.output == "table")
      std::cout << policy::toTable(result.matrix);
    else
      std::cout << policy::toJson(result.matrix).dump(2) << "\n";
    if (state->showFailures)
      for (const auto& f : result.failures)
        std::cerr << f.portCase << " " << f.from << " -> " << f.to << ": " << f.reason << "\n";
  });

  auto* node = group->add_subcommand("node", "add a node, or stop/start/kill a node's agent");
  node->require_subcommand(1);
  auto nodeCommand = [&](const char* verb, const char* help) {
    auto* cmd = node->add_subcommand(verb, help);
    nameOption(cmd);
    cmd->add_option("node", state->node, "node name")->required();
    return cmd;
  };
  auto* nodeAdd =
      nodeCommand("add", "join a new node (namespace, underlay, agent) and wait until every node routes to it");
  nodeAdd->add_option("--label", state->labels, "KEY=VALUE node label (repeatable)");
  nodeAdd->callback([state] { lab::addNode(state->name, {state->node, parseLabels(state->labels)}, printLine); });
  nodeCommand("stop", "SIGTERM the node's agent (the datapath stays)")->callback([state] {
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    std::cout << (lab::stopAgent(lab, state->node) ? "stopped" : "was not running: ") << " agent of " << state->node
              << "\n";
  });
  nodeCommand("kill", "SIGKILL the node's agent: a crash, nothing cleaned up")->callback([state] {
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    std::cout << (lab::killAgent(lab, state->node) ? "killed" : "was not running: ") << " agent of " << state->node
              << "\n";
  });
  auto* nodeStart = nodeCommand("start", "start the node's agent again and wait until it is ready");
  nodeStart->add_option("--timeout", state->timeoutSeconds, "seconds to wait")->capture_default_str();
  nodeStart->callback([state] {
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    lab::startAgent(lab, state->node);
    lab::waitNodesReady(lab, {state->node}, printLine, std::chrono::seconds(state->timeoutSeconds));
  });

  auto* etcd = group->add_subcommand("etcd", "stop or start the lab's etcd (to test store outages)");
  etcd->require_subcommand(1);
  auto* etcdStop = etcd->add_subcommand("stop", "SIGTERM etcd; agents keep their datapath and retry");
  nameOption(etcdStop);
  etcdStop->callback([state] {
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    std::cout << (lab::stopEtcd(lab) ? "etcd stopped\n" : "etcd was not running\n");
  });
  auto* etcdStart = etcd->add_subcommand("start", "start etcd again on its data directory");
  nameOption(etcdStart);
  etcdStart->callback([state] {
    lab::LabLock lock(state->name);
    auto lab = lab::LabState::load(state->name);
    lab::startEtcd(lab);
    std::cout << "etcd ready (" << lab.etcd.endpoint << ", pid " << lab.etcd.process.pid << ")\n";
  });

  // Runs inside every pod (started by `lab apply`): not for people.
  auto* serve = group->add_subcommand("serve", "");
  serve->group("");
  serve->add_option("--ports", state->ports, "80/TCP,80/UDP,...")->required();
  serve->add_option("--pod", state->podKey, "namespace/name, for the greeting");
  serve->add_option("--ready-fd", state->readyFd, "descriptor to write one byte to once listening");
  serve->callback([state] { lab::serveProbes(lab::parseServedPorts(state->ports), state->podKey, state->readyFd); });
}

}  // namespace cnikit::ctl
