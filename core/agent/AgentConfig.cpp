#include "core/agent/AgentConfig.hpp"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/yaml/YamlToJson.hpp"

namespace cnikit::agent {
namespace {

using nlohmann::json;

// Reads config fields with errors that say which field of which file was wrong.
class FieldReader {
 public:
  FieldReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) fail("", "must be an object");
  }

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw std::invalid_argument(where_ + (field.empty() ? "" : "." + field) + ": " + problem);
  }

  const json* find(const std::string& field) const {
    auto it = object_.find(field);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::string string(const std::string& field, const std::string& fallback = "") const {
    const json* value = find(field);
    if (!value) return fallback;
    if (!value->is_string()) fail(field, "must be a string");
    return value->get<std::string>();
  }

  std::string requiredString(const std::string& field) const {
    std::string value = string(field);
    if (value.empty()) fail(field, "is required");
    return value;
  }

  int integer(const std::string& field, int fallback, int min, int max) const {
    const json* value = find(field);
    if (!value) return fallback;
    if (!value->is_number_integer()) fail(field, "must be an integer");
    auto v = value->get<int64_t>();
    if (v < min || v > max) fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return static_cast<int>(v);
  }

  std::vector<std::string> strings(const std::string& field) const {
    std::vector<std::string> out;
    const json* value = find(field);
    if (!value) return out;
    if (!value->is_array()) fail(field, "must be a list of strings");
    for (const auto& item : *value) {
      if (!item.is_string()) fail(field, "must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::map<std::string, std::string> labels(const std::string& field) const {
    std::map<std::string, std::string> out;
    const json* value = find(field);
    if (!value) return out;
    if (!value->is_object()) fail(field, "must be a map of strings");
    for (const auto& [k, v] : value->items()) {
      if (!v.is_string()) fail(field + "." + k, "must be a string");
      out[k] = v.get<std::string>();
    }
    return out;
  }

  std::vector<json> objects(const std::string& field) const {
    const json* value = find(field);
    if (!value) return {};
    if (!value->is_array()) fail(field, "must be a list");
    return value->get<std::vector<json>>();
  }

  void rejectUnknown(std::initializer_list<const char*> known) const {
    for (const auto& [k, v] : object_.items()) {
      bool ok = false;
      for (const char* name : known) ok = ok || k == name;
      if (!ok) fail(k, "unknown field");
    }
  }

  const std::string& where() const { return where_; }

 private:
  const json& object_;
  std::string where_;
};

toolkit::IpPrefix parseCidr(const FieldReader& reader, const std::string& field, const std::string& text) {
  auto cidr = toolkit::IpPrefix::parse(text, {.hostBits = toolkit::HostBits::Refuse});
  if (!cidr) reader.fail(field, cidr.error().message);
  return cidr.value();
}

ipam::PoolConfig parsePool(const json& j, const std::string& where) {
  FieldReader r(j, where);
  r.rejectUnknown({"name", "backend", "cidrs", "nodeSubnetPrefix", "exclude"});
  ipam::PoolConfig pool;
  pool.name = r.requiredString("name");
  pool.backend = r.requiredString("backend");
  for (const auto& text : r.strings("cidrs")) pool.cidrs.push_back(parseCidr(r, "cidrs", text));
  if (pool.cidrs.empty()) r.fail("cidrs", "needs at least one CIDR");
  if (const json* prefix = r.find("nodeSubnetPrefix")) {
    FieldReader p(*prefix, where + ".nodeSubnetPrefix");
    p.rejectUnknown({"ipv4", "ipv6"});
    pool.nodeSubnetPrefixV4 = p.integer("ipv4", pool.nodeSubnetPrefixV4, 1, 32);
    pool.nodeSubnetPrefixV6 = p.integer("ipv6", pool.nodeSubnetPrefixV6, 1, 128);
  }
  for (const auto& text : r.strings("exclude")) {
    auto cidr = toolkit::IpPrefix::tryParse(text, {.hostBits = toolkit::HostBits::Refuse, .bareAddress = true});
    if (!cidr) r.fail("exclude", "'" + text + "' is neither an address nor a CIDR");
    pool.exclude.push_back(*cidr);
  }
  try {
    ipam::validatePool(pool);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  return pool;
}

policy::ProviderKind providerKind(const FieldReader& reader, const std::string& field, const json& value) {
  std::optional<policy::ProviderKind> kind;
  if (value.is_string()) kind = policy::parseProviderKind(value.get<std::string>());
  if (!kind) reader.fail(field, value.dump() + " is not a policy provider (none or iptables)");
  return *kind;
}

// `policy:` of a backend instance. The old spelling inside the backend's options is still
// read (and taken out of them: it is the core's business, not the backend's), with a warning.
policy::ProviderKind parsePolicy(const FieldReader& b, BackendConfig& backend) {
  const json* typed = b.find("policy");
  auto old = backend.options.find("policy");
  if (old == backend.options.end()) return typed ? providerKind(b, "policy", *typed) : policy::ProviderKind::None;
  auto oldKind = providerKind(b, "options.policy", *old);
  backend.options.erase(old);
  if (typed) {
    auto kind = providerKind(b, "policy", *typed);
    if (kind != oldKind) b.fail("options.policy", "contradicts policy (give only policy)");
    spdlog::warn("backend instance '{}': options.policy is deprecated and ignored beside policy: remove it",
                 backend.name);
    return kind;
  }
  spdlog::warn("backend instance '{}': options.policy is deprecated: write `policy: {}` beside type and options",
               backend.name, policy::providerKindName(oldKind));
  return oldKind;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "node";
  return buf;
}

ServicesConfig parseServices(const json& j, const std::string& where, const std::vector<ipam::PoolConfig>& pools);

void parseCluster(const FieldReader& r, const std::string& origin, AgentConfig& config) {
  config.backends.clear();
  config.pools.clear();
  config.selection.clear();
  auto backends = r.objects("backends");
  if (backends.empty()) r.fail("backends", "needs at least one backend instance");
  for (size_t i = 0; i < backends.size(); ++i) {
    FieldReader b(backends[i], origin + ".backends[" + std::to_string(i) + "]");
    b.rejectUnknown({"name", "type", "options", "policy"});
    BackendConfig backend;
    backend.name = b.requiredString("name");
    for (char c : backend.name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
        b.fail("name", "'" + backend.name + "' may hold only letters, digits, '-' and '_'");
    backend.type = b.requiredString("type");
    if (const json* options = b.find("options")) {
      if (!options->is_object()) b.fail("options", "must be an object");
      backend.options = *options;
    }
    backend.policy = parsePolicy(b, backend);
    for (const auto& other : config.backends)
      if (other.name == backend.name) b.fail("name", "duplicate backend instance '" + backend.name + "'");
    config.backends.push_back(std::move(backend));
  }

  auto pools = r.objects("pools");
  if (pools.empty()) r.fail("pools", "needs at least one pool");
  for (size_t i = 0; i < pools.size(); ++i) {
    std::string where = origin + ".pools[" + std::to_string(i) + "]";
    auto pool = parsePool(pools[i], where);
    bool known = false;
    for (const auto& b : config.backends) known = known || b.name == pool.backend;
    if (!known) throw std::invalid_argument(where + ".backend: no backend instance named '" + pool.backend + "'");
    for (const auto& other : config.pools) {
      if (other.name == pool.name) throw std::invalid_argument(where + ".name: duplicate pool '" + pool.name + "'");
      for (const auto& a : other.cidrs)
        for (const auto& b : pool.cidrs)
          if (a.overlaps(b))
            throw std::invalid_argument(where + ".cidrs: " + b.str() + " overlaps pool '" + other.name + "' (" +
                                        a.str() + ")");
    }
    config.pools.push_back(std::move(pool));
  }

  auto rules = r.objects("selection");
  for (size_t i = 0; i < rules.size(); ++i) {
    FieldReader s(rules[i], origin + ".selection[" + std::to_string(i) + "]");
    s.rejectUnknown({"pool", "namespaces", "namespaceLabels", "nodeLabels"});
    SelectionRule rule;
    rule.pool = s.requiredString("pool");
    bool known = false;
    for (const auto& p : config.pools) known = known || p.name == rule.pool;
    if (!known) s.fail("pool", "no pool named '" + rule.pool + "'");
    rule.namespaces = s.strings("namespaces");
    rule.namespaceLabels = s.labels("namespaceLabels");
    rule.nodeLabels = s.labels("nodeLabels");
    config.selection.push_back(std::move(rule));
  }
  config.services = ServicesConfig{};
  if (const json* services = r.find("services"))
    config.services = parseServices(*services, origin + ".services", config.pools);
}

ServicesConfig parseServices(const json& j, const std::string& where, const std::vector<ipam::PoolConfig>& pools) {
  FieldReader r(j, where);
  r.rejectUnknown({"proxy", "clusterIPv4Cidr", "clusterIPv6Cidr", "nodePortRange", "loadBalancerPools"});
  ServicesConfig services;
  auto proxy = r.string("proxy", "iptables");
  if (proxy == "none")
    services.proxy = ServicesConfig::Proxy::None;
  else if (proxy != "iptables")
    r.fail("proxy", "'" + proxy + "' is not one of iptables, none");
  auto v4 = r.string("clusterIPv4Cidr", services.clusterIPv4Cidr.str());
  services.clusterIPv4Cidr = parseCidr(r, "clusterIPv4Cidr", v4);
  if (!services.clusterIPv4Cidr.isV4()) r.fail("clusterIPv4Cidr", "'" + v4 + "' is not an IPv4 CIDR");
  if (auto v6 = r.string("clusterIPv6Cidr"); !v6.empty()) {
    services.clusterIPv6Cidr = parseCidr(r, "clusterIPv6Cidr", v6);
    if (services.clusterIPv6Cidr->isV4()) r.fail("clusterIPv6Cidr", "'" + v6 + "' is not an IPv6 CIDR");
  }
  if (auto range = r.string("nodePortRange"); !range.empty()) {
    unsigned low = 0, high = 0;
    char dash = 0;
    std::istringstream in(range);
    if (!(in >> low >> dash >> high) || dash != '-' || !in.eof() || low < 1 || high > 65535 || low > high)
      r.fail("nodePortRange", "'" + range + "' is not a port range like 30000-32767");
    services.nodePortMin = static_cast<uint16_t>(low);
    services.nodePortMax = static_cast<uint16_t>(high);
  }
  // Service addresses, pod addresses and load-balancer addresses never overlap.
  std::vector<toolkit::IpPrefix> taken;
  for (const auto& pool : pools) taken.insert(taken.end(), pool.cidrs.begin(), pool.cidrs.end());
  for (const auto& [field, cidr] : {std::pair{"clusterIPv4Cidr", std::optional(services.clusterIPv4Cidr)},
                                    std::pair{"clusterIPv6Cidr", services.clusterIPv6Cidr}}) {
    if (!cidr) continue;
    for (const auto& other : taken)
      if (other.overlaps(*cidr)) r.fail(field, cidr->str() + " overlaps " + other.str());
    taken.push_back(*cidr);
  }
  auto lbPools = r.objects("loadBalancerPools");
  for (size_t i = 0; i < lbPools.size(); ++i) {
    FieldReader p(lbPools[i], where + ".loadBalancerPools[" + std::to_string(i) + "]");
    p.rejectUnknown({"name", "cidrs"});
    LoadBalancerPool pool;
    pool.name = p.requiredString("name");
    for (const auto& other : services.loadBalancerPools)
      if (other.name == pool.name) p.fail("name", "duplicate load-balancer pool '" + pool.name + "'");
    for (const auto& text : p.strings("cidrs")) {
      auto cidr = parseCidr(p, "cidrs", text);
      for (const auto& other : taken)
        if (other.overlaps(cidr)) p.fail("cidrs", cidr.str() + " overlaps " + other.str());
      taken.push_back(cidr);
      pool.cidrs.push_back(cidr);
    }
    if (pool.cidrs.empty()) p.fail("cidrs", "needs at least one CIDR");
    services.loadBalancerPools.push_back(std::move(pool));
  }
  return services;
}

json singleDocument(const std::string& text, const std::string& origin) {
  std::vector<json> docs;
  try {
    docs = yaml::yamlToJson(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
  if (docs.size() != 1) throw std::invalid_argument(origin + ": expected exactly one document");
  return docs[0];
}

}  // namespace

AgentConfig parseAgentConfig(const std::string& text, const std::string& origin) {
  json doc = singleDocument(text, origin);
  FieldReader r(doc, origin);
  r.rejectUnknown({"node", "nodeLabels", "socket", "stateDir", "store", "backendDir", "metricsAddress",
                   "gcIntervalSeconds", "logLevel", "underlayInterface", "nodeLeaseTtlSeconds", "resyncSeconds",
                   "backends", "pools", "selection", "services"});

  AgentConfig config;
  config.node = r.string("node", hostName());
  config.nodeLabels = r.labels("nodeLabels");
  config.socket = r.string("socket", config.socket);
  config.stateDir = r.string("stateDir", config.stateDir.string());
  config.backendDir = r.string("backendDir", CNIKIT_DEFAULT_BACKEND_DIR);
  config.metricsAddress = r.string("metricsAddress");
  config.gcIntervalSeconds = r.integer("gcIntervalSeconds", config.gcIntervalSeconds, 0, 86400);
  config.logLevel = r.string("logLevel", config.logLevel);
  config.underlayInterface = r.string("underlayInterface");
  config.nodeLeaseTtlSeconds = r.integer("nodeLeaseTtlSeconds", config.nodeLeaseTtlSeconds, 2, 86400);
  config.resyncSeconds = r.integer("resyncSeconds", config.resyncSeconds, 1, 86400);

  config.store.type = "sqlite";
  config.store.path = (config.stateDir / "store.db").string();
  if (const json* storeJson = r.find("store")) {
    FieldReader s(*storeJson, origin + ".store");
    s.rejectUnknown({"type", "path", "endpoints"});
    config.store.type = s.string("type", "sqlite");
    if (config.store.type != "sqlite" && config.store.type != "etcd") s.fail("type", "must be sqlite or etcd");
    config.store.path = s.string("path", config.store.path);
    config.store.endpoints = s.strings("endpoints");
  }

  if (r.find("backends") || r.find("pools") || r.find("selection"))
    parseCluster(r, origin, config);
  else
    config.clusterFromStore = true;
  return config;
}

void applyClusterConfig(AgentConfig& config, const std::string& text, const std::string& origin) {
  json doc = singleDocument(text, origin);
  FieldReader r(doc, origin);
  r.rejectUnknown({"backends", "pools", "selection", "services"});
  parseCluster(r, origin, config);
}

AgentConfig loadAgentConfig(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read agent config " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parseAgentConfig(text.str(), file.string());
}

}  // namespace cnikit::agent
