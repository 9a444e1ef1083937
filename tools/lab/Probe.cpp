#include "tools/lab/Probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"

namespace cnikit::lab {

namespace {

// Sockets one worker keeps open at once: 32 workers stay well under 1024 descriptors.
constexpr size_t kBatch = 24;
constexpr auto kUdpResend = std::chrono::milliseconds(200);

struct Target {
  std::string key;
  sockaddr_storage address{};
  socklen_t length = 0;
};

struct Task {
  size_t from = 0, to = 0, portCase = 0;
};

struct Attempt {
  const Task* task = nullptr;
  toolkit::UniqueFd fd;
  bool done = false;
  bool connected = false;
  std::string reason;
};

const char kPayload[] = "cnikit-lab-probe";

// Starts one probe: a TCP connect decided at once counts as connected.
void begin(Attempt& a, const sockaddr_storage& address, socklen_t length, k8s::Protocol protocol) {
  auto started = startProbe(address, length, protocol, std::string(kPayload, sizeof kPayload));
  a.fd = std::move(started.fd);
  a.connected = started.connected;
  a.reason = std::move(started.failure);
  a.done = a.connected || !a.reason.empty();
}

}  // namespace

ProbeStart startProbe(const sockaddr_storage& address, socklen_t length, k8s::Protocol protocol,
                      const std::string& datagram) {
  ProbeStart out;
  const int type = protocol == k8s::Protocol::UDP ? SOCK_DGRAM : SOCK_STREAM;
  out.fd = toolkit::UniqueFd(::socket(address.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!out.fd) {
    out.failure = std::string("socket: ") + std::strerror(errno);
    return out;
  }
  const int rc = ::connect(out.fd.get(), reinterpret_cast<const sockaddr*>(&address), length);
  if (type == SOCK_STREAM) {
    if (rc == 0)
      out.connected = true;
    else if (errno != EINPROGRESS)
      out.failure = std::strerror(errno);
    return out;
  }
  if (rc != 0 || ::send(out.fd.get(), datagram.data(), datagram.size(), 0) < 0) out.failure = std::strerror(errno);
  return out;
}

namespace {

// Polls the attempts until each is decided or the deadline passes.
void finish(std::vector<Attempt>& attempts, const std::vector<k8s::Protocol>& protocols,
            std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  auto nextResend = start + kUdpResend;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < attempts.size(); ++i) {
      if (attempts[i].done) continue;
      short events = protocols[i] == k8s::Protocol::UDP ? POLLIN : POLLOUT;
      fds.push_back({attempts[i].fd.get(), events, 0});
      which.push_back(i);
    }
    if (fds.empty()) return;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto until = std::min(deadline, nextResend);
    int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1;
    int n = ::poll(fds.data(), fds.size(), wait);
    if (n < 0 && errno != EINTR) break;
    for (size_t k = 0; n > 0 && k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      auto& a = attempts[which[k]];
      if (protocols[which[k]] == k8s::Protocol::UDP) {
        char buf[64];
        ssize_t got = ::recv(a.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) {
          a.done = a.connected = true;
        } else if (got < 0 && errno != EAGAIN && errno != EINTR) {
          a.done = true;  // e.g. ICMP port unreachable: ECONNREFUSED
          a.reason = std::strerror(errno);
        }
      } else {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(a.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
        a.done = true;
        a.connected = error == 0;
        if (error) a.reason = std::strerror(error);
      }
    }
    if (std::chrono::steady_clock::now() >= nextResend) {
      // A datagram lost to a neighbour resolution still in progress is sent again.
      for (size_t i = 0; i < attempts.size(); ++i)
        if (!attempts[i].done && protocols[i] == k8s::Protocol::UDP)
          (void)::send(attempts[i].fd.get(), kPayload, sizeof kPayload, MSG_DONTWAIT);
      nextResend += kUdpResend;
    }
  }
  for (auto& a : attempts)
    if (!a.done) {
      a.done = true;
      a.reason = "timed out";
    }
}

}  // namespace

bool toSockaddr(const std::string& ip, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  out = {};
  if (ip.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr) == 1;
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&out);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  len = sizeof(sockaddr_in6);
  return ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) == 1;
}

void raiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string probeOnce(const std::string& address, uint16_t port, k8s::Protocol protocol,
                      std::chrono::milliseconds timeout) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!toSockaddr(address, port, sa, len)) return "bad address " + address;
  std::vector<Attempt> attempts(1);
  begin(attempts[0], sa, len, protocol);
  finish(attempts, {protocol}, timeout);
  return attempts[0].connected ? "" : attempts[0].reason;
}

ProbeResult probeLab(const LabState& state, const ProbeOptions& options) {
  auto started = std::chrono::steady_clock::now();
  std::vector<const PodState*> pods;
  for (const auto& p : state.pods) {
    bool hasAddress = std::any_of(p.ips.begin(), p.ips.end(), [&](const std::string& ip) {
      return (ip.find(':') != std::string::npos) == options.ipv6;
    });
    if (hasAddress && netnsExists(p.netns)) pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(), [](const PodState* a, const PodState* b) { return a->key() < b->key(); });
  if (pods.empty())
    throw std::runtime_error("lab " + state.name + " has no running pod with an " + (options.ipv6 ? "IPv6" : "IPv4") +
                             " address (lab apply -f PODS first)");

  ProbeResult result;
  auto& m = result.matrix;
  for (const auto* p : pods) m.pods.push_back(p->key());
  if (options.port) {
    m.cases.push_back({options.protocol.value_or(k8s::Protocol::TCP), *options.port});
  } else {
    std::set<policy::PortCase> cases;
    for (const auto* p : pods)
      for (const auto& port : p->ports)
        if (!options.protocol || port.protocol == *options.protocol) cases.insert({port.protocol, port.port});
    m.cases.assign(cases.begin(), cases.end());
  }
  if (m.cases.empty())
    throw std::runtime_error("no pod serves a containerPort" +
                             std::string(options.protocol ? " of that protocol" : "") + "; name one with --port");
  for (const auto& c : m.cases)
    if (c.protocol == k8s::Protocol::SCTP)
      throw std::runtime_error("cannot probe " + c.str() + ": this kernel has no SCTP sockets");

  std::vector<std::string> addresses;
  for (const auto* p : pods)
    for (const auto& ip : p->ips)
      if ((ip.find(':') != std::string::npos) == options.ipv6) {
        addresses.push_back(ip);
        break;
      }

  // Work in batches that share one source pod, so a worker enters a namespace once per batch.
  std::vector<Task> tasks;
  for (size_t from = 0; from < pods.size(); ++from)
    for (size_t c = 0; c < m.cases.size(); ++c)
      for (size_t to = 0; to < pods.size(); ++to) tasks.push_back({from, to, c});
  std::vector<std::pair<size_t, size_t>> batches;  // [begin, end) of tasks
  for (size_t i = 0; i < tasks.size();) {
    size_t end = i;
    while (end < tasks.size() && end - i < kBatch && tasks[end].from == tasks[i].from) ++end;
    batches.emplace_back(i, end);
    i = end;
  }
  std::vector<char> connected(tasks.size(), 0);
  std::vector<std::string> reasons(tasks.size());
  raiseDescriptorLimit();

  std::atomic<size_t> next{0};
  std::mutex errorMutex;
  std::string error;
  auto worker = [&] {
    for (size_t b; (b = next++) < batches.size();) {
      auto [begin_, end_] = batches[b];
      try {
        auto inside = toolkit::NetnsGuard::enter(netnsPath(pods[tasks[begin_].from]->netns)).value();
        std::vector<Attempt> attempts(end_ - begin_);
        std::vector<k8s::Protocol> protocols;
        for (size_t i = begin_; i < end_; ++i) {
          const auto& t = tasks[i];
          const auto& c = m.cases[t.portCase];
          sockaddr_storage sa{};
          socklen_t len = 0;
          toSockaddr(addresses[t.to], c.port, sa, len);
          protocols.push_back(c.protocol);
          begin(attempts[i - begin_], sa, len, c.protocol);
        }
        finish(attempts, protocols, options.timeout);
        for (size_t i = begin_; i < end_; ++i) {
          connected[i] = attempts[i - begin_].connected;
          reasons[i] = attempts[i - begin_].reason;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(errorMutex);
        error = e.what();
      }
    }
  };
  std::vector<std::thread> workers;
  for (size_t i = 0; i < std::max<size_t>(1, std::min(options.threads, batches.size())); ++i)
    workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (!error.empty()) throw std::runtime_error("probing failed: " + error);

  for (const auto& c : m.cases) {
    auto& table = m.reachable[c];
    for (const auto* from : pods)
      for (const auto* to : pods) table[from->key()][to->key()] = false;
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    const auto& c = m.cases[t.portCase];
    m.reachable[c][pods[t.from]->key()][pods[t.to]->key()] = connected[i];
    if (!connected[i]) result.failures.push_back({pods[t.from]->key(), pods[t.to]->key(), c.str(), reasons[i]});
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return result;
}

}  // namespace cnikit::lab
