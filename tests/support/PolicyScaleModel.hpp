#pragma once
// The "1000 policies over 500 pods" model that the policy scale test
// (integration.PolicyIptablesScale) and the policy benchmark (bench/policy) both program: 10
// namespaces labelled team=t0..t3, 50 pods each (labels app=app0..9 and tier, one IPv4
// address 10.<ns>.<p/250>.<p%250+1>, container ports http 8000-8004/TCP and dns 53/UDP), and
// 1000 policies, each selecting one app: ingress from one app (every second policy: in the
// namespaces of one team too), an ipBlock with except on every fifth, a port 80-99 and on every
// fourth the named port http; every third policy also isolates egress towards one team's
// namespaces on dns/UDP and 8000-8004/TCP. The same seed gives the same model.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::testing {

struct PolicyScaleModel {
  std::vector<k8s::Namespace> namespaces;
  std::vector<k8s::Pod> pods;
  std::vector<k8s::NetworkPolicy> policies;
};

inline PolicyScaleModel makePolicyScaleModel(uint32_t seed = 42) {
  using k8s::Protocol;
  std::mt19937 rng(seed);
  auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const int kNamespaces = 10, kPodsPerNamespace = 50, kPolicies = 1000;
  PolicyScaleModel model;
  for (int n = 0; n < kNamespaces; ++n) {
    std::string ns = "ns" + std::to_string(n);
    model.namespaces.push_back({ns, {{"team", "t" + std::to_string(n % 4)}, {k8s::kNamespaceNameLabel, ns}}});
    for (int p = 0; p < kPodsPerNamespace; ++p) {
      k8s::Pod pod;
      pod.ns = ns;
      pod.name = "pod" + std::to_string(p);
      pod.labels = {{"app", "app" + std::to_string(p % 10)}, {"tier", p % 3 == 0 ? "db" : "web"}};
      pod.ips = {"10." + std::to_string(n) + "." + std::to_string(p / 250) + "." + std::to_string(p % 250 + 1)};
      pod.ports = {{"http", static_cast<uint16_t>(8000 + p % 5), Protocol::TCP}, {"dns", 53, Protocol::UDP}};
      model.pods.push_back(pod);
    }
  }
  for (int i = 0; i < kPolicies; ++i) {
    k8s::NetworkPolicy p;
    p.ns = "ns" + std::to_string(i % kNamespaces);
    p.name = "policy" + std::to_string(i);
    p.podSelector.matchLabels["app"] = "app" + std::to_string(below(10));
    p.egressType = i % 3 == 0;
    k8s::PolicyRule in;
    k8s::PolicyPeer peer;
    peer.podSelector = k8s::LabelSelector{{{"app", "app" + std::to_string(below(10))}}, {}};
    if (i % 2) peer.namespaceSelector = k8s::LabelSelector{{{"team", "t" + std::to_string(below(4))}}, {}};
    in.peers.push_back(peer);
    if (i % 5 == 0) in.peers.push_back({std::nullopt, std::nullopt, k8s::IpBlock{"172.16.0.0/12", {"172.16.1.0/24"}}});
    in.ports.push_back({Protocol::TCP, static_cast<uint16_t>(80 + below(20)), std::nullopt});
    if (i % 4 == 0) {
      k8s::PolicyPort named;  // (a braced PolicyPort with a string makes GCC 12 warn falsely)
      named.port = std::string("http");
      in.ports.push_back(named);
    }
    p.ingress.push_back(in);
    if (p.egressType) {
      k8s::PolicyRule out;
      k8s::PolicyPeer to;
      to.namespaceSelector = k8s::LabelSelector{{{"team", "t" + std::to_string(below(4))}}, {}};
      out.peers.push_back(to);
      out.ports.push_back({Protocol::UDP, std::string("dns"), std::nullopt});
      out.ports.push_back({Protocol::TCP, static_cast<uint16_t>(8000), uint16_t{8004}});
      p.egress.push_back(out);
    }
    model.policies.push_back(p);
  }
  return model;
}

}  // namespace cnikit::testing
