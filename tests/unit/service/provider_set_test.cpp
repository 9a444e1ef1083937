// ProviderSet: every provider gets every call, in order, even when one throws; the first
// error reaches the caller; status and explain are keyed by provider name.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/service/ProviderSet.hpp"

namespace cnikit::service {
namespace {

struct Recording : ServiceProvider {
  Recording(std::string name, std::vector<std::string>& log, bool fails = false)
      : name_(std::move(name)), log_(log), fails_(fails) {}
  const char* name() const override { return name_.c_str(); }
  void sync(const NodeContext&, const ServiceTable& table) override {
    log_.push_back(name_ + ".sync " + std::to_string(table.size()));
    if (fails_) throw std::runtime_error(name_ + " failed");
  }
  void apply(const NodeContext&, const ServiceTable&, const ServiceChanges& changed) override {
    log_.push_back(name_ + ".apply " + *changed.begin());
    if (fails_) throw std::runtime_error(name_ + " failed");
  }
  void removeAll() override { log_.push_back(name_ + ".removeAll"); }
  nlohmann::json status() const override { return {{"name", name_}}; }
  nlohmann::json explain(const std::string& key) const override {
    return key == "ns/a" && name_ == "first" ? nlohmann::json{{"rules", 1}} : nlohmann::json();
  }
  std::string name_;
  std::vector<std::string>& log_;
  bool fails_;
};

TEST(ProviderSet, CallsEveryProviderInOrderAndRethrowsTheFirstError) {
  std::vector<std::string> log;
  std::vector<std::unique_ptr<ServiceProvider>> providers;
  providers.push_back(std::make_unique<Recording>("first", log, true));
  providers.push_back(std::make_unique<Recording>("second", log));
  ProviderSet set(std::move(providers));
  EXPECT_STREQ(set.name(), "first+second");

  ServiceTable table{{"ns/a", Service{}}};
  EXPECT_THROW(set.sync({}, table), std::runtime_error);
  EXPECT_THROW(set.apply({}, table, {"ns/a"}), std::runtime_error);
  EXPECT_EQ(log, (std::vector<std::string>{"first.sync 1", "second.sync 1", "first.apply ns/a", "second.apply ns/a"}));

  EXPECT_EQ(set.status()["second"]["name"], "second");
  EXPECT_EQ(set.explain("ns/a"), (nlohmann::json{{"first", {{"rules", 1}}}}));
  EXPECT_TRUE(set.explain("ns/b").is_null());
}

TEST(ProviderSet, RefusesNoProviderOrANullOne) {
  EXPECT_THROW(ProviderSet({}), std::invalid_argument);
  std::vector<std::unique_ptr<ServiceProvider>> providers;
  providers.push_back(nullptr);
  EXPECT_THROW(ProviderSet(std::move(providers)), std::invalid_argument);
}

}  // namespace
}  // namespace cnikit::service
