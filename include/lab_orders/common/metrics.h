#pragma once

// A small thread-safe metrics registry rendered in the Prometheus text format 0.0.4 (GET /metrics).
// No external library: counters, histograms and scrape-time gauges with fixed label names, each
// label taking its values from a bounded set declared up front. A value outside its set is counted
// as "other", so no id, path or patient datum can ever become a label value, and the number of
// series stays bounded whatever the traffic.
//
// One Registry is made by the composition root and handed to the pieces that count; each piece
// declares the families it uses (declaring the same family twice returns the first, provided the
// labels agree). The hot path is a shared-lock lookup and an atomic add.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lab_orders::metrics {

// What a label value outside its declared set is recorded as.
inline constexpr const char* kOtherValue = "other";

// The Content-Type of RenderPrometheus()'s text.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label: its name and every value it may take ("other" is always allowed besides).
struct LabelSpec {
  std::string name;
  std::vector<std::string> values;
};

// Request and call latencies, in seconds: 5 ms to 10 s.
std::vector<double> DefaultLatencyBuckets();
// "100" ... "599": every HTTP status code, as a bounded label set.
std::vector<std::string> HttpStatusValues();

namespace detail {

// The label names and bounded value sets of one family; label values are kept as indices.
class LabelSchema {
 public:
  explicit LabelSchema(std::vector<LabelSpec> labels);

  // Packs the values (one per label, in order) into a key; a value outside its set is "other".
  // Throws std::invalid_argument when the number of values is not the number of labels.
  std::uint64_t Key(std::initializer_list<std::string_view> values) const;
  std::uint64_t Key(const std::vector<std::string>& values) const;
  // The value strings a key stands for.
  std::vector<std::string_view> Values(std::uint64_t key) const;

  const std::vector<LabelSpec>& labels() const { return labels_; }
  bool SameAs(const std::vector<LabelSpec>& labels) const;

 private:
  template <typename It>
  std::uint64_t KeyOf(It first, It last, std::size_t count) const;

  std::vector<LabelSpec> labels_;
  std::vector<std::map<std::string, std::uint64_t, std::less<>>> index_;  // per label
  std::vector<std::vector<std::string>> names_;                           // index -> value
  std::vector<std::uint64_t> radix_;  // values.size() + 1 ("other") per label
};

}  // namespace detail

class Family {
 public:
  virtual ~Family() = default;
  const std::string& name() const { return name_; }
  bool HasLabels(const std::vector<LabelSpec>& labels) const { return schema_.SameAs(labels); }
  // Appends this family's # HELP, # TYPE and samples.
  virtual void Render(std::string& out) const = 0;

 protected:
  Family(std::string name, std::string help, std::vector<LabelSpec> labels);
  void RenderHeader(std::string& out, const char* type) const;

  std::string name_;
  std::string help_;
  detail::LabelSchema schema_;
};

// A monotonically increasing count per label set.
class CounterFamily final : public Family {
 public:
  CounterFamily(std::string name, std::string help, std::vector<LabelSpec> labels);

  void Inc(std::initializer_list<std::string_view> label_values, std::uint64_t by = 1);
  // The current count (0 for a series never incremented); for tests.
  std::uint64_t Value(std::initializer_list<std::string_view> label_values) const;
  void Render(std::string& out) const override;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::uint64_t, std::unique_ptr<std::atomic<std::uint64_t>>> series_;
};

// Observations in cumulative buckets, with their sum and count, per label set.
class HistogramFamily final : public Family {
 public:
  // bounds: ascending upper bounds; +Inf is added.
  HistogramFamily(std::string name, std::string help, std::vector<LabelSpec> labels,
                  std::vector<double> bounds);

  void Observe(std::initializer_list<std::string_view> label_values, double value);
  // How many observations (0 for a series never observed); for tests.
  std::uint64_t Count(std::initializer_list<std::string_view> label_values) const;
  const std::vector<double>& bounds() const { return bounds_; }
  void Render(std::string& out) const override;

 private:
  struct Series {
    explicit Series(std::size_t buckets);
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts;  // per bucket, not cumulative; +Inf last
    std::atomic<double> sum{0.0};
  };

  std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::map<std::uint64_t, std::unique_ptr<Series>> series_;
};

// A gauge whose samples are read when scraped. Values reported for the same label set (after
// clamping to "other") are added together. A collector that throws renders no samples.
class GaugeFamily final : public Family {
 public:
  using Sample = std::pair<std::vector<std::string>, double>;
  using Collector = std::function<std::vector<Sample>()>;

  GaugeFamily(std::string name, std::string help, std::vector<LabelSpec> labels, Collector collect);
  void Render(std::string& out) const override;

 private:
  Collector collect_;
};

class Registry {
 public:
  // Each returns the family of that name, made on first use. Throws std::invalid_argument for an
  // invalid metric or label name, or when the name is already used with another type or labels.
  CounterFamily& Counter(const std::string& name, const std::string& help,
                         std::vector<LabelSpec> labels);
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<LabelSpec> labels,
                             std::vector<double> bounds = DefaultLatencyBuckets());
  // A scrape-time gauge; declaring it again replaces nothing (the first collector stays).
  GaugeFamily& Gauge(const std::string& name, const std::string& help,
                     std::vector<LabelSpec> labels, GaugeFamily::Collector collect);

  // Every family, sorted by name, in the Prometheus text format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  template <typename T, typename... Args>
  T& Declare(const std::string& name, const std::vector<LabelSpec>& labels, Args&&... args);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>> families_;
};

// Escapes a label value for the text format: backslash, double quote and line feed.
std::string EscapeLabelValue(std::string_view value);
// A sample value as the text format writes it: shortest round-trip form, +Inf, -Inf, NaN.
std::string FormatValue(double value);

}  // namespace lab_orders::metrics
