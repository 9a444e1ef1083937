// Service proxy benchmark (not a test: it prints figures and ratios, it asserts nothing).
//
//   service_bench [--sizes 1,1000,10000] [--changes 5] [--connects 300] [--no-comments]
//
// In namespaces of its own ("cnkt-<pid>-sbench-*": a node, a server pod, a client pod; the
// root namespace is never touched), for each size N (Services of one TCP port, 3 endpoints
// each, all served by the server pod on ports 8080-8082):
//   - cnikit's iptables proxy programs the N Services into an empty node (sync);
//   - with N in place, one endpoint of one Service changes (apply), --changes times;
//   - first-packet latency: p50 of --connects new TCP connections from the client pod to the
//     last Service's ClusterIP;
//   - the reference, in the same run and namespace: the equivalent rule set as kube-proxy's
//     iptables mode writes it (KUBE-SERVICES with one rule per Service, KUBE-SVC-*,
//     KUBE-SEP-*, KUBE-MARK-MASQ, KUBE-POSTROUTING), loaded by `iptables-legacy-restore`
//     into the empty table, then loaded again with one endpoint changed (kube-proxy's full
//     resync on a change), and the same first-packet latency through it.
// Prints a table, the ratios and /proc/loadavg before and after (the machine is shared).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>
#include <cnikit/toolkit/Process.hpp>

#include "core/service/iptables/IptablesServiceProxy.hpp"

namespace {

using namespace cnikit;
using service::iptables::IptablesServiceProxy;
using Clock = std::chrono::steady_clock;

const std::string kServerIp = "10.70.0.2";
const std::string kClientIp = "10.71.0.2";
constexpr uint16_t kBackendPorts[] = {8080, 8081, 8082};

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

void mustRun(const std::vector<std::string>& argv, const std::string& netns = "", const std::string& input = "") {
  auto r =
      toolkit::runProcess({.argv = argv, .netnsPath = netns, .stdinText = input, .timeout = std::chrono::minutes(5)})
          .value();
  if (!r.succeeded()) throw std::runtime_error(r.describe(argv));
}

std::string clusterIp(int i) { return "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); }

service::ServiceTable makeTable(int n) {
  service::ServiceTable table;
  for (int i = 0; i < n; ++i) {
    service::Service s;
    s.ns = "bench";
    s.name = "svc-" + std::to_string(i);
    s.clusterIPs = {clusterIp(i)};
    service::ServicePort port;
    port.name = "http";
    port.port = 80;
    for (uint16_t p : kBackendPorts) {
      service::Backend b;
      b.address = kServerIp;
      b.port = p;
      b.local = true;
      port.backends.push_back(b);
    }
    s.ports = {port};
    table[s.key()] = s;
  }
  return table;
}

// The equivalent rule set in kube-proxy's iptables-mode layout, as iptables-restore input.
// `changed`: Service index whose last endpoint port is 8083 instead of 8082 (-1: none).
std::string kubeProxyRules(int n, int changed) {
  std::ostringstream chains, rules;
  chains << "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         << ":KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n";
  rules << "-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n"
        << "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n"
        << "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
        << "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n-A KUBE-POSTROUTING -j MASQUERADE\n";
  char name[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(name, sizeof name, "KUBE-SVC-%016X", i);
    const std::string svc = name;
    chains << ":" << svc << " - [0:0]\n";
    rules << "-A KUBE-SERVICES -d " << clusterIp(i) << "/32 -p tcp -m comment --comment \"bench/svc-" << i
          << ":http cluster IP\" -m tcp --dport 80 -j " << svc << "\n";
    rules << "-A " << svc << " ! -s 10.71.0.0/16 -d " << clusterIp(i)
          << "/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ\n";
    for (int j = 0; j < 3; ++j) {
      std::snprintf(name, sizeof name, "KUBE-SEP-%014X%02d", i, j);
      const std::string sep = name;
      chains << ":" << sep << " - [0:0]\n";
      if (j < 2)
        rules << "-A " << svc << " -m statistic --mode random --probability "
              << (j == 0 ? "0.33333333349" : "0.50000000000") << " -j " << sep << "\n";
      else
        rules << "-A " << svc << " -j " << sep << "\n";
      int port = kBackendPorts[j] + (i == changed && j == 2 ? 1 : 0);
      rules << "-A " << sep << " -s " << kServerIp << "/32 -j KUBE-MARK-MASQ\n";
      rules << "-A " << sep << " -p tcp -m tcp -j DNAT --to-destination " << kServerIp << ":" << port << "\n";
    }
  }
  return chains.str() + rules.str() + "COMMIT\n";
}

void enter(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns " + path);
  ::close(fd);
}

// Accepts and closes on the backend ports, in the server pod.
class Server {
 public:
  explicit Server(const std::string& netns) {
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this, netns] {
      enter(netns);
      std::vector<pollfd> fds{{stop_, POLLIN, 0}};
      for (uint16_t port : {8080, 8081, 8082, 8083}) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, 512);
        fds.push_back({fd, POLLIN, 0});
      }
      for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0) continue;
        if (fds[0].revents) break;
        for (size_t i = 1; i < fds.size(); ++i)
          if (fds[i].revents) {
            int c = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) ::close(c);
          }
      }
      for (auto& p : fds) ::close(p.fd);
    });
  }
  ~Server() {
    uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
  }

 private:
  int stop_ = -1;
  std::thread thread_;
};

// p50 of `count` new TCP connections (connect() until established) from the client pod.
double connectP50(const std::string& clientNetns, const std::string& ip, int count, int& failures) {
  std::vector<double> samples;
  failures = 0;
  std::thread t([&] {
    enter(clientNetns);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(80);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    for (int i = 0; i < count; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      linger off{1, 0};  // reset at close: no TIME_WAIT pile-up over thousands of connects
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
      timeval timeout{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      auto start = Clock::now();
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
        samples.push_back(msSince(start) * 1000.0);  // microseconds
      else
        ++failures;
      ::close(fd);
    }
  });
  t.join();
  return median(samples);
}

struct Row {
  int n = 0;
  double programMs = 0;
  service::iptables::ServiceApplyStats program;
  double changeMs = 0;
  service::iptables::ServiceApplyStats change;
  double latencyUs = 0;
  int latencyFailures = 0;
  double restoreMs = 0;
  double restoreChangeMs = 0;
  double restoreLatencyUs = 0;
  int restoreLatencyFailures = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cnikit service proxy benchmark"};
  std::vector<int> sizes{1, 1000, 10000};
  int changes = 5;
  int connects = 300;
  app.add_option("--sizes", sizes, "Service counts")->delimiter(',');
  app.add_option("--changes", changes, "endpoint changes timed per size");
  app.add_option("--connects", connects, "new connections for the first-packet latency");
  bool noComments = false;
  app.add_flag("--no-comments", noComments, "program without the \"ns/name:port\" comments (smaller table)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const std::string prefix = "cnkt-" + std::to_string(::getpid()) + "-sbench-";
  const std::string node = prefix + "node", server = prefix + "server", client = prefix + "client";
  auto path = [](const std::string& name) { return "/run/netns/" + name; };
  auto cleanup = [&] {
    for (const auto& name : {node, server, client}) (void)toolkit::runProcess({.argv = {"ip", "netns", "del", name}});
  };
  std::vector<Row> rows;
  const std::string loadBefore = loadavg();
  try {
    for (const auto& name : {node, server, client}) mustRun({"ip", "netns", "add", name});
    mustRun({"ip", "-n", node, "link", "add", "to-server", "type", "veth", "peer", "name", "eth0", "netns", server});
    mustRun({"ip", "-n", node, "link", "add", "to-client", "type", "veth", "peer", "name", "eth0", "netns", client});
    mustRun({"ip", "-n", node, "addr", "add", "10.70.0.1/24", "dev", "to-server"});
    mustRun({"ip", "-n", node, "addr", "add", "10.71.0.1/24", "dev", "to-client"});
    mustRun({"ip", "-n", server, "addr", "add", kServerIp + "/24", "dev", "eth0"});
    mustRun({"ip", "-n", client, "addr", "add", kClientIp + "/24", "dev", "eth0"});
    for (const auto& [ns, dev] : std::vector<std::pair<std::string, std::string>>{{node, "to-server"},
                                                                                  {node, "to-client"},
                                                                                  {server, "eth0"},
                                                                                  {client, "eth0"},
                                                                                  {node, "lo"},
                                                                                  {server, "lo"},
                                                                                  {client, "lo"}})
      mustRun({"ip", "-n", ns, "link", "set", dev, "up"});
    mustRun({"ip", "-n", server, "route", "add", "default", "via", "10.70.0.1"});
    mustRun({"ip", "-n", client, "route", "add", "default", "via", "10.71.0.1"});
    // A default route on the node: Service addresses are routable before DNAT.
    mustRun({"ip", "-n", node, "route", "add", "default", "via", "10.70.0.2"});
    mustRun({"ip", "netns", "exec", node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
    Server backend(path(server));

    auto nodeNs = toolkit::Netns::open(path(node)).value();
    auto scope = toolkit::NetnsGuard::enter(nodeNs).value();
    service::NodeContext context;
    context.name = "bench";
    context.nodeAddresses = {"10.70.0.1"};
    context.podCidrs = {"10.70.0.0/16", "10.71.0.0/16"};

    for (int n : sizes) {
      Row row;
      row.n = n;
      auto table = makeTable(n);
      const std::string target = clusterIp(n - 1);
      std::printf("N = %d ...\n", n);
      std::fflush(stdout);
      {
        service::iptables::IptablesServiceProxyOptions options;
        options.chains.comments = !noComments;
        IptablesServiceProxy proxy(options);
        auto start = Clock::now();
        proxy.sync(context, table);
        row.programMs = msSince(start);
        row.program = proxy.lastUpdate();
        // One endpoint of one Service (not the measured one) moves, and back.
        std::vector<double> times;
        for (int i = 0; i < changes; ++i) {
          auto& port = table.at("bench/svc-0").ports[0];
          port.backends[2].port = port.backends[2].port == 8082 ? 8083 : 8082;
          start = Clock::now();
          proxy.apply(context, table, {"bench/svc-0"});
          times.push_back(msSince(start));
          if (i == changes - 1) row.change = proxy.lastUpdate();
        }
        row.changeMs = median(times);
        row.latencyUs = connectP50(path(client), target, connects, row.latencyFailures);
        proxy.removeAll();
      }
      // The reference: iptables-legacy-restore of kube-proxy's layout, into the empty table.
      const std::string full = kubeProxyRules(n, -1);
      auto restore = [&](const std::string& text) {
        auto r = toolkit::runProcess(
                     {.argv = {"iptables-legacy-restore", "-w"}, .stdinText = text, .timeout = std::chrono::minutes(5)})
                     .value();
        if (!r.succeeded()) throw std::runtime_error(r.describe({"iptables-legacy-restore"}));
        return std::chrono::duration<double, std::milli>(r.wall).count();
      };
      row.restoreMs = restore(full);
      std::vector<double> times;
      for (int i = 0; i < changes; ++i) times.push_back(restore(kubeProxyRules(n, i % 2 == 0 ? 0 : -1)));
      row.restoreChangeMs = median(times);
      row.restoreLatencyUs = connectP50(path(client), target, connects, row.restoreLatencyFailures);
      restore(
          "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT "
          "[0:0]\nCOMMIT\n");
      rows.push_back(row);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "service_bench: %s\n", e.what());
    cleanup();
    return 1;
  }
  cleanup();

  std::printf("\nload before: %s\nload after:  %s  (2 shared cores; other builds may run)\n\n", loadBefore.c_str(),
              loadavg().c_str());
  std::printf("%8s | %11s %11s %7s | %11s %11s %7s %7s | %9s %9s %7s\n", "services", "program ms", "restore ms",
              "ratio", "change ms", "restore ms", "ratio", "commit", "1st pkt", "ref", "ratio");
  std::printf("%8s | %11s %11s %7s | %11s %11s %7s %7s | %9s %9s %7s\n", "", "(cnikit)", "(kube-proxy)", "", "(cnikit)",
              "(full sync)", "", "ms", "us p50", "us p50", "");
  for (const auto& r : rows)
    std::printf("%8d | %11.1f %11.1f %7.2f | %11.2f %11.1f %7.3f %7.2f | %9.1f %9.1f %7.2f\n", r.n, r.programMs,
                r.restoreMs, r.programMs / r.restoreMs, r.changeMs, r.restoreChangeMs, r.changeMs / r.restoreChangeMs,
                r.change.commitMs, r.latencyUs, r.restoreLatencyUs, r.latencyUs / r.restoreLatencyUs);
  std::printf(
      "\nbreakdown of one change (cnikit): build %.2f ms, read table %.2f ms, rewrite %.2f ms, commit %.2f ms; "
      "%d chain(s) written, %d deleted\n",
      rows.back().change.buildMs, rows.back().change.readMs, rows.back().change.writeMs, rows.back().change.commitMs,
      rows.back().change.chainsWritten, rows.back().change.chainsDeleted);
  std::printf("breakdown of programming %d (cnikit): build %.1f ms, read %.1f ms, rewrite %.1f ms, commit %.1f ms\n",
              rows.back().n, rows.back().program.buildMs, rows.back().program.readMs, rows.back().program.writeMs,
              rows.back().program.commitMs);
  if (rows.size() > 1 && rows.front().latencyUs > 0)
    std::printf("first-packet latency, %d vs %d Services: cnikit %.2fx, kube-proxy layout %.2fx\n", rows.back().n,
                rows.front().n, rows.back().latencyUs / rows.front().latencyUs,
                rows.back().restoreLatencyUs / rows.front().restoreLatencyUs);
  for (const auto& r : rows)
    if (r.latencyFailures || r.restoreLatencyFailures)
      std::printf("N=%d: %d (cnikit) / %d (reference) connects failed\n", r.n, r.latencyFailures,
                  r.restoreLatencyFailures);
  std::printf(
      "targets: 10000 programmed <= 2000 ms; one change with 10000 in place <= 50 ms and <= 0.1x a full restore\n");
  return 0;
}
