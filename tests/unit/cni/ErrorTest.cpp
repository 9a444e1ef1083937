#include "core/cni/Error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace cnikit::cni;
using nlohmann::json;

// The example in SPEC.md (1.1.0), section "Error".
TEST(Error, RenderMatchesSpecExample) {
  auto golden = json::parse(R"({
    "cniVersion": "1.1.0",
    "code": 7,
    "msg": "Invalid Configuration",
    "details": "Network 192.168.0.0/31 too small to allocate from."
  })");
  CniError e(kInvalidNetworkConfig, "Invalid Configuration", "Network 192.168.0.0/31 too small to allocate from.");
  EXPECT_EQ(json::parse(renderError(e, "1.1.0")), golden);
}

TEST(Error, DetailsOmittedWhenEmpty) {
  auto golden = json::parse(R"({"cniVersion": "0.1.0", "code": 11, "msg": "busy"})");
  EXPECT_EQ(json::parse(renderError(CniError(kTryAgainLater, "busy"), "0.1.0")), golden);
}

TEST(Error, UnknownOrEmptyVersionRendersAsNewest) {
  CniError e(kDecodeFailure, "bad");
  EXPECT_EQ(json::parse(renderError(e, ""))["cniVersion"], "1.1.0");
  EXPECT_EQ(json::parse(renderError(e, "7.0.0"))["cniVersion"], "1.1.0");
  EXPECT_EQ(json::parse(renderError(e, "0.3.1"))["cniVersion"], "0.3.1");
}

TEST(Error, CodesAreTheSpecValues) {
  EXPECT_EQ(kIncompatibleVersion, 1);
  EXPECT_EQ(kUnsupportedField, 2);
  EXPECT_EQ(kUnknownContainer, 3);
  EXPECT_EQ(kInvalidEnvironment, 4);
  EXPECT_EQ(kIoFailure, 5);
  EXPECT_EQ(kDecodeFailure, 6);
  EXPECT_EQ(kInvalidNetworkConfig, 7);
  EXPECT_EQ(kTryAgainLater, 11);
  EXPECT_EQ(kPluginNotAvailable, 50);
  EXPECT_EQ(kLimitedConnectivity, 51);
}

TEST(Error, InvalidUtf8InMessageDoesNotThrow) {
  CniError e(kDecodeFailure, std::string("bad byte \xff here"));
  json j;
  ASSERT_NO_THROW(j = json::parse(renderError(e, "1.0.0")));
  EXPECT_EQ(j["code"], 6);
}
