#include "Options.hpp"

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/Link.hpp>

#include <nlohmann/json.hpp>

namespace cnikit::flannel {

namespace {
[[noreturn]] void invalid(const std::string& message) {
  throw sdk::Error(CNIKIT_ERR_INVALID_ARGUMENT, "flannel-like options: " + message);
}
}  // namespace

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
    if (key == "bridge") {
      if (!value.is_string()) invalid("\"bridge\" must be a string");
      o.bridge = value.get<std::string>();
      if (auto valid = toolkit::validateIfname(o.bridge); !valid) invalid("\"bridge\": " + valid.error().message);
    } else if (key == "masquerade") {
      if (!value.is_boolean()) invalid("\"masquerade\" must be true or false");
      o.masquerade = value.get<bool>();
    } else if (key == "mtu") {
      if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
        invalid("\"mtu\" must be a non-negative integer");
      auto mtu = value.get<uint64_t>();
      if (mtu != 0 && (mtu < 68 || mtu > 65535)) invalid("\"mtu\" " + std::to_string(mtu) + " is outside 68..65535");
      o.mtu = static_cast<uint32_t>(mtu);
    } else if (key == "hairpin") {
      if (!value.is_boolean()) invalid("\"hairpin\" must be true or false");
      o.hairpin = value.get<bool>();
    } else {
      invalid("unknown option \"" + key + "\" (known: bridge, masquerade, mtu, hairpin)");
    }
  }
  return o;
}

std::string Options::toJson() const {
  return nlohmann::json{{"bridge", bridge}, {"masquerade", masquerade}, {"mtu", mtu}, {"hairpin", hairpin}}.dump();
}

}  // namespace cnikit::flannel
