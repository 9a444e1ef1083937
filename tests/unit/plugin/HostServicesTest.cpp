// HostServices' callbacks as a backend sees them (through the C table): store scoping,
// revisions, create and CAS, failures, metrics and series, conditions, secrets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

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
  EXPECT_TRUE(cb().store_get_revision && cb().store_create && cb().store_cas && cb().store_watch &&
              cb().store_unwatch && cb().metric_register_series && cb().metric_observe && cb().report_condition &&
              cb().helper_spawn && cb().helper_stop && cb().secret_get);
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

TEST_F(Host, FlowEventsAreDropped) {
  cnikit_flow_event e{};
  e.size = sizeof(e);
  cb().flow_emit(cb().host_ctx, &e);  // reserved: accepted and dropped
  cb().flow_emit(cb().host_ctx, nullptr);
}

// ---- revisions, create, compare-and-swap ----

namespace {

struct Read {
  cnikit_status status;
  std::string value;
  int64_t revision = 0;
};

Read getRevision(const cnikit_host_callbacks& cb, const char* key) {
  const char* v = nullptr;
  size_t len = 0;
  Read r;
  r.status = cb.store_get_revision(cb.host_ctx, key, &v, &len, &r.revision);
  if (r.status == CNIKIT_OK) r.value.assign(v, len);
  return r;
}

}  // namespace

TEST_F(Host, GetRevisionIsTheKeysModRevision) {
  put("a", "1");
  put("b", "2");
  put("a", "3");
  Read r = getRevision(cb(), "a");
  ASSERT_EQ(r.status, CNIKIT_OK);
  EXPECT_EQ(r.value, "3");
  EXPECT_EQ(r.revision, store_.get("/cnikit/v1/backends/blue/a")->modRevision);
  EXPECT_EQ(r.revision, 3);
  EXPECT_EQ(getRevision(cb(), "none").status, CNIKIT_ERR_NOT_FOUND);
  EXPECT_EQ(getRevision(cb(), "../green/x").status, CNIKIT_ERR_INVALID_ARGUMENT);
}

TEST_F(Host, CreateWritesOnlyAnAbsentKey) {
  int64_t rev = -1;
  ASSERT_EQ(cb().store_create(cb().host_ctx, "lease/n1", "10.0.1.0/24", 11, &rev), CNIKIT_OK);
  EXPECT_EQ(rev, store_.get("/cnikit/v1/backends/blue/lease/n1")->modRevision);
  int64_t again = -1;
  EXPECT_EQ(cb().store_create(cb().host_ctx, "lease/n1", "10.0.2.0/24", 11, &again), CNIKIT_ERR_EXISTS);
  EXPECT_EQ(again, -1);
  EXPECT_EQ(store_.get("/cnikit/v1/backends/blue/lease/n1")->value, "10.0.1.0/24");
  EXPECT_EQ(cb().store_create(cb().host_ctx, "other", "x", 1, nullptr), CNIKIT_OK);  // revision may be NULL
  EXPECT_EQ(cb().store_create(cb().host_ctx, "/abs", "x", 1, nullptr), CNIKIT_ERR_INVALID_ARGUMENT);
  store_.setUnavailable(true);
  EXPECT_EQ(cb().store_create(cb().host_ctx, "k", "x", 1, nullptr), CNIKIT_ERR_TRY_AGAIN);
}

TEST_F(Host, CompareAndSwapConflictsWhenTheRevisionMoved) {
  int64_t created = 0;
  ASSERT_EQ(cb().store_cas(cb().host_ctx, "block", 0, "owner=n1", 8, &created), CNIKIT_OK);  // 0: must be absent
  EXPECT_EQ(cb().store_cas(cb().host_ctx, "block", 0, "owner=n2", 8, nullptr), CNIKIT_ERR_CONFLICT);

  int64_t next = 0;
  ASSERT_EQ(cb().store_cas(cb().host_ctx, "block", created, "owner=n3", 8, &next), CNIKIT_OK);
  EXPECT_GT(next, created);
  EXPECT_EQ(next, store_.get("/cnikit/v1/backends/blue/block")->modRevision);

  // Another writer moves the key on: a CAS against the old revision loses, nothing written.
  store_.put("/cnikit/v1/backends/blue/block", "owner=n4");
  EXPECT_EQ(cb().store_cas(cb().host_ctx, "block", next, "owner=n5", 8, nullptr), CNIKIT_ERR_CONFLICT);
  Read now = getRevision(cb(), "block");
  EXPECT_EQ(now.value, "owner=n4");
  EXPECT_EQ(cb().store_cas(cb().host_ctx, "block", now.revision, "owner=n5", 8, nullptr), CNIKIT_OK);
  EXPECT_EQ(getRevision(cb(), "block").value, "owner=n5");

  EXPECT_EQ(cb().store_cas(cb().host_ctx, "block", -1, "x", 1, nullptr), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_cas(cb().host_ctx, "../x", 0, "x", 1, nullptr), CNIKIT_ERR_INVALID_ARGUMENT);
}

TEST_F(Host, ReturnedValuesLiveUntilTheSameThreadsNextCall) {
  put("a", "value-a");
  put("b", "value-b");
  const char* va = nullptr;
  size_t la = 0;
  ASSERT_EQ(cb().store_get(cb().host_ctx, "a", &va, &la), CNIKIT_OK);
  // Another thread's calls do not touch this thread's buffer.
  std::thread other([&] {
    for (int i = 0; i < 100; ++i) {
      const char* vb = nullptr;
      size_t lb = 0;
      ASSERT_EQ(cb().store_get(cb().host_ctx, "b", &vb, &lb), CNIKIT_OK);
      ASSERT_EQ(std::string(vb, lb), "value-b");
    }
  });
  other.join();
  EXPECT_EQ(std::string(va, la), "value-a");
  // This thread's next call replaces it.
  const char* vb = nullptr;
  size_t lb = 0;
  ASSERT_EQ(cb().store_get(cb().host_ctx, "b", &vb, &lb), CNIKIT_OK);
  EXPECT_EQ(std::string(vb, lb), "value-b");
}

// ---- labelled series and histograms ----

namespace {

// A cnikit_metric_spec with the arrays it points to (built at the call, so it never dangles).
struct Series {
  const char* name;
  cnikit_metric_kind kind;
  std::vector<const char*> names, values;
  std::vector<double> buckets;
  cnikit_metric_spec spec{};
  const cnikit_metric_spec* get() {
    spec = {};
    spec.size = sizeof(spec);
    spec.name = name;
    spec.help = "help text";
    spec.kind = kind;
    spec.label_names = names.data();
    spec.label_values = values.data();
    spec.n_labels = names.size();
    spec.buckets = buckets.empty() ? nullptr : buckets.data();
    spec.n_buckets = buckets.size();
    return &spec;
  }
};

Series seriesSpec(const char* name, cnikit_metric_kind kind, std::vector<const char*> names,
                  std::vector<const char*> values, std::vector<double> buckets = {}) {
  return Series{name, kind, std::move(names), std::move(values), std::move(buckets)};
}

}  // namespace

TEST_F(Host, LabelledSeriesCarryTheInstance) {
  std::vector<const char*> names{"peer"}, a{"10.0.0.2"}, b{"10.0.0.3"};
  auto specA = seriesSpec("cnikit_bgp_updates_total", CNIKIT_METRIC_COUNTER, names, a);
  auto specB = seriesSpec("cnikit_bgp_updates_total", CNIKIT_METRIC_COUNTER, names, b);
  int32_t ia = cb().metric_register_series(cb().host_ctx, specA.get());
  int32_t ib = cb().metric_register_series(cb().host_ctx, specB.get());
  ASSERT_GE(ia, 0);
  ASSERT_GE(ib, 0);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(cb().metric_register_series(cb().host_ctx, specA.get()), ia);  // the same series again
  cb().metric_add(cb().host_ctx, ia, 3);
  cb().metric_add(cb().host_ctx, ib, 1);
  auto gauge = seriesSpec("cnikit_bgp_sessions", CNIKIT_METRIC_GAUGE, {}, {});
  int32_t ig = cb().metric_register_series(cb().host_ctx, gauge.get());
  ASSERT_GE(ig, 0);
  cb().metric_set(cb().host_ctx, ig, 2);
  cb().metric_observe(cb().host_ctx, ig, 100);  // not a histogram: ignored
  std::string text = metrics_.serialize();
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_bgp_updates_total{backend_instance=\"blue\",peer=\"10.0.0.2\"} 3"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_bgp_updates_total{backend_instance=\"blue\",peer=\"10.0.0.3\"} 1"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_bgp_sessions{backend_instance=\"blue\"} 2"));
}

TEST_F(Host, HistogramSeriesExposeBuckets) {
  std::vector<const char*> names{"peer"}, values{"n2"};
  auto spec = seriesSpec("cnikit_rtt_seconds", CNIKIT_METRIC_HISTOGRAM, names, values, {0.1, 1});
  int32_t id = cb().metric_register_series(cb().host_ctx, spec.get());
  ASSERT_GE(id, 0);
  cb().metric_observe(cb().host_ctx, id, 0.05);
  cb().metric_observe(cb().host_ctx, id, 0.5);
  cb().metric_observe(cb().host_ctx, id, 5);
  cb().metric_add(cb().host_ctx, id, 7);  // not a counter or gauge: ignored
  std::string text = metrics_.serialize();
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE cnikit_rtt_seconds histogram"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_rtt_seconds_bucket{backend_instance=\"blue\",peer=\"n2\",le=\"0.1\"} 1"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_rtt_seconds_bucket{backend_instance=\"blue\",peer=\"n2\",le=\"1\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_rtt_seconds_bucket{backend_instance=\"blue\",peer=\"n2\",le=\"+Inf\"} 3"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_rtt_seconds_count{backend_instance=\"blue\",peer=\"n2\"} 3"));
  EXPECT_THAT(text, ::testing::HasSubstr("cnikit_rtt_seconds_sum{backend_instance=\"blue\",peer=\"n2\"} 5.55"));

  // Without buckets: the default ones.
  auto defaults = seriesSpec("cnikit_wait_seconds", CNIKIT_METRIC_HISTOGRAM, {}, {});
  int32_t d = cb().metric_register_series(cb().host_ctx, defaults.get());
  ASSERT_GE(d, 0);
  cb().metric_observe(cb().host_ctx, d, 0.003);
  EXPECT_THAT(metrics_.serialize(),
              ::testing::HasSubstr("cnikit_wait_seconds_bucket{backend_instance=\"blue\",le=\"0.005\"} 1"));
}

TEST_F(Host, BadSeriesAreRefused) {
  auto reg = [&](Series s) { return cb().metric_register_series(cb().host_ctx, s.get()); };
  std::vector<const char*> bad{"bad-label"}, mine{"backend_instance"}, twice{"peer", "peer"}, le{"le"}, v{"x"},
      v2{"x", "y"};
  EXPECT_EQ(reg(seriesSpec("bad name", CNIKIT_METRIC_COUNTER, {}, {})), -1);
  EXPECT_EQ(reg(seriesSpec("ok_total", CNIKIT_METRIC_COUNTER, bad, v)), -1);
  EXPECT_EQ(reg(seriesSpec("ok_total", CNIKIT_METRIC_COUNTER, mine, v)), -1);
  EXPECT_EQ(reg(seriesSpec("ok_total", CNIKIT_METRIC_COUNTER, twice, v2)), -1);
  EXPECT_EQ(reg(seriesSpec("ok_seconds", CNIKIT_METRIC_HISTOGRAM, le, v)), -1);
  EXPECT_EQ(reg(seriesSpec("ok_seconds", CNIKIT_METRIC_HISTOGRAM, {}, {}, {1, 0.5})), -1);  // not ascending
  EXPECT_EQ(reg(seriesSpec("ok_seconds", CNIKIT_METRIC_HISTOGRAM, {}, {}, {1, 1})), -1);
  EXPECT_EQ(reg(seriesSpec("ok_total", CNIKIT_METRIC_COUNTER, {}, {}, {1, 2})), -1);        // buckets on a counter
  EXPECT_EQ(reg(seriesSpec("ok_total", static_cast<cnikit_metric_kind>(7), {}, {})), -1);
  cnikit_metric_spec nulls = *seriesSpec("ok_total", CNIKIT_METRIC_COUNTER, {}, {}).get();
  nulls.n_labels = 2;  // but no arrays
  nulls.label_names = nullptr;
  nulls.label_values = nullptr;
  EXPECT_EQ(cb().metric_register_series(cb().host_ctx, &nulls), -1);
  cnikit_metric_spec small = nulls;
  small.n_labels = 0;
  small.size = sizeof(small) - 8;
  EXPECT_EQ(cb().metric_register_series(cb().host_ctx, &small), -1);
  EXPECT_EQ(cb().metric_register_series(cb().host_ctx, nullptr), -1);
  // A kind clash with an existing family.
  ASSERT_GE(reg(seriesSpec("clash_total", CNIKIT_METRIC_COUNTER, {}, {})), 0);
  EXPECT_EQ(reg(seriesSpec("clash_total", CNIKIT_METRIC_HISTOGRAM, {}, {})), -1);
  EXPECT_EQ(cb().metric_register(cb().host_ctx, "h_seconds", "x", CNIKIT_METRIC_HISTOGRAM), -1);  // needs a series
  EXPECT_THAT(metrics_.serialize(), ::testing::Not(::testing::HasSubstr("ok_")));
}

// ---- conditions ----

TEST_F(Host, ConditionTransitionTimeMovesOnlyWhenStatusFlips) {
  EXPECT_EQ(host_.conditions(), nlohmann::json::array());
  cb().report_condition(cb().host_ctx, "BGPSessionsEstablished", 1, "3/3 peers");
  cb().report_condition(cb().host_ctx, "Ready", 0, "bird not started");
  auto first = host_.conditions();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]["type"], "BGPSessionsEstablished");
  EXPECT_EQ(first[0]["status"], "True");
  EXPECT_EQ(first[0]["message"], "3/3 peers");
  std::string t0 = first[0]["lastTransitionTime"];
  EXPECT_EQ(t0.size(), 20u);  // 2026-12-07T20:30:00Z
  EXPECT_EQ(t0.back(), 'Z');

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  cb().report_condition(cb().host_ctx, "BGPSessionsEstablished", 1, "2/3 peers");  // same status
  auto same = host_.conditions();
  EXPECT_EQ(same[0]["message"], "2/3 peers");
  EXPECT_EQ(same[0]["lastTransitionTime"], t0);

  cb().report_condition(cb().host_ctx, "BGPSessionsEstablished", 0, "0/3 peers");  // flips
  auto flipped = host_.conditions();
  EXPECT_EQ(flipped[0]["status"], "False");
  EXPECT_EQ(flipped[0]["message"], "0/3 peers");
  EXPECT_GT(flipped[0]["lastTransitionTime"].get<std::string>(), t0);

  cb().report_condition(cb().host_ctx, "bad type", 1, "x");
  cb().report_condition(cb().host_ctx, nullptr, 1, "x");
  cb().report_condition(cb().host_ctx, "NoMessage", 1, nullptr);
  auto all = host_.conditions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1]["type"], "NoMessage");
  EXPECT_EQ(all[1]["message"], "");
}

// ---- secrets ----

namespace {

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "secret ownership checks need root";
    char tmpl[] = "/tmp/cnikit-secrets-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_ = std::make_unique<HostServices>("blue", nullptr, nullptr, HostPaths{"", dir_});
  }
  void TearDown() override {
    host_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void write(const std::string& name, const std::string& content, mode_t mode) {
    auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  cnikit_status secret(const char* name, std::string& out) {
    const auto& cb = *host_->callbacks();
    const char* v = nullptr;
    size_t len = 0;
    cnikit_status st = cb.secret_get(cb.host_ctx, name, &v, &len);
    if (st == CNIKIT_OK) out.assign(v, len);
    return st;
  }

  std::filesystem::path dir_;
  std::unique_ptr<HostServices> host_;
};

}  // namespace

TEST_F(Secrets, ReadsARootOwnedPrivateFile) {
  std::string key("k\0ey\n", 5);
  write("bgp-password", key, 0600);
  std::string out;
  ASSERT_EQ(secret("bgp-password", out), CNIKIT_OK);
  EXPECT_EQ(out, key);
  write("ro", "read-only", 0400);
  ASSERT_EQ(secret("ro", out), CNIKIT_OK);
  EXPECT_EQ(out, "read-only");
  EXPECT_EQ(secret("absent", out), CNIKIT_ERR_NOT_FOUND);
}

TEST_F(Secrets, RefusesFilesOthersCanReadOrOwn) {
  std::string out = "unchanged";
  write("group", "g", 0640);
  EXPECT_EQ(secret("group", out), CNIKIT_ERR_SYSTEM);
  write("world", "w", 0604);
  EXPECT_EQ(secret("world", out), CNIKIT_ERR_SYSTEM);
  write("nobody", "n", 0600);
  ASSERT_EQ(::chown((dir_ / "nobody").c_str(), 65534, 65534), 0);
  EXPECT_EQ(secret("nobody", out), CNIKIT_ERR_SYSTEM);
  write("target", "t", 0600);
  std::filesystem::create_symlink(dir_ / "target", dir_ / "link");
  EXPECT_EQ(secret("link", out), CNIKIT_ERR_SYSTEM);  // a symlink could point anywhere
  std::filesystem::create_directory(dir_ / "adir");
  ::chmod((dir_ / "adir").c_str(), 0700);
  EXPECT_EQ(secret("adir", out), CNIKIT_ERR_SYSTEM);
  EXPECT_EQ(out, "unchanged");
}

TEST_F(Secrets, NamesMustBeOnePathSegment) {
  write("ok", "x", 0600);
  std::string out;
  EXPECT_EQ(secret("../ok", out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(secret("sub/ok", out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(secret("..", out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(secret("", out), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(secret(nullptr, out), CNIKIT_ERR_INVALID_ARGUMENT);
}

TEST(HostWithoutPaths, SecretsAndHelpersAreUnsupported) {
  HostServices host("solo", nullptr, nullptr);
  const auto& cb = *host.callbacks();
  const char* v = nullptr;
  size_t len = 0;
  EXPECT_EQ(cb.secret_get(cb.host_ctx, "x", &v, &len), CNIKIT_ERR_UNSUPPORTED);
  const char* argv[] = {"/bin/true", nullptr};
  cnikit_helper_spec spec{};
  spec.size = sizeof(spec);
  spec.name = "t";
  spec.argv = argv;
  EXPECT_EQ(cb.helper_spawn(cb.host_ctx, &spec, nullptr), CNIKIT_ERR_UNSUPPORTED);
  EXPECT_EQ(cb.helper_stop(cb.host_ctx, "t"), CNIKIT_ERR_UNSUPPORTED);
  uint64_t id = 0;
  EXPECT_EQ(cb.store_watch(cb.host_ctx, "", 0, [](void*, const cnikit_store_event*) {}, nullptr, &id),
            CNIKIT_ERR_UNSUPPORTED);
}
