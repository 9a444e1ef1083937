#include "core/cni/Result.hpp"

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/cni/Error.hpp"
#include "core/cni/JsonText.hpp"
#include "core/cni/Version.hpp"

namespace cnikit::cni {
namespace {

using nlohmann::json;

void requireSupported(const std::string& version) {
  if (!isSupported(version)) {
    throw CniError(kIncompatibleVersion, "unsupported CNI version \"" + version +
                                             "\"; cnikit supports " + supportedVersionsText());
  }
}

// 0.1.0 and 0.2.0 carry one ip4 and one ip6 object; 0.3.0 introduced interfaces/ips lists.
bool isLegacy(const std::string& version) { return compareVersions(version, "0.3.0") < 0; }
bool hasIpVersionField(const std::string& version) { return compareVersions(version, "1.0.0") < 0; }
bool hasV11Fields(const std::string& version) { return compareVersions(version, "1.1.0") >= 0; }

json renderDns(const Dns& dns) {
  json j = json::object();
  if (!dns.nameservers.empty()) j["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) j["domain"] = dns.domain;
  if (!dns.search.empty()) j["search"] = dns.search;
  if (!dns.options.empty()) j["options"] = dns.options;
  return j;
}

json renderRoute(const Route& r, bool v11) {
  json j = {{"dst", r.dst}};
  if (!r.gw.empty()) j["gw"] = r.gw;
  if (v11) {
    if (r.mtu) j["mtu"] = *r.mtu;
    if (r.advmss) j["advmss"] = *r.advmss;
    if (r.priority) j["priority"] = *r.priority;
    if (r.table) j["table"] = *r.table;
    if (r.scope) j["scope"] = *r.scope;
  }
  return j;
}

json renderLegacy(const Result& result, const std::string& version) {
  json out = {{"cniVersion", version}};
  // Legacy results hold one address per family: the first of each, with that family's routes.
  const IpConfig* first[2] = {nullptr, nullptr};
  for (const auto& ip : result.ips) {
    auto& slot = first[ip.isV4() ? 0 : 1];
    if (!slot) slot = &ip;
  }
  for (int family = 0; family < 2; ++family) {
    if (!first[family]) continue;
    json ipc = {{"ip", first[family]->address}};
    if (!first[family]->gateway.empty()) ipc["gateway"] = first[family]->gateway;
    json routes = json::array();
    for (const auto& r : result.routes) {
      if (r.isV4() == (family == 0)) routes.push_back(renderRoute(r, false));
    }
    if (!routes.empty()) ipc["routes"] = routes;
    out[family == 0 ? "ip4" : "ip6"] = ipc;
  }
  if (!result.dns.empty()) out["dns"] = renderDns(result.dns);
  return out;
}

// --- parsing -------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw CniError(kDecodeFailure, "invalid result field \"" + field + "\": " + what);
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Null counts as absent, like the reference Go types do.
const json* member(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string getString(const json& obj, const char* name, const std::string& prefix, bool required) {
  const json* v = member(obj, name);
  if (!v) {
    if (required) fail(join(prefix, name), "missing");
    return {};
  }
  if (!v->is_string()) fail(join(prefix, name), "expected a string, got " + jsonText(*v));
  return v->get<std::string>();
}

std::optional<int> getInt(const json& obj, const char* name, const std::string& prefix) {
  const json* v = member(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) fail(join(prefix, name), "expected an integer, got " + jsonText(*v));
  auto n = v->get<int64_t>();
  if (n < 0 || n > INT32_MAX) fail(join(prefix, name), "out of range: " + jsonText(*v));
  return static_cast<int>(n);
}

std::vector<std::string> getStrings(const json& obj, const char* name, const std::string& prefix) {
  const json* v = member(obj, name);
  std::vector<std::string> out;
  if (!v) return out;
  if (!v->is_array()) fail(join(prefix, name), "expected an array of strings, got " + jsonText(*v));
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      fail(join(prefix, name) + "[" + std::to_string(i) + "]", "expected a string, got " + jsonText((*v)[i]));
    }
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

const json* getArray(const json& obj, const char* name, const std::string& prefix) {
  const json* v = member(obj, name);
  if (v && !v->is_array()) fail(join(prefix, name), "expected an array, got " + jsonText(*v));
  return v;
}

void requireObject(const json& v, const std::string& field) {
  if (!v.is_object()) fail(field, "expected an object, got " + jsonText(v));
}

std::string getCidr(const json& obj, const char* name, const std::string& prefix) {
  auto text = getString(obj, name, prefix, true);
  if (!toolkit::IpPrefix::tryParse(text))
    fail(join(prefix, name), "\"" + text + "\" is not an address in CIDR notation");
  return text;
}

std::string getIp(const json& obj, const char* name, const std::string& prefix) {
  auto text = getString(obj, name, prefix, false);
  if (!text.empty() && !toolkit::IpAddress::tryParse(text))
    fail(join(prefix, name), "\"" + text + "\" is not an IP address");
  return text;
}

Dns parseDns(const json& obj, const std::string& prefix) {
  Dns dns;
  const json* d = member(obj, "dns");
  if (!d) return dns;
  auto field = join(prefix, "dns");
  requireObject(*d, field);
  dns.nameservers = getStrings(*d, "nameservers", field);
  dns.domain = getString(*d, "domain", field, false);
  dns.search = getStrings(*d, "search", field);
  dns.options = getStrings(*d, "options", field);
  return dns;
}

Route parseRoute(const json& r, const std::string& field) {
  requireObject(r, field);
  Route route;
  route.dst = getCidr(r, "dst", field);
  route.gw = getIp(r, "gw", field);
  route.mtu = getInt(r, "mtu", field);
  route.advmss = getInt(r, "advmss", field);
  route.priority = getInt(r, "priority", field);
  route.table = getInt(r, "table", field);
  route.scope = getInt(r, "scope", field);
  return route;
}

Result parseLegacy(const json& j, const std::string& prefix) {
  Result result;
  for (const char* key : {"ip4", "ip6"}) {
    const json* ipc = member(j, key);
    if (!ipc) continue;
    auto field = join(prefix, key);
    requireObject(*ipc, field);
    IpConfig ip;
    ip.address = getCidr(*ipc, "ip", field);
    if (ip.isV4() != (key[2] == '4')) {
      fail(join(field, "ip"), "\"" + ip.address + "\" is not an IPv" + std::string(1, key[2]) + " address");
    }
    ip.gateway = getIp(*ipc, "gateway", field);
    result.ips.push_back(ip);
    if (const json* routes = getArray(*ipc, "routes", field)) {
      for (size_t i = 0; i < routes->size(); ++i) {
        result.routes.push_back(parseRoute((*routes)[i], join(field, "routes") + "[" + std::to_string(i) + "]"));
      }
    }
  }
  result.dns = parseDns(j, prefix);
  return result;
}

Result parseCurrent(const json& j, const std::string& version, const std::string& prefix) {
  Result result;
  if (const json* ifs = getArray(j, "interfaces", prefix)) {
    for (size_t i = 0; i < ifs->size(); ++i) {
      auto field = join(prefix, "interfaces") + "[" + std::to_string(i) + "]";
      const json& o = (*ifs)[i];
      requireObject(o, field);
      Interface intf;
      intf.name = getString(o, "name", field, false);
      intf.mac = getString(o, "mac", field, false);
      intf.sandbox = getString(o, "sandbox", field, false);
      intf.mtu = getInt(o, "mtu", field);
      intf.socketPath = getString(o, "socketPath", field, false);
      intf.pciId = getString(o, "pciID", field, false);
      result.interfaces.push_back(intf);
    }
  }
  if (const json* ips = getArray(j, "ips", prefix)) {
    for (size_t i = 0; i < ips->size(); ++i) {
      auto field = join(prefix, "ips") + "[" + std::to_string(i) + "]";
      const json& o = (*ips)[i];
      requireObject(o, field);
      IpConfig ip;
      ip.address = getCidr(o, "address", field);
      ip.gateway = getIp(o, "gateway", field);
      ip.interfaceIndex = getInt(o, "interface", field);
      if (ip.interfaceIndex && static_cast<size_t>(*ip.interfaceIndex) >= result.interfaces.size()) {
        fail(join(field, "interface"), "index " + std::to_string(*ip.interfaceIndex) + " but there are " +
                                           std::to_string(result.interfaces.size()) + " interfaces");
      }
      if (hasIpVersionField(version)) {
        auto v = getString(o, "version", field, false);
        if (!v.empty() && v != (ip.isV4() ? "4" : "6")) {
          fail(join(field, "version"), "\"" + v + "\" does not match address \"" + ip.address + "\"");
        }
      }
      result.ips.push_back(ip);
    }
  }
  if (const json* routes = getArray(j, "routes", prefix)) {
    for (size_t i = 0; i < routes->size(); ++i) {
      result.routes.push_back(parseRoute((*routes)[i], join(prefix, "routes") + "[" + std::to_string(i) + "]"));
    }
  }
  result.dns = parseDns(j, prefix);
  return result;
}

}  // namespace

json renderResult(const Result& result, const std::string& cniVersion) {
  requireSupported(cniVersion);
  if (isLegacy(cniVersion)) return renderLegacy(result, cniVersion);

  const bool withIpVersion = hasIpVersionField(cniVersion);
  const bool v11 = hasV11Fields(cniVersion);
  json out = {{"cniVersion", cniVersion}};
  if (!result.interfaces.empty()) {
    json ifs = json::array();
    for (const auto& i : result.interfaces) {
      json o = {{"name", i.name}};
      if (!i.mac.empty()) o["mac"] = i.mac;
      if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
      if (v11) {
        if (i.mtu) o["mtu"] = *i.mtu;
        if (!i.socketPath.empty()) o["socketPath"] = i.socketPath;
        if (!i.pciId.empty()) o["pciID"] = i.pciId;
      }
      ifs.push_back(o);
    }
    out["interfaces"] = ifs;
  }
  if (!result.ips.empty()) {
    json ips = json::array();
    for (const auto& ip : result.ips) {
      json o = {{"address", ip.address}};
      if (withIpVersion) o["version"] = ip.isV4() ? "4" : "6";
      if (!ip.gateway.empty()) o["gateway"] = ip.gateway;
      if (ip.interfaceIndex) o["interface"] = *ip.interfaceIndex;
      ips.push_back(o);
    }
    out["ips"] = ips;
  }
  if (!result.routes.empty()) {
    json routes = json::array();
    for (const auto& r : result.routes) routes.push_back(renderRoute(r, v11));
    out["routes"] = routes;
  }
  if (!result.dns.empty()) out["dns"] = renderDns(result.dns);
  return out;
}

Result parseResult(const json& j, const std::string& cniVersion) { return parseResult(j, cniVersion, ""); }

Result parseResult(const json& j, const std::string& cniVersion, const std::string& fieldPrefix) {
  requireSupported(cniVersion);
  if (!j.is_object()) {
    throw CniError(kDecodeFailure, (fieldPrefix.empty() ? std::string("result") : "\"" + fieldPrefix + "\"") +
                                       " is not a JSON object: " + jsonText(j));
  }
  return isLegacy(cniVersion) ? parseLegacy(j, fieldPrefix) : parseCurrent(j, cniVersion, fieldPrefix);
}

}  // namespace cnikit::cni
