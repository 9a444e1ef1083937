#pragma once
// Several service providers behind one: the controller hands every change to each, in order
// (the iptables proxy first, then the load-balancer announcer, so an address is announced
// only once its rules exist). A provider that throws does not keep the others from being
// called; the first error is rethrown after all of them ran, so the controller resyncs.
#include <memory>
#include <vector>

#include "core/service/ServiceProvider.hpp"

namespace cnikit::service {

class ProviderSet : public ServiceProvider {
 public:
  explicit ProviderSet(std::vector<std::unique_ptr<ServiceProvider>> providers);

  const char* name() const override { return name_.c_str(); }
  void sync(const NodeContext& node, const ServiceTable& table) override;
  void apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) override;
  void removeAll() override;
  // {provider name: its status}
  nlohmann::json status() const override;
  // {provider name: its explanation} for those that have one; null when none has.
  nlohmann::json explain(const std::string& serviceKey) const override;

 private:
  template <class F>
  void forEach(F call);

  std::vector<std::unique_ptr<ServiceProvider>> providers_;
  std::string name_;  // "iptables+l2-announcer"
};

}  // namespace cnikit::service
