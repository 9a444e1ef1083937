#include "tools/lab/LabEtcd.hpp"

#include <stdexcept>
#include <thread>

namespace cnikit::lab {

void startEtcd(LabState& state, std::chrono::milliseconds timeout) {
  if (isRunning(state.etcd.process)) return;
  const std::string address = state.fabricIpv4;
  const std::string client = "http://" + address + ":" + std::to_string(kEtcdClientPort);
  const std::string peer = "http://" + address + ":" + std::to_string(kEtcdPeerPort);
  state.etcd.endpoint = client;
  state.etcd.dataDir = (labDir(state.name) / "etcd").string();
  state.etcd.logFile = (labDir(state.name) / "etcd.log").string();
  state.etcd.argv = {"etcd", "--name=lab", "--data-dir=" + state.etcd.dataDir, "--listen-client-urls=" + client,
                     "--advertise-client-urls=" + client, "--listen-peer-urls=" + peer,
                     "--initial-advertise-peer-urls=" + peer, "--initial-cluster=lab=" + peer,
                     "--initial-cluster-token=cnikit-lab-" + state.name,
                     // One member: elections in ~0.1 s instead of ~1 s.
                     "--heartbeat-interval=10", "--election-timeout=100",
                     // The convergence benchmark writes 1000 node records in one transaction.
                     "--max-txn-ops=4096", "--logger=zap", "--log-outputs=stderr"};
  state.etcd.process = spawnDaemon({state.etcd.argv, netnsPath(state.fabricNetns), state.etcd.logFile, -1});
  state.save();
  waitEtcdReady(state, timeout);
}

bool stopEtcd(LabState& state) {
  bool was = terminate(state.etcd.process, std::chrono::seconds(10));
  state.etcd.process = {};
  state.save();
  return was;
}

void waitEtcdReady(const LabState& state, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  bool ready = withLabStore(state, [&](store::Store& store) {
    while (std::chrono::steady_clock::now() < deadline) {
      if (!isRunning(state.etcd.process)) {
        last = "etcd exited";
        return false;
      }
      try {
        store.revision();
        return true;
      } catch (const std::exception& e) {
        last = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  });
  if (!ready)
    throw std::runtime_error("etcd at " + state.etcd.endpoint + " did not come up (" + last + "); its log " +
                             state.etcd.logFile + " ends:\n" + fileTail(state.etcd.logFile));
}

}  // namespace cnikit::lab
