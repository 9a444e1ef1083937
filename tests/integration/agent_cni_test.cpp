// The real `cnikit` executable against a real `cnikitd` in a test-made host namespace:
// ADD/CHECK/DEL, pings between pods, every spec version, every bad input (with its code,
// and nothing left behind), exhaustion, GC, parallel ADDs, agent restart.
#include <gtest/gtest.h>
#include <algorithm>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "core/ipam/IpamKeys.hpp"
#include "core/rpc/AgentClient.hpp"
#include "core/store/Keys.hpp"
#include "core/store/SqliteStore.hpp"
#include "core/store/StoreFactory.hpp"
#include "tests/integration/AgentProcess.hpp"
#include "tests/integration/CniInvoker.hpp"
#include "tests/support/Command.hpp"
#include "tests/support/LinkNames.hpp"
#include "tests/support/Ping.hpp"
#include "tests/support/TestNetns.hpp"
#include "tests/support/UniqueName.hpp"

namespace cnikit::testing {
namespace {

using nlohmann::json;

std::string agentConfig(const std::filesystem::path& dir, const std::string& backendDir, const std::string& pool,
                        int gcInterval = 0) {
  return "node: it-node\n"
         "socket: " +
         (dir / "cnikitd.sock").string() +
         "\n"
         "stateDir: " +
         (dir / "state").string() +
         "\n"
         "backendDir: " +
         backendDir +
         "\n"
         "gcIntervalSeconds: " +
         std::to_string(gcInterval) +
         "\n"
         "backends:\n"
         "  - name: default\n"
         "    type: flannel-like\n"
         "    options: {bridge: cnkt0, masquerade: false}\n"
         "pools:\n" +
         pool;
}

const char* kDualStackPool =
    "  - name: default\n"
    "    backend: default\n"
    "    cidrs: [10.77.0.0/16, \"fd00:77::/56\"]\n"
    "    exclude: [10.77.0.9]\n";

class AgentCni : public ::testing::Test {
 protected:
  void SetUp() override { start(kDualStackPool); }

  void start(const std::string& pool, int gcInterval = 0) {
    dir_ = std::filesystem::temp_directory_path() / uniqueName("agent");
    host_ = std::make_unique<TestNetns>("host");
    socket_ = (dir_ / "cnikitd.sock").string();
    agent_ = std::make_unique<AgentProcess>(CNIKITD_PATH, host_->path(), dir_,
                                            agentConfig(dir_, BACKEND_DIR, pool, gcInterval), socket_);
  }

  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "agent log:\n" << agent_->log() << "\n";
    agent_.reset();
    pods_.clear();
    host_.reset();
    std::filesystem::remove_all(dir_);
  }

  TestNetns& pod(const std::string& name) {
    auto& slot = pods_[name];
    if (!slot) slot = std::make_unique<TestNetns>(name);
    return *slot;
  }

  std::string netconf(const std::string& version = "1.0.0", const std::string& extra = "") const {
    return R"({"cniVersion":")" + version + R"(","name":"it","type":"cnikit","agentSocket":")" + socket_ + "\"" +
           extra + "}";
  }

  CniOutcome cni(const std::string& command, const std::string& containerId, const std::string& netns,
                 const std::string& config, const std::string& args = "") {
    std::map<std::string, std::string> env = {{"CNI_COMMAND", command},
                                              {"CNI_CONTAINERID", containerId},
                                              {"CNI_NETNS", netns},
                                              {"CNI_IFNAME", "eth0"},
                                              {"CNI_PATH", "/usr/lib/cni"}};
    if (!args.empty()) env["CNI_ARGS"] = args;
    return invokeCni(CNIKIT_PATH, env, config);
  }

  CniOutcome add(const std::string& name, const std::string& version = "1.0.0") {
    return cni("ADD", "c-" + name, pod(name).path(), netconf(version), "K8S_POD_NAMESPACE=it;K8S_POD_NAME=" + name);
  }

  json allocations() {
    auto r = run({CNIKITCTL_PATH, "--socket", socket_, "ipam", "list", "-o", "json"});
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    return json::parse(r.out);
  }

  std::vector<std::string> links(const std::string& netnsPath) {
    auto r = runInNetns(netnsPath, {"ip", "-o", "link", "show"});
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    std::vector<std::string> names;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      auto a = line.find(": "), b = line.find(':', a + 2);
      std::string name = line.substr(a + 2, b - a - 2);
      names.push_back(name.substr(0, name.find('@')));
    }
    return names;
  }

  // Everything but the bridge and lo: the veths of live pods, once the veths that DEL retired
  // are deleted (in batches, after DEL returns).
  size_t hostVeths() {
    EXPECT_TRUE(waitUntilRetiredLinksGone(host_->path())) << "retired veths not deleted";
    size_t n = 0;
    for (const auto& name : links(host_->path())) n += name.rfind("veth", 0) == 0;
    return n;
  }

  std::filesystem::path dir_;
  std::string socket_;
  std::unique_ptr<TestNetns> host_;
  std::unique_ptr<AgentProcess> agent_;
  std::map<std::string, std::unique_ptr<TestNetns>> pods_;
};

std::string addressOf(const json& result, bool v4) {
  for (const auto& ip : result["ips"]) {
    std::string a = ip["address"];
    if ((a.find(':') == std::string::npos) == v4) return a.substr(0, a.find('/'));
  }
  return "";
}

TEST_F(AgentCni, AddCheckPingDelTwice) {
  auto a = add("a");
  ASSERT_EQ(a.exitCode, 0) << a.describe();
  auto b = add("b");
  ASSERT_EQ(b.exitCode, 0) << b.describe();
  json ra = a.json(), rb = b.json();

  EXPECT_EQ(ra["cniVersion"], "1.0.0");
  ASSERT_EQ(ra["interfaces"].size(), 2u);
  EXPECT_EQ(ra["interfaces"][1]["name"], "eth0");
  EXPECT_EQ(ra["interfaces"][1]["sandbox"], pod("a").path());
  for (const auto& i : ra["interfaces"]) EXPECT_EQ(i["mac"].get<std::string>().size(), 17u) << ra.dump();
  ASSERT_EQ(ra["ips"].size(), 2u) << ra.dump();
  EXPECT_EQ(ra["ips"][0]["interface"], 1);
  EXPECT_EQ(ra["ips"][0]["gateway"].get<std::string>().rfind("10.77.", 0), 0u);
  EXPECT_EQ(ra["routes"].size(), 2u);

  EXPECT_TRUE(ping(pod("a").path(), addressOf(rb, true)));
  EXPECT_TRUE(ping(pod("a").path(), addressOf(rb, false), std::chrono::seconds(4)));
  EXPECT_TRUE(ping(pod("b").path(), addressOf(ra, true)));
  EXPECT_EQ(allocations().size(), 4u);

  auto check = cni("CHECK", "c-a", pod("a").path(), netconf("1.0.0", ",\"prevResult\":" + ra.dump()));
  EXPECT_EQ(check.exitCode, 0) << check.describe();

  auto del = cni("DEL", "c-a", pod("a").path(), netconf());
  EXPECT_EQ(del.exitCode, 0) << del.describe();
  EXPECT_EQ(del.out, "");
  auto again = cni("DEL", "c-a", pod("a").path(), netconf());
  EXPECT_EQ(again.exitCode, 0) << again.describe();
  // containerd sends DEL with an empty CNI_NETNS.
  auto emptyNetns = cni("DEL", "c-b", "", netconf());
  EXPECT_EQ(emptyNetns.exitCode, 0) << emptyNetns.describe();
  auto unknown = cni("DEL", "never-seen", "", netconf());
  EXPECT_EQ(unknown.exitCode, 0) << unknown.describe();

  EXPECT_EQ(allocations().size(), 0u);
  EXPECT_EQ(hostVeths(), 0u);
  for (const auto& name : links(pod("a").path())) EXPECT_EQ(name, "lo");
}

TEST_F(AgentCni, CheckFailsWhenThePodInterfaceIsGone) {
  auto a = add("a");
  ASSERT_EQ(a.exitCode, 0) << a.describe();
  ASSERT_EQ(runInNetns(pod("a").path(), {"ip", "link", "del", "eth0"}).exitCode, 0);
  auto check = cni("CHECK", "c-a", pod("a").path(), netconf("1.0.0", ",\"prevResult\":" + a.json().dump()));
  EXPECT_NE(check.exitCode, 0);
  EXPECT_EQ(check.json()["code"], 100) << check.describe();
  EXPECT_NE(check.json()["msg"].get<std::string>().find("eth0"), std::string::npos) << check.describe();
  auto unknown = cni("CHECK", "c-zz", pod("a").path(), netconf());
  EXPECT_EQ(unknown.json()["code"], 3) << unknown.describe();
}

TEST_F(AgentCni, EverySpecVersion) {
  for (std::string version : {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    SCOPED_TRACE(version);
    std::string name = "v" + version;
    name.erase(std::remove(name.begin(), name.end(), '.'), name.end());
    auto r = add(name, version);
    ASSERT_EQ(r.exitCode, 0) << r.describe();
    json j = r.json();
    EXPECT_EQ(j["cniVersion"], version);
    if (version == "0.1.0" || version == "0.2.0") {
      EXPECT_TRUE(j.contains("ip4")) << j.dump();
      EXPECT_TRUE(j.contains("ip6")) << j.dump();
      EXPECT_FALSE(j.contains("interfaces")) << j.dump();
    } else {
      ASSERT_TRUE(j.contains("ips")) << j.dump();
      bool hasVersionField = j["ips"][0].contains("version");
      EXPECT_EQ(hasVersionField, version.rfind("0.", 0) == 0) << j.dump();
      EXPECT_TRUE(j["interfaces"][1].contains("mac"));
    }
    EXPECT_TRUE(ping(pod(name).path(), j.contains("ip4") ? j["ip4"]["gateway"].get<std::string>()
                                                         : j["ips"][0]["gateway"].get<std::string>()));
    auto del = cni("DEL", "c-" + name, pod(name).path(), netconf(version));
    EXPECT_EQ(del.exitCode, 0) << del.describe();
  }
  EXPECT_EQ(allocations().size(), 0u);
  EXPECT_EQ(hostVeths(), 0u);
}

struct BadInput {
  std::string name;
  int code;
  std::string mustMention;
};

TEST_F(AgentCni, BadInputGetsItsCodeAndLeavesNothing) {
  TestNetns& p = pod("bad");
  auto expectClean = [&](const std::string& what) {
    EXPECT_EQ(allocations().size(), 0u) << what;
    EXPECT_EQ(hostVeths(), 0u) << what;
    for (const auto& name : links(p.path())) EXPECT_EQ(name, "lo") << what;
  };
  auto expectError = [&](const CniOutcome& r, int code, const std::string& mention, const std::string& what) {
    EXPECT_NE(r.exitCode, 0) << what << ": " << r.describe();
    json j = r.json();
    ASSERT_TRUE(j.is_object()) << what << ": " << r.describe();
    EXPECT_EQ(j["code"], code) << what << ": " << r.describe();
    EXPECT_NE(j.value("msg", "").find(mention), std::string::npos) << what << ": " << r.describe();
    expectClean(what);
  };

  expectError(cni("ADD", "c1", p.path(), "{\"cniVersion\": \"1.0.0\", broken"), 6, "", "broken JSON");
  {
    std::map<std::string, std::string> env = {{"CNI_COMMAND", "ADD"}, {"CNI_NETNS", p.path()}, {"CNI_IFNAME", "eth0"}};
    expectError(invokeCni(CNIKIT_PATH, env, netconf()), 4, "CNI_CONTAINERID", "missing CNI_CONTAINERID");
  }
  expectError(cni("ADD", "c1", "/run/netns/does-not-exist-cnkt", netconf()), 4, "does-not-exist", "missing netns");
  expectError(cni("ADD", "c1", p.path(), netconf("9.9.9")), 1, "9.9.9", "wrong version");
  expectError(cni("ADD", "c1", p.path(), netconf("1.0.0", ",\"mtu\":\"abc\"")), 7, "mtu", "mtu type");
  expectError(cni("ADD", "c1", p.path(), R"({"cniVersion":"1.0.0","name":"it","agentSocket":")" + socket_ + "\"}"), 7,
              "\"type\"", "no type");
  expectError(cni("ADD", "c1", p.path(), netconf("1.0.0", ",\"runtimeConfig\":{\"ips\":[\"10.77.300.1/24\"]}")), 7,
              "10.77.300.1", "bad runtimeConfig ip");
  expectError(cni("ADD", "c1", p.path(), netconf("1.0.0", ",\"runtimeConfig\":{\"ips\":[\"192.168.250.7/24\"]}")), 102,
              "192.168.250.7", "requested IP outside the node subnet");
  expectError(cni("ADD", "c1", p.path(), netconf(), "FOO=bar"), 4, "FOO", "unknown CNI_ARGS key");
  expectError(cni("ADD", "c1", p.path(), netconf(), "IP=not-an-ip"), 4, "not-an-ip", "bad CNI_ARGS IP");
  expectError(cni("ADD", "c1", p.path(), netconf("0.3.1", ",\"prevResult\":{\"ips\":\"nope\"}")), 6, "ips",
              "bad prevResult");
  expectError(cni("ADD", "c1", p.path(), netconf("1.0.0", ",\"pool\":\"nope\"")), 7, "nope", "unknown pool");
  expectError(cni("CHECK", "c1", p.path(), netconf("0.3.1")), 1, "CHECK", "CHECK on 0.3.1");
  // The interface name already exists in the pod: the backend refuses, the address goes back.
  ASSERT_EQ(runInNetns(p.path(), {"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"}).exitCode, 0);
  auto exists = cni("ADD", "c1", p.path(), netconf());
  EXPECT_EQ(exists.json()["code"], 100) << exists.describe();
  EXPECT_NE(exists.json()["msg"].get<std::string>().find("eth0"), std::string::npos) << exists.describe();
  EXPECT_EQ(allocations().size(), 0u);
  EXPECT_EQ(hostVeths(), 0u);
}

TEST_F(AgentCni, RequestedAddressAndMac) {
  auto r = cni("ADD", "c-req", pod("req").path(), netconf(), "IgnoreUnknown=1;FOO=bar;MAC=02:aa:bb:cc:dd:ee");
  ASSERT_EQ(r.exitCode, 0) << r.describe();
  std::string gw = r.json()["ips"][0]["gateway"];
  std::string wanted = gw.substr(0, gw.rfind('.')) + ".50";
  EXPECT_EQ(r.json()["interfaces"][1]["mac"], "02:aa:bb:cc:dd:ee");
  ASSERT_EQ(cni("DEL", "c-req", pod("req").path(), netconf()).exitCode, 0);

  auto fromArgs = cni("ADD", "c-req", pod("req").path(), netconf(), "IP=" + wanted);
  ASSERT_EQ(fromArgs.exitCode, 0) << fromArgs.describe();
  EXPECT_EQ(addressOf(fromArgs.json(), true), wanted);
  // Another container asking for the same address is refused, naming the holder.
  auto taken = cni("ADD", "c-other", pod("other").path(), netconf(), "IP=" + wanted);
  EXPECT_EQ(taken.json()["code"], 102) << taken.describe();
  EXPECT_NE(taken.json()["msg"].get<std::string>().find("c-req"), std::string::npos) << taken.describe();
  ASSERT_EQ(cni("DEL", "c-req", pod("req").path(), netconf()).exitCode, 0);

  // runtimeConfig wins over CNI_ARGS.
  std::string other = gw.substr(0, gw.rfind('.')) + ".51";
  auto both = cni("ADD", "c-req", pod("req").path(),
                  netconf("1.0.0", ",\"runtimeConfig\":{\"ips\":[\"" + other + "/24\"]}"), "IP=" + wanted);
  ASSERT_EQ(both.exitCode, 0) << both.describe();
  EXPECT_EQ(addressOf(both.json(), true), other);
  // The excluded address is never handed out, even when asked for.
  auto excluded = cni("ADD", "c-ex", pod("ex").path(), netconf(), "IP=10.77.0.9");
  EXPECT_NE(excluded.exitCode, 0) << excluded.describe();
}

TEST_F(AgentCni, GcReleasesWhatTheRuntimeNoLongerHolds) {
  ASSERT_EQ(add("a").exitCode, 0);
  ASSERT_EQ(add("b").exitCode, 0);
  auto gc = cni("GC", "", "",
                netconf("1.1.0", ",\"cni.dev/valid-attachments\":[{\"containerID\":\"c-a\",\"ifname\":\"eth0\"}]"));
  EXPECT_EQ(gc.exitCode, 0) << gc.describe();
  auto left = allocations();
  ASSERT_EQ(left.size(), 2u);  // dual-stack: both of c-a's addresses
  for (const auto& a : left) EXPECT_EQ(a["containerId"], "c-a");
  EXPECT_EQ(hostVeths(), 1u);
  auto status = cni("STATUS", "", "", netconf("1.1.0"));
  EXPECT_EQ(status.exitCode, 0) << status.describe();
}

TEST_F(AgentCni, StatusNeverWritesToTheStore) {
  rpc::AgentClient agent(socket_);
  json s = json::object();
  for (int i = 0; i < 100 && !s.value("cluster", json::object()).value("registered", false); ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = agent.call(rpc::kStatusMethod);
  }
  ASSERT_TRUE(s["cluster"].value("registered", false)) << s.dump();
  ASSERT_EQ(s["pools"][0]["nodeSubnets"].size(), 2u) << s.dump();
  EXPECT_EQ(agent.call(rpc::kStatusMethod)["store"]["revision"], s["store"]["revision"]);

  // The node's subnet claims vanish (as when its lease expired while the store was away):
  // status shows no subnet and claims none.
  store::SqliteStore store((dir_ / "state" / "store.db").string());
  for (const auto& kv : store.list(ipam::keys::subnetPrefix("default"))) store.remove(kv.key);
  auto revision = store.revision();
  s = agent.call(rpc::kStatusMethod);
  EXPECT_TRUE(s["pools"][0]["nodeSubnets"].empty()) << s.dump();
  EXPECT_EQ(s["store"]["revision"], revision);
  EXPECT_EQ(store.revision(), revision) << "a status call wrote to the store";
  EXPECT_TRUE(store.list(ipam::keys::subnetPrefix("default")).empty());
}

TEST_F(AgentCni, ParallelAddsNeverShareAnAddress) {
  constexpr int kPods = 16;
  for (int i = 0; i < kPods; ++i) pod("p" + std::to_string(i));
  std::vector<std::future<CniOutcome>> results;
  for (int i = 0; i < kPods; ++i)
    results.push_back(std::async(std::launch::async, [this, i] { return add("p" + std::to_string(i)); }));
  std::set<std::string> seen;
  for (auto& f : results) {
    auto r = f.get();
    ASSERT_EQ(r.exitCode, 0) << r.describe();
    EXPECT_TRUE(seen.insert(addressOf(r.json(), true)).second) << r.out;
  }
  EXPECT_EQ(allocations().size(), 2u * kPods);
  EXPECT_EQ(hostVeths(), static_cast<size_t>(kPods));
}

TEST_F(AgentCni, RestartKeepsPodsConnectedAndDeletable) {
  auto a = add("a");
  auto b = add("b");
  ASSERT_EQ(a.exitCode, 0);
  ASSERT_EQ(b.exitCode, 0);
  agent_->stop();
  EXPECT_TRUE(ping(pod("a").path(), addressOf(b.json(), true)));  // datapath outlives the agent
  agent_ = std::make_unique<AgentProcess>(CNIKITD_PATH, host_->path(), dir_,
                                          agentConfig(dir_, BACKEND_DIR, kDualStackPool), socket_);
  EXPECT_EQ(allocations().size(), 4u);
  auto again = add("a");  // idempotent: the same addresses come back
  ASSERT_EQ(again.exitCode, 0) << again.describe();
  EXPECT_EQ(addressOf(again.json(), true), addressOf(a.json(), true));
  EXPECT_EQ(cni("DEL", "c-a", pod("a").path(), netconf()).exitCode, 0);
  EXPECT_EQ(cni("DEL", "c-b", pod("b").path(), netconf()).exitCode, 0);
  EXPECT_EQ(allocations().size(), 0u);
  EXPECT_EQ(hostVeths(), 0u);
}

TEST_F(AgentCni, NodeIsSetUpBeforeItsFirstPod) {
  // local_node_update ran at start: the bridge holds the node subnets' gateways already.
  auto addresses = runInNetns(host_->path(), {"ip", "-o", "addr", "show", "dev", "cnkt0"});
  ASSERT_EQ(addresses.exitCode, 0) << addresses.describe();
  EXPECT_NE(addresses.out.find("inet 10.77."), std::string::npos) << addresses.out;
  EXPECT_NE(addresses.out.find(".1/24"), std::string::npos) << addresses.out;
  EXPECT_NE(addresses.out.find("inet6 fd00:77:"), std::string::npos) << addresses.out;
  auto r = run({CNIKITCTL_PATH, "--socket", socket_, "status", "-o", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.describe();
  auto backend = json::parse(r.out)["backends"][0];
  EXPECT_TRUE(backend["ready"].get<bool>()) << backend.dump();
  EXPECT_TRUE(backend["lifecycle"]["started"].get<bool>()) << backend.dump();
  EXPECT_GE(backend["lifecycle"]["localNodeUpdates"].get<int>(), 1) << backend.dump();
  EXPECT_EQ(backend["abi"], "1.1");
}

TEST_F(AgentCni, OrphanVethOfACrashedAddIsSweptAtStart) {
  ASSERT_EQ(add("a").exitCode, 0);
  agent_->stop();
  // What an ADD cut short by a crash leaves: a pair on the bridge that no endpoint records.
  auto made = runInNetns(host_->path(), {"ip", "link", "add", "vethorphan01", "master", "cnkt0", "type", "veth", "peer",
                                         "name", "orphanpeer0"});
  ASSERT_EQ(made.exitCode, 0) << made.describe();
  agent_ = std::make_unique<AgentProcess>(CNIKITD_PATH, host_->path(), dir_,
                                          agentConfig(dir_, BACKEND_DIR, kDualStackPool), socket_);
  auto names = links(host_->path());
  EXPECT_TRUE(waitUntilRetiredLinksGone(host_->path()));
  names = links(host_->path());
  EXPECT_EQ(std::count(names.begin(), names.end(), "vethorphan01"), 0) << "pods_sync left the orphan";
  EXPECT_EQ(hostVeths(), 1u) << "the recorded pod's veth must stay";
  EXPECT_EQ(cni("CHECK", "c-a", pod("a").path(), netconf()).exitCode, 0);
}

TEST_F(AgentCni, NodeLeaveRemovesEverythingTheNodeHad) {
  ASSERT_EQ(add("a").exitCode, 0);
  auto leave = run({CNIKITCTL_PATH, "--socket", socket_, "node", "leave"});
  ASSERT_EQ(leave.exitCode, 0) << leave.describe();
  EXPECT_EQ(agent_->stop(), 0) << "the agent exits by itself after leaving";
  auto names = links(host_->path());
  EXPECT_EQ(std::count(names.begin(), names.end(), "cnkt0"), 0) << "TEARDOWN left the bridge";
  EXPECT_EQ(hostVeths(), 0u);
  // Its addresses went with it: a new agent on the same store finds none allocated.
  agent_ = std::make_unique<AgentProcess>(CNIKITD_PATH, host_->path(), dir_,
                                          agentConfig(dir_, BACKEND_DIR, kDualStackPool), socket_);
  EXPECT_EQ(allocations().size(), 0u);
}

// The agent killed in an ADD after the backend made the pod's interface and before the
// endpoint was recorded: the store holds the addresses (IPAM wrote them first) but no
// endpoint, the kernel holds the veth pair. Then the agent comes back.
class AgentCniCrash : public AgentCni {
 protected:
  void crashBeforeTheEndpointIsRecorded(const std::string& containerId) {
    agent_->crash();
    {
      auto store = store::openStore({"sqlite", (dir_ / "state" / "store.db").string(), {}});
      ASSERT_TRUE(store->remove("/cnikit/v1/endpoints/it-node/" + containerId + "/eth0"));
    }
    agent_ = std::make_unique<AgentProcess>(CNIKITD_PATH, host_->path(), dir_,
                                            agentConfig(dir_, BACKEND_DIR, kDualStackPool), socket_);
  }
};

// The retried ADD (no DEL in between, as a runtime does after a timeout) adopts the pair,
// repairs what the first ADD had not done yet, and answers with the same addresses.
TEST_F(AgentCniCrash, RetriedAddAdoptsAndRepairsTheInterface) {
  auto first = add("a");
  ASSERT_EQ(first.exitCode, 0) << first.describe();
  const std::string hostVeth = first.json()["interfaces"][0]["name"];
  ASSERT_NO_FATAL_FAILURE(crashBeforeTheEndpointIsRecorded("c-a"));
  // Steps the first ADD may not have reached: addresses and routes, the bridge port.
  ASSERT_EQ(runInNetns(pod("a").path(), {"ip", "addr", "flush", "dev", "eth0"}).exitCode, 0);
  ASSERT_EQ(runInNetns(host_->path(), {"ip", "link", "set", hostVeth, "nomaster"}).exitCode, 0);

  auto retried = add("a");
  ASSERT_EQ(retried.exitCode, 0) << retried.describe();
  EXPECT_EQ(addressOf(retried.json(), true), addressOf(first.json(), true));
  EXPECT_EQ(addressOf(retried.json(), false), addressOf(first.json(), false));
  EXPECT_EQ(retried.json()["interfaces"][0]["name"], hostVeth);
  auto check = cni("CHECK", "c-a", pod("a").path(), netconf("1.0.0", ",\"prevResult\":" + retried.json().dump()));
  EXPECT_EQ(check.exitCode, 0) << check.describe();

  auto b = add("b");
  ASSERT_EQ(b.exitCode, 0) << b.describe();
  EXPECT_NE(addressOf(b.json(), true), addressOf(first.json(), true));
  EXPECT_NE(addressOf(b.json(), false), addressOf(first.json(), false));
  EXPECT_TRUE(ping(pod("b").path(), addressOf(first.json(), true)));
  EXPECT_EQ(allocations().size(), 4u);
  EXPECT_EQ(hostVeths(), 2u);

  EXPECT_EQ(cni("DEL", "c-a", pod("a").path(), netconf()).exitCode, 0);
  EXPECT_EQ(cni("DEL", "c-b", pod("b").path(), netconf()).exitCode, 0);
  EXPECT_EQ(allocations().size(), 0u);
  EXPECT_EQ(hostVeths(), 0u);
}

// An interface of the pod's name that is not the peer of this container's host veth is not
// adopted (code 100), and the addresses it carries stay with the container until its DEL:
// no other pod is given them.
TEST_F(AgentCniCrash, InterfaceNotOursKeepsTheAddressesItCarries) {
  auto first = add("a");
  ASSERT_EQ(first.exitCode, 0) << first.describe();
  const std::string hostVeth = first.json()["interfaces"][0]["name"];
  ASSERT_NO_FATAL_FAILURE(crashBeforeTheEndpointIsRecorded("c-a"));
  // Off the bridge and renamed: an interface no pod of this backend owns.
  ASSERT_EQ(runInNetns(host_->path(), {"ip", "link", "set", hostVeth, "nomaster", "name", "cnkt-moved"}).exitCode, 0);

  auto retried = add("a");
  EXPECT_EQ(retried.json()["code"], 100) << retried.describe();
  EXPECT_EQ(allocations().size(), 2u);
  auto b = add("b");
  ASSERT_EQ(b.exitCode, 0) << b.describe();
  EXPECT_NE(addressOf(b.json(), true), addressOf(first.json(), true));
  EXPECT_NE(addressOf(b.json(), false), addressOf(first.json(), false));

  EXPECT_EQ(cni("DEL", "c-a", pod("a").path(), netconf()).exitCode, 0);
  EXPECT_EQ(allocations().size(), 2u);  // only c-b's
}

class AgentCniSmallPool : public AgentCni {
 protected:
  // A /29 node subnet: network .0, gateway .1 and broadcast .7 leave five addresses.
  void SetUp() override {
    start("  - name: tiny\n    backend: default\n    cidrs: [10.78.0.0/28]\n    nodeSubnetPrefix: {ipv4: 29}\n", 1);
  }
};

TEST_F(AgentCniSmallPool, ExhaustionIsCode101AndLeavesNothing) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(add("p" + std::to_string(i)).exitCode, 0) << i;
  auto full = add("p5");
  EXPECT_EQ(full.json()["code"], 101) << full.describe();
  EXPECT_NE(full.json()["msg"].get<std::string>().find("tiny"), std::string::npos) << full.describe();
  EXPECT_EQ(allocations().size(), 5u);
  EXPECT_EQ(hostVeths(), 5u);
  // Deleting a pod's namespace without DEL: the periodic check releases its address.
  pods_.erase("p0");
  for (int i = 0; i < 60 && allocations().size() != 4u; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(allocations().size(), 4u);
  EXPECT_EQ(add("p5").exitCode, 0);
}

// The cluster config lives in the store (no backends or pools in the agent's file): a changed
// options object reaches the running instance through config_update, and flannel-like, which
// applies changes by being recreated, is recreated in place without an agent restart.
TEST(AgentClusterConfig, ChangedOptionsRecreateTheInstanceWithoutARestart) {
  auto dir = std::filesystem::temp_directory_path() / uniqueName("cfgupd");
  std::filesystem::create_directories(dir / "state");
  TestNetns host("cfgupd");
  auto clusterConfig = [](const std::string& options) {
    return json{{"backends", {{{"name", "default"}, {"type", "flannel-like"}, {"options", json::parse(options)}}}},
                {"pools", {{{"name", "default"}, {"backend", "default"}, {"cidrs", {"10.79.0.0/16"}}}}}}
        .dump();
  };
  auto store = store::openStore({"sqlite", (dir / "state" / "store.db").string(), {}});
  store->put(store::keys::kClusterConfig, clusterConfig(R"({"bridge": "cnkt2", "masquerade": false})"));
  std::string socket = (dir / "cnikitd.sock").string();
  std::string agentFile = "node: it-node\nsocket: " + socket + "\nstateDir: " + (dir / "state").string() +
                          "\nbackendDir: " + BACKEND_DIR + "\ngcIntervalSeconds: 0\n";
  auto agent = std::make_unique<AgentProcess>(CNIKITD_PATH, host.path(), dir, agentFile, socket);
  auto masqueradeRules = [&] {
    return runInNetns(host.path(), {"iptables-legacy", "-t", "nat", "-S", "POSTROUTING"}).out;
  };
  EXPECT_EQ(masqueradeRules().find("MASQUERADE"), std::string::npos);
  TestNetns pod("cfgupd-pod");
  std::string netconf = R"({"cniVersion":"1.0.0","name":"it","type":"cnikit","agentSocket":")" + socket + "\"}";
  std::map<std::string, std::string> env = {
      {"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c-cfg"}, {"CNI_NETNS", pod.path()}, {"CNI_IFNAME", "eth0"}};
  auto added = invokeCni(CNIKIT_PATH, env, netconf);
  ASSERT_EQ(added.exitCode, 0) << added.describe();

  // Outside the backend's schema: refused, the instance keeps its options.
  store->put(store::keys::kClusterConfig, clusterConfig(R"({"bridge": "cnkt2", "mode": "vxlam"})"));
  // Then a change flannel-like applies by being recreated: masquerade comes on at once.
  store->put(store::keys::kClusterConfig, clusterConfig(R"({"bridge": "cnkt2", "masquerade": true})"));
  bool masquerading = false;
  for (int i = 0; i < 100 && !masquerading; ++i) {
    masquerading = masqueradeRules().find("-s 10.79.") != std::string::npos;
    if (!masquerading) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(masquerading) << masqueradeRules() << "\nagent log:\n" << agent->log();
  EXPECT_NE(agent->log().find("new options not applied"), std::string::npos) << agent->log();
  EXPECT_NE(agent->log().find("recreating it for its new options"), std::string::npos) << agent->log();
  // The pod made before the change is still served: CHECK passes, DEL works.
  env["CNI_COMMAND"] = "CHECK";
  EXPECT_EQ(invokeCni(CNIKIT_PATH, env, netconf).exitCode, 0);
  env["CNI_COMMAND"] = "DEL";
  EXPECT_EQ(invokeCni(CNIKIT_PATH, env, netconf).exitCode, 0);
  agent.reset();
  runInNetns(host.path(), {"iptables-legacy", "-t", "nat", "-F", "POSTROUTING"});
  std::filesystem::remove_all(dir);
}

TEST(AgentConfigAtStart, BadCidrIsRefusedNamingTheField) {
  auto dir = std::filesystem::temp_directory_path() / uniqueName("badcfg");
  TestNetns host("badcfg");
  try {
    AgentProcess agent(CNIKITD_PATH, host.path(), dir,
                       agentConfig(dir, BACKEND_DIR, "  - name: p\n    backend: default\n    cidrs: [10.0.0.0/33]\n"),
                       (dir / "cnikitd.sock").string());
    ADD_FAILURE() << "agent started with a bad CIDR";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("pools[0].cidrs"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(AgentConfigAtStart, BackendOptionOutsideItsSchemaIsRefusedNamingIt) {
  auto dir = std::filesystem::temp_directory_path() / uniqueName("badopt");
  TestNetns host("badopt");
  std::string config = agentConfig(dir, BACKEND_DIR, kDualStackPool);
  config.replace(config.find("masquerade: false"), std::string("masquerade: false").size(), "mode: vxlam");
  try {
    AgentProcess agent(CNIKITD_PATH, host.path(), dir, config, (dir / "cnikitd.sock").string());
    ADD_FAILURE() << "agent started with options outside the backend's schema";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("backend instance 'default': options.mode"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(AgentUnreachable, AddIs11AndStatusIs50) {
  std::string config = R"({"cniVersion":"1.1.0","name":"x","type":"cnikit","agentSocket":"/run/cnkt-no-such.sock"})";
  auto add = invokeCni(
      CNIKIT_PATH,
      {{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "x"}, {"CNI_NETNS", "/proc/self/ns/net"}, {"CNI_IFNAME", "eth0"}},
      config);
  EXPECT_EQ(add.json()["code"], 11) << add.describe();
  EXPECT_NE(add.json()["msg"].get<std::string>().find("/run/cnkt-no-such.sock"), std::string::npos);
  auto status = invokeCni(CNIKIT_PATH, {{"CNI_COMMAND", "STATUS"}}, config);
  EXPECT_EQ(status.json()["code"], 50) << status.describe();
}

}  // namespace
}  // namespace cnikit::testing
