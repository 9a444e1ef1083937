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
                   "backends", "pools", "selection"});

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
  r.rejectUnknown({"backends", "pools", "selection"});
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
