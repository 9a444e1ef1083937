#pragma once
// `cnikitctl lab probe --to svc/NS/NAME[:PORT]`: real connections to a Service from lab pods
// (or the outside client), each answered by the probe server of the endpoint that served it
// ("cnikit-lab <ns/pod> from <peer>"): which endpoint answered how often, and the client
// address it saw, per client and frontend. The frontend is the ClusterIP (default), every
// node's underlay address with the nodePort, or the load-balancer addresses, of one family.
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"
#include "tools/lab/LabState.hpp"

namespace cnikit::lab {

// svc/NS/NAME[:PORT], PORT a number or a port name.
struct ServiceProbeTarget {
  std::string ns;
  std::string name;
  std::string port;  // "" = the Service's only port (of the protocol asked for)
  std::string key() const { return ns + "/" + name; }
};
// Throws std::invalid_argument naming what is wrong.
ServiceProbeTarget parseServiceProbeTarget(const std::string& text);

enum class ServiceFrontend { ClusterIP, NodePort, LoadBalancer };

struct ServiceProbeOptions {
  ServiceProbeTarget target;
  std::optional<k8s::Protocol> protocol;  // picks among ports of one number or name
  ServiceFrontend frontend = ServiceFrontend::ClusterIP;
  bool ipv6 = false;                        // the IPv6 frontend addresses (and clients' IPv6)
  std::vector<std::string> from;            // client pods "ns/name"; empty = every pod (unless external)
  bool external = false;                    // the lab's outside client is a client
  std::vector<std::string> nodes;           // NodePort: only these nodes' addresses (empty = every node)
  int count = 1;                            // connections per client and frontend address
  std::chrono::milliseconds timeout{1000};  // per connection
  size_t threads = 16;
};

// One frontend address a connection goes to.
struct ServiceFrontendAddress {
  std::string via;  // "clusterIP", "loadBalancer" or the node's name
  std::string address;
  uint16_t port = 0;
  std::string str() const;  // "10.96.0.10:80", "[fd00::a]:80"
};

// What the probe connects to, read from the stored Service (normalised v1 JSON).
struct ServiceFrontends {
  std::string service;  // "ns/name"
  std::string portName;
  k8s::Protocol protocol = k8s::Protocol::TCP;
  uint16_t port = 0;  // the Service port
  std::vector<ServiceFrontendAddress> addresses;
};
// Throws std::runtime_error saying what the Service lacks (no such port, no nodePort, no
// address of that family, ...).
ServiceFrontends resolveServiceFrontends(const nlohmann::json& service, const LabState& state,
                                         const ServiceProbeOptions& options);

struct ServiceProbeRow {
  std::string from;  // "x/a" or "external"
  ServiceFrontendAddress to;
  int connections = 0;
  std::map<std::string, int> answered{};  // endpoint pod -> connections it served
  std::map<std::string, int> failed{};    // reason ("timed out", "Connection refused", ...) -> count
  std::map<std::string, int> seenFrom{};  // client address as the endpoint saw it -> count
};

struct ServiceProbeResult {
  ServiceFrontends frontends;
  int count = 0;
  std::vector<ServiceProbeRow> rows;  // by client, then frontend address
  std::chrono::milliseconds elapsed{0};
};

// Reads the Service through a lab agent (objects.list), then probes. Throws
// std::runtime_error when the Service, a client or a frontend is missing.
ServiceProbeResult probeService(const LabState& state, const ServiceProbeOptions& options);
// The same with the Service object given.
ServiceProbeResult probeService(const LabState& state, const nlohmann::json& service,
                                const ServiceProbeOptions& options);

// {"service", "protocol", "port", "count", "results": [{from, to, via, connections, answered,
// failed, seenFrom}]}
nlohmann::json toJson(const ServiceProbeResult& result);

// `count` connections to address:port from the calling thread's namespace, the first one
// alone (so ClientIP affinity is settled before the rest run, as a real client's first
// request would), the rest up to 24 at a time. Fills answered/failed/seenFrom of row.
void connectRepeatedly(const std::string& address, uint16_t port, k8s::Protocol protocol, int count,
                       std::chrono::milliseconds timeout, ServiceProbeRow& row);

}  // namespace cnikit::lab
