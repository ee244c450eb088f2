// Metrics: a Prometheus text-format (0.0.4) registry of counters, gauges and histograms with
// labels, plus scrape-time collectors for values read from the database or the disk.
// Thread-safe: each family has its own mutex for finding a label set; the values themselves
// are atomics, so recording on the hot path is one short lock and an atomic add.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace storyloom::ops {

using Labels = std::vector<std::string>;  // values, in the family's label-name order

// Scrape-time output: a collector writes whole families through this.
class MetricsWriter {
 public:
  // Starts a family: HELP and TYPE lines ("counter", "gauge", "histogram").
  void Family(const std::string& name, const std::string& type, const std::string& help);
  // One sample line; label names and values are paired in order.
  void Sample(const std::string& name, const std::vector<std::string>& label_names,
              const Labels& label_values, double value);
  std::string str() const { return out_; }

 private:
  std::string out_;
};

class Counter {
 public:
  void Inc(double v = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  void Write(MetricsWriter& w, const std::string& name, const std::vector<std::string>& label_names,
             const Labels& labels) const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  // The child for `labels` (created on first use). References stay valid.
  T& With(const Labels& labels);
  void Write(MetricsWriter& w) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<Labels, std::unique_ptr<T>> children_;  // guarded by mu_
};

class MetricsRegistry {
 public:
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);
  // Runs at every scrape, after the registered families.
  void AddCollector(std::function<void(MetricsWriter&)> collector);

  // The whole exposition, text format 0.0.4.
  std::string Render() const;

 private:
  mutable std::mutex mu_;  // guards the lists, not the values
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::function<void(MetricsWriter&)>> collectors_;
};

// Formats a sample value the way Prometheus reads it (+Inf, -Inf, NaN, integers exactly).
std::string FormatMetricValue(double v);

// Default latency buckets in seconds (5 ms .. 30 s).
const std::vector<double>& LatencyBuckets();

}  // namespace storyloom::ops
