// PolicyController through its provider seam (core/policy/PolicyProvider.hpp): a recording
// provider stands in for the datapath (unit test: no root, no iptables), the store is a real
// SQLite file.
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>

#include "core/agent/PolicyController.hpp"
#include "core/store/SqliteStore.hpp"
#include "tests/unit/store/TempDir.hpp"

namespace cnikit::agent {
namespace {

// What the controller asked of its provider; apply() fails on demand.
struct ProviderLog {
  std::mutex mutex;
  int syncs = 0;
  std::vector<policy::Changes> applied;
  std::vector<std::string> endpointsAtLastCall;
  bool failNextApply = false;
};

class RecordingProvider : public policy::PolicyProvider {
 public:
  explicit RecordingProvider(ProviderLog& log) : log_(log) {}
  const char* name() const override { return "recording"; }
  void sync(const policy::Engine& engine) override {
    std::lock_guard lock(log_.mutex);
    ++log_.syncs;
    log_.endpointsAtLastCall = engine.endpointKeys();
  }
  void apply(const policy::Engine& engine, const policy::Changes& changes) override {
    std::lock_guard lock(log_.mutex);
    if (log_.failNextApply) {
      log_.failNextApply = false;
      throw std::runtime_error("datapath refused");
    }
    log_.applied.push_back(changes);
    log_.endpointsAtLastCall = engine.endpointKeys();
  }
  nlohmann::json status() const override { return {{"recorded", true}}; }

 private:
  ProviderLog& log_;
};

Endpoint pod(const std::string& name, const std::string& backend, const std::string& address) {
  Endpoint e;
  e.containerId = "ctr-" + name;
  e.ifname = "eth0";
  e.podNamespace = "default";
  e.podName = name;
  e.backend = backend;
  e.addresses = {address};
  return e;
}

class PolicyControllerTest : public ::testing::Test {
 protected:
  PolicyControllerTest() : dir_("policy-controller"), store_(dir_.file("store.db")) {}
  std::unique_ptr<PolicyController> make(std::set<std::string> backends = {}) {
    PolicyControllerOptions options;
    options.backends = std::move(backends);
    options.retryInterval = std::chrono::hours(1);  // no background retry during a test
    return std::make_unique<PolicyController>(store_, "node1", std::make_unique<RecordingProvider>(log_), options);
  }
  store::test::TempDir dir_;
  store::SqliteStore store_;
  ProviderLog log_;
};

TEST_F(PolicyControllerTest, StartSyncsThenEndpointsAreAppliedIncrementally) {
  auto controller = make();
  controller->start();
  EXPECT_EQ(log_.syncs, 1);
  EXPECT_TRUE(log_.applied.empty());

  controller->endpointAdded(pod("a", "flannel", "10.244.0.5/24"));
  ASSERT_EQ(log_.applied.size(), 1u);
  EXPECT_TRUE(log_.applied[0].endpoints.count("default/a")) << "the new pod's rules are programmed before ADD returns";
  EXPECT_EQ(log_.endpointsAtLastCall, std::vector<std::string>{"default/a"});

  controller->endpointRemoved(pod("a", "flannel", "10.244.0.5/24"));
  ASSERT_EQ(log_.applied.size(), 2u);
  EXPECT_TRUE(log_.applied[1].removedEndpoints.count("default/a"));
  EXPECT_EQ(log_.syncs, 1);

  auto status = controller->status();
  EXPECT_EQ(status["provider"], "recording");
  EXPECT_EQ(status["recorded"], true) << "the provider's own status is merged in";
}

TEST_F(PolicyControllerTest, OnlyPodsOfPolicedBackendInstancesAreEndpoints) {
  auto controller = make({"policed"});
  controller->start();
  controller->endpointAdded(pod("free", "other", "10.244.0.6/24"));
  controller->endpointAdded(pod("guarded", "policed", "10.244.0.7/24"));
  EXPECT_EQ(log_.endpointsAtLastCall, std::vector<std::string>{"default/guarded"});
}

TEST_F(PolicyControllerTest, AFailedApplyFailsTheAddAndTheNextProgrammingIsASync) {
  auto controller = make();
  controller->start();
  log_.failNextApply = true;
  try {
    controller->endpointAdded(pod("a", "flannel", "10.244.0.5/24"));
    FAIL() << "endpointAdded did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("default/a"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("datapath refused"), std::string::npos) << e.what();
  }
  // The failure wakes the background thread at once to resync; until it has, status names
  // the error. (Which of the two a test sees first depends on the scheduler.)
  auto status = controller->status();
  if (status.contains("lastError"))
    EXPECT_EQ(status["lastError"], "datapath refused");
  else
    EXPECT_EQ(log_.syncs, 2) << "the error is gone from status only once the resync has run";
  controller->endpointAdded(pod("b", "flannel", "10.244.0.8/24"));
  EXPECT_EQ(log_.syncs, 2) << "after a failure the provider gets the full state, not a delta";
  EXPECT_EQ(log_.endpointsAtLastCall, (std::vector<std::string>{"default/a", "default/b"}));
  EXPECT_FALSE(controller->status().contains("lastError"));
}

TEST(PolicyControllerWithoutProvider, IsRefused) {
  store::test::TempDir dir("policy-controller");
  store::SqliteStore store(dir.file("store.db"));
  EXPECT_THROW(PolicyController(store, "node1", nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace cnikit::agent
