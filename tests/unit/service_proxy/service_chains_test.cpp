// Golden rule sets of the iptables service proxy (ServiceChains.hpp): what each kind of
// Service becomes, line by line in iptables-save syntax. Chain names are hashes; the
// expectations spell them through the naming functions, whose stability has its own test.
#include <gtest/gtest.h>

#include "core/policy/StableHash.hpp"
#include "core/service/iptables/ServiceChains.hpp"

namespace cnikit::service::iptables {
namespace {

Backend backend(const std::string& address, bool local = false, bool ready = true) {
  Backend b;
  b.address = address;
  b.port = 8080;
  b.node = local ? "node-a" : "node-b";
  b.local = local;
  b.ready = ready;
  return b;
}

Service web(std::vector<Backend> backends) {
  Service s;
  s.ns = "default";
  s.name = "web";
  s.clusterIPs = {"10.96.0.10"};
  ServicePort p;
  p.name = "http";
  p.port = 80;
  p.backends = std::move(backends);
  s.ports = {p};
  return s;
}

NodeContext node() {
  NodeContext n;
  n.name = "node-a";
  n.nodeAddresses = {"192.168.50.2", "fd50::2"};
  n.podCidrs = {"10.244.0.0/16", "fd00:10:244::/56"};
  return n;
}

const std::string kKey = "default/web:http/TCP";
// Only clients reaching the cluster IP from outside the pods are masqueraded by SVC/SVL.
const std::string kNonPod = "-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j CNIKIT-MARK-NONPOD";
std::string svc() { return serviceChainName(kKey); }
std::string svl() { return localChainName(kKey); }
std::string ext() { return externalChainName(kKey); }
std::string aff(const std::string& address) { return affinityListName(kKey, backend(address)); }
// "-p tcp [draw] -j DNAT --to-destination <address>:8080"
std::string dnat(const std::string& address, const std::string& draw = "") {
  const std::string to = address.find(':') == std::string::npos ? address : "[" + address + "]";
  return "-p tcp " + (draw.empty() ? "" : "-m statistic --mode random --probability " + draw + " ") +
         "-j DNAT --to-destination " + to + ":8080";
}
std::string hairpin(const std::string& address) {
  return "-A CNIKIT-POSTROUTING -s " + address + "/32 -d " + address + "/32 -j MASQUERADE";
}

std::vector<std::string> lines(const Service& service, Family family = Family::V4) {
  return renderLines(buildServiceRules(service, family, node(), ChainOptions{}), family);
}

// Chains appear in name order; sort both sides' "-N" blocks the same way by building the
// expectation as a map from chain to its lines.
std::vector<std::string> expect(const std::vector<std::string>& entries,
                                const std::map<std::string, std::vector<std::string>>& chains,
                                const std::vector<std::string>& rejects = {},
                                const std::vector<std::string>& hairpins = {}) {
  std::vector<std::string> out = entries;
  for (const auto& [chain, rules] : chains) {
    out.push_back("-N " + chain);
    for (const auto& rule : rules) out.push_back("-A " + chain + " " + rule);
  }
  out.insert(out.end(), hairpins.begin(), hairpins.end());
  for (const auto& r : rejects) out.push_back("-t filter -A CNIKIT-SVC-REJECT " + r);
  return out;
}

TEST(ServiceChains, NamesAreStableAndShort) {
  // The same text gives the same name in every process and after a restart.
  EXPECT_EQ(serviceChainName(kKey), "CNIKIT-SVC-" + policy::stableHashHex(kKey));
  EXPECT_NE(serviceChainName(kKey), serviceChainName("default/web:https/TCP"));
  EXPECT_NE(serviceChainName(kKey), serviceChainName("default/web:http/UDP"));
  for (const auto& name : {svc(), svl(), ext(), shardChainName(255)})
    EXPECT_LE(name.size(), 28u) << name;  // XT_EXTENSION_MAXNAMELEN - 1
  EXPECT_NE(aff("10.244.1.5"), aff("10.244.2.6"));
  EXPECT_EQ(shardOf("10.96.3.77"), 77);
  EXPECT_EQ(shardOf("fd00::1:a"), 10);
  EXPECT_TRUE(isServiceOwnedChain(svc()));
  EXPECT_TRUE(isServiceOwnedChain(ext()));
  EXPECT_FALSE(isServiceOwnedChain(kRejectChain));
  EXPECT_FALSE(isServiceOwnedChain(shardChainName(3)));
  EXPECT_TRUE(isShardChain(shardChainName(3)));
}

TEST(ServiceChains, ClusterIpWithThreeBackendsBalancesEquallyAndMasqueradesHairpin) {
  auto s = web({backend("10.244.1.5", true), backend("10.244.2.6"), backend("10.244.3.7")});
  EXPECT_EQ(lines(s), expect({"-A CNIKIT-SVCS-0A -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment \"" +
                              kKey + " cluster IP\" -j " + svc()},
                             {{svc(),
                               {kNonPod, dnat("10.244.1.5", "0.33333333349"), dnat("10.244.2.6", "0.50000000000"),
                                dnat("10.244.3.7")}}},
                             {},
                             // Only the local backend can be reached by itself.
                             {hairpin("10.244.1.5")}));
  // No IPv6 cluster IP: nothing in IPv6.
  EXPECT_TRUE(buildServiceRules(s, Family::V6, node(), {}).empty());
}

TEST(ServiceChains, NotReadyBackendsGetNoNewConnections) {
  auto s = web({backend("10.244.1.5"), backend("10.244.2.6", true, false)});
  auto rules = buildServiceRules(s, Family::V4, node(), {});
  std::vector<std::string> got;
  for (const auto& rule : rules.chains.at(svc())) got.push_back(render(rule, Family::V4));
  EXPECT_EQ(got, (std::vector<std::string>{kNonPod, dnat("10.244.1.5")}));
  EXPECT_TRUE(rules.hairpinAddresses.empty());
}

TEST(ServiceChains, ClientIpAffinityChecksTheRecentListBeforeDrawing) {
  auto s = web({backend("10.244.1.5"), backend("10.244.2.6")});
  s.clientIpAffinity = true;
  s.affinityTimeoutSeconds = 600;
  const std::string a = aff("10.244.1.5"), b = aff("10.244.2.6");
  const std::string mask = " --mask 255.255.255.255 --rsource";
  EXPECT_EQ(lines(s),
            expect({"-A CNIKIT-SVCS-0A -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment \"" + kKey +
                    " cluster IP\" -j " + svc()},
                   {{svc(),
                     {kNonPod,
                      // A known client goes back to its backend and its entry is refreshed.
                      "-p tcp -m recent --update --seconds 600 --reap --name " + a + mask +
                          " -j DNAT --to-destination 10.244.1.5:8080",
                      "-p tcp -m recent --update --seconds 600 --reap --name " + b + mask +
                          " -j DNAT --to-destination 10.244.2.6:8080",
                      // A new one draws, and the drawn backend remembers it.
                      "-p tcp -m statistic --mode random --probability 0.50000000000 -m recent --set --name " + a +
                          mask + " -j DNAT --to-destination 10.244.1.5:8080",
                      "-p tcp -m recent --set --name " + b + mask + " -j DNAT --to-destination 10.244.2.6:8080"}}}));
}

TEST(ServiceChains, NodePortWithExternalPolicyLocalKeepsTheSourceAndUsesLocalBackends) {
  auto s = web({backend("10.244.1.5", true), backend("10.244.2.6")});
  s.ports[0].nodePort = 30080;
  s.externalTrafficPolicy = TrafficPolicy::Local;
  EXPECT_EQ(lines(s), expect({"-A CNIKIT-SVCS-0A -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment \"" +
                                  kKey + " cluster IP\" -j " + svc(),
                              "-A CNIKIT-NODEPORTS -p tcp -m tcp --dport 30080 -m comment --comment \"" + kKey +
                                  " node port\" -j " + ext()},
                             {// Pods are served cluster-wide; everyone else by local backends, unmarked.
                              {ext(), {"-s 10.244.0.0/16 -j " + svc(), "-j " + svl()}},
                              {svc(), {kNonPod, dnat("10.244.1.5", "0.50000000000"), dnat("10.244.2.6")}},
                              {svl(), {kNonPod, dnat("10.244.1.5")}}},
                             {}, {hairpin("10.244.1.5")}));
}

TEST(ServiceChains, NodePortWithExternalPolicyClusterMasquerades) {
  auto s = web({backend("10.244.2.6")});
  s.ports[0].nodePort = 30080;
  auto rules = buildServiceRules(s, Family::V4, node(), {});
  IptablesRule fromPods = toolkit::ruleTo(svc());
  fromPods.source = "10.244.0.0/16";
  IptablesRule mark = toolkit::ruleTo("MARK");
  mark.orMark = 0x4000;
  EXPECT_EQ(rules.chains.at(ext()), (std::vector<IptablesRule>{fromPods, mark, toolkit::ruleTo(svc())}));
  EXPECT_TRUE(rules.rejectEntries.empty());
}

TEST(ServiceChains, ExternalPolicyLocalWithoutLocalBackendRejectsOutsiders) {
  auto s = web({backend("10.244.2.6")});
  s.ports[0].nodePort = 30080;
  s.loadBalancerIPs = {"192.168.50.200"};
  s.externalTrafficPolicy = TrafficPolicy::Local;
  auto got = lines(s);
  // Pods still reach it (EXT sends them to SVC); the rest falls through to a reject.
  EXPECT_EQ(got, expect({"-A CNIKIT-SVCS-0A -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment \"" + kKey +
                             " cluster IP\" -j " + svc(),
                         "-A CNIKIT-SVCS-C8 -d 192.168.50.200/32 -p tcp -m tcp --dport 80 -m comment --comment \"" +
                             kKey + " load balancer\" -j " + ext(),
                         "-A CNIKIT-NODEPORTS -p tcp -m tcp --dport 30080 -m comment --comment \"" + kKey +
                             " node port\" -j " + ext()},
                        {{ext(), {"-s 10.244.0.0/16 -j " + svc()}}, {svc(), {kNonPod, dnat("10.244.2.6")}}},
                        {"-d 192.168.50.200/32 -p tcp -m tcp --dport 80 -m comment --comment \"" + kKey +
                             " has no backend\" -j REJECT --reject-with tcp-reset",
                         "-d 192.168.50.2/32 -p tcp -m tcp --dport 30080 -m comment --comment \"" + kKey +
                             " has no backend\" -j REJECT --reject-with tcp-reset"}));
}

TEST(ServiceChains, InternalPolicyLocalUsesOnlyLocalBackends) {
  auto s = web({backend("10.244.1.5", true), backend("10.244.2.6")});
  s.internalTrafficPolicy = TrafficPolicy::Local;
  auto rules = buildServiceRules(s, Family::V4, node(), {});
  EXPECT_EQ(rules.shardEntries.at(10).at(0).target, svl());
  EXPECT_FALSE(rules.chains.count(svc()));
  ASSERT_EQ(rules.chains.at(svl()).size(), 2u);
  EXPECT_EQ(render(rules.chains.at(svl())[1], Family::V4), dnat("10.244.1.5"));
  s.ports[0].backends = {backend("10.244.2.6")};
  rules = buildServiceRules(s, Family::V4, node(), {});
  EXPECT_TRUE(rules.chains.empty());
  ASSERT_EQ(rules.rejectEntries.size(), 1u);
  EXPECT_EQ(rules.rejectEntries[0].destination, "10.96.0.10");
}

TEST(ServiceChains, NoBackendsRejectsEveryFrontendFast) {
  auto s = web({});
  s.ports[0].protocol = k8s::Protocol::UDP;
  s.ports[0].nodePort = 30053;
  const std::string key = "default/web:http/UDP";
  auto got = lines(s);
  EXPECT_EQ(got,
            (std::vector<std::string>{
                "-t filter -A CNIKIT-SVC-REJECT -d 10.96.0.10/32 -p udp -m udp --dport 80 -m comment --comment \"" +
                    key + " has no backend\" -j REJECT --reject-with icmp-port-unreachable",
                "-t filter -A CNIKIT-SVC-REJECT -d 192.168.50.2/32 -p udp -m udp --dport 30053 -m comment "
                "--comment \"" +
                    key + " has no backend\" -j REJECT --reject-with icmp-port-unreachable"}));
}

TEST(ServiceChains, DualStackKeepsEachFamilyToItsOwnBackends) {
  auto s = web({backend("10.244.1.5"), backend("fd00:10:244:1::5")});
  s.clusterIPs = {"10.96.0.10", "fd00:10:96::a"};
  EXPECT_EQ(lines(s, Family::V4), expect({"-A CNIKIT-SVCS-0A -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment "
                                          "--comment \"" +
                                          kKey + " cluster IP\" -j " + svc()},
                                         {{svc(), {kNonPod, dnat("10.244.1.5")}}}));
  EXPECT_EQ(
      lines(s, Family::V6),
      expect({"-A CNIKIT-SVCS-0A -d fd00:10:96::a/128 -p tcp -m tcp --dport 80 -m comment --comment \"" + kKey +
              " cluster IP\" -j " + svc()},
             {{svc(),
               {"-d fd00:10:96::a/128 -p tcp -m tcp --dport 80 -j CNIKIT-MARK-NONPOD", dnat("fd00:10:244:1::5")}}}));
}

TEST(ServiceChains, SharedChains) {
  auto v4 = buildServicesDispatch({10, 200}, node(), Family::V4, true);
  std::vector<std::string> got;
  for (const auto& r : v4) got.push_back(render(r, Family::V4));
  EXPECT_EQ(got, (std::vector<std::string>{"-d 0.0.0.10/0.0.0.255 -j CNIKIT-SVCS-0A",
                                           "-d 0.0.0.200/0.0.0.255 -j CNIKIT-SVCS-C8",
                                           "-d 192.168.50.2/32 -j CNIKIT-NODEPORTS"}));
  auto v6 = buildServicesDispatch({10}, node(), Family::V6, false);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(render(v6[0], Family::V6), "-d ::a/::ff -j CNIKIT-SVCS-0A");
  got.clear();
  for (const auto& r : buildMarkNonPod(node(), Family::V4, {})) got.push_back(render(r, Family::V4));
  EXPECT_EQ(got, (std::vector<std::string>{"-s 10.244.0.0/16 -j RETURN", "-j MARK --set-xmark 0x4000/0x4000"}));
  got.clear();
  for (const auto& r : buildPostrouting({"10.244.1.5"}, {})) got.push_back(render(r, Family::V4));
  EXPECT_EQ(got, (std::vector<std::string>{"-m mark --mark 0x4000/0x4000 -j MASQUERADE",
                                           "-s 10.244.1.5/32 -d 10.244.1.5/32 -j MASQUERADE"}));
}

}  // namespace
}  // namespace cnikit::service::iptables
