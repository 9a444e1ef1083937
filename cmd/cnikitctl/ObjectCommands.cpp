// cnikitctl apply -f | delete -f | get: Kubernetes objects (Namespace, Pod, NetworkPolicy,
// Service, EndpointSlice) in
// the cluster store, through the agent (objects.* methods, core/agent/ObjectService.hpp).
// Manifests are validated here first, with the same code the agent runs, so a problem is
// reported with its file name and nothing is sent.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "cmd/cnikitctl/Commands.hpp"
#include "cmd/cnikitctl/Table.hpp"
#include "core/k8s/Objects.hpp"
#include "core/k8s/ServiceObjects.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct ManifestText {
  std::string source;  // file name or "<stdin>"
  std::string text;
};

std::string readAll(std::istream& in) {
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool isManifestFile(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// FILE, DIR (its *.yaml, *.yml, *.json, not recursive, in name order, as kubectl does) or "-".
std::vector<ManifestText> readTexts(const std::vector<std::string>& paths) {
  std::vector<ManifestText> out;
  for (const auto& path : paths) {
    if (path == "-") {
      out.push_back({"<stdin>", readAll(std::cin)});
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(path))
        if (entry.is_regular_file() && isManifestFile(entry.path())) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      if (files.empty()) throw std::runtime_error(path + ": no .yaml, .yml or .json files in this directory");
      for (const auto& f : files) {
        std::ifstream in(f);
        if (!in) throw std::runtime_error(f.string() + ": cannot read");
        out.push_back({f.string(), readAll(in)});
      }
      continue;
    }
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot read (" + std::strerror(errno) + ")");
    out.push_back({path, readAll(in)});
  }
  return out;
}

std::vector<json> parseText(const ManifestText& m) {
  // JSON is parsed exactly (a JSON file may hold one object); everything else as YAML.
  auto first = m.text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (m.text[first] == '{' || m.text[first] == '[')) {
    auto j = json::parse(m.text, nullptr, false);
    if (!j.is_discarded()) return j.is_array() ? std::vector<json>(j.begin(), j.end()) : std::vector<json>{j};
  }
  try {
    return yaml::yamlToJson(m.text);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(m.source + ": " + e.what());
  }
}

const char* resourceName(k8s::Kind kind) {
  switch (kind) {
    case k8s::Kind::Namespace: return "namespace";
    case k8s::Kind::Pod: return "pod";
    case k8s::Kind::NetworkPolicy: return "networkpolicy.networking.k8s.io";
    case k8s::Kind::Service: return "service";
    case k8s::Kind::EndpointSlice: return "endpointslice.discovery.k8s.io";
  }
  return "?";
}

// A scalar that YAML would not read back as this string must be quoted.
bool needsQuotes(const std::string& s) {
  static const std::regex kPlainNonString(
      R"(^([-+]?[0-9]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$)");
  return s.empty() || std::regex_match(s, kPlainNonString) ||
         s.find_first_of(":#{}[],&*!|>'\"%@`") != std::string::npos || s.front() == ' ' || s.back() == ' ' ||
         s.front() == '-';
}

void emitYaml(YAML::Emitter& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key;
        if (needsQuotes(k))
          out << YAML::DoubleQuoted << k;
        else
          out << k;
        out << YAML::Value;
        emitYaml(out, v);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : j) emitYaml(out, v);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (needsQuotes(s))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case json::value_t::null: out << YAML::Null; break;
    default: out << j.dump();  // numbers and booleans print as JSON does
  }
}

std::string labelsText(const json& metadata) {
  std::string out;
  const json labels = metadata.value("labels", json::object());  // items() must not outlive it
  for (const auto& [k, v] : labels.items()) out += (out.empty() ? "" : ",") + k + "=" + v.get<std::string>();
  return out.empty() ? "<none>" : out;
}

// TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), SELECTOR as `kubectl get services` prints them.
std::vector<std::string> serviceColumns(const json& item) {
  auto s = k8s::serviceFromJson(item);
  std::string external = s.type == k8s::ServiceType::LoadBalancer ? "<pending>" : "<none>";
  if (!s.loadBalancerIPs.empty()) {
    external.clear();
    for (const auto& ip : s.loadBalancerIPs) external += (external.empty() ? "" : ",") + ip;
  }
  std::string ports, selector;
  for (const auto& p : s.ports)
    ports += (ports.empty() ? "" : ",") + std::to_string(p.port) +
             (p.nodePort ? ":" + std::to_string(p.nodePort) : "") + "/" + k8s::protocolName(p.protocol);
  if (s.selector)
    for (const auto& [k, v] : *s.selector) selector += (selector.empty() ? "" : ",") + k + "=" + v;
  return {k8s::serviceTypeName(s.type), s.clusterIPs.empty() ? "<none>" : s.clusterIPs[0], external,
          ports.empty() ? "<none>" : ports, selector.empty() ? "<none>" : selector};
}

// ADDRESSTYPE, PORTS, ENDPOINTS as `kubectl get endpointslices` prints them.
std::vector<std::string> endpointSliceColumns(const json& item) {
  auto slice = k8s::endpointSliceFromJson(item);
  std::string ports, endpoints;
  for (const auto& p : slice.ports)
    ports += (ports.empty() ? "" : ",") + (p.port ? std::to_string(*p.port) : "<unset>");
  for (const auto& e : slice.endpoints)
    if (!e.addresses.empty()) endpoints += (endpoints.empty() ? "" : ",") + e.addresses[0];
  return {slice.ipv6 ? "IPv6" : "IPv4", ports.empty() ? "<unset>" : ports, endpoints.empty() ? "<unset>" : endpoints};
}

void printObjectsTable(k8s::Kind kind, const json& items, bool withNamespace) {
  std::vector<std::string> header;
  if (withNamespace && kind != k8s::Kind::Namespace) header.push_back("NAMESPACE");
  header.push_back("NAME");
  if (kind == k8s::Kind::Pod) header.insert(header.end(), {"IP", "NODE", "PORTS", "LABELS"});
  if (kind == k8s::Kind::NetworkPolicy) header.insert(header.end(), {"POD-SELECTOR", "POLICY-TYPES"});
  if (kind == k8s::Kind::Namespace) header.push_back("LABELS");
  if (kind == k8s::Kind::Service)
    header.insert(header.end(), {"TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR"});
  if (kind == k8s::Kind::EndpointSlice) header.insert(header.end(), {"ADDRESSTYPE", "PORTS", "ENDPOINTS"});
  Table table(header);
  for (const auto& item : items) {
    const auto& metadata = item["metadata"];
    std::vector<std::string> row;
    if (withNamespace && kind != k8s::Kind::Namespace) row.push_back(metadata.value("namespace", ""));
    row.push_back(metadata.value("name", ""));
    if (kind == k8s::Kind::Pod) {
      auto pod = k8s::podFromJson(item);
      std::string ips, ports;
      for (const auto& ip : pod.ips) ips += (ips.empty() ? "" : ",") + ip;
      for (const auto& p : pod.ports)
        ports += (ports.empty() ? "" : ",") + (p.name.empty() ? "" : p.name + ":") + std::to_string(p.port) + "/" +
                 k8s::protocolName(p.protocol);
      row.insert(row.end(), {ips.empty() ? "<none>" : ips, pod.nodeName.empty() ? "<none>" : pod.nodeName,
                             ports.empty() ? "<none>" : ports, labelsText(metadata)});
    } else if (kind == k8s::Kind::NetworkPolicy) {
      auto policy = k8s::networkPolicyFromJson(item);
      std::string types = policy.ingressType && policy.egressType ? "Ingress,Egress"
                          : policy.egressType                     ? "Egress"
                                                                  : "Ingress";
      row.insert(row.end(), {policy.podSelector.str(), types});
    } else if (kind == k8s::Kind::Service) {
      for (auto& column : serviceColumns(item)) row.push_back(std::move(column));
    } else if (kind == k8s::Kind::EndpointSlice) {
      for (auto& column : endpointSliceColumns(item)) row.push_back(std::move(column));
    } else {
      row.push_back(labelsText(metadata));
    }
    table.add(row);
  }
  table.print(std::cout);
}

void printStructured(const GlobalOptions& options, const json& value) {
  if (options.output == "yaml") {
    YAML::Emitter out;
    emitYaml(out, value);
    std::cout << out.c_str() << "\n";
  } else {
    std::cout << value.dump(2) << "\n";
  }
}

void printResults(const GlobalOptions& options, const json& response, const char* verbPast, bool ignoreNotFound,
                  int& exitCode) {
  if (options.output != "table") {
    printStructured(options, response);
  }
  for (const auto& r : response.value("results", json::array())) {
    auto kind = k8s::parseKind(r.value("kind", ""));
    std::string name = std::string(kind ? resourceName(*kind) : "object") + "/" + r.value("name", "");
    std::string where = r.contains("namespace") ? " in namespace " + r["namespace"].get<std::string>() : "";
    std::string action = r.value("action", "");
    if (action == "not found") {
      if (ignoreNotFound) continue;
      std::cerr << "Error: " << name << where << " not found\n";
      exitCode = 1;
      continue;
    }
    if (options.output == "table")
      std::cout << name << (where.empty() ? "" : " (" + where.substr(4) + ")") << " "
                << (action.empty() ? verbPast : action) << "\n";
  }
}

}  // namespace

std::optional<std::vector<k8s::NormalizedObject>> readObjectsForApply(const std::vector<std::string>& paths,
                                                                      const std::string& defaultNamespace,
                                                                      int& exitCode) {
  try {
    return readObjects(paths, defaultNamespace);
  } catch (const k8s::ValidationError& e) {
    std::cerr << "error: nothing applied, the manifests are invalid:\n" << e.what() << "\n";
    exitCode = 1;
    return std::nullopt;
  }
}

std::vector<k8s::NormalizedObject> readObjects(const std::vector<std::string>& paths,
                                               const std::string& defaultNamespace) {
  std::vector<k8s::NormalizedObject> out;
  std::vector<std::string> errors;
  for (const auto& text : readTexts(paths)) {
    try {
      auto objects = k8s::validateObjects(parseText(text), {defaultNamespace, text.source});
      out.insert(out.end(), objects.begin(), objects.end());
    } catch (const k8s::ValidationError& e) {
      errors.insert(errors.end(), e.errors().begin(), e.errors().end());
    }
  }
  if (!errors.empty()) throw k8s::ValidationError(std::move(errors));
  return out;
}

void registerObjectCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  struct State {
    std::vector<std::string> files;
    std::string ns;
    bool ignoreNotFound = false;
    std::string kind;
    std::string name;
    std::string getNamespace;
    bool allNamespaces = false;
  };
  auto state = std::make_shared<State>();

  auto* apply = app.add_subcommand(
      "apply", "create or update Namespaces, Pods, NetworkPolicies, Services and EndpointSlices from manifests");
  apply->add_option("-f,--filename", state->files, "FILE, DIR (its *.yaml, *.yml, *.json) or - for stdin")->required();
  apply->add_option("-n,--namespace", state->ns, "namespace for objects that name none")->default_val("default");
  apply->callback([&options, &exitCode, state] {
    auto read = readObjectsForApply(state->files, state->ns, exitCode);
    if (!read) return;
    const auto& objects = *read;
    json list = json::array();
    for (const auto& o : objects) list.push_back(o.object);
    auto response = callAgent(options, rpc::kObjectsApplyMethod, {{"objects", list}, {"namespace", state->ns}});
    printResults(options, response, "applied", false, exitCode);
  });

  auto* del = app.add_subcommand("delete", "delete the objects named in manifests");
  del->add_option("-f,--filename", state->files, "FILE, DIR (its *.yaml, *.yml, *.json) or - for stdin")->required();
  del->add_option("-n,--namespace", state->ns, "namespace for objects that name none")->default_val("default");
  del->add_flag("--ignore-not-found", state->ignoreNotFound, "objects that do not exist are not an error");
  del->callback([&options, &exitCode, state] {
    std::vector<k8s::ObjectRef> refs;
    try {
      for (const auto& text : readTexts(state->files)) {
        auto some = k8s::objectRefs(parseText(text), {state->ns, text.source});
        refs.insert(refs.end(), some.begin(), some.end());
      }
    } catch (const k8s::ValidationError& e) {
      std::cerr << "error: nothing deleted:\n" << e.what() << "\n";
      exitCode = 1;
      return;
    }
    json list = json::array();
    for (const auto& r : refs) list.push_back({{"kind", k8s::kindName(r.kind)}, {"namespace", r.ns}, {"name", r.name}});
    auto response = callAgent(options, rpc::kObjectsDeleteMethod, {{"refs", list}});
    printResults(options, response, "deleted", state->ignoreNotFound, exitCode);
  });

  auto* get =
      app.add_subcommand("get", "list Namespaces, Pods, NetworkPolicies, Services or EndpointSlices in the store");
  get->add_option("kind", state->kind,
                  "namespaces (ns), pods (po), networkpolicies (netpol), services (svc) or endpointslices")
      ->required();
  get->add_option("name", state->name, "only this object");
  get->add_option("-n,--namespace", state->getNamespace, "namespace (default: default)")->default_val("default");
  get->add_flag("-A,--all-namespaces", state->allNamespaces, "every namespace");
  get->callback([&options, &exitCode, state] {
    auto kind = k8s::parseKind(state->kind);
    if (!kind) {
      std::cerr << "error: the server doesn't have a resource type \"" << state->kind
                << "\" (cnikit keeps namespaces, pods, networkpolicies, services, endpointslices)\n";
      exitCode = 1;
      return;
    }
    bool all = state->allNamespaces || *kind == k8s::Kind::Namespace;
    auto list = callAgent(options, rpc::kObjectsListMethod,
                          {{"kind", k8s::kindName(*kind)}, {"namespace", state->getNamespace}, {"all", all}});
    json items = list.value("items", json::array());
    if (!state->name.empty()) {
      json kept = json::array();
      for (const auto& item : items)
        if (item["metadata"].value("name", "") == state->name) kept.push_back(item);
      if (kept.empty()) {
        std::cerr << "Error from server (NotFound): " << resourceName(*kind) << " \"" << state->name << "\" not found"
                  << (*kind == k8s::Kind::Namespace ? "" : " in namespace " + state->getNamespace) << "\n";
        exitCode = 1;
        return;
      }
      items = kept;
    }
    if (options.output != "table") {
      // As kubectl: one object by name, else a List.
      printStructured(options,
                      state->name.empty() ? json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}} : items[0]);
      return;
    }
    if (items.empty()) {
      std::cerr << "No resources found" << (all ? "" : " in " + state->getNamespace + " namespace") << ".\n";
      return;
    }
    printObjectsTable(*kind, items, state->allNamespaces);
  });
}

}  // namespace cnikit::ctl
