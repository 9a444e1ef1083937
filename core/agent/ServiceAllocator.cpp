#include "core/agent/ServiceAllocator.hpp"

#include <algorithm>

#include "core/ipam/IpamKeys.hpp"
#include "core/ipam/SubnetMath.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::agent {

using nlohmann::json;

namespace {

// Random probes before a range is listed and scanned in order (a nearly full range).
constexpr int kRandomProbes = 64;
// The longest ordered scan (an IPv6 range is never scanned to its end).
constexpr uint64_t kMaxScan = uint64_t{1} << 20;

std::vector<std::string> stringsOf(const json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string familyOf(const toolkit::IpAddress& ip) { return ip.isV4() ? "IPv4" : "IPv6"; }

std::string addressKey(const toolkit::IpAddress& ip, bool loadBalancer) {
  auto text = ipam::keys::ipText(ip);
  return loadBalancer ? store::keys::serviceLoadBalancerIp(text) : store::keys::serviceClusterIp(text);
}

std::vector<std::string> loadBalancerIpsOf(const json& object) {
  std::vector<std::string> out;
  if (!object.is_object()) return out;
  auto ingress = object.value("status", json::object()).value("loadBalancer", json::object()).value("ingress", json());
  if (ingress.is_array())
    for (const auto& i : ingress)
      if (i.is_object() && i.contains("ip") && i["ip"].is_string()) out.push_back(i["ip"].get<std::string>());
  return out;
}

}  // namespace

std::string ServiceAllocator::claim(const std::string& key, const std::string& serviceKey, const std::string& pool) {
  json value = {{"service", serviceKey}};
  if (!pool.empty()) value["pool"] = pool;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (store_.createIfAbsent(key, value.dump())) return "";
    auto kv = store_.get(key);
    if (!kv) continue;  // released in between: try to create it again
    auto owner = json::parse(kv->value, nullptr, false);
    std::string ownerKey = owner.is_object() ? owner.value("service", "") : "";
    return ownerKey == serviceKey ? "" : (ownerKey.empty() ? "an unreadable record" : "Service " + ownerKey);
  }
  return "a concurrent writer";
}

std::optional<std::string> ServiceAllocator::allocateAddress(const toolkit::IpPrefix& cidr, bool loadBalancer,
                                                             const std::string& serviceKey, const std::string& pool,
                                                             std::vector<std::string>& created) {
  uint64_t first = 0, count = ipam::addressCount(cidr);
  if (cidr.isV4() && cidr.prefixLength() <= 30) {
    first = 1;  // neither the network nor the broadcast address
    count -= 2;
  }
  if (count == 0) return std::nullopt;
  auto tryOffset = [&](uint64_t offset) -> std::optional<std::string> {
    auto ip = cidr.network().offset(static_cast<int64_t>(first + offset));
    auto key = addressKey(ip, loadBalancer);
    bool existed = store_.get(key).has_value();
    if (!existed && claim(key, serviceKey, pool).empty()) {
      created.push_back(key);
      return ip.str();
    }
    return std::nullopt;
  };
  for (int i = 0; i < kRandomProbes; ++i)
    if (auto ip = tryOffset(random_() % count)) return ip;
  // Nearly full: scan in order from a random start.
  uint64_t start = random_() % count, scan = std::min(count, kMaxScan);
  for (uint64_t i = 0; i < scan; ++i)
    if (auto ip = tryOffset((start + i) % count)) return ip;
  return std::nullopt;
}

std::optional<uint16_t> ServiceAllocator::allocateNodePort(const std::string& serviceKey,
                                                           std::vector<std::string>& created) {
  uint32_t count = uint32_t{config_.nodePortMax} - config_.nodePortMin + 1;
  auto tryPort = [&](uint32_t offset) -> std::optional<uint16_t> {
    auto port = static_cast<uint16_t>(config_.nodePortMin + offset);
    auto key = store::keys::serviceNodePort(port);
    if (!store_.get(key) && claim(key, serviceKey).empty()) {
      created.push_back(key);
      return port;
    }
    return std::nullopt;
  };
  for (int i = 0; i < kRandomProbes; ++i)
    if (auto port = tryPort(static_cast<uint32_t>(random_() % count))) return port;
  uint32_t start = static_cast<uint32_t>(random_() % count);
  for (uint32_t i = 0; i < count; ++i)
    if (auto port = tryPort((start + i) % count)) return port;
  return std::nullopt;
}

void ServiceAllocator::allocate(const k8s::ObjectRef& ref, json& object, const json& previous,
                                std::vector<std::string>& created, std::vector<std::string>& errors) {
  const std::string serviceKey = ref.ns + "/" + ref.name;
  auto fail = [&](const std::string& path, const std::string& detail) {
    errors.push_back(ref.str() + ": " + path + ": " + detail);
  };
  // A claim of a given address or port; false (and an error) when another Service holds it.
  auto claimGiven = [&](const std::string& key, const std::string& path, const std::string& what, const json& value,
                        const std::string& pool = "") {
    bool existed = store_.get(key).has_value();
    auto owner = claim(key, serviceKey, pool);
    if (!owner.empty()) {
      fail(path, "provided " + what + " is already allocated to " + owner + " (got " + value.dump() + ")");
      return false;
    }
    if (!existed) created.push_back(key);
    return true;
  };

  json& spec = object["spec"];
  const json prevSpec = previous.is_object() ? previous.value("spec", json::object()) : json::object();
  const std::string type = spec.value("type", "ClusterIP");

  // ClusterIPs: given, else what the stored object holds, else allocated.
  auto given = stringsOf(spec.value("clusterIPs", json()));
  const auto held = stringsOf(prevSpec.value("clusterIPs", json()));
  auto families = stringsOf(spec.value("ipFamilies", json()));
  if (!held.empty()) {
    if (!given.empty() && given[0] != held[0]) {
      fail("spec.clusterIPs[0]",
           "field is immutable (holds " + json(held[0]).dump() + ", got " + json(given[0]).dump() + ")");
      return;
    }
    if (given.empty()) {
      given = held;
      if (families.empty()) families = stringsOf(prevSpec.value("ipFamilies", json()));
    }
  }
  const bool headless = !given.empty() && given[0] == "None";
  for (size_t i = families.size(); i < given.size() && !headless; ++i)
    families.push_back(familyOf(toolkit::IpAddress::parse(given[i]).value()));
  if (families.empty()) families.push_back("IPv4");
  std::string policy = spec.value("ipFamilyPolicy", "SingleStack");
  const bool dualStackCluster = config_.clusterIPv6Cidr.has_value();
  for (size_t i = 0; i < families.size(); ++i)
    if (families[i] == "IPv6" && !dualStackCluster) {
      fail("spec.ipFamilies[" + std::to_string(i) + "]",
           "IPv6 is not configured on this cluster (services.clusterIPv6Cidr) (got \"IPv6\")");
      return;
    }
  if (policy != "SingleStack" && families.size() == 1 && dualStackCluster)
    families.push_back(families[0] == "IPv4" ? "IPv6" : "IPv4");
  if (policy == "RequireDualStack" && families.size() < 2) {
    fail(
        "spec.ipFamilyPolicy",
        "this cluster is not configured for dual-stack services (services.clusterIPv6Cidr) (got \"RequireDualStack\")");
    return;
  }
  spec["ipFamilies"] = families;
  spec["ipFamilyPolicy"] = policy;
  if (headless) {
    spec["clusterIP"] = "None";
    spec["clusterIPs"] = json::array({"None"});
  } else {
    json ips = json::array();
    for (size_t i = 0; i < families.size(); ++i) {
      const toolkit::IpPrefix& cidr = families[i] == "IPv4" ? config_.clusterIPv4Cidr : *config_.clusterIPv6Cidr;
      const std::string path = "spec.clusterIPs[" + std::to_string(i) + "]";
      if (i < given.size()) {
        auto ip = toolkit::IpAddress::parse(given[i]).value();
        if (familyOf(ip) != families[i]) {
          fail(path, "expected an " + families[i] + " value as indicated by `ipFamilies[" + std::to_string(i) +
                         "]` (got " + json(given[i]).dump() + ")");
          return;
        }
        if (!cidr.contains(ip)) {
          fail(path, "provided IP is not in the valid range. The range of valid IPs is " + cidr.str() + " (got " +
                         json(given[i]).dump() + ")");
          return;
        }
        if (!claimGiven(addressKey(ip, false), path, "IP", given[i])) return;
        ips.push_back(ip.str());
      } else if (auto ip = allocateAddress(cidr, false, serviceKey, "", created)) {
        ips.push_back(*ip);
      } else {
        fail("spec.clusterIPs", "no free " + families[i] + " address left in " + cidr.str());
        return;
      }
    }
    spec["clusterIP"] = ips[0];
    spec["clusterIPs"] = ips;
  }

  // NodePorts for NodePort and LoadBalancer: given, else the one this port held, else allocated.
  if (type != "ClusterIP") {
    const json prevPorts =
        prevSpec.value("type", "ClusterIP") == "ClusterIP" ? json::array() : prevSpec.value("ports", json::array());
    json& ports = spec["ports"];
    for (size_t i = 0; i < ports.size(); ++i) {
      json& port = ports[i];
      const std::string path = "spec.ports[" + std::to_string(i) + "].nodePort";
      if (port.contains("nodePort")) {
        int64_t n = port["nodePort"].get<int64_t>();
        if (n < config_.nodePortMin || n > config_.nodePortMax) {
          fail(path, "provided port is not in the valid range. The range of valid ports is " +
                         std::to_string(config_.nodePortMin) + "-" + std::to_string(config_.nodePortMax) + " (got " +
                         std::to_string(n) + ")");
          return;
        }
        if (!claimGiven(store::keys::serviceNodePort(static_cast<uint16_t>(n)), path, "port", n)) return;
        continue;
      }
      std::optional<uint16_t> kept;
      for (const auto& old : prevPorts)
        if (old.value("port", 0) == port.value("port", 0) &&
            old.value("protocol", "TCP") == port.value("protocol", "TCP") && old.contains("nodePort")) {
          auto n = static_cast<uint16_t>(old["nodePort"].get<int64_t>());
          bool existed = store_.get(store::keys::serviceNodePort(n)).has_value();
          if (claim(store::keys::serviceNodePort(n), serviceKey).empty()) {
            if (!existed) created.push_back(store::keys::serviceNodePort(n));
            kept = n;
          }
        }
      if (!kept) kept = allocateNodePort(serviceKey, created);
      if (!kept) {
        fail(path,
             "no free port left in " + std::to_string(config_.nodePortMin) + "-" + std::to_string(config_.nodePortMax));
        return;
      }
      port["nodePort"] = *kept;
    }
  }

  // type LoadBalancer: the addresses it held, else one per family from the first pool that
  // has one free. No pool: status.loadBalancer stays empty (pending), as in a cluster without
  // a load-balancer controller.
  json status = {{"loadBalancer", json::object()}};
  if (type == "LoadBalancer") {
    json ingress = json::array();
    if (prevSpec.value("type", "") == "LoadBalancer")
      for (const auto& text : loadBalancerIpsOf(previous)) {
        auto ip = toolkit::IpAddress::tryParse(text);
        if (!ip) continue;
        auto key = addressKey(*ip, true);
        auto kv = store_.get(key);
        if (kv && json::parse(kv->value, nullptr, false).value("service", "") == serviceKey)
          ingress.push_back({{"ip", ip->str()}});
      }
    if (ingress.empty())
      for (const auto& family : families) {
        std::optional<std::string> ip;
        for (const auto& pool : config_.loadBalancerPools) {
          for (const auto& cidr : pool.cidrs)
            if ((cidr.isV4() ? "IPv4" : "IPv6") == family && !ip)
              ip = allocateAddress(cidr, true, serviceKey, pool.name, created);
          if (ip) break;
        }
        if (ip) ingress.push_back({{"ip", *ip}});
      }
    if (!ingress.empty()) status["loadBalancer"]["ingress"] = ingress;
  }
  object["status"] = status;
}

std::set<std::string> ServiceAllocator::keysOf(const json& object) {
  std::set<std::string> keys;
  if (!object.is_object()) return keys;
  const json spec = object.value("spec", json::object());
  for (const auto& text : stringsOf(spec.value("clusterIPs", json())))
    if (auto ip = toolkit::IpAddress::tryParse(text)) keys.insert(addressKey(*ip, false));
  if (spec.value("type", "ClusterIP") != "ClusterIP")
    for (const auto& port : spec.value("ports", json::array()))
      if (port.contains("nodePort") && port["nodePort"].is_number_integer())
        keys.insert(store::keys::serviceNodePort(static_cast<uint16_t>(port["nodePort"].get<int64_t>())));
  for (const auto& text : loadBalancerIpsOf(object))
    if (auto ip = toolkit::IpAddress::tryParse(text)) keys.insert(addressKey(*ip, true));
  return keys;
}

void ServiceAllocator::release(const std::string& serviceKey, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    auto kv = store_.get(key);
    if (!kv) continue;
    auto owner = json::parse(kv->value, nullptr, false);
    if (owner.is_object() && owner.value("service", "") == serviceKey) store_.compareAndDelete(key, kv->modRevision);
  }
}

}  // namespace cnikit::agent
