// HostServices' callbacks as a backend sees them: store scoping, failures, metrics, flows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "FakeStore.hpp"
#include "core/plugin/HostServices.hpp"

using namespace cnikit::plugin;
using ::testing::ElementsAre;
using ::testing::Pair;

namespace {

class Host : public ::testing::Test {
 protected:
  const cnikit_host_callbacks& cb() { return *host_.callbacks(); }
  cnikit_status put(const char* key, const std::string& value) {
    return cb().store_put(cb().host_ctx, key, value.data(), value.size());
  }
  cnikit_status get(const char* key, std::string& value) {
    const char* v = nullptr;
    size_t len = 0;
    cnikit_status st = cb().store_get(cb().host_ctx, key, &v, &len);
    if (st == CNIKIT_OK) value.assign(v, len);
    return st;
  }
  std::vector<std::pair<std::string, std::string>> list(const char* prefix, cnikit_status* status = nullptr) {
    std::vector<std::pair<std::string, std::string>> out;
    cnikit_status st = cb().store_list(
        cb().host_ctx, prefix,
        [](void* user, const char* key, const char* value, size_t len) {
          static_cast<std::vector<std::pair<std::string, std::string>>*>(user)->emplace_back(key,
                                                                                           std::string(value, len));
        },
        &out);
    if (status) *status = st;
    return out;
  }

  cnikit::test::FakeStore store_;
  cnikit::metrics::Registry metrics_;
  HostServices host_{"blue", &store_, &metrics_};
};

}  // namespace

TEST_F(Host, CallbacksTableIsComplete) {
  EXPECT_EQ(cb().size, sizeof(cnikit_host_callbacks));
  EXPECT_EQ(cb().host_ctx, &host_);
  EXPECT_TRUE(cb().log && cb().metric_register && cb().metric_add && cb().metric_set && cb().flow_emit &&
              cb().store_get && cb().store_put && cb().store_delete && cb().store_list);
  cb().log(cb().host_ctx, CNIKIT_LOG_INFO, "hello from a test");
  cb().log(cb().host_ctx, static_cast<cnikit_log_level>(42), "an unknown level is logged too");
}

TEST_F(Host, StoreKeysAreScopedToTheInstance) {
  EXPECT_EQ(put("vtep/mac", "aa:bb"), CNIKIT_OK);
  EXPECT_EQ(store_.get("/cnikit/v1/backends/blue/vtep/mac")->value, "aa:bb");
  std::string value;
  EXPECT_EQ(get("vtep/mac", value), CNIKIT_OK);
  EXPECT_EQ(value, "aa:bb");
  EXPECT_EQ(get("vtep/none", value), CNIKIT_ERR_NOT_FOUND);

  // Binary values keep their length.
  std::string binary("a\0b", 3);
  EXPECT_EQ(put("bin", binary), CNIKIT_OK);
  EXPECT_EQ(get("bin", value), CNIKIT_OK);
  EXPECT_EQ(value, binary);
}

TEST_F(Host, KeysThatLeaveTheScopeAreRefused) {
  store_.put("/cnikit/v1/backends/green/secret", "s");
  std::string value;
  EXPECT_EQ(get("../green/secret", value), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(get("/cnikit/v1/backends/green/secret", value), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(get("a/../../green/secret", value), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(put("../green/secret", "x"), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(put("", "x"), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_delete(cb().host_ctx, "/abs"), CNIKIT_ERR_INVALID_ARGUMENT);
  cnikit_status st;
  list("..", &st);
  EXPECT_EQ(st, CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(store_.get("/cnikit/v1/backends/green/secret")->value, "s");
  EXPECT_THROW(HostServices("a/b", &store_, &metrics_), std::invalid_argument);
  EXPECT_THROW(HostServices("", &store_, &metrics_), std::invalid_argument);
}

TEST_F(Host, ListSeesOnlyItsOwnKeysRelative) {
  store_.put("/cnikit/v1/backends/blue/nodes/n1", "1");
  store_.put("/cnikit/v1/backends/blue/nodes/n2", "2");
  store_.put("/cnikit/v1/backends/blue/other", "3");
  store_.put("/cnikit/v1/backends/blue2/nodes/n3", "4");  // shares the text prefix "blue"
  store_.put("/cnikit/v1/backends/green/nodes/n4", "5");
  EXPECT_THAT(list("nodes/"), ElementsAre(Pair("nodes/n1", "1"), Pair("nodes/n2", "2")));
  EXPECT_THAT(list(""), ElementsAre(Pair("nodes/n1", "1"), Pair("nodes/n2", "2"), Pair("other", "3")));
}

TEST_F(Host, DeleteReportsMissingKeys) {
  put("k", "v");
  EXPECT_EQ(cb().store_delete(cb().host_ctx, "k"), CNIKIT_OK);
  EXPECT_FALSE(store_.get("/cnikit/v1/backends/blue/k"));
  EXPECT_EQ(cb().store_delete(cb().host_ctx, "k"), CNIKIT_ERR_NOT_FOUND);
}

TEST_F(Host, StoreOutageIsTryAgain) {
  put("k", "v");
  store_.setUnavailable(true);
  std::string value;
  EXPECT_EQ(get("k", value), CNIKIT_ERR_TRY_AGAIN);
  EXPECT_EQ(put("k", "w"), CNIKIT_ERR_TRY_AGAIN);
  EXPECT_EQ(cb().store_delete(cb().host_ctx, "k"), CNIKIT_ERR_TRY_AGAIN);
  cnikit_status st;
  list("", &st);
  EXPECT_EQ(st, CNIKIT_ERR_TRY_AGAIN);
}

TEST(HostWithoutStore, StoreCallsAreUnsupported) {
  HostServices host("solo", nullptr, nullptr);
  const auto& cb = *host.callbacks();
  const char* v = nullptr;
  size_t len = 0;
  EXPECT_EQ(cb.store_get(cb.host_ctx, "k", &v, &len), CNIKIT_ERR_UNSUPPORTED);
  EXPECT_EQ(cb.store_put(cb.host_ctx, "k", "v", 1), CNIKIT_ERR_UNSUPPORTED);
  EXPECT_EQ(cb.metric_register(cb.host_ctx, "x_total", "x", CNIKIT_METRIC_COUNTER), -1);
  cb.metric_add(cb.host_ctx, 0, 1);  // must not crash
}

TEST_F(Host, MetricsAreRegisteredPerInstance) {
  int32_t peers = cb().metric_register(cb().host_ctx, "cnikit_vxlan_peers", "Peers", CNIKIT_METRIC_GAUGE);
  int32_t packets = cb().metric_register(cb().host_ctx, "cnikit_packets_total", "Packets", CNIKIT_METRIC_COUNTER);
  ASSERT_GE(peers, 0);
  ASSERT_GE(packets, 0);
  EXPECT_NE(peers, packets);
  EXPECT_EQ(cb().metric_register(cb().host_ctx, "cnikit_vxlan_peers", "Peers", CNIKIT_METRIC_GAUGE), peers);
  EXPECT_EQ(cb().metric_register(cb().host_ctx, "cnikit_vxlan_peers", "Peers", CNIKIT_METRIC_COUNTER), -1);
  EXPECT_EQ(cb().metric_register(cb().host_ctx, "bad name", "x", CNIKIT_METRIC_GAUGE), -1);
  EXPECT_EQ(cb().metric_register(cb().host_ctx, "x", "x", static_cast<cnikit_metric_kind>(9)), -1);
  cb().metric_set(cb().host_ctx, peers, 3);
  cb().metric_add(cb().host_ctx, peers, 2);
  cb().metric_add(cb().host_ctx, packets, 10);
  cb().metric_set(cb().host_ctx, packets, 99);   // not a gauge: ignored
  cb().metric_add(cb().host_ctx, packets, -5);   // counters only go up
  cb().metric_add(cb().host_ctx, 1000, 1);       // unknown id: ignored

  // A second instance of the same backend gets its own series and its own ids.
  HostServices red("red", &store_, &metrics_);
  const auto& rcb = *red.callbacks();
  int32_t redPeers = rcb.metric_register(rcb.host_ctx, "cnikit_vxlan_peers", "Peers", CNIKIT_METRIC_GAUGE);
  EXPECT_EQ(redPeers, 0);
  rcb.metric_set(rcb.host_ctx, redPeers, 7);

  std::string text = metrics_.serialize();
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_vxlan_peers{backend_instance=\"blue\"} 5"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_vxlan_peers{backend_instance=\"red\"} 7"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_packets_total{backend_instance=\"blue\"} 10"));
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE cnikit_vxlan_peers gauge"));
}

TEST_F(Host, FlowEmitIsReservedAndDropped) {
  // flow_emit stays in the 1.0 table but no host consumer exists yet: calls are harmless.
  cnikit_flow_event e{};
  e.size = sizeof(e);
  cb().flow_emit(cb().host_ctx, &e);
  cb().flow_emit(cb().host_ctx, nullptr);
}
