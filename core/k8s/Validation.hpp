#pragma once
// Validation and normalisation of Kubernetes manifests, shared by cnikitctl (offline) and the
// agent (objects.apply): the checks the apiserver makes for the fields cnikit reads, with its
// messages, each naming the object ("NetworkPolicy x/deny") and the field path
// ("spec.ingress[0].ports[1].endPort"). Normalising applies the apiserver's defaults
// (protocol TCP, policyTypes, the kubernetes.io/metadata.name namespace label) and keeps only
// the fields cnikit uses, so the stored JSON is canonical.
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnikit::k8s {

enum class Kind { Namespace, Pod, NetworkPolicy, Service, EndpointSlice };

// Every kind, in the order objects of a file are listed and shown.
inline constexpr Kind kAllKinds[] = {Kind::Namespace, Kind::Pod, Kind::NetworkPolicy, Kind::Service,
                                     Kind::EndpointSlice};

const char* kindName(Kind kind);      // "Namespace", "Pod", "NetworkPolicy", "Service", "EndpointSlice"
const char* apiVersionOf(Kind kind);  // "v1", "networking.k8s.io/v1", "discovery.k8s.io/v1"
// Accepts what kubectl accepts for these kinds: "namespaces", "namespace", "ns", "Namespace",
// "pods", "pod", "po", "networkpolicies", "networkpolicy", "netpol", "NetworkPolicy",
// "services", "service", "svc", "Service", "endpointslices", "endpointslice", "EndpointSlice".
std::optional<Kind> parseKind(const std::string& text);

struct ObjectRef {
  Kind kind = Kind::Namespace;
  std::string ns;  // empty for Namespace
  std::string name;
  // "NetworkPolicy x/deny", "Namespace x"
  std::string str() const;
  auto operator<=>(const ObjectRef&) const = default;
};

struct NormalizedObject {
  ObjectRef ref;
  nlohmann::json object;
};

// Every problem found, one message per line in what().
class ValidationError : public std::invalid_argument {
 public:
  explicit ValidationError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

struct ValidationOptions {
  std::string defaultNamespace = "default";  // for namespaced objects without one
  std::string source;                        // e.g. a file name, prefixed to messages
};

// Expands `kind: List` (and *List) items, validates every object and returns them
// normalised, in document order. Throws ValidationError listing every problem when any
// object is invalid (so a caller applies all or nothing).
std::vector<NormalizedObject> validateObjects(const std::vector<nlohmann::json>& documents,
                                              const ValidationOptions& options = {});

// What `delete -f` needs: kind, namespace and name of each object (Lists expanded); the rest
// of the object is not checked. Throws ValidationError.
std::vector<ObjectRef> objectRefs(const std::vector<nlohmann::json>& documents, const ValidationOptions& options = {});

}  // namespace cnikit::k8s
