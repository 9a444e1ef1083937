#pragma once
// The agent's metrics (prometheus-cpp): core counters and whatever backends register.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace cnikit::metrics {

enum class Kind { Counter, Gauge, Histogram };

class Registry {
 public:
  Registry();
  ~Registry();
  // Returns an id >= 0, or -1 for an invalid name or a name registered with another kind.
  // Registering an existing name with the same kind returns the same id.
  int32_t add(const std::string& name, const std::string& help, Kind kind);
  // The same with labels (e.g. {"instance", "default"} for a backend instance's metric): one
  // family per name, one series per label set; the id names the series.
  int32_t add(const std::string& name, const std::string& help, Kind kind,
              const std::map<std::string, std::string>& labels);
  // A histogram series; buckets are upper bounds, strictly ascending and finite (empty: the
  // prometheus defaults). -1 as for add(), or for bad buckets.
  int32_t addHistogram(const std::string& name, const std::string& help,
                       const std::map<std::string, std::string>& labels, const std::vector<double>& buckets = {});
  void increment(int32_t id, double value);  // counter or gauge
  void set(int32_t id, double value);        // gauge only
  void observe(int32_t id, double value);    // histogram only
  // Counter or gauge value, or a histogram's sample count; throws std::out_of_range for an
  // unknown id.
  double value(int32_t id) const;
  std::shared_ptr<prometheus::Registry> prometheus() const { return registry_; }
  // Text exposition format of everything registered.
  std::string serialize() const;

 private:
  struct Entry;
  int32_t addEntry(const std::string& name, const std::string& help, Kind kind,
                   const std::map<std::string, std::string>& labels, const std::vector<double>& buckets);
  mutable std::mutex mutex_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace cnikit::metrics
