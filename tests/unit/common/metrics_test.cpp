// The metrics registry (common/metrics.h).

#include "lab_orders/common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/metrics_text.h"

namespace lab_orders::metrics {
namespace {

using lab_orders::testing::ExpectValidExposition;
using lab_orders::testing::Lines;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsRegistryTest, RendersCountersWithHelpTypeAndLabels) {
  Registry registry;
  CounterFamily& requests =
      registry.Counter("demo_requests_total", "Requests by route.",
                       {{"route", {"/a", "/b/{id}"}}, {"status", {"200", "404"}}});
  requests.Inc({"/a", "200"});
  requests.Inc({"/a", "200"}, 2);
  requests.Inc({"/b/{id}", "404"});

  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(text,
            "# HELP demo_requests_total Requests by route.\n"
            "# TYPE demo_requests_total counter\n"
            "demo_requests_total{route=\"/a\",status=\"200\"} 3\n"
            "demo_requests_total{route=\"/b/{id}\",status=\"404\"} 1\n");
  EXPECT_EQ(requests.Value({"/a", "200"}), 3u);
  EXPECT_EQ(requests.Value({"/a", "404"}), 0u);
  ExpectValidExposition(text);
}

TEST(MetricsRegistryTest, FamiliesRenderSortedByNameAndAFamilyWithoutLabelsHasNoBraces) {
  Registry registry;
  registry.Counter("zeta_total", "Last.", {}).Inc({}, 7);
  registry.Counter("alpha_total", "First.", {});  // declared, never counted: header only
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP alpha_total First.\n"
            "# TYPE alpha_total counter\n"
            "# HELP zeta_total Last.\n"
            "# TYPE zeta_total counter\n"
            "zeta_total 7\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelpText) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)" + std::string("\nd")), R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapeLabelValue("plain /v1/{id}"), "plain /v1/{id}");

  Registry registry;
  CounterFamily& odd = registry.Counter("odd_total", "Help with a \\ and a\nline feed.",
                                        {{"value", {"say \"hi\"", "back\\slash", "two\nlines"}}});
  odd.Inc({"say \"hi\""});
  odd.Inc({"back\\slash"});
  odd.Inc({"two\nlines"});
  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# HELP odd_total Help with a \\\\ and a\\nline feed.\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{value=\"say \\\"hi\\\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{value=\"back\\\\slash\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{value=\"two\\nlines\"} 1\n"));
  ExpectValidExposition(text);
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  HistogramFamily& latency =
      registry.Histogram("demo_seconds", "Latency.", {{"route", {"/a"}}}, {0.125, 1, 10});
  latency.Observe({"/a"}, 0.0625);
  latency.Observe({"/a"}, 0.125);  // on the bound: le is "less than or equal"
  latency.Observe({"/a"}, 0.5);
  latency.Observe({"/a"}, 32);  // above every bound: +Inf only

  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(text,
            "# HELP demo_seconds Latency.\n"
            "# TYPE demo_seconds histogram\n"
            "demo_seconds_bucket{route=\"/a\",le=\"0.125\"} 2\n"
            "demo_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "demo_seconds_bucket{route=\"/a\",le=\"10\"} 3\n"
            "demo_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "demo_seconds_sum{route=\"/a\"} 32.6875\n"
            "demo_seconds_count{route=\"/a\"} 4\n");
  EXPECT_EQ(latency.Count({"/a"}), 4u);
  ExpectValidExposition(text);
}

TEST(MetricsRegistryTest, DefaultLatencyBucketsSpanFiveMillisecondsToTenSeconds) {
  std::vector<double> buckets = DefaultLatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_DOUBLE_EQ(buckets.front(), 0.005);
  EXPECT_DOUBLE_EQ(buckets.back(), 10);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));

  Registry registry;
  registry.Histogram("default_seconds", "Default buckets.", {}).Observe({}, 0.2);
  std::string text = registry.RenderPrometheus();
  for (const char* le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(std::string("default_seconds_bucket{le=\"") + le + "\"}"));
  }
  EXPECT_THAT(text, HasSubstr("default_seconds_bucket{le=\"0.1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("default_seconds_bucket{le=\"0.25\"} 1\n"));
  ExpectValidExposition(text);
}

TEST(MetricsRegistryTest, ValuesOutsideTheDeclaredSetAreCountedAsOther) {
  Registry registry;
  CounterFamily& requests =
      registry.Counter("bounded_total", "Bounded.",
                       {{"route", {"/v1/labs/orders/{id}"}}, {"status", HttpStatusValues()}});
  requests.Inc({"/v1/labs/orders/{id}", "200"});
  // A raw path with an id, a patient's name and a status that is no status: none become labels.
  requests.Inc({"/v1/labs/orders/0190d5e4-aaaa-7bbb-8ccc-000000000001", "200"});
  requests.Inc({"Orsolya Quenneville", "200"});
  requests.Inc({"/v1/labs/orders/{id}", "2000"});
  requests.Inc({"/v1/labs/orders/{id}", "other"});

  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("bounded_total{route=\"/v1/labs/orders/{id}\",status=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bounded_total{route=\"other\",status=\"200\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("bounded_total{route=\"/v1/labs/orders/{id}\",status=\"other\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("0190d5e4")));
  EXPECT_THAT(text, Not(HasSubstr("Orsolya")));
  EXPECT_THAT(text, Not(HasSubstr("2000")));
  EXPECT_EQ(requests.Value({"anything else", "200"}), 2u);
  ExpectValidExposition(text);
}

TEST(MetricsRegistryTest, ScrapeTimeGaugesClampAndSumAndSurviveAFailingSource) {
  Registry registry;
  int calls = 0;
  registry.Gauge("queued", "Queued.", {{"kind", {"a", "b"}}}, [&calls] {
    ++calls;
    return std::vector<GaugeFamily::Sample>{
        {{"a"}, 0}, {{"b"}, 0}, {{"a"}, 2}, {{"mystery"}, 1}, {{"enigma"}, 4}};
  });
  registry.Gauge("broken", "Throws.", {}, []() -> std::vector<GaugeFamily::Sample> {
    throw std::runtime_error("store unavailable");
  });
  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(text,
            "# HELP broken Throws.\n"
            "# TYPE broken gauge\n"
            "# HELP queued Queued.\n"
            "# TYPE queued gauge\n"
            "queued{kind=\"a\"} 2\n"
            "queued{kind=\"b\"} 0\n"
            "queued{kind=\"other\"} 5\n");
  registry.RenderPrometheus();
  EXPECT_EQ(calls, 2);  // read at each scrape
}

TEST(MetricsRegistryTest, DeclaringAgainReturnsTheSameFamilyOrRefusesAMismatch) {
  Registry registry;
  CounterFamily& first = registry.Counter("same_total", "Same.", {{"k", {"x"}}});
  CounterFamily& again = registry.Counter("same_total", "Same.", {{"k", {"x"}}});
  EXPECT_EQ(&first, &again);
  EXPECT_THROW(registry.Counter("same_total", "Same.", {{"k", {"x", "y"}}}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("same_total", "Same.", {{"j", {"x"}}}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("same_total", "Same.", {{"k", {"x"}}}), std::invalid_argument);
  HistogramFamily& h = registry.Histogram("h_seconds", "H.", {}, {1, 2});
  EXPECT_EQ(&h, &registry.Histogram("h_seconds", "H.", {}, {1, 2}));
  EXPECT_THROW(registry.Histogram("h_seconds", "H.", {}, {1, 3}), std::invalid_argument);
}

TEST(MetricsRegistryTest, RefusesBadNamesAndWrongLabelCounts) {
  Registry registry;
  EXPECT_THROW(registry.Counter("bad-name", "x", {}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("9starts_with_digit", "x", {}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("ok_total", "x", {{"bad label", {}}}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("ok2_total", "x", {{"__reserved", {}}}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("ok3_total", "x", {{"a", {}}, {"a", {}}}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("h_seconds", "x", {{"le", {}}}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("h2_seconds", "x", {}, {1, 0.5}), std::invalid_argument);
  CounterFamily& two = registry.Counter("two_total", "x", {{"a", {"1"}}, {"b", {"2"}}});
  EXPECT_THROW(two.Inc({"1"}), std::invalid_argument);
  EXPECT_THROW(two.Inc({"1", "2", "3"}), std::invalid_argument);
}

TEST(MetricsRegistryTest, FormatsSampleValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsRegistryTest, CountsExactlyUnderConcurrentWritersAndScrapes) {
  Registry registry;
  CounterFamily& counter = registry.Counter("busy_total", "Busy.",
                                            {{"worker", {"0", "1", "2", "3"}}, {"k", {"a", "b"}}});
  HistogramFamily& histogram = registry.Histogram("busy_seconds", "Busy.", {{"k", {"a", "b"}}});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::atomic<bool> writing{true};
  std::thread scraper([&] {
    while (writing) {
      // At every instant the buckets ascend and the +Inf bucket equals _count.
      std::uint64_t previous = 0, infinite = 0;
      for (const std::string& line : Lines(registry.RenderPrometheus())) {
        if (line.rfind("busy_seconds_bucket{k=\"a\"", 0) == 0) {
          std::uint64_t count = std::stoull(line.substr(line.rfind(' ') + 1));
          EXPECT_GE(count, previous) << line;
          previous = infinite = count;
        } else if (line.rfind("busy_seconds_count{k=\"a\"}", 0) == 0) {
          EXPECT_EQ(std::stoull(line.substr(line.rfind(' ') + 1)), infinite);
        }
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::string worker = std::to_string(t % 4);
      for (int i = 0; i < kPerThread; ++i) {
        const char* k = i % 2 ? "a" : "b";
        counter.Inc({worker, k});
        histogram.Observe({k}, 0.001 * (i % 100));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  writing = false;
  scraper.join();

  std::uint64_t total = 0;
  for (const char* worker : {"0", "1", "2", "3"}) {
    for (const char* k : {"a", "b"}) {
      EXPECT_EQ(counter.Value({worker, k}), std::uint64_t(kThreads / 4 * kPerThread / 2));
      total += counter.Value({worker, k});
    }
  }
  EXPECT_EQ(total, std::uint64_t(kThreads * kPerThread));
  EXPECT_EQ(histogram.Count({"a"}) + histogram.Count({"b"}), std::uint64_t(kThreads * kPerThread));
  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("busy_seconds_count{k=\"a\"} " +
                              std::to_string(kThreads * kPerThread / 2) + "\n"));
  ExpectValidExposition(text);
}

}  // namespace
}  // namespace lab_orders::metrics
