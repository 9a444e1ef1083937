#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "core/metrics/Metrics.hpp"

using cnikit::metrics::Kind;
using cnikit::metrics::Registry;
using ::testing::HasSubstr;

TEST(Metrics, RegisterIncrementSetAndSerialize) {
  Registry r;
  int32_t adds = r.add("cnikit_pod_adds_total", "Pod ADDs", Kind::Counter);
  int32_t pods = r.add("cnikit_pods", "Pods", Kind::Gauge);
  ASSERT_GE(adds, 0);
  ASSERT_GE(pods, 0);
  EXPECT_EQ(r.add("cnikit_pod_adds_total", "Pod ADDs", Kind::Counter), adds);
  EXPECT_EQ(r.add("cnikit_pod_adds_total", "Pod ADDs", Kind::Gauge), -1);
  EXPECT_EQ(r.add("0starts_with_digit", "x", Kind::Gauge), -1);
  EXPECT_EQ(r.add("ok_name", "x", Kind::Gauge, {{"bad-label", "v"}}), -1);
  r.increment(adds, 2);
  r.increment(adds, -1);  // ignored
  r.set(adds, 100);       // not a gauge: ignored
  r.set(pods, 4);
  r.increment(pods, -1);
  EXPECT_DOUBLE_EQ(r.value(adds), 2);
  EXPECT_DOUBLE_EQ(r.value(pods), 3);
  EXPECT_THROW(r.value(99), std::out_of_range);
  std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("# HELP cnikit_pod_adds_total Pod ADDs"));
  EXPECT_THAT(text, HasSubstr("# TYPE cnikit_pod_adds_total counter"));
  EXPECT_THAT(text, HasSubstr("cnikit_pod_adds_total 2"));
  EXPECT_THAT(text, HasSubstr("cnikit_pods 3"));
}

TEST(Metrics, LabelledSeriesShareAFamily) {
  Registry r;
  int32_t a = r.add("cnikit_peers", "Peers", Kind::Gauge, {{"backend_instance", "a"}});
  int32_t b = r.add("cnikit_peers", "Peers", Kind::Gauge, {{"backend_instance", "b"}});
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(r.add("cnikit_peers", "Peers", Kind::Counter, {{"backend_instance", "c"}}), -1);
  r.set(a, 1);
  r.set(b, 2);
  std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("cnikit_peers{backend_instance=\"a\"} 1"));
  EXPECT_THAT(text, HasSubstr("cnikit_peers{backend_instance=\"b\"} 2"));
}

TEST(Metrics, HistogramsCountIntoTheirBuckets) {
  Registry r;
  int32_t h = r.addHistogram("cnikit_add_seconds", "ADD latency", {{"backend_instance", "a"}}, {0.01, 0.1});
  ASSERT_GE(h, 0);
  EXPECT_EQ(r.addHistogram("cnikit_add_seconds", "ADD latency", {{"backend_instance", "a"}}, {0.01, 0.1}), h);
  r.observe(h, 0.005);
  r.observe(h, 0.05);
  r.observe(h, 0.05);
  r.observe(h, 3);
  r.increment(h, 1);  // not a counter or gauge: ignored
  r.set(h, 1);
  EXPECT_DOUBLE_EQ(r.value(h), 4);  // the sample count
  std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE cnikit_add_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("cnikit_add_seconds_bucket{backend_instance=\"a\",le=\"0.01\"} 1"));
  EXPECT_THAT(text, HasSubstr("cnikit_add_seconds_bucket{backend_instance=\"a\",le=\"0.1\"} 3"));
  EXPECT_THAT(text, HasSubstr("cnikit_add_seconds_bucket{backend_instance=\"a\",le=\"+Inf\"} 4"));
  EXPECT_THAT(text, HasSubstr("cnikit_add_seconds_count{backend_instance=\"a\"} 4"));
  EXPECT_THAT(text, HasSubstr("cnikit_add_seconds_sum{backend_instance=\"a\"} 3.105"));

  int32_t counter = r.add("cnikit_adds_total", "x", Kind::Counter);
  r.observe(counter, 5);  // not a histogram: ignored
  EXPECT_DOUBLE_EQ(r.value(counter), 0);
}

TEST(Metrics, BadHistogramsAreRefused) {
  Registry r;
  EXPECT_EQ(r.addHistogram("h_seconds", "x", {}, {1, 0.5}), -1);
  EXPECT_EQ(r.addHistogram("h_seconds", "x", {}, {1, 1}), -1);
  EXPECT_EQ(r.addHistogram("h_seconds", "x", {}, {1, std::numeric_limits<double>::infinity()}), -1);
  EXPECT_EQ(r.addHistogram("h_seconds", "x", {{"le", "1"}}, {}), -1);
  EXPECT_EQ(r.addHistogram("bad name", "x", {}, {}), -1);
  ASSERT_GE(r.add("taken", "x", Kind::Gauge), 0);
  EXPECT_EQ(r.addHistogram("taken", "x", {}, {}), -1);
  // Default buckets through add() as well.
  int32_t d = r.add("d_seconds", "x", Kind::Histogram);
  ASSERT_GE(d, 0);
  r.observe(d, 7);
  EXPECT_THAT(r.serialize(), HasSubstr("d_seconds_bucket{le=\"10\"} 1"));
}
