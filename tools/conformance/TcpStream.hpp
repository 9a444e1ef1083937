#pragma once
// A real TCP stream from one pod to another pod's lab probe server (which greets, then
// echoes): numbered lines "seq N" every `interval`, sent from one thread and read back on
// another, each echo timed. It tells whether a connection survives what happens meanwhile
// (an agent restart): resets, lost and late messages, and the longest silence.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::conformance {

struct StreamFigures {
  int sent = 0;
  int echoed = 0;
  int lost = 0;       // sent and never echoed
  int delayed = 0;    // echoed later than kDelayedAfter
  int resets = 0;     // the connection broke (reset, closed, send error)
  long maxGapMs = 0;  // longest time without an echo while sending
  std::string error;  // first error seen
  std::string describe() const;
};

class TcpStream {
 public:
  static constexpr std::chrono::milliseconds kDelayedAfter{100};

  // Connects from inside clientNetnsPath to serverIp:port and starts sending. Throws
  // std::runtime_error when it cannot connect or no greeting comes.
  TcpStream(const std::string& clientNetnsPath, const std::string& serverIp, uint16_t port,
            std::chrono::milliseconds interval = std::chrono::milliseconds(10));
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  int echoed() const { return echoed_; }
  // Stops sending, waits up to `drain` for the last echoes, closes, and returns the figures.
  StreamFigures finish(std::chrono::milliseconds drain = std::chrono::milliseconds(3000));

 private:
  using Clock = std::chrono::steady_clock;
  void sendLoop(std::chrono::milliseconds interval);
  void receiveLoop();
  void fail(const std::string& why);

  toolkit::UniqueFd fd_;
  std::atomic<bool> stopSending_{false};
  std::atomic<bool> stopReceiving_{false};
  std::atomic<int> echoed_{0};
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> sentAt_;  // by sequence number
  std::vector<bool> seen_;
  int delayed_ = 0;
  int resets_ = 0;
  long maxGapMs_ = 0;
  Clock::time_point lastEcho_;
  std::string error_;
  std::thread sender_, receiver_;
};

}  // namespace cnikit::conformance
