// The C++ wrapper (backend.hpp) seen from the host: statuses, last_error, capability
// detection, struct size checks, exported symbols — through real libraries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <algorithm>

#include <barrier>
#include <thread>

#include "FakeStore.hpp"
#include "TestLibraries.hpp"
#include "core/plugin/BackendInstance.hpp"

using namespace cnikit::plugin;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

class Wrapper : public ::testing::Test {
 protected:
  void SetUp() override {
    CNIKIT_REQUIRE_ROOT();
    lib_ = BackendLibrary::load(cnikit::test::kWrapperBackend);
    host_ = std::make_shared<HostServices>("wrap", &store_, &metrics_);
  }
  std::unique_ptr<BackendInstance> make(const std::string& options = "{}") {
    return std::make_unique<BackendInstance>(
        lib_, createSpec("wrap", "node-a", options, "/tmp/state", Underlay{"eth1", "192.168.1.10", "fd00:1::10", 9000}),
        host_);
  }
  static PodRequest request(const std::string& id) {
    PodRequest r;
    r.containerId = id;
    r.netns = "/var/run/netns/" + id;
    r.ifname = "eth0";
    r.podNamespace = "default";
    r.podName = "pod-" + id;
    r.ips.push_back({2, "10.244.1.5/24", "10.244.1.1", "10.244.1.0/24", "10.244.0.0/16"});
    r.ips.push_back({10, "fd00::5/64", "", "fd00::/64", "fd00::/48"});
    r.mac = "02:00:00:00:00:01";
    r.mtu = 1450;
    r.pool = "default-v4";
    r.podLabelsJson = R"({"app":"web"})";
    r.runtimeConfigJson = R"({"portMappings":[]})";
    r.cniArgsJson = R"({"K8S_POD_NAME":"p"})";
    return r;
  }

  cnikit::test::FakeStore store_;
  cnikit::metrics::Registry metrics_;
  std::shared_ptr<HostServices> host_;
  std::shared_ptr<BackendLibrary> lib_;
};

cnikit_create_args createArgs(const cnikit_host_callbacks* host) {
  cnikit_create_args args{};
  args.size = sizeof(args);
  args.instance_name = "wrap";
  args.node_name = "node-a";
  args.options_json = "{}";
  args.state_dir = "/tmp";
  args.host = host;
  return args;  // underlay_* stay NULL: the wrapper must read them as ""
}

BackendError podAddError(BackendInstance& b, const std::string& id) {
  PodRequest r;
  r.containerId = id;
  try {
    b.podAdd(r);
  } catch (const BackendError& e) {
    return e;
  }
  ADD_FAILURE() << "podAdd(" << id << ") did not fail";
  return BackendError(CNIKIT_OK, "");
}

}  // namespace

TEST_F(Wrapper, TableFromTheMacro) {
  const auto& api = lib_->api();
  EXPECT_EQ(api.size, sizeof(cnikit_backend_api));
  EXPECT_EQ(api.abi_major, CNIKIT_ABI_MAJOR);
  EXPECT_EQ(api.abi_minor, CNIKIT_ABI_MINOR);
  EXPECT_EQ(lib_->name(), "wrapper-test");
  EXPECT_EQ(lib_->version(), "1.2.3");
  EXPECT_EQ(api.pod->size, sizeof(cnikit_pod_ops));
}

TEST_F(Wrapper, PodOnlyBackendHasOnlyThePodTable) {
  EXPECT_THAT(lib_->capabilities(), ElementsAre("pod"));
  const auto& api = lib_->api();
  EXPECT_NE(api.pod, nullptr);
  EXPECT_EQ(api.node, nullptr);
  EXPECT_EQ(api.lifecycle, nullptr);
  EXPECT_EQ(api.options_schema_json, nullptr);
  // Reserved tables are never set by the wrapper.
  EXPECT_EQ(api.policy, nullptr);
  EXPECT_EQ(api.service, nullptr);
  EXPECT_EQ(api.encryption, nullptr);
  EXPECT_EQ(api.flows, nullptr);
  // Without a lifecycle table the host treats every step as done and recreates on an
  // option change.
  auto b = make();
  EXPECT_NO_THROW(b->start());
  EXPECT_EQ(b->notReadyReason(), std::nullopt);
  EXPECT_FALSE(b->configUpdate("{}"));
}

TEST_F(Wrapper, FullBackendHasTheDeclaredTables) {
  auto full = BackendLibrary::load(cnikit::test::kWrapperFullBackend);
  EXPECT_THAT(full->capabilities(), ElementsAre("pod", "node", "lifecycle"));
  EXPECT_THAT(full->optionsSchema(), HasSubstr("\"mode\""));

  // Drive the node table through the raw ABI.
  auto* handle = [&] {
    cnikit_create_args args = createArgs(host_->callbacks());
    cnikit_backend* b = nullptr;
    EXPECT_EQ(full->api().create(&args, &b), CNIKIT_OK);
    return b;
  }();
  const auto& api = full->api();
  EXPECT_STREQ(api.node->local_node_data(handle), "{\"vtep\":\"wrap\"}");
  const char* subnets[] = {"10.244.2.0/24", "10.245.2.0/24"};
  cnikit_node_info node{};
  node.size = sizeof(node);
  node.name = "node-b";
  node.underlay_ipv4 = "192.168.1.2";
  node.underlay_ipv6 = "";
  node.subnets = subnets;
  node.n_subnets = 2;
  node.backend_data_json = "{\"mac\":\"x\"}";
  EXPECT_EQ(api.node->node_upsert(handle, &node), CNIKIT_OK);
  EXPECT_EQ(store_.get("/cnikit/v1/backends/wrap/nodes/node-b")->value,
            "192.168.1.2|10.244.2.0/24;10.245.2.0/24;|{\"mac\":\"x\"}");
  EXPECT_EQ(api.node->node_remove(handle, "node-b"), CNIKIT_OK);
  EXPECT_FALSE(store_.get("/cnikit/v1/backends/wrap/nodes/node-b"));
  // A node_info smaller than this SDK knows is refused.
  node.size = sizeof(node) - 8;
  EXPECT_EQ(api.node->node_upsert(handle, &node), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(api.last_error(handle), HasSubstr("cnikit_node_info has size"));
  api.destroy(handle);
}

TEST_F(Wrapper, LifecycleCallsReachTheBackendInOrder) {
  auto full = BackendLibrary::load(cnikit::test::kWrapperFullBackend);
  BackendInstance b(full, createSpec("wrap", "node-a", "{}", "/tmp"), host_);
  NodeInfo self;
  self.name = "node-a";
  self.subnets = {"10.244.1.0/24"};
  self.labelsJson = R"({"zone":"a"})";
  b.localNodeUpdate(self);
  b.start();
  b.podsSync({request("c1"), request("c2")});
  EXPECT_EQ(b.notReadyReason(), std::nullopt);
  store_.put("/cnikit/v1/backends/wrap/not-ready", "1");
  EXPECT_EQ(b.notReadyReason(), "waiting for the test");
  EXPECT_TRUE(b.configUpdate(R"({"mode":"a"})"));
  EXPECT_FALSE(b.configUpdate(R"({"mode":"recreate"})"));
  b.shutdown(CNIKIT_SHUTDOWN_KEEP_DATAPATH);
  b.shutdown(CNIKIT_SHUTDOWN_TEARDOWN);
  EXPECT_EQ(b.lifecycleState().localNodeUpdates, 1);

  std::vector<std::string> calls;
  for (const auto& kv : store_.list("/cnikit/v1/backends/wrap/calls/"))
    calls.push_back(kv.key.substr(kv.key.rfind('/') + 1) + "=" + kv.value);
  std::sort(calls.begin(), calls.end(),
            [](const std::string& x, const std::string& y) { return std::stoi(x) < std::stoi(y); });
  EXPECT_THAT(calls, ElementsAre(R"(1-local_node_update=node-a|10.244.1.0/24;|{"zone":"a"})",
                                 "2-start=", "3-pods_sync=c1;c2;", R"(4-config_update={"mode":"a"})",
                                 R"(5-config_update={"mode":"recreate"})", "6-shutdown=keep", "7-shutdown=teardown"));
}

TEST_F(Wrapper, RecreateMakesAFreshInstance) {
  auto full = BackendLibrary::load(cnikit::test::kWrapperFullBackend);
  BackendInstance b(full, createSpec("wrap", "node-a", "{}", "/tmp"), host_);
  b.start();
  EXPECT_TRUE(b.lifecycleState().started);
  b.recreate(createSpec("wrap", "node-a", R"({"mode":"b"})", "/tmp"));
  EXPECT_FALSE(b.lifecycleState().started);
  bool keptDatapath = false;
  for (const auto& kv : store_.list("/cnikit/v1/backends/wrap/calls/"))
    keptDatapath = keptDatapath || kv.value == "keep";
  EXPECT_TRUE(keptDatapath) << "recreate shuts the old instance down with KEEP_DATAPATH";
  EXPECT_NO_THROW(b.podAdd(request("after-recreate")));
}

TEST_F(Wrapper, PodAddReturnsRoutesAndInterfaces) {
  auto b = make();
  PodResult result = b->podAdd(request("with-routes"));
  ASSERT_EQ(result.routes.size(), 2u);
  EXPECT_EQ(result.routes[0].destination, "10.96.0.0/12");
  EXPECT_EQ(result.routes[0].gateway, "10.244.1.1");
  EXPECT_EQ(result.routes[1].gateway, "");
  ASSERT_EQ(result.interfaces.size(), 1u);
  EXPECT_EQ(result.interfaces[0].name, "net1");
  EXPECT_EQ(result.interfaces[0].sandbox, "/var/run/netns/with-routes");
  EXPECT_EQ(result.interfaces[0].mtu, 9000u);
}

TEST_F(Wrapper, PodAddPassesEveryFieldBothWays) {
  auto b = make();
  PodResult result = b->podAdd(request("c0ffee123456"));
  EXPECT_EQ(result.hostIfname, "vethc0ffee12");
  EXPECT_EQ(result.hostMac, "aa:bb:cc:00:00:01");
  EXPECT_EQ(result.containerIfname, "eth0");
  EXPECT_EQ(result.containerMac, "aa:bb:cc:00:00:02");
  EXPECT_EQ(result.mtu, 1450u);
  EXPECT_EQ(store_.get("/cnikit/v1/backends/wrap/pods/c0ffee123456")->value,
            "/var/run/netns/c0ffee123456|eth0|default/pod-c0ffee123456|02:00:00:00:00:01|1450|default-v4"
            "|2,10.244.1.5/24,10.244.1.1,10.244.1.0/24,10.244.0.0/16,0af4/24|10,fd00::5/64,,fd00::/64,fd00::/48,fd00/64"
            R"(|{"app":"web"}|{"portMappings":[]}|{"K8S_POD_NAME":"p"})");
  EXPECT_NO_THROW(b->podCheck(request("c0ffee123456")));
  b->podDel(request("c0ffee123456"));
  EXPECT_FALSE(store_.get("/cnikit/v1/backends/wrap/pods/c0ffee123456"));
  try {
    b->podCheck(request("c0ffee123456"));
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_EQ(e.status(), CNIKIT_ERR_NOT_FOUND);
    EXPECT_THAT(e.what(), HasSubstr("no pod c0ffee123456 in instance wrap"));
  }
}

TEST_F(Wrapper, RuntimeErrorBecomesInternalWithItsMessage) {
  auto b = make();
  BackendError e = podAddError(*b, "throw-runtime");
  EXPECT_EQ(e.status(), CNIKIT_ERR_INTERNAL);
  EXPECT_THAT(e.what(), HasSubstr("runtime failure for throw-runtime"));
}

TEST_F(Wrapper, SdkErrorKeepsItsStatus) {
  auto b = make();
  BackendError e = podAddError(*b, "throw-sdk");
  EXPECT_EQ(e.status(), CNIKIT_ERR_EXISTS);
  EXPECT_THAT(e.what(), HasSubstr("interface for throw-sdk already exists"));
  try {
    b->podDel(request("throw-sdk"));
    FAIL();
  } catch (const BackendError& del) {
    EXPECT_EQ(del.status(), CNIKIT_ERR_EXISTS);
  }
}

TEST_F(Wrapper, NonStdExceptionIsCaught) {
  auto b = make();
  BackendError e = podAddError(*b, "throw-other");
  EXPECT_EQ(e.status(), CNIKIT_ERR_INTERNAL);
  EXPECT_THAT(e.what(), HasSubstr("unknown exception in pod_add"));
}

TEST_F(Wrapper, StoreOutageBecomesTryAgain) {
  auto b = make();
  store_.setUnavailable(true);
  BackendError e = podAddError(*b, "abc");
  EXPECT_EQ(e.status(), CNIKIT_ERR_TRY_AGAIN);
  EXPECT_THAT(e.what(), HasSubstr("store_put 'pods/abc'"));
}

TEST_F(Wrapper, TooLongInterfaceNameIsAnError) {
  auto b = make();
  BackendError e = podAddError(*b, "long-ifname");
  EXPECT_EQ(e.status(), CNIKIT_ERR_INTERNAL);
  EXPECT_THAT(e.what(), HasSubstr("hostIfname 'a-name-longer-than-15' is longer than 15"));
}

TEST_F(Wrapper, CreateFailuresCarryTheirMessage) {
  try {
    make("{\"mode\":\"fail-create\"}");
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_EQ(e.status(), CNIKIT_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("options ask to fail: {\"mode\":\"fail-create\"}"));
    EXPECT_THAT(e.what(), HasSubstr("instance 'wrap'"));
  }
  try {
    make("{\"mode\":\"crash-create\"}");
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_EQ(e.status(), CNIKIT_ERR_INTERNAL);
    EXPECT_THAT(e.what(), HasSubstr("create exploded"));
  }
}

TEST_F(Wrapper, StatusJsonAndItsFailure) {
  auto b = make();
  b->podAdd(request("p1"));
  EXPECT_EQ(b->statusJson(),
            "{\"instance\":\"wrap\",\"underlay\":\"eth1|192.168.1.10|fd00:1::10|9000\",\"pods\":[\"pods/p1\"]}");
  // Every second call throws: the wrapper turns it into a JSON error object.
  EXPECT_EQ(b->statusJson(), "{\"error\":\"status \\\"odd\\\" call\"}");
}

TEST_F(Wrapper, MetricRegisteredThroughTheHost) {
  auto b = make();
  b->podAdd(request("m1"));
  b->podAdd(request("m2"));
  std::string text = metrics_.serialize();
  EXPECT_THAT(text, HasSubstr("cnikit_test_pod_adds_total{backend_instance=\"wrap\"} 2"));
}

TEST_F(Wrapper, IncomingStructSizesAreChecked) {
  const auto& api = lib_->api();
  cnikit_create_args args = createArgs(host_->callbacks());
  cnikit_backend* handle = nullptr;
  ASSERT_EQ(api.create(&args, &handle), CNIKIT_OK);

  cnikit_ip_config ip{sizeof(cnikit_ip_config), 2, "10.0.0.2/24", "10.0.0.1", "10.0.0.0/24", "10.0.0.0/16"};
  cnikit_pod_request req{sizeof(cnikit_pod_request), "sz", "/ns", "eth0", "", "", &ip, 1, "", 0, "p"};
  cnikit_pod_result out{};
  out.size = sizeof(out);
  EXPECT_EQ(api.pod->pod_add(handle, &req, &out), CNIKIT_OK);

  // Smaller than known.
  req.size = sizeof(req) - sizeof(void*);
  EXPECT_EQ(api.pod->pod_add(handle, &req, &out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(api.last_error(handle), HasSubstr("cnikit_pod_request has size"));

  // A newer host's bigger struct: fine with a zero tail, refused with a non-zero one.
  struct Bigger {
    cnikit_pod_request req;
    uint64_t extra;
  } bigger{req, 0};
  bigger.req.size = sizeof(Bigger);
  EXPECT_EQ(api.pod->pod_add(handle, &bigger.req, &out), CNIKIT_OK);
  bigger.extra = 7;
  EXPECT_EQ(api.pod->pod_add(handle, &bigger.req, &out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(api.last_error(handle), HasSubstr("non-zero fields beyond"));

  // Bigger ip_config elements are stepped over by their own size.
  struct BigIp {
    cnikit_ip_config ip;
    uint64_t extra;
  } ips[2] = {{ip, 0}, {{sizeof(BigIp), 2, "10.0.0.3/24", "", "10.0.0.0/24", "10.0.0.0/16"}, 0}};
  ips[0].ip.size = sizeof(BigIp);
  cnikit_pod_request two{sizeof(cnikit_pod_request), "twoips", "/ns", "eth0", "", "", &ips[0].ip, 2, "", 0, "p"};
  EXPECT_EQ(api.pod->pod_add(handle, &two, &out), CNIKIT_OK) << api.last_error(handle);
  EXPECT_THAT(
      store_.get("/cnikit/v1/backends/wrap/pods/twoips")->value,
      HasSubstr("|2,10.0.0.2/24,10.0.0.1,10.0.0.0/24,10.0.0.0/16,0000/0|2,10.0.0.3/24,,10.0.0.0/24,10.0.0.0/16"));

  // A result buffer smaller than known.
  out.size = sizeof(out) - 4;
  req.size = sizeof(req);
  EXPECT_EQ(api.pod->pod_add(handle, &req, &out), CNIKIT_ERR_INVALID_ARGUMENT);

  // Host callbacks smaller than known are refused at create.
  cnikit_host_callbacks small = *host_->callbacks();
  small.size = sizeof(small) - sizeof(void*);
  cnikit_create_args smallArgs = createArgs(&small);
  cnikit_backend* none = nullptr;
  EXPECT_EQ(api.create(&smallArgs, &none), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr);
  EXPECT_THAT(api.last_error(nullptr), HasSubstr("cnikit_host_callbacks has size"));
  api.destroy(handle);
}

TEST_F(Wrapper, LastErrorIsPerThread) {
  // Two threads fail on one handle, then each reads last_error: each sees its own message.
  const auto& api = lib_->api();
  cnikit_create_args args = createArgs(host_->callbacks());
  cnikit_backend* handle = nullptr;
  ASSERT_EQ(api.create(&args, &handle), CNIKIT_OK);
  std::barrier sync(2);
  std::string seen[2];
  auto run = [&](int i, const char* id) {
    cnikit_pod_request req{sizeof(cnikit_pod_request), id, "", "eth0", "", "", nullptr, 0, "", 0, ""};
    cnikit_pod_result out{};
    out.size = sizeof(out);
    if (i == 1) sync.arrive_and_wait();  // thread 1 fails after thread 0
    EXPECT_NE(api.pod->pod_add(handle, &req, &out), CNIKIT_OK);
    if (i == 0) sync.arrive_and_wait();
    sync.arrive_and_wait();  // both have failed
    seen[i] = api.last_error(handle);
  };
  std::thread t0(run, 0, "throw-runtime");
  std::thread t1(run, 1, "throw-sdk");
  t0.join();
  t1.join();
  EXPECT_THAT(seen[0], HasSubstr("runtime failure"));
  EXPECT_THAT(seen[1], HasSubstr("already exists"));
  api.destroy(handle);
}

TEST(WrapperSymbols, OnlyTheEntryPointIsExported) {
  for (const auto& lib :
       {cnikit::test::kWrapperBackend, cnikit::test::kWrapperFullBackend, cnikit::test::kGoodBackend}) {
    EXPECT_THAT(cnikit::test::exportedFunctions(lib), ElementsAre("cnikit_backend_entry")) << lib;
  }
}
