#include "core/metrics/Metrics.hpp"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace cnikit::metrics {

struct Registry::Entry {
  std::string name;
  std::map<std::string, std::string> labels;
  Kind kind;
  prometheus::Counter* counter = nullptr;  // owned by the prometheus registry
  prometheus::Gauge* gauge = nullptr;
  prometheus::Histogram* histogram = nullptr;
  uint64_t observations = 0;  // prometheus-cpp does not expose a histogram's count
};

namespace {

// The buckets prometheus client libraries use when none are given (seconds of latency).
const std::vector<double> kDefaultBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

bool validBuckets(const std::vector<double>& buckets) {
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i])) return false;
    if (i > 0 && buckets[i] <= buckets[i - 1]) return false;
  }
  return true;
}

}  // namespace

Registry::Registry() : registry_(std::make_shared<prometheus::Registry>()) {}
Registry::~Registry() = default;

int32_t Registry::add(const std::string& name, const std::string& help, Kind kind) {
  return add(name, help, kind, {});
}

int32_t Registry::add(const std::string& name, const std::string& help, Kind kind,
                      const std::map<std::string, std::string>& labels) {
  if (kind == Kind::Histogram) return addEntry(name, help, kind, labels, kDefaultBuckets);
  return addEntry(name, help, kind, labels, {});
}

int32_t Registry::addHistogram(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels, const std::vector<double>& buckets) {
  if (!validBuckets(buckets)) return -1;
  return addEntry(name, help, Kind::Histogram, labels, buckets.empty() ? kDefaultBuckets : buckets);
}

int32_t Registry::addEntry(const std::string& name, const std::string& help, Kind kind,
                           const std::map<std::string, std::string>& labels, const std::vector<double>& buckets) {
  if (!prometheus::CheckMetricName(name)) return -1;
  for (const auto& [label, value] : labels) {
    if (!prometheus::CheckLabelName(label)) return -1;
    if (kind == Kind::Histogram && label == "le") return -1;  // the bucket label
  }
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
    switch (kind) {
      case Kind::Counter:
        entry->counter = &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add(promLabels);
        break;
      case Kind::Gauge:
        entry->gauge = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add(promLabels);
        break;
      case Kind::Histogram:
        entry->histogram =
            &prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_).Add(promLabels, buckets);
        break;
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
  } else if (e.gauge) {
    e.gauge->Increment(value);
  }
}

void Registry::set(int32_t id, double value) {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
  Entry& e = *entries_[id];
  if (e.gauge) e.gauge->Set(value);
}

void Registry::observe(int32_t id, double value) {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
  Entry& e = *entries_[id];
  if (!e.histogram || std::isnan(value)) return;
  e.histogram->Observe(value);
  ++e.observations;
}

double Registry::value(int32_t id) const {
  std::lock_guard lock(mutex_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size())
    throw std::out_of_range("metrics: unknown metric id " + std::to_string(id));
  const Entry& e = *entries_[id];
  if (e.counter) return e.counter->Value();
  if (e.gauge) return e.gauge->Value();
  return static_cast<double>(e.observations);
}

std::string Registry::serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace cnikit::metrics
