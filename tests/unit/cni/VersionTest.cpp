#include "core/cni/Version.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

using namespace cnikit::cni;
using nlohmann::json;

TEST(Version, SupportsEverySpecReleaseOldestFirst) {
  std::vector<std::string> expected{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  EXPECT_EQ(supportedVersions(), expected);
  EXPECT_EQ(std::string(kNewestVersion), "1.1.0");
  EXPECT_TRUE(isSupported("0.3.1"));
  EXPECT_FALSE(isSupported("0.3.2"));
  EXPECT_FALSE(isSupported("1.2.0"));
  EXPECT_FALSE(isSupported(""));
}

TEST(Version, CompareIsNumericPerComponent) {
  EXPECT_EQ(compareVersions("0.3.1", "0.3.0"), 1);
  EXPECT_EQ(compareVersions("0.4.0", "1.0.0"), -1);
  EXPECT_EQ(compareVersions("1.1.0", "1.1.0"), 0);
  EXPECT_EQ(compareVersions("0.10.0", "0.9.0"), 1);  // not a string compare
  EXPECT_THROW(compareVersions("1.0", "1.0.0"), std::invalid_argument);
  EXPECT_THROW(compareVersions("1.0.0", "v1.0.0"), std::invalid_argument);
  EXPECT_THROW(compareVersions("1.0.0-rc1", "1.0.0"), std::invalid_argument);
  EXPECT_THROW(compareVersions("", "1.0.0"), std::invalid_argument);
}

TEST(Version, HighestSupportedSkipsUnknownVersions) {
  EXPECT_EQ(highestSupported({"0.3.1", "1.0.0", "0.4.0"}), "1.0.0");
  EXPECT_EQ(highestSupported({"0.3.1", "2.0.0", "garbage"}), "0.3.1");
  EXPECT_EQ(highestSupported({"2.0.0"}), std::nullopt);
  EXPECT_EQ(highestSupported({}), std::nullopt);
}

// The example in SPEC.md (1.1.0), section "Version".
TEST(Version, RenderVersionInfoMatchesSpecExample) {
  auto golden = json::parse(R"({
    "cniVersion": "1.1.0",
    "supportedVersions": [ "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" ]
  })");
  EXPECT_EQ(json::parse(renderVersionInfo("1.1.0")), golden);
}

TEST(Version, RenderVersionInfoEchoesInputVersion) {
  EXPECT_EQ(json::parse(renderVersionInfo("0.3.1"))["cniVersion"], "0.3.1");
  // Unknown versions are echoed too: the runtime decides with supportedVersions.
  EXPECT_EQ(json::parse(renderVersionInfo("9.9.9"))["cniVersion"], "9.9.9");
  EXPECT_EQ(json::parse(renderVersionInfo(""))["cniVersion"], "1.1.0");
}
