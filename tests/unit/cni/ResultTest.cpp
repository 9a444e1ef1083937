#include "core/cni/Result.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/cni/Error.hpp"
#include "core/cni/Version.hpp"

using namespace cnikit::cni;
using nlohmann::json;

namespace {

// A dual-stack pod attachment: bridge, host veth, pod eth0 (MTU 1450 as under VXLAN).
Result dualStack() {
  Result r;
  r.interfaces = {{"cni0", "00:11:22:33:44:55", "", std::nullopt, "", ""},
                  {"veth3243", "55:44:33:22:11:11", "", std::nullopt, "", ""},
                  {"eth0", "99:88:77:66:55:44", "/var/run/netns/blue", 1450, "", ""}};
  r.ips = {{"10.1.0.5/16", "10.1.0.1", 2}, {"fd00:1::5/64", "fd00:1::1", 2}};
  r.routes.push_back({"0.0.0.0/0", ""});
  r.routes.push_back({"::/0", "fd00:1::1"});
  r.dns.nameservers = {"10.1.0.1"};
  r.dns.search = {"default.svc.cluster.local"};
  return r;
}

// Golden texts written from each SPEC.md's result section (ip4/ip6 objects up to 0.2.0;
// interfaces/ips with "version" in 0.3.x/0.4.0; no "version" from 1.0.0; interface "mtu"
// from 1.1.0).
std::string legacyGolden(const std::string& v) {
  return R"({
    "cniVersion": ")" + v + R"(",
    "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1", "routes": [{"dst": "0.0.0.0/0"}]},
    "ip6": {"ip": "fd00:1::5/64", "gateway": "fd00:1::1", "routes": [{"dst": "::/0", "gw": "fd00:1::1"}]},
    "dns": {"nameservers": ["10.1.0.1"], "search": ["default.svc.cluster.local"]}
  })";
}

std::string v04Golden(const std::string& v) {
  return R"({
    "cniVersion": ")" + v + R"(",
    "interfaces": [
      {"name": "cni0", "mac": "00:11:22:33:44:55"},
      {"name": "veth3243", "mac": "55:44:33:22:11:11"},
      {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"}
    ],
    "ips": [
      {"version": "4", "address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2},
      {"version": "6", "address": "fd00:1::5/64", "gateway": "fd00:1::1", "interface": 2}
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}],
    "dns": {"nameservers": ["10.1.0.1"], "search": ["default.svc.cluster.local"]}
  })";
}

const char* kGolden100 = R"({
  "cniVersion": "1.0.0",
  "interfaces": [
    {"name": "cni0", "mac": "00:11:22:33:44:55"},
    {"name": "veth3243", "mac": "55:44:33:22:11:11"},
    {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"}
  ],
  "ips": [
    {"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2},
    {"address": "fd00:1::5/64", "gateway": "fd00:1::1", "interface": 2}
  ],
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}],
  "dns": {"nameservers": ["10.1.0.1"], "search": ["default.svc.cluster.local"]}
})";

const char* kGolden110 = R"({
  "cniVersion": "1.1.0",
  "interfaces": [
    {"name": "cni0", "mac": "00:11:22:33:44:55"},
    {"name": "veth3243", "mac": "55:44:33:22:11:11"},
    {"name": "eth0", "mac": "99:88:77:66:55:44", "mtu": 1450, "sandbox": "/var/run/netns/blue"}
  ],
  "ips": [
    {"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2},
    {"address": "fd00:1::5/64", "gateway": "fd00:1::1", "interface": 2}
  ],
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}],
  "dns": {"nameservers": ["10.1.0.1"], "search": ["default.svc.cluster.local"]}
})";

std::string goldenFor(const std::string& v) {
  if (v == "0.1.0" || v == "0.2.0") return legacyGolden(v);
  if (v == "1.0.0") return kGolden100;
  if (v == "1.1.0") return kGolden110;
  return v04Golden(v);
}

int errorCode(const std::function<void()>& f, std::string* msg = nullptr) {
  try {
    f();
  } catch (const CniError& e) {
    if (msg) *msg = e.msg();
    return e.code();
  }
  return 0;
}

}  // namespace

class ResultPerVersion : public ::testing::TestWithParam<std::string> {};

TEST_P(ResultPerVersion, RendersGolden) {
  EXPECT_EQ(renderResult(dualStack(), GetParam()), json::parse(goldenFor(GetParam())));
}

TEST_P(ResultPerVersion, ParsesGoldenBackToTheSameResult) {
  const auto& v = GetParam();
  auto golden = json::parse(goldenFor(v));
  Result parsed = parseResult(golden, v);
  EXPECT_EQ(renderResult(parsed, v), golden);
  EXPECT_EQ(parsed.ips.size(), 2u);
  EXPECT_EQ(parsed.routes.size(), 2u);
  EXPECT_EQ(parsed.dns.nameservers, std::vector<std::string>{"10.1.0.1"});
  if (compareVersions(v, "0.3.0") >= 0) {
    ASSERT_EQ(parsed.interfaces.size(), 3u);
    EXPECT_EQ(parsed.interfaces[2].sandbox, "/var/run/netns/blue");
    EXPECT_EQ(parsed.ips[1].interfaceIndex, 2);
  } else {
    EXPECT_TRUE(parsed.interfaces.empty());
    EXPECT_EQ(parsed.routes[1].gw, "fd00:1::1");
  }
}

INSTANTIATE_TEST_SUITE_P(Version, ResultPerVersion,
                         ::testing::Values("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
                         [](const auto& info) {
                           std::string n = "v" + info.param;
                           for (auto& c : n) c = c == '.' ? '_' : c;
                           return n;
                         });

// The bridge plugin result in the SPEC.md 1.1.0 appendix ("Add example"), verbatim.
TEST(Result, SpecAppendixBridgeResultRoundTrips) {
  auto spec = json::parse(R"({
    "ips": [
        {
          "address": "10.1.0.5/16",
          "gateway": "10.1.0.1",
          "interface": 2
        }
    ],
    "routes": [
      {
        "dst": "0.0.0.0/0"
      }
    ],
    "interfaces": [
        {
            "name": "cni0",
            "mac": "00:11:22:33:44:55"
        },
        {
            "name": "veth3243",
            "mac": "55:44:33:22:11:11"
        },
        {
            "name": "eth0",
            "mac": "99:88:77:66:55:44",
            "sandbox": "/var/run/netns/blue"
        }
    ],
    "dns": {
      "nameservers": [ "10.1.0.1" ]
    }
  })");
  auto rendered = renderResult(parseResult(spec, "1.1.0"), "1.1.0");
  spec["cniVersion"] = "1.1.0";
  EXPECT_EQ(rendered, spec);
}

// host-local's result in the same appendix: an IPAM result has no interfaces.
TEST(Result, IpamResultWithoutInterfaces) {
  Result r;
  r.ips = {{"10.1.0.5/16", "10.1.0.1", std::nullopt}};
  r.routes.push_back({"0.0.0.0/0", ""});
  r.dns.nameservers = {"10.1.0.1"};
  auto golden = json::parse(R"({
    "cniVersion": "1.0.0",
    "ips": [{"address": "10.1.0.5/16", "gateway": "10.1.0.1"}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {"nameservers": ["10.1.0.1"]}
  })");
  EXPECT_EQ(renderResult(r, "1.0.0"), golden);
}

TEST(Result, EmptyPartsAreOmitted) {
  Result r;
  r.ips = {{"10.1.0.5/24", "", 0}};
  r.interfaces = {{"eth0", "", "/run/netns/x", std::nullopt, "", ""}};
  auto golden = json::parse(R"({
    "cniVersion": "0.4.0",
    "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [{"version": "4", "address": "10.1.0.5/24", "interface": 0}]
  })");
  EXPECT_EQ(renderResult(r, "0.4.0"), golden);
}

TEST(Result, LegacyKeepsFirstAddressPerFamilyAndRoutesByFamily) {
  Result r;
  r.ips = {{"10.0.0.2/24", "10.0.0.1", std::nullopt}, {"10.0.1.2/24", "10.0.1.1", std::nullopt}};
  r.routes.push_back({"0.0.0.0/0", "10.0.0.1"});
  r.routes.push_back({"fd00::/8", ""});  // no ip6: dropped
  auto golden = json::parse(R"({
    "cniVersion": "0.2.0",
    "ip4": {"ip": "10.0.0.2/24", "gateway": "10.0.0.1", "routes": [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}]}
  })");
  EXPECT_EQ(renderResult(r, "0.2.0"), golden);
}

TEST(Result, RouteAttributesOnlyFrom110) {
  Result r;
  r.ips = {{"10.0.0.2/24", "", std::nullopt}};
  Route route{"10.0.0.0/8", "10.0.0.1"};
  route.mtu = 1400;
  route.advmss = 1360;
  route.priority = 10;
  route.table = 100;
  route.scope = 0;
  r.routes.push_back(route);
  EXPECT_EQ(renderResult(r, "1.1.0")["routes"], json::parse(R"([{"dst": "10.0.0.0/8", "gw": "10.0.0.1",
      "mtu": 1400, "advmss": 1360, "priority": 10, "table": 100, "scope": 0}])"));
  EXPECT_EQ(renderResult(r, "1.0.0")["routes"], json::parse(R"([{"dst": "10.0.0.0/8", "gw": "10.0.0.1"}])"));
  // And they survive a parse in 1.1.0 (chained plugins pass prevResult through).
  auto again = parseResult(renderResult(r, "1.1.0"), "1.1.0");
  EXPECT_EQ(again.routes[0].table, 100);
  EXPECT_EQ(again.routes[0].scope, 0);
}

TEST(Result, InterfaceSocketPathAndPciIdFrom110) {
  Result r;
  r.interfaces = {{"vhu0", "", "", 9000, "/var/run/vhost/vhu0.sock", "0000:3b:00.1"}};
  EXPECT_EQ(renderResult(r, "1.1.0")["interfaces"], json::parse(R"([{"name": "vhu0", "mtu": 9000,
      "socketPath": "/var/run/vhost/vhu0.sock", "pciID": "0000:3b:00.1"}])"));
  EXPECT_EQ(renderResult(r, "1.0.0")["interfaces"], json::parse(R"([{"name": "vhu0"}])"));
}

TEST(Result, RenderUnsupportedVersionIsIncompatible) {
  std::string msg;
  EXPECT_EQ(errorCode([] { renderResult(dualStack(), "2.0.0"); }, &msg), kIncompatibleVersion);
  EXPECT_NE(msg.find("2.0.0"), std::string::npos);
}

TEST(Result, ParseErrorsNameTheField) {
  std::string msg;
  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ips": [{"address": "10.0.0.300/24"}]})"), "1.0.0"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("ips[0].address"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10.0.0.300/24"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ips": [{"address": "10.0.0.3"}]})"), "1.0.0"); }, &msg),
            kDecodeFailure);  // CIDR required
  EXPECT_NE(msg.find("ips[0].address"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"interfaces": {"name": "eth0"}})"), "1.0.0"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("interfaces"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ips": [{"address": "10.0.0.3/24", "interface": 1}]})"), "1.0.0"); },
                      &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("ips[0].interface"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ips": [{"version": "6", "address": "10.0.0.3/24"}]})"), "0.4.0"); },
                      &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("ips[0].version"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"routes": [{"dst": "0.0.0.0/0", "gw": 5}]})"), "1.1.0"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("routes[0].gw"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ip4": {"ip": "fd00::2/64"}})"), "0.2.0"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("ip4.ip"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"dns": {"nameservers": "10.0.0.1"}})"), "1.0.0"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("dns.nameservers"), std::string::npos) << msg;

  EXPECT_EQ(errorCode([] { parseResult(json::parse("[1]"), "1.0.0"); }, &msg), kDecodeFailure);
}

TEST(Result, ParsePrefixAppearsInFieldNames) {
  std::string msg;
  EXPECT_EQ(errorCode([] { parseResult(json::parse(R"({"ips": [{"address": 1}]})"), "1.0.0", "prevResult"); }, &msg),
            kDecodeFailure);
  EXPECT_NE(msg.find("prevResult.ips[0].address"), std::string::npos) << msg;
}

TEST(Result, ParseIgnoresUnknownFieldsAndNulls) {
  auto r = parseResult(json::parse(R"({"cniVersion": "1.0.0", "future": {"x": 1},
      "ips": [{"address": "10.0.0.3/24", "gateway": null}], "dns": null})"), "1.0.0");
  ASSERT_EQ(r.ips.size(), 1u);
  EXPECT_EQ(r.ips[0].gateway, "");
}

TEST(Result, Legacy020ParsesRoutesIntoTheFlatList) {
  auto r = parseResult(json::parse(R"({"cniVersion": "0.2.0",
      "ip4": {"ip": "10.0.0.2/24", "gateway": "10.0.0.1", "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.96.0.0/12", "gw": "10.0.0.254"}]},
      "dns": {"domain": "cluster.local"}})"), "0.2.0");
  ASSERT_EQ(r.ips.size(), 1u);
  EXPECT_TRUE(r.ips[0].isV4());
  ASSERT_EQ(r.routes.size(), 2u);
  EXPECT_EQ(r.routes[1].dst, "10.96.0.0/12");
  EXPECT_EQ(r.routes[1].gw, "10.0.0.254");
  EXPECT_EQ(r.dns.domain, "cluster.local");
  // Carried forward into a list version: ips gain "version", routes move to the top level.
  EXPECT_EQ(renderResult(r, "0.3.1"), json::parse(R"({"cniVersion": "0.3.1",
      "ips": [{"version": "4", "address": "10.0.0.2/24", "gateway": "10.0.0.1"}],
      "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.96.0.0/12", "gw": "10.0.0.254"}],
      "dns": {"domain": "cluster.local"}})"));
}
