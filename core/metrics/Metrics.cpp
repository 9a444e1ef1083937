#include "core/metrics/Metrics.hpp"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <stdexcept>

namespace cnikit::metrics {

struct Registry::Entry {
  std::string name;
  std::map<std::string, std::string> labels;
  Kind kind;
  prometheus::Counter* counter = nullptr;  // owned by the prometheus registry
  prometheus::Gauge* gauge = nullptr;
};

Registry::Registry() : registry_(std::make_shared<prometheus::Registry>()) {}
Registry::~Registry() = default;

int32_t Registry::add(const std::string& name, const std::string& help, Kind kind) {
  return add(name, help, kind, {});
}

int32_t Registry::add(const std::string& name, const std::string& help, Kind kind,
                      const std::map<std::string, std::string>& labels) {
  if (!prometheus::CheckMetricName(name)) return -1;
  for (const auto& [label, value] : labels)
    if (!prometheus::CheckLabelName(label)) return -1;
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = *entries_[i];
    if (e.name != name) continue;
    if (e.kind != kind) return -1;
    if (e.labels == labels) return static_cast<int32_t>(i);
  }
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->labels = labels;
  entry->kind = kind;
  prometheus::Labels promLabels(labels.begin(), labels.end());
  try {
    // Merge: a second series of the same family finds the existing family.
    if (kind == Kind::Counter) {
      auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
      entry->counter = &family.Add(promLabels);
    } else {
      auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
      entry->gauge = &family.Add(promLabels);
    }
  } catch (const std::exception&) {
    return -1;  // the name is taken by another type registered directly on prometheus()
  }
  entries_.push_back(std::move(entry));
  return static_cast<int32_t>(entries_.size() - 1);
}

void Registry::increment(int32_t id, double value) {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
  Entry& e = *entries_[id];
  if (e.counter) {
    if (value >= 0) e.counter->Increment(value);  // counters only go up
  } else {
    e.gauge->Increment(value);
  }
}

void Registry::set(int32_t id, double value) {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
  Entry& e = *entries_[id];
  if (e.gauge) e.gauge->Set(value);
}

double Registry::value(int32_t id) const {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size())
    throw std::out_of_range("metrics: unknown metric id " + std::to_string(id));
  const Entry& e = *entries_[id];
  return e.counter ? e.counter->Value() : e.gauge->Value();
}

std::string Registry::serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace cnikit::metrics
