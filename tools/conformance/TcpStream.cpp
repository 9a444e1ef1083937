#include "tools/conformance/TcpStream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::conformance {

std::string StreamFigures::describe() const {
  std::string out = "sent " + std::to_string(sent) + ", echoed " + std::to_string(echoed) + ", lost " +
                    std::to_string(lost) + ", delayed >" + std::to_string(TcpStream::kDelayedAfter.count()) + " ms " +
                    std::to_string(delayed) + ", resets " + std::to_string(resets) + ", longest gap " +
                    std::to_string(maxGapMs) + " ms";
  if (!error.empty()) out += " (" + error + ")";
  return out;
}

TcpStream::TcpStream(const std::string& clientNetnsPath, const std::string& serverIp, uint16_t port,
                     std::chrono::milliseconds interval) {
  // The socket belongs to the namespace it was made in; any thread may use it afterwards.
  int fd = lab::inNetns(clientNetnsPath, [&] {
    sockaddr_storage sa{};
    socklen_t len;
    int family = serverIp.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&sa);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      ::inet_pton(AF_INET, serverIp.c_str(), &in->sin_addr);
      len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      ::inet_pton(AF_INET6, serverIp.c_str(), &in6->sin6_addr);
      len = sizeof(sockaddr_in6);
    }
    int s = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    timeval timeout{3, 0};
    ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(s, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
      int err = errno;
      ::close(s);
      throw std::runtime_error("connect to " + serverIp + ":" + std::to_string(port) + ": " + std::strerror(err));
    }
    return s;
  });
  fd_.reset(fd);
  // The probe server greets first ("cnikit-lab ns/pod from peer\n").
  pollfd pfd{fd_.get(), POLLIN, 0};
  char c = 0;
  while (c != '\n') {
    if (::poll(&pfd, 1, 3000) != 1 || ::recv(fd_.get(), &c, 1, 0) != 1)
      throw std::runtime_error("no greeting from the probe server at " + serverIp);
  }
  lastEcho_ = Clock::now();
  receiver_ = std::thread([this] { receiveLoop(); });
  sender_ = std::thread([this, interval] { sendLoop(interval); });
}

TcpStream::~TcpStream() {
  stopSending_ = stopReceiving_ = true;
  if (fd_.get() >= 0) ::shutdown(fd_.get(), SHUT_RDWR);
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
}

void TcpStream::fail(const std::string& why) {
  std::lock_guard lock(mutex_);
  ++resets_;
  if (error_.empty()) error_ = why;
}

void TcpStream::sendLoop(std::chrono::milliseconds interval) {
  auto next = Clock::now();
  for (int seq = 0; !stopSending_; ++seq) {
    std::string line = "seq " + std::to_string(seq) + "\n";
    {
      std::lock_guard lock(mutex_);
      sentAt_.push_back(Clock::now());
      seen_.push_back(false);
    }
    if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      if (!stopSending_) fail(std::string("send: ") + std::strerror(errno));
      std::lock_guard lock(mutex_);
      sentAt_.pop_back();
      seen_.pop_back();
      return;
    }
    next += interval;
    std::this_thread::sleep_until(next);
  }
}

void TcpStream::receiveLoop() {
  std::string pending;
  char buf[4096];
  while (!stopReceiving_) {
    pollfd pfd{fd_.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 100);
    auto now = Clock::now();
    if (ready == 0) continue;
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (!stopReceiving_)
        fail(n == 0 ? "the server closed the connection" : std::string("recv: ") + std::strerror(errno));
      return;
    }
    pending.append(buf, static_cast<size_t>(n));
    for (auto eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n')) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (line.rfind("seq ", 0) != 0) continue;
      size_t seq = std::stoul(line.substr(4));
      std::lock_guard lock(mutex_);
      if (seq >= seen_.size() || seen_[seq]) continue;
      seen_[seq] = true;
      if (now - sentAt_[seq] > kDelayedAfter) ++delayed_;
      long gap = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastEcho_).count();
      if (!stopSending_) maxGapMs_ = std::max(maxGapMs_, gap);
      lastEcho_ = now;
      ++echoed_;
    }
  }
}

StreamFigures TcpStream::finish(std::chrono::milliseconds drain) {
  stopSending_ = true;
  if (sender_.joinable()) sender_.join();
  auto deadline = Clock::now() + drain;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (echoed_ >= static_cast<int>(sentAt_.size()) || resets_ > 0) break;
    }
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopReceiving_ = true;
  if (receiver_.joinable()) receiver_.join();
  std::lock_guard lock(mutex_);
  StreamFigures f;
  f.sent = static_cast<int>(sentAt_.size());
  f.echoed = echoed_;
  f.lost = f.sent - f.echoed;
  f.delayed = delayed_;
  f.resets = resets_;
  f.maxGapMs = maxGapMs_;
  f.error = error_;
  return f;
}

}  // namespace cnikit::conformance
