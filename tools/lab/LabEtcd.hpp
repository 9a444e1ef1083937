#pragma once
// The lab's etcd: one member in the fabric namespace on <fabric address>:2379 (peers :2380),
// its data in <labDir>/etcd, fast elections (ready in ~0.1 s). The lab's own store calls
// run on a thread inside the fabric namespace; the root namespace is never touched.
#include <chrono>

#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabState.hpp"
#include "tools/lab/Netns.hpp"
#include "core/store/EtcdStore.hpp"

namespace cnikit::lab {

inline constexpr int kEtcdClientPort = 2379;
inline constexpr int kEtcdPeerPort = 2380;

// Starts etcd (recording it in state before waiting) and waits until it answers. Throws
// std::runtime_error with the tail of its log when it does not come up.
void startEtcd(LabState& state, std::chrono::milliseconds timeout = std::chrono::seconds(20));
// SIGTERM and wait. false when it was not running.
bool stopEtcd(LabState& state);
void waitEtcdReady(const LabState& state, std::chrono::milliseconds timeout);

// Runs f(store) with a store made, used and destroyed on a thread inside the fabric
// namespace (its connections must be made there).
template <class F>
auto withLabStore(const LabState& state, F&& f) {
  return inNetns(netnsPath(state.fabricNetns), [&] {
    store::EtcdStore store({state.etcd.endpoint});
    return f(static_cast<store::Store&>(store));
  });
}

}  // namespace cnikit::lab
