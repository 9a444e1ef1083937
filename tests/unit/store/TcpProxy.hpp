#pragma once
// A loopback TCP forwarder between a client under test and a server, which the test can
// cut: drop every open connection, and refuse (accept and close) new ones for a while. Lets
// a test break a watch stream at a moment it chooses, with the server still up.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cnikit::store::test {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t targetPort) : targetPort_(targetPort) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_ < 0 || ::bind(listen_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listen_, 64) != 0) {
      throw std::runtime_error("proxy: cannot listen on loopback");
    }
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("proxy: pipe failed");
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    poke();
    thread_.join();
    for (auto& p : pairs_) closePair(p);
    ::close(listen_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Closes every forwarded connection now (both sides see the connection end).
  void dropConnections() {
    dropRequested_ = true;
    poke();
    while (dropRequested_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // While refusing, new connections are accepted and closed at once.
  void setRefusing(bool refusing) { refusing_ = refusing; }
  int accepted() const { return accepted_.load(); }

 private:
  struct Pair {
    int client = -1;
    int server = -1;
  };

  void poke() {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }
  static void closePair(Pair& p) {
    if (p.client >= 0) ::close(p.client);
    if (p.server >= 0) ::close(p.server);
    p.client = p.server = -1;
  }
  int connectTarget() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(targetPort_);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
  }
  void run() {
    char buf[65536];
    while (!stop_) {
      if (dropRequested_) {
        for (auto& p : pairs_) closePair(p);
        pairs_.clear();
        dropRequested_ = false;
      }
      std::vector<pollfd> fds = {{listen_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      for (const auto& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
      if (fds[1].revents) {
        while (::read(wake_[0], buf, sizeof buf) > 0) {
        }
      }
      std::vector<Pair> kept;
      if (fds[0].revents & POLLIN) {
        int client = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          ++accepted_;
          int server = refusing_ ? -1 : connectTarget();
          if (server < 0) {
            ::close(client);
          } else {
            kept.push_back({client, server});  // polled from the next round on
          }
        }
      }
      for (size_t i = 0; i < pairs_.size(); ++i) {
        Pair p = pairs_[i];
        bool alive = true;
        for (int side = 0; side < 2 && alive; ++side) {
          const pollfd& f = fds[2 + 2 * i + side];
          if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          int from = side == 0 ? p.client : p.server;
          int to = side == 0 ? p.server : p.client;
          ssize_t n = ::recv(from, buf, sizeof buf, 0);
          if (n <= 0 || ::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) alive = false;
        }
        if (alive) {
          kept.push_back(p);
        } else {
          closePair(p);
        }
      }
      pairs_ = std::move(kept);
    }
  }

  uint16_t targetPort_;
  uint16_t port_ = 0;
  int listen_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> dropRequested_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<int> accepted_{0};
  std::vector<Pair> pairs_;  // the proxy thread's alone
  std::thread thread_;
};

}  // namespace cnikit::store::test
