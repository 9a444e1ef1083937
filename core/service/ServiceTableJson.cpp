#include "core/service/ServiceTableJson.hpp"

namespace cnikit::service {

using nlohmann::json;

void to_json(json& j, const Backend& b) {
  j = {{"address", b.address}, {"port", b.port},   {"pod", b.pod},
       {"node", b.node},       {"local", b.local}, {"ready", b.ready}};
}

void to_json(json& j, const ServicePort& p) {
  j = {{"name", p.name},
       {"protocol", k8s::protocolName(p.protocol)},
       {"port", p.port},
       {"nodePort", p.nodePort},
       {"backends", p.backends}};
}

void to_json(json& j, const Service& s) {
  j = {{"namespace", s.ns},
       {"name", s.name},
       {"clusterIPs", s.clusterIPs},
       {"loadBalancerIPs", s.loadBalancerIPs},
       {"ports", s.ports},
       {"clientIpAffinity", s.clientIpAffinity},
       {"affinityTimeoutSeconds", s.affinityTimeoutSeconds},
       {"internalTrafficPolicy", trafficPolicyName(s.internalTrafficPolicy)},
       {"externalTrafficPolicy", trafficPolicyName(s.externalTrafficPolicy)}};
}

void to_json(json& j, const NodeContext& n) {
  j = {{"name", n.name}, {"nodeAddresses", n.nodeAddresses}, {"podCidrs", n.podCidrs}};
}

}  // namespace cnikit::service
