#include "core/cni/Request.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>

#include "core/cni/Error.hpp"

using namespace cnikit::cni;
using nlohmann::json;
using Env = std::map<std::string, std::string>;

namespace {

Env addEnv(const std::string& args = "") {
  Env env{{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "0123abcd"},
          {"CNI_NETNS", "/var/run/netns/pod1"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin"}};
  if (!args.empty()) env["CNI_ARGS"] = args;
  return env;
}

std::string conf(const std::string& version, const std::string& extra = "") {
  return R"({"cniVersion": ")" + version + R"(", "name": "podnet", "type": "cnikit")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

struct Failure {
  int code = 0;
  std::string msg;
};

Failure failure(const Env& env, const std::string& stdinText) {
  try {
    parseRequest(env, stdinText);
  } catch (const CniError& e) {
    return {e.code(), e.msg()};
  }
  return {};
}

#define EXPECT_FAILS(env, stdinText, expectedCode, ...)                                 \
  do {                                                                                   \
    Failure f_ = failure(env, stdinText);                                                \
    EXPECT_EQ(f_.code, expectedCode) << f_.msg;                                          \
    for (const char* part_ : {__VA_ARGS__}) {                                            \
      EXPECT_NE(f_.msg.find(part_), std::string::npos) << "\"" << f_.msg << "\" lacks " << part_; \
    }                                                                                    \
  } while (0)

}  // namespace

TEST(Request, ParsesAnAdd) {
  auto req = parseRequest(addEnv("IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-1;"
                                 "K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=u-1"),
                          conf("1.0.0", R"("mtu": 1450, "pool": "blue", "agentSocket": "/tmp/a.sock", "vendor": {"x": 1})"));
  EXPECT_EQ(req.command, Command::Add);
  EXPECT_EQ(req.containerId, "0123abcd");
  EXPECT_EQ(req.netns, "/var/run/netns/pod1");
  EXPECT_EQ(req.ifname, "eth0");
  EXPECT_EQ(req.path, "/opt/cni/bin");
  EXPECT_EQ(req.conf.cniVersion, "1.0.0");
  EXPECT_EQ(req.conf.name, "podnet");
  EXPECT_EQ(req.conf.type, "cnikit");
  EXPECT_EQ(req.conf.mtu, 1450);
  EXPECT_EQ(req.conf.pool, "blue");
  EXPECT_EQ(req.conf.agentSocket, "/tmp/a.sock");
  EXPECT_EQ(req.conf.raw["vendor"]["x"], 1);  // unknown fields kept in raw, not refused
  EXPECT_EQ(req.podNamespace, "web");
  EXPECT_EQ(req.podName, "front-1");
  EXPECT_EQ(req.args.at("K8S_POD_UID"), "u-1");
  EXPECT_FALSE(req.conf.prevResult.has_value());
  EXPECT_TRUE(req.requestedIps.empty());
}

TEST(Request, DefaultsWhenOptionalFieldsAreAbsent) {
  auto req = parseRequest(addEnv(), conf("1.1.0"));
  EXPECT_EQ(req.conf.agentSocket, kDefaultAgentSocket);
  EXPECT_FALSE(req.conf.mtu.has_value());
  EXPECT_EQ(req.conf.pool, "");
}

// --- commands and environment ----------------------------------------------------------

TEST(Request, CommandNamesRoundTrip) {
  for (auto c : {Command::Add, Command::Del, Command::Check, Command::Status, Command::Gc, Command::Version}) {
    EXPECT_EQ(parseCommand(commandName(c)), c);
  }
}

TEST(Request, MissingCommandIsInvalidEnvironment) {
  Env env = addEnv();
  env.erase("CNI_COMMAND");
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_COMMAND");
}

TEST(Request, UnknownCommandIsInvalidEnvironment) {
  Env env = addEnv();
  env["CNI_COMMAND"] = "add";  // case matters
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_COMMAND", "\"add\"");
}

TEST(Request, AddNeedsContainerIdNetnsIfname) {
  for (const char* var : {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}) {
    Env env = addEnv();
    env.erase(var);
    EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, var);
  }
  Env empty = addEnv();
  empty["CNI_NETNS"] = "";  // set but empty counts as missing
  EXPECT_FAILS(empty, conf("1.0.0"), kInvalidEnvironment, "CNI_NETNS");
}

TEST(Request, MissingVariablesAreAllNamed) {
  Env env{{"CNI_COMMAND", "CHECK"}};
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CHECK");
}

TEST(Request, DelAllowsEmptyNetnsButNeedsIfname) {
  Env env = addEnv();
  env["CNI_COMMAND"] = "DEL";
  env.erase("CNI_NETNS");
  auto req = parseRequest(env, conf("0.3.1"));
  EXPECT_EQ(req.command, Command::Del);
  EXPECT_EQ(req.netns, "");
  env.erase("CNI_IFNAME");
  EXPECT_FAILS(env, conf("0.3.1"), kInvalidEnvironment, "CNI_IFNAME");
}

TEST(Request, StatusAndGcNeedNoContainerVariables) {
  EXPECT_EQ(parseRequest({{"CNI_COMMAND", "STATUS"}}, conf("1.1.0")).command, Command::Status);
  EXPECT_EQ(parseRequest({{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}}, conf("1.1.0")).command, Command::Gc);
}

TEST(Request, BadContainerIdIsInvalidEnvironment) {
  Env env = addEnv();
  env["CNI_CONTAINERID"] = "-bad/id";
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_CONTAINERID", "-bad/id");
}

TEST(Request, BadIfnameIsInvalidEnvironment) {
  Env env = addEnv();
  env["CNI_IFNAME"] = "averyveryverylongname";
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_IFNAME", "averyveryverylongname");
  env["CNI_IFNAME"] = "eth/0";
  EXPECT_FAILS(env, conf("1.0.0"), kInvalidEnvironment, "CNI_IFNAME", "eth/0");
}

// --- CNI_ARGS ------------------------------------------------------------------------------

TEST(Request, UnknownArgsKeyIsRefused) {
  EXPECT_FAILS(addEnv("K8S_POD_NAME=a;FOO=bar"), conf("1.0.0"), kInvalidEnvironment, "FOO", "IgnoreUnknown");
}

TEST(Request, IgnoreUnknownAllowsUnknownKeys) {
  for (const char* v : {"1", "true", "True"}) {
    auto req = parseRequest(addEnv(std::string("IgnoreUnknown=") + v + ";FOO=bar"), conf("1.0.0"));
    EXPECT_EQ(req.args.at("FOO"), "bar");
  }
  EXPECT_FAILS(addEnv("IgnoreUnknown=0;FOO=bar"), conf("1.0.0"), kInvalidEnvironment, "FOO");
}

TEST(Request, IgnoreUnknownMustBeABoolean) {
  EXPECT_FAILS(addEnv("IgnoreUnknown=maybe"), conf("1.0.0"), kInvalidEnvironment, "IgnoreUnknown", "maybe");
}

TEST(Request, ArgsPairWithoutEqualsIsRefused) {
  EXPECT_FAILS(addEnv("K8S_POD_NAME=a;broken"), conf("1.0.0"), kInvalidEnvironment, "CNI_ARGS", "broken");
}

TEST(Request, ArgsTrailingSemicolonAndValueWithEquals) {
  auto req = parseRequest(addEnv("IgnoreUnknown=1;K8S_POD_NAME=a;X=b=c;"), conf("1.0.0"));
  EXPECT_EQ(req.podName, "a");
  EXPECT_EQ(req.args.at("X"), "b=c");
}

TEST(Request, ArgsIpTakesSeveralAddressesOfBothFamilies) {
  auto req = parseRequest(addEnv("IP=10.244.1.7,fd00:10::7, 10.244.2.0/24"), conf("1.0.0"));
  EXPECT_EQ(req.requestedIps, (std::vector<std::string>{"10.244.1.7", "fd00:10::7", "10.244.2.0/24"}));
}

TEST(Request, ArgsBadIpIsInvalidEnvironmentNamingIt) {
  EXPECT_FAILS(addEnv("IP=10.244.1.7,10.244.1.300"), conf("1.0.0"), kInvalidEnvironment, "10.244.1.300", "IP");
  EXPECT_FAILS(addEnv("IP=10.244.1.7,"), conf("1.0.0"), kInvalidEnvironment, "IP");
  EXPECT_FAILS(addEnv("IP=10.0.0.1/33"), conf("1.0.0"), kInvalidEnvironment, "10.0.0.1/33");
}

TEST(Request, ArgsBadMacIsInvalidEnvironment) {
  EXPECT_FAILS(addEnv("MAC=00:11:22:33:44"), conf("1.0.0"), kInvalidEnvironment, "MAC", "00:11:22:33:44");
  EXPECT_EQ(parseRequest(addEnv("MAC=0a:58:0a:f4:01:07"), conf("1.0.0")).requestedMac, "0a:58:0a:f4:01:07");
}

// --- runtimeConfig -------------------------------------------------------------------------

TEST(Request, RuntimeConfigWinsOverCniArgs) {
  auto req = parseRequest(addEnv("IP=10.244.1.7;MAC=0a:58:0a:f4:01:07"),
                          conf("1.0.0", R"("runtimeConfig": {"ips": ["10.244.1.9/24", "fd00::9/64"],
                                                             "mac": "0a:58:0a:f4:01:09"})"));
  EXPECT_EQ(req.requestedIps, (std::vector<std::string>{"10.244.1.9/24", "fd00::9/64"}));
  EXPECT_EQ(req.requestedMac, "0a:58:0a:f4:01:09");
  EXPECT_EQ(req.conf.runtimeIps, req.requestedIps);
}

TEST(Request, CniArgsUsedWhenRuntimeConfigIsSilent) {
  auto req = parseRequest(addEnv("IP=10.244.1.7;MAC=0a:58:0a:f4:01:07"),
                          conf("1.0.0", R"("runtimeConfig": {"portMappings": []})"));
  EXPECT_EQ(req.requestedIps, std::vector<std::string>{"10.244.1.7"});
  EXPECT_EQ(req.requestedMac, "0a:58:0a:f4:01:07");
}

TEST(Request, RuntimeConfigIpsMustBeAnArrayOfStrings) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("runtimeConfig": {"ips": "10.0.0.1"})"), kInvalidNetworkConfig,
               "runtimeConfig.ips");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("runtimeConfig": {"ips": [17]})"), kInvalidNetworkConfig,
               "runtimeConfig.ips[0]");
}

TEST(Request, RuntimeConfigBadIpIsNamed) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("runtimeConfig": {"ips": ["10.0.0.1", "not-an-ip"]})"),
               kInvalidNetworkConfig, "runtimeConfig.ips[1]", "not-an-ip");
}

TEST(Request, RuntimeConfigBadMacIsNamed) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("runtimeConfig": {"mac": "zz:11:22:33:44:55"})"), kInvalidNetworkConfig,
               "runtimeConfig.mac", "zz:11:22:33:44:55");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("runtimeConfig": 3)"), kInvalidNetworkConfig, "runtimeConfig");
}

// --- config decoding and field types --------------------------------------------------------

TEST(Request, MalformedJsonIsDecodeFailureWithPosition) {
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": )", kDecodeFailure, "line 1", "column");
  EXPECT_FAILS(addEnv(), "", kDecodeFailure, "stdin");
}

TEST(Request, ConfigMustBeAnObject) {
  EXPECT_FAILS(addEnv(), R"(["cniVersion"])", kDecodeFailure, "not a JSON object");
}

TEST(Request, MissingNameIsInvalidConfig) {
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "type": "cnikit"})", kInvalidNetworkConfig, "\"name\"");
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": "has space"})", kInvalidNetworkConfig, "has space");
}

TEST(Request, MissingTypeIsInvalidConfigForEveryVerb) {
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": "n"})", kInvalidNetworkConfig, "\"type\"", "missing");
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": "n", "type": ""})", kInvalidNetworkConfig, "\"type\"");
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": "n", "type": null})", kInvalidNetworkConfig, "\"type\"");
  Env del = addEnv();
  del["CNI_COMMAND"] = "DEL";
  EXPECT_FAILS(del, R"({"cniVersion": "1.0.0", "name": "n"})", kInvalidNetworkConfig, "\"type\"");
  // VERSION answers whatever the config says.
  EXPECT_NO_THROW(parseRequest({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion": "1.0.0", "name": "n"})"));
}

TEST(Request, MtuMustBeAnIntegerInRange) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("mtu": "abc")"), kInvalidNetworkConfig, "\"mtu\"", "abc");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("mtu": 1450.5)"), kInvalidNetworkConfig, "\"mtu\"");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("mtu": 20)"), kInvalidNetworkConfig, "\"mtu\"", "20");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("mtu": 70000)"), kInvalidNetworkConfig, "\"mtu\"", "70000");
}

TEST(Request, AgentSocketMustBeAnAbsolutePathString) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("agentSocket": 5)"), kInvalidNetworkConfig, "agentSocket");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("agentSocket": "run/x.sock")"), kInvalidNetworkConfig, "agentSocket",
               "run/x.sock");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("agentSocket": "/)" + std::string(120, 'a') + "\""),
               kInvalidNetworkConfig, "agentSocket");
}

TEST(Request, OtherKnownFieldsOfTheWrongType) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("pool": ["a"])"), kInvalidNetworkConfig, "pool");
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "1.0.0", "name": "n", "type": 3})", kInvalidNetworkConfig, "type");
}

// --- versions -------------------------------------------------------------------------------

TEST(Request, MissingCniVersionIsInvalidConfig) {
  EXPECT_FAILS(addEnv(), R"({"name": "n"})", kInvalidNetworkConfig, "cniVersion");
  EXPECT_FAILS(addEnv(), R"({"cniVersion": "", "name": "n"})", kInvalidNetworkConfig, "cniVersion");
}

TEST(Request, CniVersionOfTheWrongType) {
  EXPECT_FAILS(addEnv(), R"({"cniVersion": 1.0, "name": "n"})", kInvalidNetworkConfig, "cniVersion");
  EXPECT_FAILS(addEnv(), R"({"cniVersions": "1.0.0", "name": "n"})", kInvalidNetworkConfig, "cniVersions");
}

TEST(Request, UnsupportedVersionIsIncompatibleAndListsSupported) {
  EXPECT_FAILS(addEnv(), conf("2.0.0"), kIncompatibleVersion, "\"2.0.0\"", "0.1.0", "0.4.0", "1.1.0");
  EXPECT_FAILS(addEnv(), conf("0.3.2"), kIncompatibleVersion, "0.3.2");
}

TEST(Request, CniVersionsPicksTheHighestSupported) {
  auto req =
      parseRequest(addEnv(), R"({"cniVersions": ["0.3.1", "1.0.0", "7.0.0", "0.4.0"], "name": "n", "type": "t"})");
  EXPECT_EQ(req.conf.cniVersion, "1.0.0");
}

TEST(Request, CniVersionWinsOverCniVersions) {
  auto req = parseRequest(addEnv(), R"({"cniVersion": "0.4.0", "cniVersions": ["1.1.0"], "name": "n", "type": "t"})");
  EXPECT_EQ(req.conf.cniVersion, "0.4.0");
}

TEST(Request, CniVersionsWithNothingSupportedIsIncompatible) {
  EXPECT_FAILS(addEnv(), R"({"cniVersions": ["2.0.0", "3.0.0"], "name": "n"})", kIncompatibleVersion, "2.0.0",
               "1.1.0");
}

TEST(Request, CheckNeeds040) {
  Env env = addEnv();
  env["CNI_COMMAND"] = "CHECK";
  EXPECT_FAILS(env, conf("0.3.1"), kIncompatibleVersion, "CHECK", "0.3.1", "0.4.0");
  EXPECT_EQ(parseRequest(env, conf("0.4.0")).command, Command::Check);
}

TEST(Request, StatusAndGcNeed110) {
  for (const char* cmd : {"STATUS", "GC"}) {
    Env env{{"CNI_COMMAND", cmd}};
    EXPECT_FAILS(env, conf("1.0.0"), kIncompatibleVersion, cmd, "1.0.0", "1.1.0");
  }
}

TEST(Request, EveryVersionIsAcceptedForAdd) {
  for (const char* v : {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    EXPECT_EQ(parseRequest(addEnv(), conf(v)).conf.cniVersion, v);
  }
}

TEST(Request, VersionCommandAcceptsAnyConfig) {
  auto req = parseRequest({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion": "9.0.0"})");
  EXPECT_EQ(req.command, Command::Version);
  EXPECT_EQ(req.conf.cniVersion, "9.0.0");
  EXPECT_EQ(parseRequest({{"CNI_COMMAND", "VERSION"}}, "").conf.cniVersion, "1.1.0");
}

TEST(Request, SniffVersion) {
  EXPECT_EQ(sniffVersion(R"({"cniVersion": "0.3.1", "name": 5})"), "0.3.1");
  EXPECT_EQ(sniffVersion(R"({"cniVersions": ["0.4.0", "1.0.0", "9.9.9"]})"), "1.0.0");
  EXPECT_EQ(sniffVersion(R"({"cniVersion": "0.3.1",)"), "");
  EXPECT_EQ(sniffVersion("[]"), "");
  EXPECT_EQ(sniffVersion(""), "");
}

// --- prevResult and GC attachments -----------------------------------------------------------

namespace {

// A previous plugin's result as each spec version writes it (from the SPEC.md result sections).
std::string prevResultFor(const std::string& v) {
  if (v == "0.1.0" || v == "0.2.0") {
    return R"({"cniVersion": ")" + v + R"(", "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1",
              "routes": [{"dst": "0.0.0.0/0"}]}, "dns": {"nameservers": ["10.1.0.1"]}})";
  }
  std::string version = v < std::string("1.0.0") ? R"("version": "4", )" : "";
  std::string mtu = v == "1.1.0" ? R"(, "mtu": 1450)" : "";
  return R"({"cniVersion": ")" + v + R"(",
    "interfaces": [{"name": "cni0", "mac": "00:11:22:33:44:55"},
                   {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue")" + mtu + R"(}],
    "ips": [{)" + version + R"("address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 1}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {"nameservers": ["10.1.0.1"]}})";
}

}  // namespace

class PrevResultPerVersion : public ::testing::TestWithParam<std::string> {};

TEST_P(PrevResultPerVersion, RoundTripsThroughTheRequest) {
  const std::string& v = GetParam();
  auto prev = prevResultFor(v);
  auto req = parseRequest(addEnv(), conf(v, R"("prevResult": )" + prev));
  ASSERT_TRUE(req.conf.prevResult.has_value());
  // A chained plugin that changes nothing must hand back what it was given.
  EXPECT_EQ(renderResult(*req.conf.prevResult, v), json::parse(prev));
}

INSTANTIATE_TEST_SUITE_P(Version, PrevResultPerVersion,
                         ::testing::Values("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
                         [](const auto& info) {
                           std::string n = "v" + info.param;
                           for (auto& c : n) c = c == '.' ? '_' : c;
                           return n;
                         });

TEST(Request, BadPrevResultNamesTheField) {
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("prevResult": {"ips": [{"address": "banana"}]})"), kDecodeFailure,
               "prevResult.ips[0].address", "banana");
  EXPECT_FAILS(addEnv(), conf("1.0.0", R"("prevResult": "x")"), kDecodeFailure, "prevResult");
}

TEST(Request, PrevResultIsReadInTheConfigVersion) {
  // An 0.2.0 config carries an 0.2.0 prevResult: ip4, not ips.
  auto req = parseRequest(addEnv(), conf("0.2.0", R"("prevResult": {"ip4": {"ip": "10.0.0.2/24"}})"));
  ASSERT_EQ(req.conf.prevResult->ips.size(), 1u);
  EXPECT_EQ(req.conf.prevResult->ips[0].address, "10.0.0.2/24");
}

TEST(Request, GcValidAttachments) {
  auto req = parseRequest({{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}},
                          conf("1.1.0", R"("cni.dev/valid-attachments": [
                                {"containerID": "c1", "ifname": "eth0"}, {"containerID": "c2", "ifname": "net1"}])"));
  ASSERT_EQ(req.conf.validAttachments.size(), 2u);
  EXPECT_EQ(req.conf.validAttachments[1].containerId, "c2");
  EXPECT_EQ(req.conf.validAttachments[1].ifname, "net1");
}

TEST(Request, GcAttachmentsUnderTheSpecTextKey) {
  auto req = parseRequest({{"CNI_COMMAND", "GC"}},
                          conf("1.1.0", R"("cni.dev/attachments": [{"containerID": "c1", "ifname": "eth0"}])"));
  ASSERT_EQ(req.conf.validAttachments.size(), 1u);
  EXPECT_EQ(req.conf.validAttachments[0].containerId, "c1");
}

TEST(Request, GcAttachmentsOfTheWrongShape) {
  Env gc{{"CNI_COMMAND", "GC"}};
  EXPECT_FAILS(gc, conf("1.1.0", R"("cni.dev/valid-attachments": {"containerID": "c1"})"), kInvalidNetworkConfig,
               "cni.dev/valid-attachments");
  EXPECT_FAILS(gc, conf("1.1.0", R"("cni.dev/valid-attachments": [{"containerID": "c1"}])"), kInvalidNetworkConfig,
               "cni.dev/valid-attachments[0].ifname");
  EXPECT_FAILS(gc, conf("1.1.0", R"("cni.dev/valid-attachments": [{"containerID": 7, "ifname": "eth0"}])"),
               kInvalidNetworkConfig, "cni.dev/valid-attachments[0].containerID");
}
