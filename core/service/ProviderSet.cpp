#include "core/service/ProviderSet.hpp"

#include <exception>
#include <stdexcept>

namespace cnikit::service {

ProviderSet::ProviderSet(std::vector<std::unique_ptr<ServiceProvider>> providers) : providers_(std::move(providers)) {
  if (providers_.empty()) throw std::invalid_argument("service providers: none given");
  for (const auto& provider : providers_) {
    if (!provider) throw std::invalid_argument("service providers: a null provider");
    name_ += (name_.empty() ? "" : "+") + std::string(provider->name());
  }
}

template <class F>
void ProviderSet::forEach(F call) {
  std::exception_ptr first;
  for (auto& provider : providers_) {
    try {
      call(*provider);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

void ProviderSet::sync(const NodeContext& node, const ServiceTable& table) {
  forEach([&](ServiceProvider& provider) { provider.sync(node, table); });
}

void ProviderSet::apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) {
  forEach([&](ServiceProvider& provider) { provider.apply(node, table, changed); });
}

void ProviderSet::removeAll() {
  forEach([](ServiceProvider& provider) { provider.removeAll(); });
}

nlohmann::json ProviderSet::status() const {
  auto out = nlohmann::json::object();
  for (const auto& provider : providers_) out[provider->name()] = provider->status();
  return out;
}

nlohmann::json ProviderSet::explain(const std::string& serviceKey) const {
  auto out = nlohmann::json::object();
  for (const auto& provider : providers_) {
    auto explained = provider->explain(serviceKey);
    if (!explained.is_null()) out[provider->name()] = std::move(explained);
  }
  return out.empty() ? nlohmann::json() : out;
}

}  // namespace cnikit::service
