#include "Options.hpp"

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/Link.hpp>

#include <nlohmann/json.hpp>

namespace cnikit::flannel {

namespace {
[[noreturn]] void invalid(const std::string& message) {
  throw sdk::Error(CNIKIT_ERR_INVALID_ARGUMENT, "flannel-like options: " + message);
}

uint64_t unsignedValue(const nlohmann::json& value, const std::string& key) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
    invalid("\"" + key + "\" must be a non-negative integer");
  return value.get<uint64_t>();
}
}  // namespace

std::string modeName(Mode mode) {
  switch (mode) {
    case Mode::kVxlan: return "vxlan";
    case Mode::kHostGw: return "host-gw";
    case Mode::kBridge: break;
  }
  return "bridge";
}

Options Options::parse(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.empty() ? std::string("{}") : text);
  } catch (const nlohmann::json::parse_error& e) {
    invalid(std::string("not valid JSON: ") + e.what());
  }
  if (j.is_null()) return Options{};
  if (!j.is_object()) invalid("expected a JSON object, got " + std::string(j.type_name()));
  Options o;
  for (const auto& [key, value] : j.items()) {
    if (key == "mode") {
      if (!value.is_string()) invalid("\"mode\" must be a string");
      auto mode = value.get<std::string>();
      if (mode == "bridge")
        o.mode = Mode::kBridge;
      else if (mode == "vxlan")
        o.mode = Mode::kVxlan;
      else if (mode == "host-gw")
        o.mode = Mode::kHostGw;
      else
        invalid("\"mode\" '" + mode + "' is not one of bridge, vxlan, host-gw");
    } else if (key == "bridge") {
      if (!value.is_string()) invalid("\"bridge\" must be a string");
      o.bridge = value.get<std::string>();
      if (auto valid = toolkit::validateIfname(o.bridge); !valid) invalid("\"bridge\": " + valid.error().message);
    } else if (key == "masquerade") {
      if (!value.is_boolean()) invalid("\"masquerade\" must be true or false");
      o.masquerade = value.get<bool>();
    } else if (key == "mtu") {
      auto mtu = unsignedValue(value, key);
      if (mtu != 0 && (mtu < 68 || mtu > 65535)) invalid("\"mtu\" " + std::to_string(mtu) + " is outside 68..65535");
      o.mtu = static_cast<uint32_t>(mtu);
    } else if (key == "hairpin") {
      if (!value.is_boolean()) invalid("\"hairpin\" must be true or false");
      o.hairpin = value.get<bool>();
    } else if (key == "vni") {
      auto vni = unsignedValue(value, key);
      if (vni < 1 || vni > 0xffffff) invalid("\"vni\" " + std::to_string(vni) + " is outside 1..16777215");
      o.vni = static_cast<uint32_t>(vni);
    } else if (key == "port") {
      auto port = unsignedValue(value, key);
      if (port < 1 || port > 65535) invalid("\"port\" " + std::to_string(port) + " is outside 1..65535");
      o.port = static_cast<uint16_t>(port);
    } else if (key == "vxlanDevice") {
      if (!value.is_string()) invalid("\"vxlanDevice\" must be a string");
      o.vxlanDevice = value.get<std::string>();
      if (auto valid = toolkit::validateIfname(o.vxlanDevice); !valid)
        invalid("\"vxlanDevice\": " + valid.error().message);
    } else {
      invalid("unknown option \"" + key + "\" (known: mode, bridge, masquerade, mtu, hairpin, vni, port, vxlanDevice)");
    }
  }
  if (o.vxlanDevice.empty())
    if (auto valid = toolkit::validateIfname(o.vxlanDeviceName()); !valid)
      invalid("\"vni\" " + std::to_string(o.vni) + " makes the device name too long; set \"vxlanDevice\"");
  if (o.mode != Mode::kVxlan && (j.contains("vni") || j.contains("port") || j.contains("vxlanDevice")))
    invalid("\"vni\", \"port\" and \"vxlanDevice\" apply to mode \"vxlan\" only, not \"" + modeName(o.mode) + "\"");
  return o;
}

std::string Options::vxlanDeviceName() const {
  return vxlanDevice.empty() ? "flannel." + std::to_string(vni) : vxlanDevice;
}

std::string Options::toJson() const {
  nlohmann::json j{
      {"mode", modeName(mode)}, {"bridge", bridge}, {"masquerade", masquerade}, {"mtu", mtu}, {"hairpin", hairpin}};
  if (mode == Mode::kVxlan) {
    j["vni"] = vni;
    j["port"] = port;
    j["vxlanDevice"] = vxlanDeviceName();
  }
  return j.dump();
}

}  // namespace cnikit::flannel
