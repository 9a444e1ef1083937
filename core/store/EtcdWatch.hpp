#pragma once
// One etcd watch over the JSON gateway: a long-lived POST /v3/watch whose response is a
// stream of JSON messages, read on a thread of its own. A dropped connection is resumed
// from the revision after the last one delivered (with backoff, trying the endpoints in
// turn), so no event is lost or delivered twice; compacted history ends the watch with
// onCompacted.
#include <chrono>
#include <memory>
#include <string>

#include "core/store/EtcdClient.hpp"
#include "core/store/Store.hpp"

namespace cnikit::store::etcd {

struct WatchOptions {
  // Reconnect delay: starts at retryMin after a working connection drops, doubles per
  // failed attempt up to retryMax.
  std::chrono::milliseconds retryMin{50};
  std::chrono::milliseconds retryMax{2000};
  // TCP keepalive on the idle stream, so a peer that vanished without closing the
  // connection (a dead host, a partition) is noticed after about idle + 3 * interval.
  std::chrono::seconds keepAliveIdle{5};
  std::chrono::seconds keepAliveInterval{2};
};

class EtcdWatch final : public Watch {
 public:
  EtcdWatch(std::shared_ptr<EtcdClient> client, std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
            CompactedCallback onCompacted, WatchOptions options);
  // Stops at once (wakes a blocked connect, read or backoff) and waits for a callback in
  // flight.
  ~EtcdWatch() override;
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cnikit::store::etcd
