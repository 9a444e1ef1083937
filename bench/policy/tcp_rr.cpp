// TCP request/response latency for the policy benchmark (run-policy-bench.sh), in the manner of
// netperf's TCP_RR and TCP_CRR:
//
//   tcp_rr server --port P
//     Echoes what it reads on every connection (one thread, epoll), until killed.
//   tcp_rr client --host IP --port P --mode rr|crr [--seconds 3] [--size 64] [--warmup-ms 300]
//     rr:  one TCP connection; a transaction is SIZE bytes sent and SIZE bytes read back.
//          After the first packets every packet is ESTABLISHED to conntrack.
//     crr: a new connection per transaction: connect, SIZE bytes there and back, close. The
//          SYN of each is a NEW connection to conntrack and walks the policy chains.
//     Runs untimed for --warmup-ms, then for --seconds, and prints one JSON object: the
//     transactions, transactions per second, and the latency (p50, p99, mean, max) in
//     microseconds. TCP_NODELAY on both sides.
//
// In crr mode the client closes first, so its side keeps TIME_WAIT: run it with
// net.ipv4.tcp_tw_reuse=1 in its namespace, or it runs out of ports after ~28k connections.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "Percentiles.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void noDelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail("TCP_NODELAY");
}

int runServer(uint16_t port) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener < 0) fail("socket");
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind port " + std::to_string(port));
  if (::listen(listener, 1024) != 0) fail("listen");
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1");
  epoll_event ev{EPOLLIN, {.fd = listener}};
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) != 0) fail("epoll_ctl");
  std::vector<char> buf(64 * 1024);
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("epoll_wait");
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;  // EAGAIN, or a connection already reset
          noDelay(c);
          epoll_event cev{EPOLLIN, {.fd = c}};
          if (::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0) fail("epoll_ctl");
        }
        continue;
      }
      // Echo what is there. The client sends one request and waits for its reply, so a
      // reply always fits the socket buffer and a plain write does not block.
      ssize_t got = ::read(fd, buf.data(), buf.size());
      if (got > 0) {
        ssize_t off = 0;
        while (off < got) {
          ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(got - off));
          if (w <= 0) break;
          off += w;
        }
        if (off == got) continue;
      } else if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      ::close(fd);  // EOF, error or a short write: the connection is done
    }
  }
}

// Sends the request and reads the whole reply; throws when the peer closed or failed.
void transact(int fd, std::vector<char>& buf) {
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t w = ::write(fd, buf.data() + off, buf.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("write");
    off += static_cast<size_t>(w);
  }
  off = 0;
  while (off < buf.size()) {
    ssize_t r = ::read(fd, buf.data() + off, buf.size() - off);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw std::runtime_error("the server closed the connection");
    if (r < 0) fail("read");
    off += static_cast<size_t>(r);
  }
}

int connectTo(const sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("connect");
  }
  noDelay(fd);
  return fd;
}

int runClient(const std::string& host, uint16_t port, const std::string& mode, double seconds, size_t size,
              int warmupMs) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw std::runtime_error("bad --host " + host);
  std::vector<char> buf(size, 'x');
  const bool persistent = mode == "rr";
  int fd = persistent ? connectTo(addr) : -1;
  std::vector<std::chrono::nanoseconds> samples;
  samples.reserve(1 << 20);
  auto warmupEnd = Clock::now() + std::chrono::milliseconds(warmupMs);
  Clock::time_point start{}, end{};
  bool timed = false;
  for (;;) {
    auto t0 = Clock::now();
    if (!timed && t0 >= warmupEnd) {
      timed = true;
      start = t0;
      end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    }
    if (timed && t0 >= end) break;
    if (persistent) {
      transact(fd, buf);
    } else {
      int c = connectTo(addr);
      transact(c, buf);
      ::close(c);
    }
    if (timed) samples.push_back(Clock::now() - t0);
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (persistent) ::close(fd);
  auto s = cnikit::bench::summarize(samples);
  nlohmann::json out = {{"mode", mode},
                        {"transactions", s.count},
                        {"seconds", elapsed},
                        {"tps", static_cast<double>(s.count) / elapsed},
                        {"p50Us", s.p50Ms * 1000},
                        {"p99Us", s.p99Ms * 1000},
                        {"meanUs", s.meanMs * 1000},
                        {"maxUs", s.maxMs * 1000}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TCP request/response latency (one connection, or a new connection per request)"};
  app.require_subcommand(1);
  uint16_t port = 0;
  std::string host, mode = "rr";
  double seconds = 3;
  size_t size = 64;
  int warmupMs = 300;
  auto* server = app.add_subcommand("server", "echo server");
  server->add_option("--port", port)->required();
  auto* client = app.add_subcommand("client", "measure");
  client->add_option("--host", host)->required();
  client->add_option("--port", port)->required();
  client->add_option("--mode", mode, "rr: one connection; crr: a connection per request")
      ->check(CLI::IsMember({"rr", "crr"}));
  client->add_option("--seconds", seconds)->check(CLI::PositiveNumber);
  client->add_option("--size", size, "request and reply bytes")->check(CLI::Range(1, 65536));
  client->add_option("--warmup-ms", warmupMs)->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return server->parsed() ? runServer(port) : runClient(host, port, mode, seconds, size, warmupMs);
  } catch (const std::exception& e) {
    std::cerr << "tcp_rr: " << e.what() << "\n";
    return 1;
  }
}
