#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "core/agent/AgentConfig.hpp"
#include "core/agent/PoolSelector.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::agent {
namespace {

const char* kMinimal = R"(
node: n1
nodeLabels: {zone: a}
backends:
  - name: default
    type: flannel-like
    options: {bridge: cni0}
pools:
  - name: default
    backend: default
    cidrs: [10.244.0.0/16, "fd00:10:244::/48"]
    nodeSubnetPrefix: {ipv4: 24, ipv6: 64}
    exclude: [10.244.0.5, 10.244.0.16/28]
)";

std::string errorOf(const std::string& text) {
  try {
    parseAgentConfig(text, "cfg.yaml");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(AgentConfig, ParsesPoolsBackendsAndDefaults) {
  auto config = parseAgentConfig(kMinimal, "cfg.yaml");
  EXPECT_EQ(config.node, "n1");
  EXPECT_EQ(config.nodeLabels.at("zone"), "a");
  EXPECT_EQ(config.socket, "/run/cnikit/cnikitd.sock");
  EXPECT_EQ(config.store.type, "sqlite");
  EXPECT_EQ(config.store.path, "/var/lib/cnikit/store.db");
  ASSERT_EQ(config.backends.size(), 1u);
  EXPECT_EQ(config.backends[0].options["bridge"], "cni0");
  ASSERT_EQ(config.pools.size(), 1u);
  ASSERT_EQ(config.pools[0].cidrs.size(), 2u);
  EXPECT_EQ(config.pools[0].cidrs[1].str(), "fd00:10:244::/48");
  ASSERT_EQ(config.pools[0].exclude.size(), 2u);
  EXPECT_EQ(config.pools[0].exclude[0].str(), "10.244.0.5/32");
}

TEST(AgentConfig, ErrorsNameTheField) {
  std::string text = kMinimal;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  {
    auto e = errorOf(replaced("10.244.0.0/16", "10.244.0.300/16"));
    EXPECT_NE(e.find("cfg.yaml.pools[0].cidrs"), std::string::npos) << e;
    EXPECT_NE(e.find("10.244.0.300/16"), std::string::npos) << e;
  }
  {
    auto e = errorOf(replaced("backend: default", "backend: nope"));
    EXPECT_NE(e.find("pools[0].backend"), std::string::npos) << e;
    EXPECT_NE(e.find("nope"), std::string::npos) << e;
  }
  {
    auto e = errorOf(replaced("ipv4: 24", "ipv4: 40"));
    EXPECT_NE(e.find("nodeSubnetPrefix.ipv4"), std::string::npos) << e;
  }
  {
    auto e = errorOf(replaced("node: n1", "node: n1\nsurprise: 1"));
    EXPECT_NE(e.find("surprise: unknown field"), std::string::npos) << e;
  }
  {
    auto e = errorOf(replaced("exclude: [10.244.0.5", "exclude: [banana"));
    EXPECT_NE(e.find("banana"), std::string::npos) << e;
  }
  {
    auto e = errorOf("node: [unclosed");
    EXPECT_NE(e.find("line"), std::string::npos) << e;
  }
}

// What spdlog's default logger says while it lives (then the previous logger is back).
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::string withBackend(const std::string& backendLines) {
  std::string text = kMinimal;
  std::string from = "    options: {bridge: cni0}\n";
  text.replace(text.find(from), from.size(), backendLines);
  return text;
}

TEST(AgentConfig, PolicyProviderIsATypedFieldOfTheBackendInstance) {
  CapturedLog log;
  auto config = parseAgentConfig(withBackend("    policy: iptables\n    options: {bridge: cni0}\n"), "cfg.yaml");
  ASSERT_EQ(config.backends.size(), 1u);
  EXPECT_EQ(config.backends[0].policy, policy::ProviderKind::Iptables);
  EXPECT_EQ(config.backends[0].options, nlohmann::json({{"bridge", "cni0"}}));
  EXPECT_EQ(log.text().find("deprecated"), std::string::npos) << log.text();

  EXPECT_EQ(parseAgentConfig(withBackend("    policy: none\n"), "cfg.yaml").backends[0].policy,
            policy::ProviderKind::None);
  EXPECT_EQ(parseAgentConfig(kMinimal, "cfg.yaml").backends[0].policy, policy::ProviderKind::None);
}

TEST(AgentConfig, OldPolicySpellingInOptionsIsReadWithAWarningNamingTheInstance) {
  CapturedLog log;
  auto config = parseAgentConfig(withBackend("    options: {bridge: cni0, policy: iptables}\n"), "cfg.yaml");
  EXPECT_EQ(config.backends[0].policy, policy::ProviderKind::Iptables);
  // Taken out of the options: the backend never sees it.
  EXPECT_EQ(config.backends[0].options, nlohmann::json({{"bridge", "cni0"}}));
  std::string said = log.text();
  EXPECT_NE(said.find("[warning]"), std::string::npos) << said;
  EXPECT_NE(said.find("backend instance 'default'"), std::string::npos) << said;
  EXPECT_NE(said.find("options.policy is deprecated"), std::string::npos) << said;
  EXPECT_NE(said.find("policy: iptables"), std::string::npos) << said;

  // Both spellings agreeing: read, with the warning; disagreeing: refused.
  config = parseAgentConfig(withBackend("    policy: iptables\n    options: {policy: iptables}\n"), "cfg.yaml");
  EXPECT_EQ(config.backends[0].policy, policy::ProviderKind::Iptables);
  EXPECT_TRUE(config.backends[0].options.empty());
  auto e = errorOf(withBackend("    policy: none\n    options: {policy: iptables}\n"));
  EXPECT_NE(e.find("cfg.yaml.backends[0].options.policy: contradicts policy"), std::string::npos) << e;
}

TEST(AgentConfig, BadPolicyValueNamesTheField) {
  auto e = errorOf(withBackend("    policy: ebpf\n"));
  EXPECT_NE(e.find("cfg.yaml.backends[0].policy: \"ebpf\" is not a policy provider (none or iptables)"),
            std::string::npos)
      << e;
  e = errorOf(withBackend("    policy: [iptables]\n"));
  EXPECT_NE(e.find("cfg.yaml.backends[0].policy:"), std::string::npos) << e;
  e = errorOf(withBackend("    options: {policy: calico}\n"));
  EXPECT_NE(e.find("cfg.yaml.backends[0].options.policy: \"calico\" is not a policy provider"), std::string::npos) << e;
}

TEST(AgentConfig, RefusesOverlappingPools) {
  std::string text = std::string(kMinimal) + R"(  - name: other
    backend: default
    cidrs: [10.244.128.0/17]
)";
  auto e = errorOf(text);
  EXPECT_NE(e.find("overlaps pool 'default'"), std::string::npos) << e;
}

TEST(AgentConfig, ServicesSectionWithDefaults) {
  auto defaults = parseAgentConfig(kMinimal, "cfg.yaml");
  EXPECT_EQ(defaults.services.clusterIPv4Cidr.str(), "10.96.0.0/16");
  EXPECT_FALSE(defaults.services.clusterIPv6Cidr.has_value());
  EXPECT_EQ(defaults.services.nodePortMin, 30000);
  EXPECT_EQ(defaults.services.nodePortMax, 32767);
  EXPECT_TRUE(defaults.services.loadBalancerPools.empty());

  auto config = parseAgentConfig(std::string(kMinimal) + R"(
services:
  clusterIPv4Cidr: 10.100.0.0/16
  clusterIPv6Cidr: "fd00:100::/112"
  nodePortRange: 31000-31999
  loadBalancerPools:
  - {name: public, cidrs: [192.0.2.0/28, "2001:db8::/120"]}
)",
                                 "cfg.yaml");
  EXPECT_EQ(config.services.clusterIPv4Cidr.str(), "10.100.0.0/16");
  EXPECT_EQ(config.services.clusterIPv6Cidr->str(), "fd00:100::/112");
  EXPECT_EQ(config.services.nodePortMin, 31000);
  EXPECT_EQ(config.services.nodePortMax, 31999);
  ASSERT_EQ(config.services.loadBalancerPools.size(), 1u);
  EXPECT_EQ(config.services.loadBalancerPools[0].cidrs.size(), 2u);

  EXPECT_EQ(errorOf(std::string(kMinimal) + "services: {nodePortRange: 32000-31000}\n"),
            "cfg.yaml.services.nodePortRange: '32000-31000' is not a port range like 30000-32767");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "services: {clusterIPv4Cidr: 10.244.0.0/24}\n"),
            "cfg.yaml.services.clusterIPv4Cidr: 10.244.0.0/24 overlaps 10.244.0.0/16");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "services: {loadBalancerPools: [{name: p, cidrs: [10.244.5.0/24]}]}\n"),
            "cfg.yaml.services.loadBalancerPools[0].cidrs: 10.244.5.0/24 overlaps 10.244.0.0/16");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "services: {clusterIPv6Cidr: 10.1.0.0/16}\n"),
            "cfg.yaml.services.clusterIPv6Cidr: '10.1.0.0/16' is not an IPv6 CIDR");
}

TEST(PoolSelector, GlobMatch) {
  EXPECT_TRUE(globMatch("team-*", "team-a"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("a*b*c", "aXXbYc"));
  EXPECT_FALSE(globMatch("team-*", "teams"));
  EXPECT_FALSE(globMatch("abc", "abcd"));
}

TEST(PoolSelector, RulesByNamespaceNameLabelsAndNode) {
  auto config = parseAgentConfig(R"(
node: n1
nodeLabels: {zone: a}
backends: [{name: b, type: flannel-like}]
pools:
  - {name: p1, backend: b, cidrs: [10.1.0.0/16]}
  - {name: p2, backend: b, cidrs: [10.2.0.0/16]}
  - {name: p3, backend: b, cidrs: [10.3.0.0/16]}
  - {name: p4, backend: b, cidrs: [10.4.0.0/16]}
selection:
  - {pool: p2, namespaces: ["team-*"]}
  - {pool: p3, namespaceLabels: {tier: gold}}
  - {pool: p4, nodeLabels: {zone: b}}
  - {pool: p1, nodeLabels: {zone: a}}
)");
  PoolSelector selector(config, [](const std::string& ns) -> std::optional<Labels> {
    if (ns == "vip") return Labels{{"tier", "gold"}};
    return std::nullopt;
  });
  EXPECT_EQ(selector.select("team-x"), "p2");
  EXPECT_EQ(selector.select("vip"), "p3");
  EXPECT_EQ(selector.select("default"), "p1");  // p4 needs zone b; this node is zone a
  EXPECT_EQ(selector.select("default", "p4"), "p4");
  EXPECT_EQ(selector.select("default", "missing"), std::nullopt);
}

TEST(PoolSelector, NoRuleMatchesMeansNoPool) {
  auto config = parseAgentConfig(R"(
backends: [{name: b, type: flannel-like}]
pools: [{name: p1, backend: b, cidrs: [10.1.0.0/16]}]
selection: [{pool: p1, namespaces: [prod]}]
)");
  PoolSelector selector(config, nullptr);
  EXPECT_EQ(selector.select("prod"), "p1");
  EXPECT_EQ(selector.select("dev"), std::nullopt);
}

TEST(YamlToJson, ScalarsAndDocuments) {
  auto docs = yaml::yamlToJson("a: 1\nb: true\nc: '1'\nd: 1.5\ne: ~\nf: text\n---\n---\n- x\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["a"], 1);
  EXPECT_EQ(docs[0]["b"], true);
  EXPECT_EQ(docs[0]["c"], "1");
  EXPECT_EQ(docs[0]["d"], 1.5);
  EXPECT_TRUE(docs[0]["e"].is_null());
  EXPECT_EQ(docs[0]["f"], "text");
  EXPECT_EQ(docs[1][0], "x");
}

}  // namespace
}  // namespace cnikit::agent
