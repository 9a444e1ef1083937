#pragma once
// The Kubernetes netpol e2e suite's model as manifests: namespaces x, y, z (labelled
// ns=<name>; validation adds kubernetes.io/metadata.name) with pods a, b, c (labelled
// pod=<name>), each serving ports 80 and 81 on every protocol of the model, named as the
// suite names them (serve-80-tcp, ...). Shared by the engine's unit tests (fixed addresses,
// TCP/UDP/SCTP) and the lab e2e suite (addresses the lab assigned; TCP/UDP, as nothing on
// the test machine can serve SCTP).
#include <functional>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::policy::test {

inline const std::vector<k8s::Protocol> kEveryProtocol{k8s::Protocol::TCP, k8s::Protocol::UDP, k8s::Protocol::SCTP};

// extraLabels is appended inside the label map: ", ns2: updated".
inline std::string namespaceYaml(const std::string& name, const std::string& extraLabels = "") {
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n  labels: {ns: " + name + extraLabels +
         "}\n---\n";
}

// A pod serving 80 and 81 on each protocol, with the upstream port names; ip "" writes no
// status (the lab fills it in from the CNI result).
inline std::string podYaml(const std::string& ns, const std::string& name, const std::string& ip,
                           const std::string& extraLabels = "",
                           const std::vector<k8s::Protocol>& protocols = kEveryProtocol) {
  std::string out = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
                    "\n  labels: {pod: " + name + extraLabels + "}\nspec:\n  containers:\n";
  for (auto protocol : protocols) {
    std::string upper = k8s::protocolName(protocol);
    std::string lower;
    for (char ch : upper) lower += static_cast<char>(ch - 'A' + 'a');
    for (int port : {80, 81}) {
      std::string p = std::to_string(port);
      out += "  - name: cont-" + p + "-" + lower + "\n    ports:\n    - {name: serve-" + p + "-" + lower +
             ", containerPort: " + p + ", protocol: " + upper + "}\n";
    }
  }
  if (!ip.empty()) out += "status: {podIP: " + ip + "}\n";
  return out + "---\n";
}

inline std::string policyYaml(const std::string& ns, const std::string& name, const std::string& spec) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\nspec:\n" + spec + "\n---\n";
}

inline std::vector<std::string> modelPods() { return {"x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"}; }

// The unit tests' addresses: 10.0.<namespace index>.<pod index>, "x/a" = 10.0.1.1.
inline std::string unitModelAddress(const std::string& pod) {
  return "10.0." + std::to_string(pod.at(0) - 'x' + 1) + "." + std::to_string(pod.at(2) - 'a' + 1);
}

// One instance of the model: which protocols its pods serve and where they are.
struct NetpolModel {
  std::vector<k8s::Protocol> protocols = kEveryProtocol;
  // "x/b" -> its IPv4 address, "" when not known yet.
  std::function<std::string(const std::string& pod)> addressOf = unitModelAddress;

  // The pod "ns/name" with extra labels (a relabelled pod is re-applied whole).
  std::string podYaml(const std::string& pod, const std::string& extraLabels = "") const {
    return test::podYaml(pod.substr(0, 1), pod.substr(2), addressOf(pod), extraLabels, protocols);
  }
  // Every namespace and pod.
  std::string yaml() const {
    std::string out;
    for (const char* ns : {"x", "y", "z"}) {
      out += namespaceYaml(ns);
      for (const auto& pod : modelPods())
        if (pod.substr(0, 1) == ns) out += podYaml(pod);
    }
    return out;
  }
};

inline std::string netpolModelYaml() { return NetpolModel{}.yaml(); }

}  // namespace cnikit::policy::test
