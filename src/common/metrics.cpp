#include "lab_orders/common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace lab_orders::metrics {
namespace {

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!letter(name[0]) && !(allow_colon && name[0] == ':')) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return letter(c) || digit(c) || (allow_colon && c == ':'); });
}

// # HELP text escapes backslash and line feed only.
std::string EscapeHelp(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"` without the closing brace (extra labels such as le may follow), or "" when
// there are no labels and nothing follows.
void AppendLabels(std::string& out, const std::vector<LabelSpec>& labels,
                  const std::vector<std::string_view>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += labels[i].name;
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, const std::string& name, std::string_view suffix,
                  const std::vector<LabelSpec>& labels, const std::vector<std::string_view>& values,
                  const std::string& value, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  AppendLabels(out, labels, values, extra_name, extra_value);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<std::string> HttpStatusValues() {
  std::vector<std::string> values;
  values.reserve(500);
  for (int status = 100; status <= 599; ++status) values.push_back(std::to_string(status));
  return values;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (error != std::errc()) return "NaN";
  return std::string(buffer, end);
}

// ---- LabelSchema --------------------------------------------------------------------------

namespace detail {

LabelSchema::LabelSchema(std::vector<LabelSpec> labels) : labels_(std::move(labels)) {
  std::uint64_t capacity = 1;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    const LabelSpec& label = labels_[i];
    if (!ValidName(label.name, false) || label.name.rfind("__", 0) == 0) {
      throw std::invalid_argument("metrics: invalid label name '" + label.name + "'");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (labels_[j].name == label.name) {
        throw std::invalid_argument("metrics: label '" + label.name + "' declared twice");
      }
    }
    std::map<std::string, std::uint64_t, std::less<>> index;
    std::vector<std::string> names;
    for (const std::string& value : label.values) {
      if (value != kOtherValue && index.emplace(value, names.size()).second) names.push_back(value);
    }
    std::uint64_t radix = index.size() + 1;  // the last index is "other"
    if (capacity > std::numeric_limits<std::uint64_t>::max() / radix) {
      throw std::invalid_argument("metrics: too many label value combinations");
    }
    capacity *= radix;
    index_.push_back(std::move(index));
    names_.push_back(std::move(names));
    radix_.push_back(radix);
  }
}

template <typename It>
std::uint64_t LabelSchema::KeyOf(It first, It last, std::size_t count) const {
  if (count != labels_.size()) {
    throw std::invalid_argument("metrics: " + std::to_string(count) + " label values for " +
                                std::to_string(labels_.size()) + " labels");
  }
  std::uint64_t key = 0;
  std::size_t i = 0;
  for (It it = first; it != last; ++it, ++i) {
    auto found = index_[i].find(std::string_view(*it));
    std::uint64_t digit = found == index_[i].end() ? radix_[i] - 1 : found->second;
    key = key * radix_[i] + digit;
  }
  return key;
}

std::uint64_t LabelSchema::Key(std::initializer_list<std::string_view> values) const {
  return KeyOf(values.begin(), values.end(), values.size());
}

std::uint64_t LabelSchema::Key(const std::vector<std::string>& values) const {
  return KeyOf(values.begin(), values.end(), values.size());
}

std::vector<std::string_view> LabelSchema::Values(std::uint64_t key) const {
  std::vector<std::string_view> values(labels_.size());
  for (std::size_t i = labels_.size(); i-- > 0;) {
    std::uint64_t digit = key % radix_[i];
    key /= radix_[i];
    values[i] = digit < names_[i].size() ? std::string_view(names_[i][digit]) : kOtherValue;
  }
  return values;
}

bool LabelSchema::SameAs(const std::vector<LabelSpec>& labels) const {
  if (labels.size() != labels_.size()) return false;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].name != labels_[i].name || labels[i].values != labels_[i].values) return false;
  }
  return true;
}

}  // namespace detail

// ---- families -----------------------------------------------------------------------------

Family::Family(std::string name, std::string help, std::vector<LabelSpec> labels)
    : name_(std::move(name)), help_(std::move(help)), schema_(std::move(labels)) {
  if (!ValidName(name_, true)) throw std::invalid_argument("metrics: invalid name '" + name_ + "'");
}

void Family::RenderHeader(std::string& out, const char* type) const {
  out += "# HELP " + name_ + " " + EscapeHelp(help_) + "\n";
  out += "# TYPE " + name_ + " " + type + "\n";
}

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<LabelSpec> labels)
    : Family(std::move(name), std::move(help), std::move(labels)) {}

void CounterFamily::Inc(std::initializer_list<std::string_view> label_values, std::uint64_t by) {
  std::uint64_t key = schema_.Key(label_values);
  {
    std::shared_lock lock(mutex_);
    auto it = series_.find(key);
    if (it != series_.end()) {
      it->second->fetch_add(by, std::memory_order_relaxed);
      return;
    }
  }
  std::unique_lock lock(mutex_);
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
  slot->fetch_add(by, std::memory_order_relaxed);
}

std::uint64_t CounterFamily::Value(std::initializer_list<std::string_view> label_values) const {
  std::uint64_t key = schema_.Key(label_values);
  std::shared_lock lock(mutex_);
  auto it = series_.find(key);
  return it == series_.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

void CounterFamily::Render(std::string& out) const {
  RenderHeader(out, "counter");
  std::shared_lock lock(mutex_);
  for (const auto& [key, count] : series_) {
    AppendSample(out, name_, "", schema_.labels(), schema_.Values(key),
                 std::to_string(count->load(std::memory_order_relaxed)));
  }
}

HistogramFamily::Series::Series(std::size_t buckets)
    : counts(std::make_unique<std::atomic<std::uint64_t>[]>(buckets)) {
  for (std::size_t i = 0; i < buckets; ++i) counts[i].store(0, std::memory_order_relaxed);
}

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<LabelSpec> labels,
                                 std::vector<double> bounds)
    : Family(std::move(name), std::move(help), std::move(labels)), bounds_(std::move(bounds)) {
  for (const LabelSpec& label : schema_.labels()) {
    if (label.name == "le") throw std::invalid_argument("metrics: a histogram cannot label 'le'");
  }
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("metrics: histogram bounds must ascend strictly");
    }
  }
}

void HistogramFamily::Observe(std::initializer_list<std::string_view> label_values, double value) {
  if (std::isnan(value)) return;
  std::uint64_t key = schema_.Key(label_values);
  // The first bucket whose upper bound holds the value (le is "less than or equal").
  std::size_t bucket =
      std::size_t(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  auto record = [&](Series& series) {
    series.counts[bucket].fetch_add(1, std::memory_order_relaxed);
    series.sum.fetch_add(value, std::memory_order_relaxed);
  };
  {
    std::shared_lock lock(mutex_);
    auto it = series_.find(key);
    if (it != series_.end()) {
      record(*it->second);
      return;
    }
  }
  std::unique_lock lock(mutex_);
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<Series>(bounds_.size() + 1);
  record(*slot);
}

std::uint64_t HistogramFamily::Count(std::initializer_list<std::string_view> label_values) const {
  std::uint64_t key = schema_.Key(label_values);
  std::shared_lock lock(mutex_);
  auto it = series_.find(key);
  if (it == series_.end()) return 0;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += it->second->counts[i].load(std::memory_order_relaxed);
  }
  return total;
}

void HistogramFamily::Render(std::string& out) const {
  RenderHeader(out, "histogram");
  std::vector<std::string> bounds;
  for (double bound : bounds_) bounds.push_back(FormatValue(bound));
  bounds.push_back("+Inf");
  std::shared_lock lock(mutex_);
  for (const auto& [key, series] : series_) {
    std::vector<std::string_view> values = schema_.Values(key);
    // Counts are read once and summed here, so the buckets ascend and the last equals _count
    // even while observations land.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += series->counts[i].load(std::memory_order_relaxed);
      AppendSample(out, name_, "_bucket", schema_.labels(), values, std::to_string(cumulative),
                   "le", bounds[i]);
    }
    AppendSample(out, name_, "_sum", schema_.labels(), values,
                 FormatValue(series->sum.load(std::memory_order_relaxed)));
    AppendSample(out, name_, "_count", schema_.labels(), values, std::to_string(cumulative));
  }
}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<LabelSpec> labels,
                         Collector collect)
    : Family(std::move(name), std::move(help), std::move(labels)), collect_(std::move(collect)) {}

void GaugeFamily::Render(std::string& out) const {
  RenderHeader(out, "gauge");
  std::map<std::uint64_t, double> samples;
  try {
    for (const auto& [values, value] : collect_()) samples[schema_.Key(values)] += value;
  } catch (const std::exception&) {
    return;  // the source is unavailable: no samples rather than a failed scrape
  }
  for (const auto& [key, value] : samples) {
    AppendSample(out, name_, "", schema_.labels(), schema_.Values(key), FormatValue(value));
  }
}

// ---- Registry -----------------------------------------------------------------------------

template <typename T, typename... Args>
T& Registry::Declare(const std::string& name, const std::vector<LabelSpec>& labels,
                     Args&&... args) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<T>(name, std::forward<Args>(args)...);
    T& made = *family;
    families_.emplace(name, std::move(family));
    return made;
  }
  T* existing = dynamic_cast<T*>(it->second.get());
  if (existing == nullptr) {
    throw std::invalid_argument("metrics: '" + name + "' is already declared with another type");
  }
  if (!existing->HasLabels(labels)) {
    throw std::invalid_argument("metrics: '" + name + "' is already declared with other labels");
  }
  return *existing;
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help,
                                 std::vector<LabelSpec> labels) {
  return Declare<CounterFamily>(name, labels, help, labels);
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     std::vector<LabelSpec> labels, std::vector<double> bounds) {
  HistogramFamily& family = Declare<HistogramFamily>(name, labels, help, labels, bounds);
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  if (family.bounds() != bounds) {
    throw std::invalid_argument("metrics: '" + name + "' is already declared with other buckets");
  }
  return family;
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help,
                             std::vector<LabelSpec> labels, GaugeFamily::Collector collect) {
  return Declare<GaugeFamily>(name, labels, help, labels, std::move(collect));
}

std::string Registry::RenderPrometheus() const {
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  // Families are never removed, so they outlive the lock; a gauge's collector runs unlocked.
  std::string out;
  for (const Family* family : families) family->Render(out);
  return out;
}

}  // namespace lab_orders::metrics
