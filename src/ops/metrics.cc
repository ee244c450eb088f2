#include "ops/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace storyloom::ops {

namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5,   1,    2.5,   5,    10,  30};
  return kBuckets;
}

void MetricsWriter::Family(const std::string& name, const std::string& type,
                           const std::string& help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricsWriter::Sample(const std::string& name, const std::vector<std::string>& label_names,
                           const Labels& label_values, double value) {
  out_ += name;
  if (!label_names.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      if (i) out_ += ',';
      out_ += fmt::format("{}=\"{}\"", label_names[i],
                          EscapeLabel(i < label_values.size() ? label_values[i] : ""));
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatMetricValue(value);
  out_ += '\n';
}

void Counter::Inc(double v) { AtomicAdd(value_, v); }
void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds->size() + 1]) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  std::size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Write(MetricsWriter& w, const std::string& name,
                      const std::vector<std::string>& label_names, const Labels& labels) const {
  std::vector<std::string> names = label_names;
  names.emplace_back("le");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Labels l = labels;
    l.push_back(i < bounds_->size() ? FormatMetricValue((*bounds_)[i]) : "+Inf");
    w.Sample(name + "_bucket", names, l, static_cast<double>(cumulative));
  }
  // The count is the +Inf bucket, so the two always agree within one scrape.
  w.Sample(name + "_sum", label_names, labels, sum_.load(std::memory_order_relaxed));
  w.Sample(name + "_count", label_names, labels, static_cast<double>(cumulative));
}

template <typename T>
T& Family<T>::With(const Labels& labels) {
  std::lock_guard lock(mu_);
  auto it = children_.find(labels);
  if (it != children_.end()) return *it->second;
  // A bug that lets client input into a label must not grow memory and the scrape without
  // bound: past the cap, new label sets share one "overflow" series.
  constexpr std::size_t kMaxSeries = 2000;
  const Labels* key = &labels;
  Labels overflow;
  if (children_.size() >= kMaxSeries) {
    overflow.assign(labels.size(), "overflow");
    if (auto o = children_.find(overflow); o != children_.end()) return *o->second;
    key = &overflow;
  }
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<T>(&bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(*key, std::move(child));
  return ref;
}

template <typename T>
void Family<T>::Write(MetricsWriter& w) const {
  std::lock_guard lock(mu_);
  if constexpr (std::is_same_v<T, Histogram>) {
    w.Family(name_, "histogram", help_);
    for (const auto& [labels, h] : children_) h->Write(w, name_, label_names_, labels);
  } else {
    w.Family(name_, std::is_same_v<T, Counter> ? "counter" : "gauge", help_);
    for (const auto& [labels, c] : children_) w.Sample(name_, label_names_, labels, c->value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(name, help, std::move(label_names)));
  return *counters_.back();
}

Family<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(label_names)));
  return *gauges_.back();
}

Family<Histogram>& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back(
      std::make_unique<Family<Histogram>>(name, help, std::move(label_names), std::move(bounds)));
  return *histograms_.back();
}

void MetricsRegistry::AddCollector(std::function<void(MetricsWriter&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void(MetricsWriter&)>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  // Collectors first: what they observe while collecting (query timings) shows in this
  // scrape's families.
  MetricsWriter collected;
  for (const auto& c : collectors) c(collected);
  MetricsWriter w;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : counters_) f->Write(w);
    for (const auto& f : gauges_) f->Write(w);
    for (const auto& f : histograms_) f->Write(w);
  }
  return w.str() + collected.str();
}

}  // namespace storyloom::ops
