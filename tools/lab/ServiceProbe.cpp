#include "tools/lab/ServiceProbe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "core/rpc/AgentClient.hpp"
#include "tools/lab/LabExternal.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"
#include "tools/lab/Probe.hpp"
#include "tools/lab/ProbeServer.hpp"

namespace cnikit::lab {

using nlohmann::json;

namespace {

constexpr size_t kBatch = 24;
constexpr auto kUdpResend = std::chrono::milliseconds(200);
constexpr size_t kMaxAnswer = 512;

bool isIpv6(const std::string& address) { return address.find(':') != std::string::npos; }

std::string portText(const json& port) {
  std::string name = port.value("name", "");
  return (name.empty() ? "" : name + " ") + std::to_string(port.value("port", 0)) + "/" + port.value("protocol", "TCP");
}

// The one spec.ports entry the probe is for.
json pickPort(const json& service, const ServiceProbeOptions& options, const std::string& key) {
  const json ports = service.value("spec", json::object()).value("ports", json::array());
  std::vector<json> matches;
  for (const auto& p : ports) {
    if (options.protocol && p.value("protocol", "TCP") != k8s::protocolName(*options.protocol)) continue;
    const std::string& want = options.target.port;
    if (!want.empty() && want != p.value("name", "") && want != std::to_string(p.value("port", 0))) continue;
    matches.push_back(p);
  }
  if (matches.size() == 1) return matches.front();
  std::string listed;
  for (const auto& p : ports) listed += (listed.empty() ? "" : ", ") + portText(p);
  if (matches.empty())
    throw std::runtime_error(
        "Service " + key + " has no port " +
        (options.target.port.empty() ? std::string("") : "'" + options.target.port + "' ") +
        (options.protocol ? std::string("of protocol ") + k8s::protocolName(*options.protocol) : std::string("")) +
        " (ports: " + (listed.empty() ? "none" : listed) + ")");
  throw std::runtime_error("Service " + key + " has several ports (" + listed +
                           "): name one as svc/NS/NAME:PORT (and --protocol when a number serves two)");
}

struct Connection {
  toolkit::UniqueFd fd;
  bool done = false;
  bool connected = false;  // TCP: the handshake finished
  std::string answer;
  std::string reason;
};

// A connection is done only once its answer came (or it failed), not when TCP connects.
void start(Connection& c, const sockaddr_storage& address, socklen_t length, k8s::Protocol protocol) {
  auto started = startProbe(address, length, protocol, kWhoami);
  c.fd = std::move(started.fd);
  c.connected = started.connected;
  c.reason = std::move(started.failure);
  c.done = !c.reason.empty();
}

// Reads what arrived; done once a whole line (TCP) or a datagram (UDP) is there.
void receive(Connection& c, k8s::Protocol protocol) {
  char buf[kMaxAnswer];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    c.done = true;
    c.reason = std::strerror(errno);  // ECONNREFUSED (ICMP port unreachable, reset), ...
    return;
  }
  if (protocol == k8s::Protocol::UDP) {
    c.done = true;
    c.answer.assign(buf, static_cast<size_t>(n));
    return;
  }
  if (n == 0) {
    c.done = true;
    c.reason = "closed without an answer";
    return;
  }
  c.answer.append(buf, static_cast<size_t>(n));
  if (c.answer.find('\n') != std::string::npos || c.answer.size() >= kMaxAnswer) c.done = true;
}

// Polls until each connection has its answer or failed, or the deadline passed.
void finish(std::vector<Connection>& connections, k8s::Protocol protocol, std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  auto nextResend = start + kUdpResend;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < connections.size(); ++i) {
      auto& c = connections[i];
      if (c.done) continue;
      bool waitsForHandshake = protocol == k8s::Protocol::TCP && !c.connected;
      fds.push_back({c.fd.get(), static_cast<short>(waitsForHandshake ? POLLOUT : POLLIN), 0});
      which.push_back(i);
    }
    if (fds.empty()) return;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto until = protocol == k8s::Protocol::UDP ? std::min(deadline, nextResend) : deadline;
    int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1;
    int n = ::poll(fds.data(), fds.size(), wait);
    if (n < 0 && errno != EINTR) break;
    for (size_t k = 0; n > 0 && k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      auto& c = connections[which[k]];
      if (protocol == k8s::Protocol::TCP && !c.connected) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
        if (error) {
          c.done = true;
          c.reason = std::strerror(error);
        } else {
          c.connected = true;  // the greeting follows
        }
        continue;
      }
      receive(c, protocol);
    }
    if (protocol == k8s::Protocol::UDP && std::chrono::steady_clock::now() >= nextResend) {
      // A datagram lost to a neighbour resolution still in progress is sent again.
      for (auto& c : connections)
        if (!c.done) (void)::send(c.fd.get(), kWhoami, std::strlen(kWhoami), MSG_DONTWAIT);
      nextResend += kUdpResend;
    }
  }
  for (auto& c : connections)
    if (!c.done) {
      c.done = true;
      c.reason = protocol == k8s::Protocol::TCP && c.connected ? "connected, no answer" : "timed out";
    }
}

void record(const Connection& c, ServiceProbeRow& row) {
  ++row.connections;
  if (!c.reason.empty()) {
    ++row.failed[c.reason];
    return;
  }
  auto answer = parseProbeGreeting(c.answer);
  if (!answer) {
    ++row.failed["unexpected answer: " + c.answer.substr(0, c.answer.find('\n'))];
    return;
  }
  ++row.answered[answer->pod];
  if (!answer->peerAddress.empty()) ++row.seenFrom[answer->peerAddress];
}

struct Client {
  std::string name;   // "x/a" or "external"
  std::string netns;  // its namespace
};

std::vector<Client> clientsOf(const LabState& state, const ServiceProbeOptions& options) {
  std::vector<Client> out;
  auto hasFamily = [&](const PodState& p) {
    return std::any_of(p.ips.begin(), p.ips.end(), [&](const std::string& ip) { return isIpv6(ip) == options.ipv6; });
  };
  for (const auto& key : options.from) {
    const auto* p = state.pod(key);
    if (!p) throw std::runtime_error("lab " + state.name + " has no pod " + key);
    if (!hasFamily(*p) || !netnsExists(p->netns))
      throw std::runtime_error("pod " + key + " is not running with an " + (options.ipv6 ? "IPv6" : "IPv4") +
                               " address");
    out.push_back({key, p->netns});
  }
  if (options.from.empty() && !options.external) {
    for (const auto& p : state.pods)
      if (hasFamily(p) && netnsExists(p.netns)) out.push_back({p.key(), p.netns});
    std::sort(out.begin(), out.end(), [](const Client& a, const Client& b) { return a.name < b.name; });
    if (out.empty())
      throw std::runtime_error("lab " + state.name + " has no running pod with an " + (options.ipv6 ? "IPv6" : "IPv4") +
                               " address (lab apply -f PODS first)");
  }
  if (options.external) out.push_back({kExternalClientName, externalNetns(state)});
  return out;
}

}  // namespace

std::string ServiceFrontendAddress::str() const {
  return (isIpv6(address) ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

ServiceProbeTarget parseServiceProbeTarget(const std::string& text) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("--to " + text + ": " + why + " (expected svc/NAMESPACE/NAME[:PORT])");
  };
  constexpr std::string_view kPrefix = "svc/";
  if (text.compare(0, kPrefix.size(), kPrefix) != 0) fail("not a Service");
  std::string rest = text.substr(kPrefix.size());
  ServiceProbeTarget t;
  auto slash = rest.find('/');
  if (slash == std::string::npos) fail("no namespace");
  t.ns = rest.substr(0, slash);
  rest = rest.substr(slash + 1);
  auto colon = rest.find(':');
  t.name = rest.substr(0, colon);
  if (colon != std::string::npos) {
    t.port = rest.substr(colon + 1);
    if (t.port.empty()) fail("empty port");
  }
  if (t.ns.empty() || t.name.empty() || t.name.find('/') != std::string::npos) fail("bad namespace or name");
  return t;
}

ServiceFrontends resolveServiceFrontends(const json& service, const LabState& state,
                                         const ServiceProbeOptions& options) {
  const std::string key = options.target.key();
  ServiceFrontends out;
  out.service = key;
  const json port = pickPort(service, options, key);
  out.portName = port.value("name", "");
  out.port = port.value("port", uint16_t{0});
  out.protocol = k8s::parseProtocol(port.value("protocol", "TCP")).value_or(k8s::Protocol::TCP);
  if (out.protocol == k8s::Protocol::SCTP)
    throw std::runtime_error("Service " + key + ": cannot probe SCTP (this kernel has no SCTP sockets)");
  const std::string family = options.ipv6 ? "IPv6" : "IPv4";
  const json spec = service.value("spec", json::object());

  if (options.frontend == ServiceFrontend::ClusterIP) {
    std::vector<std::string> ips = spec.value("clusterIPs", std::vector<std::string>{});
    if (ips.empty() && spec.contains("clusterIP")) ips.push_back(spec.value("clusterIP", ""));
    for (const auto& ip : ips)
      if (ip != "None" && !ip.empty() && isIpv6(ip) == options.ipv6)
        out.addresses.push_back({"clusterIP", ip, out.port});
    if (out.addresses.empty())
      throw std::runtime_error("Service " + key + " has no " + family +
                               " clusterIP (spec.clusterIPs: " + spec.value("clusterIPs", json::array()).dump() + ")");
  } else if (options.frontend == ServiceFrontend::NodePort) {
    uint16_t nodePort = port.value("nodePort", uint16_t{0});
    if (nodePort == 0)
      throw std::runtime_error("Service " + key + " port " + portText(port) + " has no nodePort (type " +
                               spec.value("type", "ClusterIP") + ")");
    for (const auto& name : options.nodes)
      if (!state.node(name)) throw std::runtime_error("lab " + state.name + " has no node " + name);
    for (const auto& node : state.nodes) {
      if (!options.nodes.empty() &&
          std::find(options.nodes.begin(), options.nodes.end(), node.name) == options.nodes.end())
        continue;
      out.addresses.push_back({node.name, options.ipv6 ? node.underlayIpv6 : node.underlayIpv4, nodePort});
    }
  } else {
    const json ingress =
        service.value("status", json::object()).value("loadBalancer", json::object()).value("ingress", json::array());
    for (const auto& i : ingress) {
      std::string ip = i.value("ip", "");
      if (!ip.empty() && isIpv6(ip) == options.ipv6) out.addresses.push_back({"loadBalancer", ip, out.port});
    }
    if (out.addresses.empty())
      throw std::runtime_error("Service " + key + " has no " + family +
                               " load-balancer address (status.loadBalancer.ingress: " + ingress.dump() + ")");
  }
  return out;
}

void connectRepeatedly(const std::string& address, uint16_t port, k8s::Protocol protocol, int count,
                       std::chrono::milliseconds timeout, ServiceProbeRow& row) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!toSockaddr(address, port, sa, len)) throw std::runtime_error("bad address " + address);
  for (int done = 0; done < count;) {
    size_t batch = done == 0 ? 1 : std::min<size_t>(kBatch, static_cast<size_t>(count - done));
    std::vector<Connection> connections(batch);
    for (auto& c : connections) start(c, sa, len, protocol);
    finish(connections, protocol, timeout);
    for (const auto& c : connections) record(c, row);
    done += static_cast<int>(batch);
  }
}

ServiceProbeResult probeService(const LabState& state, const ServiceProbeOptions& options) {
  auto response = rpc::AgentClient(anyAgentSocket(state))
                      .call(rpc::kObjectsListMethod, {{"kind", "Service"}, {"namespace", options.target.ns}});
  for (const auto& item : response.value("items", json::array()))
    if (item.value("metadata", json::object()).value("name", "") == options.target.name)
      return probeService(state, item, options);
  throw std::runtime_error("lab " + state.name + " has no Service " + options.target.key() + " (cnikitctl --lab " +
                           state.name + " get services -n " + options.target.ns + ")");
}

ServiceProbeResult probeService(const LabState& state, const json& service, const ServiceProbeOptions& options) {
  auto started = std::chrono::steady_clock::now();
  if (options.count < 1) throw std::runtime_error("--count must be at least 1");
  ServiceProbeResult result;
  result.frontends = resolveServiceFrontends(service, state, options);
  result.count = options.count;
  const auto clients = clientsOf(state, options);
  for (const auto& client : clients)
    for (const auto& to : result.frontends.addresses) result.rows.push_back({client.name, to});

  raiseDescriptorLimit();
  std::atomic<size_t> next{0};
  std::mutex errorMutex;
  std::string error;
  const size_t perClient = result.frontends.addresses.size();
  auto worker = [&] {
    for (size_t i; (i = next++) < result.rows.size();) {
      auto& row = result.rows[i];
      try {
        auto inside = toolkit::NetnsGuard::enter(netnsPath(clients[i / perClient].netns)).value();
        connectRepeatedly(row.to.address, row.to.port, result.frontends.protocol, options.count, options.timeout, row);
      } catch (const std::exception& e) {
        std::lock_guard lock(errorMutex);
        error = row.from + " -> " + row.to.str() + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> workers;
  for (size_t i = 0; i < std::max<size_t>(1, std::min(options.threads, result.rows.size())); ++i)
    workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (!error.empty()) throw std::runtime_error("probing failed: " + error);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return result;
}

json toJson(const ServiceProbeResult& result) {
  json rows = json::array();
  for (const auto& r : result.rows)
    rows.push_back({{"from", r.from},
                    {"to", r.to.str()},
                    {"via", r.to.via},
                    {"connections", r.connections},
                    {"answered", r.answered},
                    {"failed", r.failed},
                    {"seenFrom", r.seenFrom}});
  return {{"service", result.frontends.service},
          {"portName", result.frontends.portName},
          {"protocol", k8s::protocolName(result.frontends.protocol)},
          {"port", result.frontends.port},
          {"count", result.count},
          {"results", rows}};
}

}  // namespace cnikit::lab
