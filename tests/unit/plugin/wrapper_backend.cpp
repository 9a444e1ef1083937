// A backend built with the C++ wrapper (CNIKIT_BACKEND) for the wrapper tests. It records
// what it was given in the host store so that the tests can see the request as the backend
// saw it. With WRAPPER_FULL it also has the node and lifecycle capabilities and records every
// lifecycle call under "calls/".
#include <cnikit/backend.hpp>

#include <atomic>
#include <cstdio>

using cnikit::sdk::CreateArgs;
using cnikit::sdk::Error;
using cnikit::sdk::NodeInfo;
using cnikit::sdk::PodRequest;
using cnikit::sdk::PodResult;

namespace {

// Container ids that make a call fail in a given way.
void failOnRequest(const std::string& containerId) {
  if (containerId == "throw-runtime") throw std::runtime_error("runtime failure for " + containerId);
  if (containerId == "throw-sdk") throw Error(CNIKIT_ERR_EXISTS, "interface for " + containerId + " already exists");
  if (containerId == "throw-other") throw 42;
}

class WrapperBackend : public cnikit::sdk::LifecycleDefaults {
 public:
  CNIKIT_PODS;
#ifdef WRAPPER_FULL
  CNIKIT_NODES;
  CNIKIT_LIFECYCLE;
  CNIKIT_OPTIONS_SCHEMA(R"({"type":"object","properties":{"mode":{"enum":["a","b"]}}})");
#endif
  explicit WrapperBackend(const CreateArgs& args)
      : host_(args.host),
        instance_(args.instanceName),
        underlay_(args.underlayInterface + "|" + args.underlayIpv4 + "|" + args.underlayIpv6 + "|" +
                  std::to_string(args.underlayMtu)) {
    if (args.optionsJson.find("fail-create") != std::string::npos)
      throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "options ask to fail: " + args.optionsJson);
    if (args.optionsJson.find("crash-create") != std::string::npos) throw std::runtime_error("create exploded");
    podAdds_ = host_.registerMetric("cnikit_test_pod_adds_total", "Pods added by the wrapper test backend",
                                    CNIKIT_METRIC_COUNTER);
    host_.info("created instance " + args.instanceName + " on node " + args.nodeName + " state " + args.stateDir);
  }

  PodResult podAdd(const PodRequest& r) {
    failOnRequest(r.containerId);
    std::string record = r.netns + "|" + r.ifname + "|" + r.podNamespace + "/" + r.podName + "|" + r.mac + "|" +
                         std::to_string(r.mtu) + "|" + r.pool;
    for (const auto& ip : r.ips) {
      char bytes[8];
      std::snprintf(bytes, sizeof(bytes), "%02x%02x", ip.addressBytes[0], ip.addressBytes[1]);
      record += "|" + std::to_string(ip.family) + "," + ip.address + "," + ip.gateway + "," + ip.subnet + "," +
                ip.poolCidr + "," + bytes + "/" + std::to_string(ip.prefixLength);
    }
    record += "|" + r.podLabelsJson + "|" + r.runtimeConfigJson + "|" + r.cniArgsJson;
    host_.storePut("pods/" + r.containerId, record);
    host_.metricAdd(podAdds_, 1);
    if (r.containerId == "long-ifname") return PodResult{"a-name-longer-than-15", "", r.ifname, "", 1500, {}, {}};
    PodResult result{"veth" + r.containerId.substr(0, 8),
                     "aa:bb:cc:00:00:01",
                     r.ifname,
                     "aa:bb:cc:00:00:02",
                     r.mtu ? r.mtu : 1500,
                     {},
                     {}};
    if (r.containerId == "with-routes") {
      result.routes = {{"10.96.0.0/12", "10.244.1.1"}, {"192.0.2.0/24", ""}};
      result.interfaces = {{"net1", "aa:bb:cc:00:00:03", r.netns, 9000}};
    }
    return result;
  }
  void podDel(const PodRequest& r) {
    failOnRequest(r.containerId);
    host_.storeDelete("pods/" + r.containerId);
  }
  void podCheck(const PodRequest& r) {
    failOnRequest(r.containerId);
    if (!host_.storeGet("pods/" + r.containerId))
      throw Error(CNIKIT_ERR_NOT_FOUND, "no pod " + r.containerId + " in instance " + instance_);
  }
  std::string statusJson() {
    if (statusCalls_++ % 2 == 1) throw std::runtime_error("status \"odd\" call");
    std::string pods;
    for (const auto& [key, value] : host_.storeList("pods/")) pods += (pods.empty() ? "\"" : ",\"") + key + "\"";
    return "{\"instance\":\"" + instance_ + "\",\"underlay\":\"" + underlay_ + "\",\"pods\":[" + pods + "]}";
  }

#ifdef WRAPPER_FULL
  std::string localNodeData() { return "{\"vtep\":\"" + instance_ + "\"}"; }
  void nodeUpsert(const NodeInfo& node) {
    std::string subnets;
    for (const auto& s : node.subnets) subnets += s + ";";
    host_.storePut("nodes/" + node.name, node.underlayIpv4 + "|" + subnets + "|" + node.backendDataJson);
  }
  void nodeRemove(const std::string& name) { host_.storeDelete("nodes/" + name); }

  void start() { record("start", ""); }
  void shutdown(cnikit::sdk::ShutdownMode mode) {
    record("shutdown", mode == CNIKIT_SHUTDOWN_TEARDOWN ? "teardown" : "keep");
  }
  cnikit::sdk::Readiness ready() {
    if (!host_.storeGet("not-ready")) return cnikit::sdk::Readiness::yes();
    return cnikit::sdk::Readiness::notYet("waiting for the test");
  }
  bool configUpdate(const std::string& options) {
    record("config_update", options);
    return options.find("recreate") == std::string::npos;
  }
  void podsSync(const std::vector<PodRequest>& pods) {
    std::string ids;
    for (const auto& p : pods) ids += p.containerId + ";";
    record("pods_sync", ids);
  }
  void localNodeUpdate(const NodeInfo& self) {
    std::string subnets;
    for (const auto& s : self.subnets) subnets += s + ";";
    record("local_node_update", self.name + "|" + subnets + "|" + self.labelsJson);
  }
#endif

 private:
  void record(const std::string& call, const std::string& detail) {
    host_.storePut("calls/" + std::to_string(++calls_) + "-" + call, detail);
  }

 private:
  cnikit::sdk::Host host_;
  std::string instance_;
  std::string underlay_;
  int32_t podAdds_ = -1;
  std::atomic<int> statusCalls_{0};
  [[maybe_unused]] std::atomic<int> calls_{0};
};

}  // namespace

#ifdef WRAPPER_FULL
CNIKIT_BACKEND(WrapperBackend, "wrapper-full-test", "1.2.3")
#else
CNIKIT_BACKEND(WrapperBackend, "wrapper-test", "1.2.3")
#endif
