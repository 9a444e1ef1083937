#include "tools/lab/LabSpec.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/agent/AgentConfig.hpp"
#include "core/yaml/YamlToJson.hpp"
#include "tools/lab/LabPaths.hpp"

namespace cnikit::lab {

using nlohmann::json;

void LabSpec::setNodeCount(int count) {
  if (count < 1 || count > 200) throw std::invalid_argument("nodes: " + std::to_string(count) + " is outside 1..200");
  nodes.clear();
  for (int i = 1; i <= count; ++i) nodes.push_back({"node" + std::to_string(i), {}});
}

namespace {

// A load-balancer pool inside the fabric subnet, so that the outside client reaches the
// addresses a node announces on the fabric.
json defaultServices(bool ipv6) {
  json cidrs = json::array({"10.250.200.0/24"});
  json services = json::object();
  if (ipv6) {
    cidrs.push_back("fd00:250::200:0/112");
    services["clusterIPv6Cidr"] = "fd00:10:96::/112";  // dual-stack Services
  }
  services["loadBalancerPools"] = json::array({{{"name", "lab"}, {"cidrs", cidrs}}});
  return services;
}

}  // namespace

json LabSpec::clusterConfig() const {
  json config;
  if (cluster.is_object() && (cluster.contains("backends") || cluster.contains("pools"))) {
    config = cluster;
  } else {
    std::string instance = backend;
    if (auto like = instance.rfind("-like"); like != std::string::npos && like + 5 == instance.size())
      instance.erase(like);
    json options = backendOptions.is_object() ? backendOptions : json::object();
    if (!mode.empty()) options["mode"] = mode;
    // The policy provider is a field of the instance; a lab.yaml of the old spelling
    // (backendOptions.policy) is written in the new one.
    json instanceConfig = {{"name", instance}, {"type", backend}};
    if (auto old = options.find("policy"); old != options.end()) {
      instanceConfig["policy"] = *old;
      options.erase(old);
    }
    if (!policy.empty()) instanceConfig["policy"] = policy;
    instanceConfig["options"] = options;
    json cidrs = json::array({"10.244.0.0/16"});
    if (ipv6) cidrs.push_back("fd00:10:244::/56");
    config = {{"backends", json::array({instanceConfig})},
              {"pools", json::array({{{"name", "default"},
                                      {"backend", instance},
                                      {"cidrs", cidrs},
                                      {"nodeSubnetPrefix", {{"ipv4", 24}, {"ipv6", 64}}}}})}};
    if (cluster.is_object() && cluster.contains("selection")) config["selection"] = cluster["selection"];
  }
  const bool defaultSection = !services.is_object() && !config.contains("services");
  if (services.is_object()) config["services"] = services;
  if (defaultSection) config["services"] = defaultServices(ipv6);
  // The agents would refuse it one by one; refuse it here, once, with the same message.
  agent::AgentConfig check;
  agent::applyClusterConfig(check, config.dump(), "cluster config");
  return config;
}

void parseLabConfig(const std::string& text, const std::string& origin, LabSpec& spec) {
  std::vector<json> docs;
  try {
    docs = yaml::yamlToJson(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
  if (docs.size() != 1 || !docs[0].is_object()) throw std::invalid_argument(origin + ": expected one YAML/JSON object");
  const json& j = docs[0];
  auto fail = [&](const std::string& field, const std::string& problem) {
    throw std::invalid_argument(origin + ": " + field + ": " + problem);
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "nodes") {
      if (value.is_number_integer()) {
        try {
          spec.setNodeCount(value.get<int>());
        } catch (const std::invalid_argument& e) {
          fail("nodes", e.what());
        }
      } else if (value.is_array()) {
        spec.nodes.clear();
        for (size_t i = 0; i < value.size(); ++i) {
          std::string where = "nodes[" + std::to_string(i) + "]";
          const auto& n = value[i];
          if (!n.is_object()) fail(where, "must be an object {name, labels}");
          LabNodeSpec node;
          node.name = n.value("name", "node" + std::to_string(i + 1));
          try {
            validateNodeName(node.name);
          } catch (const std::invalid_argument& e) {
            fail(where + ".name", e.what());
          }
          if (n.contains("labels")) {
            if (!n["labels"].is_object()) fail(where + ".labels", "must be a map of strings");
            for (const auto& [k, v] : n["labels"].items()) {
              if (!v.is_string()) fail(where + ".labels." + k, "must be a string");
              node.labels[k] = v.get<std::string>();
            }
          }
          for (const auto& other : spec.nodes)
            if (other.name == node.name) fail(where + ".name", "duplicate node '" + node.name + "'");
          for (const auto& [k, v] : n.items())
            if (k != "name" && k != "labels") fail(where + "." + k, "unknown field");
          spec.nodes.push_back(std::move(node));
        }
        if (spec.nodes.empty() || spec.nodes.size() > 200) fail("nodes", "needs 1..200 nodes");
      } else {
        fail("nodes", "must be a number or a list of {name, labels}");
      }
    } else if (key == "backend" || key == "mode" || key == "logLevel") {
      if (!value.is_string()) fail(key, "must be a string");
      (key == "backend" ? spec.backend : key == "mode" ? spec.mode : spec.logLevel) = value.get<std::string>();
    } else if (key == "policy") {
      if (!value.is_string() || !policy::parseProviderKind(value.get<std::string>()))
        fail(key, "must be none or iptables");
      spec.policy = value.get<std::string>();
    } else if (key == "backendOptions") {
      if (!value.is_object()) fail(key, "must be an object");
      spec.backendOptions = value;
    } else if (key == "ipv6") {
      if (!value.is_boolean()) fail(key, "must be true or false");
      spec.ipv6 = value.get<bool>();
    } else if (key == "services") {
      if (!value.is_object()) fail(key, "must be an object");
      spec.services = value;
    } else if (key == "backends" || key == "pools" || key == "selection") {
      if (!value.is_array()) fail(key, "must be a list");
      if (!spec.cluster.is_object()) spec.cluster = json::object();
      spec.cluster[key] = value;
    } else if (key == "nodeLeaseTtlSeconds" || key == "resyncSeconds") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 3600)
        fail(key, "must be an integer in 1..3600");
      (key == "resyncSeconds" ? spec.resyncSeconds : spec.nodeLeaseTtlSeconds) = value.get<int>();
    } else {
      fail(key,
           "unknown field (nodes, backend, mode, backendOptions, policy, ipv6, backends, pools, selection, "
           "services, nodeLeaseTtlSeconds, resyncSeconds, logLevel)");
    }
  }
  if (spec.cluster.is_object() && spec.cluster.contains("pools") != spec.cluster.contains("backends"))
    fail(spec.cluster.contains("pools") ? "backends" : "pools",
         "backends and pools come together (the pools name backend instances)");
}

void readLabConfig(const std::string& file, LabSpec& spec) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read lab config " + file);
  std::stringstream text;
  text << in.rdbuf();
  parseLabConfig(text.str(), file, spec);
}

std::string findBackendDir(const std::string& binDir, const std::string& backendType) {
  namespace fs = std::filesystem;
  fs::path candidate = fs::path(binDir) / ".." / "lib" / "cnikit" / "backends";
  std::error_code ec;
  if (fs::exists(candidate / ("libcnikit-" + backendType + ".so"), ec)) return fs::weakly_canonical(candidate).string();
  return CNIKIT_DEFAULT_BACKEND_DIR;
}

}  // namespace cnikit::lab
