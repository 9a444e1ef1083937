// Sets up the cnikit flannel-like datapath between node namespaces for the datapath
// benchmark: per node it loads the backend with the real host code (BackendLibrary,
// BackendInstance: the C ABI the agent uses), on a thread inside the node's namespace, adds
// one pod, then tells every node about every other one (node_upsert), the way the agent
// does. It exits when done: destroying a backend keeps its datapath (an agent restart must
// not cut pods off), so the pods stay connected for the measurement.
//
//   flannel_datapath_setup --backend LIB --mode vxlan|host-gw --state-dir DIR
//     --node NAME,NODE_NETNS,UNDERLAY_IF,UNDERLAY_IPV4,POD_SUBNET,POD_NETNS [--node ...]
//
// The pod gets the subnet's second address (gateway: the first). Prints one JSON object:
// per node the pod MTU, its address, the published node data and the time each step took.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cnikit/toolkit/IpPrefix.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/plugin/BackendInstance.hpp"
#include "core/plugin/HostServices.hpp"

namespace cp = cnikit::plugin;
using nlohmann::json;

namespace {

struct NodeSpec {
  std::string name, netns, underlayIf, underlayIpv4, subnet, podNetns;
};

NodeSpec parseNode(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string p; std::getline(in, p, ',');) parts.push_back(p);
  if (parts.size() != 6)
    throw std::runtime_error("--node '" + text +
                             "': expected NAME,NODE_NETNS,UNDERLAY_IF,UNDERLAY_IPV4,POD_SUBNET,POD_NETNS");
  return {parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]};
}

// "10.244.1.0/24" -> ("10.244.1.2/24", "10.244.1.1").
std::pair<std::string, std::string> podAddress(const std::string& subnet) {
  auto prefix = cnikit::toolkit::IpPrefix::parse(subnet);
  if (!prefix) throw std::runtime_error("subnet: " + prefix.error().message);
  if (!prefix.value().isV4()) throw std::runtime_error("subnet '" + subnet + "' is not IPv4");
  auto net = prefix.value().network();
  return {cnikit::toolkit::IpPrefix(net.offset(2), prefix.value().prefixLength()).str(), net.offset(1).str()};
}

// A thread that entered a network namespace and runs work there (namespaces are per thread).
class NetnsWorker {
 public:
  explicit NetnsWorker(const std::string& path) {
    std::promise<void> ready;
    auto entered = ready.get_future();
    thread_ = std::thread([this, path, p = std::move(ready)]() mutable {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        p.set_exception(std::make_exception_ptr(
            std::runtime_error("cannot enter network namespace '" + path + "': " + std::strerror(errno))));
        if (fd >= 0) ::close(fd);
        return;
      }
      ::close(fd);
      p.set_value();
      for (;;) {
        std::function<void()> work;
        {
          std::unique_lock lock(mutex_);
          wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
          if (queue_.empty()) return;
          work = std::move(queue_.front());
          queue_.erase(queue_.begin());
        }
        work();
      }
    });
    try {
      entered.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  ~NetnsWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  template <class F>
  auto call(F&& f) {
    std::packaged_task<std::invoke_result_t<F>()> task(std::forward<F>(f));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back([&task] { task(); });
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cnikit flannel-like datapath setup for bench/datapath"};
  std::string backendPath = FLANNEL_BACKEND_PATH;
  std::string mode;
  std::string stateDir;
  std::vector<std::string> nodeArgs;
  app.add_option("--backend", backendPath, "backend library")->capture_default_str();
  app.add_option("--mode", mode, "vxlan or host-gw")->required()->check(CLI::IsMember({"vxlan", "host-gw"}));
  app.add_option("--state-dir", stateDir, "state directory for the backends (one subdirectory per node)")->required();
  app.add_option("--node", nodeArgs, "NAME,NODE_NETNS,UNDERLAY_IF,UNDERLAY_IPV4,POD_SUBNET,POD_NETNS")
      ->required()
      ->expected(2, 16);
  CLI11_PARSE(app, argc, argv);

  try {
    std::vector<NodeSpec> specs;
    for (const auto& a : nodeArgs) specs.push_back(parseNode(a));
    auto library = cp::BackendLibrary::load(backendPath);
    const std::string options = json{{"mode", mode}}.dump();

    struct Node {
      NodeSpec spec;
      std::unique_ptr<NetnsWorker> worker;
      std::unique_ptr<cp::BackendInstance> backend;
      json report;
    };
    std::vector<Node> nodes;
    for (auto& s : specs) nodes.push_back(Node{s, std::make_unique<NetnsWorker>(s.netns), nullptr, json::object()});

    for (auto& n : nodes) {
      auto t0 = std::chrono::steady_clock::now();
      n.backend = n.worker->call([&] {
        auto b = std::make_unique<cp::BackendInstance>(
            library, cp::createSpec("bench", n.spec.name, options, stateDir + "/" + n.spec.name, cp::Underlay{n.spec.underlayIf, n.spec.underlayIpv4, "", 0}));
        cp::NodeInfo self;
        self.name = n.spec.name;
        self.subnets = {n.spec.subnet};
        b->localNodeUpdate(self);
        b->start();
        return b;
      });
      n.report["create_ms"] = msSince(t0);
      auto [address, gateway] = podAddress(n.spec.subnet);
      cp::PodRequest r;
      r.containerId = "bench-" + n.spec.name;
      r.netns = n.spec.podNetns;
      r.ifname = "eth0";
      r.ips.push_back({AF_INET, address, gateway, n.spec.subnet, ""});
      r.pool = "bench";
      t0 = std::chrono::steady_clock::now();
      auto result = n.worker->call([&] { return n.backend->podAdd(r); });
      n.report["pod_add_ms"] = msSince(t0);
      n.report["pod"] = address;
      n.report["mtu"] = result.mtu;
      n.report["host_if"] = result.hostIfname;
      n.report["node_data"] = json::parse(n.worker->call([&] { return n.backend->localNodeData(); }));
    }
    for (auto& n : nodes) {
      auto t0 = std::chrono::steady_clock::now();
      for (auto& peer : nodes) {
        if (&peer == &n) continue;
        cp::NodeInfo info;
        info.name = peer.spec.name;
        info.underlayIpv4 = peer.spec.underlayIpv4;
        info.subnets = {peer.spec.subnet};
        info.backendDataJson = peer.report["node_data"].dump();
        n.worker->call([&] { n.backend->nodeUpsert(info); });
      }
      n.report["node_upsert_ms"] = msSince(t0);
      auto status = json::parse(n.worker->call([&] { return n.backend->statusJson(); }));
      if (!status.value("unreachableNodes", json::array()).empty())
        throw std::runtime_error("node " + n.spec.name + " refused peers: " + status["unreachableNodes"].dump());
    }
    json out = json::object();
    for (auto& n : nodes) {
      out[n.spec.name] = n.report;
      n.worker->call([&] { n.backend.reset(); });  // the datapath stays
    }
    std::cout << out.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "flannel_datapath_setup: " << e.what() << std::endl;
    return 1;
  }
}
