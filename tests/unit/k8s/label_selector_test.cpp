// metav1.LabelSelector matching as apimachinery defines it.
#include <gtest/gtest.h>

#include "core/k8s/LabelSelector.hpp"

namespace cnikit::k8s {
namespace {

LabelSelector parse(const char* text) { return selectorFromJson(nlohmann::json::parse(text)); }

TEST(LabelSelector, EmptySelectsEverything) {
  LabelSelector s;
  EXPECT_TRUE(s.matches({}));
  EXPECT_TRUE(s.matches({{"pod", "a"}}));
  EXPECT_EQ(s.str(), "<all>");
}

TEST(LabelSelector, MatchLabelsNeedEveryPair) {
  auto s = parse(R"({"matchLabels": {"pod": "a", "tier": "web"}})");
  EXPECT_TRUE(s.matches({{"pod", "a"}, {"tier", "web"}, {"extra", "x"}}));
  EXPECT_FALSE(s.matches({{"pod", "a"}}));
  EXPECT_FALSE(s.matches({{"pod", "b"}, {"tier", "web"}}));
}

TEST(LabelSelector, InMatchesListedValuesOnly) {
  auto s = parse(R"({"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]})");
  EXPECT_TRUE(s.matches({{"pod", "b"}}));
  EXPECT_TRUE(s.matches({{"pod", "c"}}));
  EXPECT_FALSE(s.matches({{"pod", "a"}}));
  EXPECT_FALSE(s.matches({}));
}

TEST(LabelSelector, NotInMatchesMissingKey) {
  auto s = parse(R"({"matchExpressions": [{"key": "ns", "operator": "NotIn", "values": ["x"]}]})");
  EXPECT_FALSE(s.matches({{"ns", "x"}}));
  EXPECT_TRUE(s.matches({{"ns", "y"}}));
  EXPECT_TRUE(s.matches({}));  // apimachinery: a missing key satisfies NotIn
}

TEST(LabelSelector, ExistsAndDoesNotExistLookAtTheKeyOnly) {
  auto exists = parse(R"({"matchExpressions": [{"key": "team", "operator": "Exists"}]})");
  auto absent = parse(R"({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]})");
  EXPECT_TRUE(exists.matches({{"team", ""}}));
  EXPECT_FALSE(exists.matches({{"other", "x"}}));
  EXPECT_FALSE(absent.matches({{"team", "a"}}));
  EXPECT_TRUE(absent.matches({{"other", "x"}}));
}

TEST(LabelSelector, LabelsAndExpressionsAreAnded) {
  auto s = parse(R"({"matchLabels": {"app": "db"},
                     "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]})");
  EXPECT_TRUE(s.matches({{"app", "db"}, {"env", "dev"}}));
  EXPECT_FALSE(s.matches({{"app", "db"}, {"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"app", "web"}, {"env", "dev"}}));
}

TEST(LabelSelector, RoundTripsAndPrintsLikeKubectl) {
  auto s = parse(R"({"matchLabels": {"pod": "a"},
                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]},
                                          {"key": "legacy", "operator": "DoesNotExist"}]})");
  EXPECT_EQ(selectorFromJson(selectorToJson(s)), s);
  EXPECT_EQ(s.str(), "pod=a,!legacy,tier in (db,web)");
}

}  // namespace
}  // namespace cnikit::k8s
