#include "core/k8s/Validation.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/k8s/NameRules.hpp"
#include "core/k8s/Objects.hpp"

namespace cnikit::k8s {

using nlohmann::json;

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::Namespace: return "Namespace";
    case Kind::Pod: return "Pod";
    case Kind::NetworkPolicy: return "NetworkPolicy";
    case Kind::Service: return "Service";
    case Kind::EndpointSlice: return "EndpointSlice";
  }
  return "?";
}

const char* apiVersionOf(Kind kind) {
  switch (kind) {
    case Kind::NetworkPolicy: return "networking.k8s.io/v1";
    case Kind::EndpointSlice: return "discovery.k8s.io/v1";
    case Kind::Namespace:
    case Kind::Pod:
    case Kind::Service: return "v1";
  }
  return "v1";
}

std::optional<Kind> parseKind(const std::string& text) {
  static const std::map<std::string, Kind> kNames = {{"namespaces", Kind::Namespace},
                                                     {"namespace", Kind::Namespace},
                                                     {"ns", Kind::Namespace},
                                                     {"Namespace", Kind::Namespace},
                                                     {"pods", Kind::Pod},
                                                     {"pod", Kind::Pod},
                                                     {"po", Kind::Pod},
                                                     {"Pod", Kind::Pod},
                                                     {"networkpolicies", Kind::NetworkPolicy},
                                                     {"networkpolicy", Kind::NetworkPolicy},
                                                     {"netpol", Kind::NetworkPolicy},
                                                     {"NetworkPolicy", Kind::NetworkPolicy},
                                                     {"networkpolicies.networking.k8s.io", Kind::NetworkPolicy},
                                                     {"services", Kind::Service},
                                                     {"service", Kind::Service},
                                                     {"svc", Kind::Service},
                                                     {"Service", Kind::Service},
                                                     {"endpointslices", Kind::EndpointSlice},
                                                     {"endpointslice", Kind::EndpointSlice},
                                                     {"EndpointSlice", Kind::EndpointSlice},
                                                     {"endpointslices.discovery.k8s.io", Kind::EndpointSlice}};
  auto it = kNames.find(text);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

std::string ObjectRef::str() const {
  std::string out = kindName(kind);
  out += " ";
  if (kind != Kind::Namespace) out += ns + "/";
  out += name.empty() ? "<unnamed>" : name;
  return out;
}

namespace {

std::string joinErrors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e;
  return out;
}

}  // namespace

ValidationError::ValidationError(std::vector<std::string> errors)
    : std::invalid_argument(joinErrors(errors)), errors_(std::move(errors)) {}

namespace {

std::string quoted(const std::string& s) { return json(s).dump(); }

// Collects the field errors of one object, each prefixed with the object's identity.
class FieldErrors {
 public:
  FieldErrors(std::string prefix, std::vector<std::string>& out) : prefix_(std::move(prefix)), out_(out) {}

  void add(const std::string& path, const std::string& detail) {
    out_.push_back(prefix_ + ": " + path + ": " + detail);
  }
  void required(const std::string& path) { add(path, "Required value"); }
  void invalid(const std::string& path, const json& value, const std::string& detail) {
    add(path, detail + " (got " + value.dump() + ")");
  }
  void unsupported(const std::string& path, const json& value, const std::vector<std::string>& supported) {
    std::string list;
    for (const auto& s : supported) list += (list.empty() ? "" : ", ") + quoted(s);
    add(path, "Unsupported value " + value.dump() + ": supported values: " + list);
  }
  void unknownFields(const json& object, const std::string& path, const std::set<std::string>& known) {
    for (const auto& [k, v] : object.items())
      if (!known.count(k)) add(path.empty() ? k : path + "." + k, "unknown field");
  }
  bool object(const json& j, const std::string& path) {
    if (j.is_object()) return true;
    invalid(path, j, "must be an object");
    return false;
  }
  bool array(const json& j, const std::string& path) {
    if (j.is_array()) return true;
    invalid(path, j, "must be a list");
    return false;
  }
  bool string(const json& j, const std::string& path) {
    if (j.is_string()) return true;
    invalid(path, j, "must be a string");
    return false;
  }
  size_t count() const { return out_.size(); }

 private:
  std::string prefix_;
  std::vector<std::string>& out_;
};

// A member that is present and not null (YAML "ingress:" with nothing after it is null).
const json* field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

json validateLabels(const json& labels, const std::string& path, FieldErrors& errors) {
  json out = json::object();
  if (!errors.object(labels, path)) return out;
  for (const auto& [k, v] : labels.items()) {
    std::string p = path + "." + k;
    if (auto err = checkLabelKey(k)) errors.invalid(p, k, *err);
    if (!v.is_string()) {
      errors.invalid(p, v, "must be a string (quote numbers and booleans in YAML)");
      continue;
    }
    if (auto err = checkLabelValue(v.get<std::string>())) errors.invalid(p, v, *err);
    out[k] = v;
  }
  return out;
}

json validateSelector(const json& selector, const std::string& path, FieldErrors& errors) {
  json out = json::object();
  if (!errors.object(selector, path)) return out;
  errors.unknownFields(selector, path, {"matchLabels", "matchExpressions"});
  if (const json* labels = field(selector, "matchLabels")) {
    json l = validateLabels(*labels, path + ".matchLabels", errors);
    if (!l.empty()) out["matchLabels"] = l;
  }
  if (const json* expressions = field(selector, "matchExpressions")) {
    std::string ep = path + ".matchExpressions";
    if (errors.array(*expressions, ep)) {
      json list = json::array();
      for (size_t i = 0; i < expressions->size(); ++i) {
        const json& e = (*expressions)[i];
        std::string p = index(ep, i);
        if (!errors.object(e, p)) continue;
        errors.unknownFields(e, p, {"key", "operator", "values"});
        json req = json::object();
        const json* key = field(e, "key");
        if (!key)
          errors.required(p + ".key");
        else if (errors.string(*key, p + ".key")) {
          if (auto err = checkLabelKey(key->get<std::string>())) errors.invalid(p + ".key", *key, *err);
          req["key"] = *key;
        }
        const json* op = field(e, "operator");
        std::string opText;
        if (!op) errors.required(p + ".operator");
        if (op && op->is_string()) opText = op->get<std::string>();
        bool setOp = opText == "In" || opText == "NotIn";
        bool existOp = opText == "Exists" || opText == "DoesNotExist";
        if (op && !setOp && !existOp)
          errors.add(p + ".operator", "not a valid selector operator: " + op->dump() +
                                          " (supported: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\")");
        req["operator"] = opText;
        const json* values = field(e, "values");
        json vals = json::array();
        if (values && errors.array(*values, p + ".values")) {
          for (size_t j = 0; j < values->size(); ++j) {
            const json& v = (*values)[j];
            std::string vp = index(p + ".values", j);
            if (!v.is_string()) {
              errors.invalid(vp, v, "must be a string (quote numbers and booleans in YAML)");
              continue;
            }
            if (auto err = checkLabelValue(v.get<std::string>())) errors.invalid(vp, v, *err);
            vals.push_back(v);
          }
        }
        bool hasValues = values && values->is_array() && !values->empty();
        if (setOp && !hasValues)
          errors.add(p + ".values", "Required value: must be specified when `operator` is 'In' or 'NotIn'");
        if (existOp && hasValues)
          errors.add(p + ".values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        if (setOp) req["values"] = vals;
        list.push_back(req);
      }
      if (!list.empty()) out["matchExpressions"] = list;
    }
  }
  return out;
}

std::string validateProtocol(const json& object, const std::string& path, FieldErrors& errors) {
  const json* protocol = field(object, "protocol");
  if (!protocol) return "TCP";
  if (!protocol->is_string() || !parseProtocol(protocol->get<std::string>())) {
    errors.unsupported(path + ".protocol", *protocol, {"SCTP", "TCP", "UDP"});
    return "TCP";
  }
  return protocol->get<std::string>();
}

bool validPortNumber(const json& v) {
  return v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 65535;
}

json validatePolicyPort(const json& port, const std::string& path, FieldErrors& errors) {
  json out = json::object();
  if (!errors.object(port, path)) return out;
  errors.unknownFields(port, path, {"protocol", "port", "endPort"});
  out["protocol"] = validateProtocol(port, path, errors);
  const json* number = field(port, "port");
  const json* endPort = field(port, "endPort");
  bool numeric = false;
  if (number) {
    if (number->is_number_integer()) {
      if (!validPortNumber(*number)) errors.invalid(path + ".port", *number, "must be between 1 and 65535, inclusive");
      numeric = true;
      out["port"] = *number;
    } else if (number->is_string()) {
      if (auto err = checkPortName(number->get<std::string>())) errors.invalid(path + ".port", *number, *err);
      out["port"] = *number;
    } else {
      errors.invalid(path + ".port", *number, "must be a port number or a port name");
    }
  }
  if (endPort) {
    std::string ep = path + ".endPort";
    if (!endPort->is_number_integer()) {
      errors.invalid(ep, *endPort, "must be a number");
    } else if (!number) {
      errors.add(ep, "Forbidden: may not be specified when `port` is not specified");
    } else if (!numeric) {
      errors.add(ep, "Forbidden: may not be specified when `port` is non-numeric");
    } else if (!validPortNumber(*endPort)) {
      errors.invalid(ep, *endPort, "must be between 1 and 65535, inclusive");
    } else if (number->is_number_integer() && endPort->get<int64_t>() < number->get<int64_t>()) {
      errors.invalid(ep, *endPort, "must be greater than or equal to port");
    } else {
      out["endPort"] = *endPort;
    }
  }
  return out;
}

json validateIpBlock(const json& block, const std::string& path, FieldErrors& errors) {
  json out = json::object();
  if (!errors.object(block, path)) return out;
  errors.unknownFields(block, path, {"cidr", "except"});
  const json* cidr = field(block, "cidr");
  std::optional<toolkit::IpPrefix> net;
  if (!cidr) {
    errors.required(path + ".cidr");
  } else if (errors.string(*cidr, path + ".cidr")) {
    net = parseBlockCidr(cidr->get<std::string>());
    if (!net) errors.invalid(path + ".cidr", *cidr, "must be a valid CIDR (e.g. 10.0.0.0/16 or fd00::/64)");
    out["cidr"] = *cidr;
  }
  if (const json* except = field(block, "except")) {
    std::string ep = path + ".except";
    if (errors.array(*except, ep)) {
      json list = json::array();
      for (size_t i = 0; i < except->size(); ++i) {
        const json& e = (*except)[i];
        std::string p = index(ep, i);
        if (!errors.string(e, p)) continue;
        auto inner = parseBlockCidr(e.get<std::string>());
        if (!inner)
          errors.invalid(p, e, "must be a valid CIDR (e.g. 10.0.0.0/16 or fd00::/64)");
        else if (net && (!net->contains(*inner) || inner->prefixLength() == net->prefixLength()))
          errors.invalid(p, e, "must be a strict subset of `cidr` " + cidr->dump());
        list.push_back(e);
      }
      if (!list.empty()) out["except"] = list;
    }
  }
  return out;
}

json validatePeer(const json& peer, const std::string& path, FieldErrors& errors) {
  json out = json::object();
  if (!errors.object(peer, path)) return out;
  errors.unknownFields(peer, path, {"podSelector", "namespaceSelector", "ipBlock"});
  const json* pod = field(peer, "podSelector");
  const json* ns = field(peer, "namespaceSelector");
  const json* block = field(peer, "ipBlock");
  if (!pod && !ns && !block) errors.add(path, "Required value: must specify a peer");
  if (block && (pod || ns))
    errors.add(path, "Forbidden: may not specify more than 1 peer type (ipBlock with a selector)");
  if (pod) out["podSelector"] = validateSelector(*pod, path + ".podSelector", errors);
  if (ns) out["namespaceSelector"] = validateSelector(*ns, path + ".namespaceSelector", errors);
  if (block) out["ipBlock"] = validateIpBlock(*block, path + ".ipBlock", errors);
  return out;
}

json validateRules(const json& rules, const std::string& path, const char* peersField, FieldErrors& errors) {
  json out = json::array();
  if (!errors.array(rules, path)) return out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const json& rule = rules[i];
    std::string p = index(path, i);
    json r = json::object();
    if (rule.is_null()) {  // "- {}" written as "-" in YAML
      out.push_back(r);
      continue;
    }
    if (!errors.object(rule, p)) continue;
    errors.unknownFields(rule, p, {peersField, "ports"});
    if (const json* peers = field(rule, peersField)) {
      std::string pp = p + "." + peersField;
      if (errors.array(*peers, pp)) {
        json list = json::array();
        for (size_t j = 0; j < peers->size(); ++j) list.push_back(validatePeer((*peers)[j], index(pp, j), errors));
        if (!list.empty()) r[peersField] = list;
      }
    }
    if (const json* ports = field(rule, "ports")) {
      std::string pp = p + ".ports";
      if (errors.array(*ports, pp)) {
        json list = json::array();
        for (size_t j = 0; j < ports->size(); ++j)
          list.push_back(validatePolicyPort((*ports)[j], index(pp, j), errors));
        if (!list.empty()) r["ports"] = list;
      }
    }
    out.push_back(r);
  }
  return out;
}

json validatePolicySpec(const json* spec, FieldErrors& errors) {
  json out = json::object();
  out["podSelector"] = json::object();
  json ingress = json::array(), egress = json::array();
  bool hasTypes = false;
  json types = json::array();
  if (spec && errors.object(*spec, "spec")) {
    errors.unknownFields(*spec, "spec", {"podSelector", "policyTypes", "ingress", "egress"});
    if (const json* selector = field(*spec, "podSelector"))
      out["podSelector"] = validateSelector(*selector, "spec.podSelector", errors);
    if (const json* rules = field(*spec, "ingress")) ingress = validateRules(*rules, "spec.ingress", "from", errors);
    if (const json* rules = field(*spec, "egress")) egress = validateRules(*rules, "spec.egress", "to", errors);
    if (const json* t = field(*spec, "policyTypes")) {
      if (errors.array(*t, "spec.policyTypes")) {
        if (t->size() > 2) errors.invalid("spec.policyTypes", *t, "may not specify more than two policyTypes");
        for (size_t i = 0; i < t->size(); ++i) {
          const json& v = (*t)[i];
          if (v != "Ingress" && v != "Egress")
            errors.unsupported(index("spec.policyTypes", i), v, {"Egress", "Ingress"});
          else if (std::find(types.begin(), types.end(), v) == types.end())
            types.push_back(v);
        }
        hasTypes = !t->empty();
      }
    }
  }
  // The apiserver's defaulting: Ingress always, Egress when there are egress rules.
  if (!hasTypes) {
    types = json::array({"Ingress"});
    if (!egress.empty()) types.push_back("Egress");
  }
  if (!ingress.empty()) out["ingress"] = ingress;
  if (!egress.empty()) out["egress"] = egress;
  out["policyTypes"] = types;
  return out;
}

json validateContainers(const json* spec, FieldErrors& errors) {
  json out = json::object();
  if (!spec || !errors.object(*spec, "spec")) return out;
  if (const json* node = field(*spec, "nodeName"))
    if (errors.string(*node, "spec.nodeName")) out["nodeName"] = *node;
  const json* containers = field(*spec, "containers");
  if (!containers || !errors.array(*containers, "spec.containers")) return out;
  json list = json::array();
  std::set<std::string> portNames;
  for (size_t i = 0; i < containers->size(); ++i) {
    const json& c = (*containers)[i];
    std::string cp = index("spec.containers", i);
    if (!errors.object(c, cp)) continue;
    json container = json::object();
    if (const json* name = field(c, "name"))
      if (errors.string(*name, cp + ".name")) {
        if (auto err = checkDns1123Label(name->get<std::string>())) errors.invalid(cp + ".name", *name, *err);
        container["name"] = *name;
      }
    json ports = json::array();
    if (const json* p = field(c, "ports"); p && errors.array(*p, cp + ".ports")) {
      for (size_t j = 0; j < p->size(); ++j) {
        const json& port = (*p)[j];
        std::string pp = index(cp + ".ports", j);
        if (!errors.object(port, pp)) continue;
        json out = json::object();
        if (const json* name = field(port, "name")) {
          if (errors.string(*name, pp + ".name")) {
            const std::string& text = name->get_ref<const std::string&>();
            if (auto err = checkPortName(text))
              errors.invalid(pp + ".name", *name, *err);
            else if (!portNames.insert(text).second)
              errors.add(pp + ".name", "Duplicate value: " + name->dump());
            out["name"] = *name;
          }
        }
        const json* number = field(port, "containerPort");
        if (!number)
          errors.required(pp + ".containerPort");
        else if (!validPortNumber(*number))
          errors.invalid(pp + ".containerPort", *number, "must be between 1 and 65535, inclusive");
        else
          out["containerPort"] = *number;
        out["protocol"] = validateProtocol(port, pp, errors);
        ports.push_back(out);
      }
    }
    if (!ports.empty()) container["ports"] = ports;
    list.push_back(container);
  }
  out["containers"] = list;
  return out;
}

json validatePodStatus(const json* status, FieldErrors& errors) {
  json out = json::object();
  if (!status || !errors.object(*status, "status")) return out;
  std::vector<std::string> ips;
  auto addIp = [&](const json& v, const std::string& path) {
    if (!errors.string(v, path)) return;
    auto ip = toolkit::IpAddress::tryParse(v.get<std::string>());
    if (!ip) {
      errors.invalid(path, v, "must be a valid IP address");
      return;
    }
    std::string canonical = ip->str();
    if (std::find(ips.begin(), ips.end(), canonical) == ips.end()) ips.push_back(canonical);
  };
  if (const json* ip = field(*status, "podIP")) addIp(*ip, "status.podIP");
  if (const json* list = field(*status, "podIPs"); list && errors.array(*list, "status.podIPs")) {
    for (size_t i = 0; i < list->size(); ++i) {
      const json& entry = (*list)[i];
      std::string p = index("status.podIPs", i);
      if (!errors.object(entry, p)) continue;
      if (const json* ip = field(entry, "ip"))
        addIp(*ip, p + ".ip");
      else
        errors.required(p + ".ip");
    }
  }
  int v4 = 0, v6 = 0;
  for (const auto& ip : ips) (ip.find(':') == std::string::npos ? v4 : v6)++;
  if (v4 > 1 || v6 > 1) errors.add("status.podIPs", "may specify no more than one IP for each IP family");
  if (!ips.empty()) {
    out["podIP"] = ips.front();
    out["podIPs"] = json::array();
    for (const auto& ip : ips) out["podIPs"].push_back({{"ip", ip}});
  }
  return out;
}

struct Expanded {
  json object;
  std::string where;  // "document 3" or "document 3 item 2"
};

void expand(const json& doc, const std::string& where, std::vector<Expanded>& out, std::vector<std::string>& errors,
            const std::string& prefix) {
  if (!doc.is_object()) {
    errors.push_back(prefix + where + ": must be an object (a Kubernetes manifest)");
    return;
  }
  const json* kind = field(doc, "kind");
  if (kind && kind->is_string()) {
    const std::string& k = kind->get_ref<const std::string&>();
    if (k.size() >= 4 && k.compare(k.size() - 4, 4, "List") == 0) {
      const json* items = field(doc, "items");
      if (!items) return;  // an empty list
      if (!items->is_array()) {
        errors.push_back(prefix + where + ": items: must be a list");
        return;
      }
      for (size_t i = 0; i < items->size(); ++i)
        expand((*items)[i], where + " item " + std::to_string(i + 1), out, errors, prefix);
      return;
    }
  }
  out.push_back({doc, where});
}

struct Identity {
  std::optional<ObjectRef> ref;
  std::string label;  // for messages
};

Identity identify(const Expanded& e, const ValidationOptions& options, std::vector<std::string>& errors,
                  const std::string& prefix) {
  Identity id;
  const json* kind = field(e.object, "kind");
  if (!kind || !kind->is_string()) {
    errors.push_back(prefix + e.where + ": kind: Required value");
    return id;
  }
  const std::string& k = kind->get_ref<const std::string&>();
  std::optional<Kind> parsed;
  if (k == "Namespace") parsed = Kind::Namespace;
  if (k == "Pod") parsed = Kind::Pod;
  for (Kind candidate : kAllKinds)
    if (k == kindName(candidate)) parsed = candidate;
  if (!parsed) {
    errors.push_back(prefix + e.where + ": kind " + quoted(k) +
                     " is not supported (cnikit reads Namespace, Pod, NetworkPolicy, Service and EndpointSlice, and "
                     "List of them)");
    return id;
  }
  ObjectRef ref;
  ref.kind = *parsed;
  const json* metadata = field(e.object, "metadata");
  if (metadata && metadata->is_object()) {
    if (const json* name = field(*metadata, "name"); name && name->is_string()) ref.name = name->get<std::string>();
    if (const json* ns = field(*metadata, "namespace"); ns && ns->is_string()) ref.ns = ns->get<std::string>();
  }
  if (ref.kind == Kind::Namespace)
    ref.ns.clear();
  else if (ref.ns.empty())
    ref.ns = options.defaultNamespace;
  id.ref = ref;
  id.label = prefix + ref.str() + (ref.name.empty() ? " (" + e.where + ")" : "");
  return id;
}

json validateMetadata(const json& object, const ObjectRef& ref, FieldErrors& errors) {
  json out = json::object();
  const json* metadata = field(object, "metadata");
  if (!metadata) {
    errors.required("metadata.name");
    return out;
  }
  if (!errors.object(*metadata, "metadata")) return out;
  const json* name = field(*metadata, "name");
  if (!name) {
    errors.required("metadata.name");
  } else if (errors.string(*name, "metadata.name")) {
    auto err = ref.kind == Kind::Namespace ? checkDns1123Label(ref.name)
               : ref.kind == Kind::Service ? checkDns1035Label(ref.name)
                                           : checkDns1123Subdomain(ref.name);
    if (err) errors.invalid("metadata.name", *name, *err);
  }
  out["name"] = ref.name;
  if (ref.kind != Kind::Namespace) {
    if (const json* ns = field(*metadata, "namespace"); ns && !ns->is_string())
      errors.invalid("metadata.namespace", *ns, "must be a string");
    else if (auto err = checkDns1123Label(ref.ns))
      errors.invalid("metadata.namespace", ref.ns, *err);
    out["namespace"] = ref.ns;
  }
  json labels = json::object();
  if (const json* l = field(*metadata, "labels")) labels = validateLabels(*l, "metadata.labels", errors);
  // The apiserver sets this label on every namespace and keeps it equal to the name.
  if (ref.kind == Kind::Namespace) labels[kNamespaceNameLabel] = ref.name;
  if (!labels.empty()) out["labels"] = labels;
  return out;
}

void checkApiVersion(const json& object, Kind kind, FieldErrors& errors) {
  std::string expected = apiVersionOf(kind);
  const json* apiVersion = field(object, "apiVersion");
  if (!apiVersion)
    errors.required("apiVersion");
  else if (*apiVersion != expected)
    errors.unsupported("apiVersion", *apiVersion, {expected});
}

// One of `supported` (default when absent); records an error otherwise.
std::string validateEnum(const json& object, const char* name, const std::string& path,
                         const std::vector<std::string>& supported, const std::string& fallback, FieldErrors& errors) {
  const json* value = field(object, name);
  if (!value) return fallback;
  if (value->is_string() && std::find(supported.begin(), supported.end(), value->get<std::string>()) != supported.end())
    return value->get<std::string>();
  errors.unsupported(path, *value, supported);
  return fallback;
}

std::string familyOf(const toolkit::IpAddress& ip) { return ip.isV4() ? "IPv4" : "IPv6"; }

// spec.clusterIP and spec.clusterIPs: "None" (headless) or up to one address per family;
// both given must agree. Returns the canonical list ([] = to be allocated).
json validateClusterIps(const json& spec, FieldErrors& errors) {
  json ips = json::array();
  const json* single = field(spec, "clusterIP");
  const json* list = field(spec, "clusterIPs");
  if (single && !errors.string(*single, "spec.clusterIP")) single = nullptr;
  if (single && single->get<std::string>().empty()) single = nullptr;  // "" = allocate, as the apiserver reads it
  std::vector<std::string> given;
  if (list && errors.array(*list, "spec.clusterIPs")) {
    for (size_t i = 0; i < list->size(); ++i)
      if (errors.string((*list)[i], index("spec.clusterIPs", i))) given.push_back((*list)[i].get<std::string>());
  }
  if (single) {
    if (given.empty())
      given.push_back(single->get<std::string>());
    else if (given[0] != single->get<std::string>())
      errors.invalid("spec.clusterIPs[0]", given[0], "must be consistent with spec.clusterIP " + single->dump());
  }
  if (given.size() > 2) errors.invalid("spec.clusterIPs", *list, "may not have more than 2 entries (one per family)");
  std::set<std::string> families;
  for (size_t i = 0; i < given.size(); ++i) {
    std::string p = index("spec.clusterIPs", i);
    if (given[i] == "None") {
      if (given.size() > 1) errors.invalid(p, given[i], "'None' must be the only entry when given");
      ips.push_back("None");
      continue;
    }
    auto ip = toolkit::IpAddress::tryParse(given[i]);
    if (!ip) {
      errors.invalid(p, given[i], "must be a valid IP address or 'None'");
      continue;
    }
    if (!families.insert(familyOf(*ip)).second)
      errors.invalid(p, given[i], "may specify no more than one IP for each IP family");
    ips.push_back(ip->str());
  }
  return ips;
}

json validateServicePorts(const json& spec, const std::string& type, bool headless, FieldErrors& errors) {
  json out = json::array();
  const json* ports = field(spec, "ports");
  if (!ports) {
    if (!headless) errors.required("spec.ports");
    return out;
  }
  if (!errors.array(*ports, "spec.ports")) return out;
  if (ports->empty() && !headless) errors.required("spec.ports");
  std::set<std::string> names;
  std::set<std::pair<int64_t, std::string>> portProtocols, nodePorts;
  for (size_t i = 0; i < ports->size(); ++i) {
    const json& port = (*ports)[i];
    std::string p = index("spec.ports", i);
    if (!errors.object(port, p)) continue;
    errors.unknownFields(port, p, {"name", "protocol", "port", "targetPort", "nodePort", "appProtocol"});
    json o = json::object();
    std::string name;
    if (const json* n = field(port, "name"); n && errors.string(*n, p + ".name")) name = n->get<std::string>();
    if (!name.empty()) {
      if (auto err = checkDns1123Label(name)) errors.invalid(p + ".name", name, *err);
      if (!names.insert(name).second) errors.add(p + ".name", "Duplicate value: " + json(name).dump());
      o["name"] = name;
    } else if (ports->size() > 1) {
      errors.required(p + ".name");  // the apiserver: every port of a multi-port Service is named
    }
    std::string protocol = validateEnum(port, "protocol", p + ".protocol", {"TCP", "UDP"}, "TCP", errors);
    o["protocol"] = protocol;
    const json* number = field(port, "port");
    int64_t portNumber = 0;
    if (!number)
      errors.required(p + ".port");
    else if (!validPortNumber(*number))
      errors.invalid(p + ".port", *number, "must be between 1 and 65535, inclusive");
    else
      portNumber = number->get<int64_t>();
    o["port"] = portNumber;
    if (portNumber && !portProtocols.insert({portNumber, protocol}).second)
      errors.add(p, "Duplicate value: " + json{{"port", portNumber}, {"protocol", protocol}}.dump());
    // targetPort: a number, or the name of a container port; default = port.
    o["targetPort"] = portNumber;
    if (const json* target = field(port, "targetPort")) {
      if (target->is_number_integer()) {
        if (!validPortNumber(*target))
          errors.invalid(p + ".targetPort", *target, "must be between 1 and 65535, inclusive");
        o["targetPort"] = *target;
      } else if (target->is_string()) {
        if (auto err = checkPortName(target->get<std::string>())) errors.invalid(p + ".targetPort", *target, *err);
        o["targetPort"] = *target;
      } else {
        errors.invalid(p + ".targetPort", *target, "must be a port number or a port name");
      }
    }
    if (const json* nodePort = field(port, "nodePort")) {
      if (type == "ClusterIP")
        errors.add(p + ".nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'");
      else if (!validPortNumber(*nodePort))
        errors.invalid(p + ".nodePort", *nodePort, "must be between 1 and 65535, inclusive");
      else if (!nodePorts.insert({nodePort->get<int64_t>(), protocol}).second)
        errors.add(p + ".nodePort", "Duplicate value: " + nodePort->dump());
      else
        o["nodePort"] = *nodePort;
    }
    out.push_back(o);
  }
  return out;
}

json validateServiceSpec(const json* spec, FieldErrors& errors) {
  json out = json::object();
  static const json kEmpty = json::object();
  if (spec && !errors.object(*spec, "spec")) spec = nullptr;
  const json& s = spec ? *spec : kEmpty;
  if (!spec) errors.required("spec");
  errors.unknownFields(s, "spec",
                       {"type", "selector", "ports", "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                        "sessionAffinity", "sessionAffinityConfig", "internalTrafficPolicy", "externalTrafficPolicy"});
  std::string type =
      validateEnum(s, "type", "spec.type", {"ClusterIP", "NodePort", "LoadBalancer"}, "ClusterIP", errors);
  out["type"] = type;
  if (const json* selector = field(s, "selector")) {
    json labels = validateLabels(*selector, "spec.selector", errors);
    if (!labels.empty()) out["selector"] = labels;
  }
  json clusterIPs = validateClusterIps(s, errors);
  bool headless = !clusterIPs.empty() && clusterIPs[0] == "None";
  if (headless && type != "ClusterIP")
    errors.invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for " + type + " services");
  out["ports"] = validateServicePorts(s, type, headless, errors);
  if (!clusterIPs.empty()) {
    out["clusterIP"] = clusterIPs[0];
    out["clusterIPs"] = clusterIPs;
  }
  std::vector<std::string> families;
  if (const json* list = field(s, "ipFamilies"); list && errors.array(*list, "spec.ipFamilies")) {
    for (size_t i = 0; i < list->size(); ++i) {
      const json& f = (*list)[i];
      std::string p = index("spec.ipFamilies", i);
      if (f != "IPv4" && f != "IPv6") {
        errors.unsupported(p, f, {"IPv4", "IPv6"});
      } else if (std::find(families.begin(), families.end(), f.get<std::string>()) != families.end()) {
        errors.add(p, "Duplicate value: " + f.dump());
      } else {
        families.push_back(f.get<std::string>());
      }
    }
  }
  // ipFamilies given must match the given clusterIPs, entry by entry.
  if (!headless)
    for (size_t i = 0; i < std::min(families.size(), clusterIPs.size()); ++i)
      if (familyOf(*toolkit::IpAddress::tryParse(clusterIPs[i].get<std::string>())) != families[i])
        errors.invalid(index("spec.clusterIPs", i), clusterIPs[i],
                       "expected an " + families[i] + " value as indicated by `ipFamilies[" + std::to_string(i) + "]`");
  if (!families.empty()) out["ipFamilies"] = families;
  if (field(s, "ipFamilyPolicy")) {
    std::string policy = validateEnum(s, "ipFamilyPolicy", "spec.ipFamilyPolicy",
                                      {"SingleStack", "PreferDualStack", "RequireDualStack"}, "SingleStack", errors);
    out["ipFamilyPolicy"] = policy;
    if (policy == "SingleStack" && (families.size() > 1 || clusterIPs.size() > 1))
      errors.invalid("spec.ipFamilyPolicy", policy,
                     "must be 'RequireDualStack' or 'PreferDualStack' when multiple "
                     "IP families or cluster IPs are specified");
  } else if (families.size() > 1 || clusterIPs.size() > 1) {
    out["ipFamilyPolicy"] = "RequireDualStack";  // the apiserver's default for two given families
  }
  std::string affinity =
      validateEnum(s, "sessionAffinity", "spec.sessionAffinity", {"ClientIP", "None"}, "None", errors);
  out["sessionAffinity"] = affinity;
  if (const json* config = field(s, "sessionAffinityConfig")) {
    const std::string p = "spec.sessionAffinityConfig";
    if (affinity != "ClientIP") {
      errors.invalid(p, *config, "must not be set when session affinity is None");
    } else if (errors.object(*config, p)) {
      errors.unknownFields(*config, p, {"clientIP"});
      if (const json* clientIp = field(*config, "clientIP"); clientIp && errors.object(*clientIp, p + ".clientIP")) {
        errors.unknownFields(*clientIp, p + ".clientIP", {"timeoutSeconds"});
        if (const json* timeout = field(*clientIp, "timeoutSeconds")) {
          if (!timeout->is_number_integer() || timeout->get<int64_t>() < 1 || timeout->get<int64_t>() > 86400)
            errors.invalid(p + ".clientIP.timeoutSeconds", *timeout, "must be greater than 0 and less than 86400");
          else
            out["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", *timeout}}}};
        }
      }
    }
  }
  if (affinity == "ClientIP" && !out.contains("sessionAffinityConfig"))
    out["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 10800}}}};
  out["internalTrafficPolicy"] =
      validateEnum(s, "internalTrafficPolicy", "spec.internalTrafficPolicy", {"Cluster", "Local"}, "Cluster", errors);
  if (const json* external = field(s, "externalTrafficPolicy"); external && type == "ClusterIP")
    errors.invalid("spec.externalTrafficPolicy", *external,
                   "may only be set when `type` is 'NodePort' or 'LoadBalancer'");
  else if (type != "ClusterIP")
    out["externalTrafficPolicy"] =
        validateEnum(s, "externalTrafficPolicy", "spec.externalTrafficPolicy", {"Cluster", "Local"}, "Cluster", errors);
  return out;
}

// discovery.k8s.io/v1 EndpointSlice: addressType, endpoints and ports at the top level.
void validateEndpointSlice(const json& object, json& out, FieldErrors& errors) {
  errors.unknownFields(object, "", {"apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"});
  const json* type = field(object, "addressType");
  std::string addressType;
  if (!type)
    errors.required("addressType");
  else if (*type != "IPv4" && *type != "IPv6")
    errors.unsupported("addressType", *type, {"IPv4", "IPv6"});  // FQDN: nothing to program
  else
    addressType = type->get<std::string>();
  out["addressType"] = addressType;
  json endpoints = json::array();
  if (const json* list = field(object, "endpoints"); list && errors.array(*list, "endpoints")) {
    for (size_t i = 0; i < list->size(); ++i) {
      const json& e = (*list)[i];
      std::string p = index("endpoints", i);
      if (!errors.object(e, p)) continue;
      errors.unknownFields(e, p, {"addresses", "conditions", "nodeName", "targetRef", "hostname", "zone", "hints"});
      json o = json::object();
      json addresses = json::array();
      const json* a = field(e, "addresses");
      if (!a) {
        errors.required(p + ".addresses");
      } else if (errors.array(*a, p + ".addresses")) {
        if (a->empty() || a->size() > 100)
          errors.invalid(p + ".addresses", *a, "must have at least 1 and at most 100 addresses");
        for (size_t j = 0; j < a->size(); ++j) {
          std::string ap = index(p + ".addresses", j);
          if (!errors.string((*a)[j], ap)) continue;
          auto ip = toolkit::IpAddress::tryParse((*a)[j].get<std::string>());
          if (!ip)
            errors.invalid(ap, (*a)[j], "must be a valid IP address");
          else if (!addressType.empty() && familyOf(*ip) != addressType)
            errors.invalid(ap, (*a)[j], "must be an " + addressType + " address (addressType)");
          else
            addresses.push_back(ip->str());
        }
      }
      o["addresses"] = addresses;
      if (const json* c = field(e, "conditions"); c && errors.object(*c, p + ".conditions")) {
        json conditions = json::object();
        for (const char* name : {"ready", "serving", "terminating"})
          if (const json* v = field(*c, name)) {
            if (!v->is_boolean())
              errors.invalid(p + ".conditions." + name, *v, "must be true or false");
            else
              conditions[name] = *v;
          }
        errors.unknownFields(*c, p + ".conditions", {"ready", "serving", "terminating"});
        o["conditions"] = conditions;
      }
      if (const json* node = field(e, "nodeName"); node && errors.string(*node, p + ".nodeName")) {
        if (auto err = checkDns1123Subdomain(node->get<std::string>())) errors.invalid(p + ".nodeName", *node, *err);
        o["nodeName"] = *node;
      }
      if (const json* ref = field(e, "targetRef"); ref && errors.object(*ref, p + ".targetRef")) {
        json r = json::object();
        for (const char* name : {"kind", "namespace", "name"})
          if (const json* v = field(*ref, name); v && errors.string(*v, p + ".targetRef." + name)) r[name] = *v;
        o["targetRef"] = r;
      }
      endpoints.push_back(o);
    }
  }
  out["endpoints"] = endpoints;
  json ports = json::array();
  if (const json* list = field(object, "ports"); list && errors.array(*list, "ports")) {
    std::set<std::string> names;
    for (size_t i = 0; i < list->size(); ++i) {
      const json& port = (*list)[i];
      std::string p = index("ports", i);
      if (!errors.object(port, p)) continue;
      errors.unknownFields(port, p, {"name", "port", "protocol", "appProtocol"});
      json o = json::object();
      std::string name;
      if (const json* n = field(port, "name"); n && errors.string(*n, p + ".name")) name = n->get<std::string>();
      if (!name.empty())
        if (auto err = checkDns1123Label(name)) errors.invalid(p + ".name", name, *err);
      if (!names.insert(name).second) errors.add(p + ".name", "Duplicate value: " + json(name).dump());
      o["name"] = name;
      if (const json* number = field(port, "port")) {
        if (!validPortNumber(*number))
          errors.invalid(p + ".port", *number, "must be between 1 and 65535, inclusive");
        else
          o["port"] = *number;
      }
      o["protocol"] = validateEnum(port, "protocol", p + ".protocol", {"TCP", "UDP"}, "TCP", errors);
      ports.push_back(o);
    }
  }
  out["ports"] = ports;
}

json normalise(const json& object, const ObjectRef& ref, FieldErrors& errors) {
  checkApiVersion(object, ref.kind, errors);
  json out = {{"apiVersion", apiVersionOf(ref.kind)}, {"kind", kindName(ref.kind)}};
  out["metadata"] = validateMetadata(object, ref, errors);
  if (ref.kind == Kind::NetworkPolicy) {
    out["spec"] = validatePolicySpec(field(object, "spec"), errors);
  } else if (ref.kind == Kind::Pod) {
    json spec = validateContainers(field(object, "spec"), errors);
    if (!spec.empty()) out["spec"] = spec;
    json status = validatePodStatus(field(object, "status"), errors);
    if (!status.empty()) out["status"] = status;
  } else if (ref.kind == Kind::Service) {
    out["spec"] = validateServiceSpec(field(object, "spec"), errors);
    // status is the cluster's to write (the allocator sets status.loadBalancer): a status in
    // a manifest is ignored, as the apiserver ignores it on create and update.
    out["status"] = {{"loadBalancer", json::object()}};
  } else if (ref.kind == Kind::EndpointSlice) {
    validateEndpointSlice(object, out, errors);
  }
  return out;
}

std::vector<Expanded> expandAll(const std::vector<json>& documents, std::vector<std::string>& errors,
                                const std::string& prefix) {
  std::vector<Expanded> expanded;
  for (size_t i = 0; i < documents.size(); ++i)
    expand(documents[i], "document " + std::to_string(i + 1), expanded, errors, prefix);
  return expanded;
}

}  // namespace

std::vector<NormalizedObject> validateObjects(const std::vector<json>& documents, const ValidationOptions& options) {
  std::vector<std::string> errors;
  std::string prefix = options.source.empty() ? "" : options.source + ": ";
  std::vector<NormalizedObject> out;
  for (const auto& e : expandAll(documents, errors, prefix)) {
    auto id = identify(e, options, errors, prefix);
    if (!id.ref) continue;
    FieldErrors fieldErrors(id.label, errors);
    json object = normalise(e.object, *id.ref, fieldErrors);
    out.push_back({*id.ref, std::move(object)});
  }
  if (!errors.empty()) throw ValidationError(std::move(errors));
  return out;
}

std::vector<ObjectRef> objectRefs(const std::vector<json>& documents, const ValidationOptions& options) {
  std::vector<std::string> errors;
  std::string prefix = options.source.empty() ? "" : options.source + ": ";
  std::vector<ObjectRef> out;
  for (const auto& e : expandAll(documents, errors, prefix)) {
    auto id = identify(e, options, errors, prefix);
    if (!id.ref) continue;
    if (id.ref->name.empty()) {
      errors.push_back(id.label + ": metadata.name: Required value");
      continue;
    }
    out.push_back(*id.ref);
  }
  if (!errors.empty()) throw ValidationError(std::move(errors));
  return out;
}

}  // namespace cnikit::k8s
