#pragma once
// The v1 Service and discovery.k8s.io/v1 EndpointSlice as typed values, decoded from their
// normalised JSON (Validation.hpp), for the service allocator and the ServiceController.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/k8s/LabelSelector.hpp"
#include "core/k8s/Objects.hpp"

namespace cnikit::k8s {

// The label that ties an EndpointSlice to its Service.
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";

enum class ServiceType { ClusterIP, NodePort, LoadBalancer };
const char* serviceTypeName(ServiceType type);

struct ServicePortSpec {
  std::string name;  // "" only when the Service has one port
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  std::variant<uint16_t, std::string> targetPort = uint16_t{0};  // a number or a container port name
  uint16_t nodePort = 0;                                         // 0 = none (yet)
  bool operator==(const ServicePortSpec&) const = default;
};

struct ServiceSpec {
  std::string ns;
  std::string name;
  ServiceType type = ServiceType::ClusterIP;
  // spec.selector; nullopt = no selector (endpoints come from EndpointSlices).
  std::optional<Labels> selector;
  std::vector<ServicePortSpec> ports;
  std::vector<std::string> clusterIPs;  // [] before allocation; ["None"] headless
  std::vector<std::string> ipFamilies;  // "IPv4" / "IPv6", parallel to clusterIPs once allocated
  std::string ipFamilyPolicy;           // "" (unset), SingleStack, PreferDualStack, RequireDualStack
  bool clientIpAffinity = false;
  uint32_t affinityTimeoutSeconds = 10800;
  bool internalTrafficLocal = false;
  bool externalTrafficLocal = false;
  std::vector<std::string> loadBalancerIPs;  // status.loadBalancer.ingress[].ip

  std::string key() const { return ns + "/" + name; }
  bool headless() const { return !clusterIPs.empty() && clusterIPs[0] == "None"; }
  bool operator==(const ServiceSpec&) const = default;
};

struct EndpointSliceEndpoint {
  std::vector<std::string> addresses;
  std::optional<bool> ready;  // conditions.ready; unset reads as ready (the API's rule)
  std::string nodeName;
  std::string targetKind, targetNamespace, targetName;  // targetRef
  bool operator==(const EndpointSliceEndpoint&) const = default;
};

struct EndpointSlicePort {
  std::string name;
  std::optional<uint16_t> port;  // absent: every port (cnikit programs nothing for it)
  Protocol protocol = Protocol::TCP;
  bool operator==(const EndpointSlicePort&) const = default;
};

struct EndpointSlice {
  std::string ns;
  std::string name;
  std::string serviceName;  // label kubernetes.io/service-name; "" = belongs to no Service
  bool ipv6 = false;        // addressType
  std::vector<EndpointSliceEndpoint> endpoints;
  std::vector<EndpointSlicePort> ports;

  std::string key() const { return ns + "/" + name; }
  bool operator==(const EndpointSlice&) const = default;
};

// From normalised JSON; throw std::invalid_argument naming the object when a needed field
// has the wrong type.
ServiceSpec serviceFromJson(const nlohmann::json& object);
EndpointSlice endpointSliceFromJson(const nlohmann::json& object);

}  // namespace cnikit::k8s
