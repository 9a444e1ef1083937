#pragma once
// Deleting a network device costs the kernel an RCU barrier (15-20 ms here) per delete
// request, whoever asks and however many devices it names. A LinkReaper therefore retires
// links instead of deleting them: one quick message takes the link down, off its bridge and
// into a reserved device group, and a background thread deletes the whole group with a
// single request. N deletions cost one barrier, and the caller does not wait for it.
//
// A retired veth keeps its name (and its peer keeps its name inside the pod) until the
// batch runs, a few milliseconds later: a caller that finds a name still taken calls
// flush() and looks again.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

// The device group retired links wait in (ASCII "cnkt"): no other user of the group
// attribute should pick it.
inline constexpr uint32_t kRetiredLinkGroup = 0x636e6b74;

class LinkReaper {
 public:
  // Reaps links in `ns`. Links a previous process retired there are deleted at once.
  static Result<std::unique_ptr<LinkReaper>> create(Netns ns,
                                                    std::chrono::milliseconds batchWindow = std::chrono::milliseconds(5),
                                                    uint32_t group = kRetiredLinkGroup);
  // Deletes whatever is still retired, then stops the thread.
  ~LinkReaper();
  LinkReaper(const LinkReaper&) = delete;
  LinkReaper& operator=(const LinkReaper&) = delete;

  // Takes the link out of service now (down, off its master, into the group) and queues its
  // deletion; false when no such link exists. Thread-safe.
  Result<bool> retire(const std::string& name);
  // Deletes every retired link now, in the caller's thread; returns once they are gone.
  Status flush();
  // True when the link exists and is waiting for deletion.
  Result<bool> isRetired(const std::string& name);

 private:
  LinkReaper(NetlinkSocket reaperSocket, Netns ns, std::chrono::milliseconds batchWindow, uint32_t group);
  void run();

  NetlinkSocket reaperSocket_;  // used by flush only, under flushMutex_
  Netns ns_;                    // where retire() opens its sockets
  std::chrono::milliseconds batchWindow_;
  uint32_t group_;
  std::mutex flushMutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cnikit::toolkit
