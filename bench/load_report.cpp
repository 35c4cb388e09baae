#include "load_report.h"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <iostream>
#include <set>

namespace lab_orders::bench {

namespace {

using nlohmann::json;

class Table {
 public:
  Table(std::string title, std::vector<std::string> columns)
      : title_(std::move(title)), columns_(std::move(columns)) {}
  void Row(const std::string& label, const std::vector<std::string>& cells) {
    rows_.push_back({label, cells});
  }
  void Print(std::ostream& out) const {
    const int label_width = 40, cell_width = 16;
    auto line = [&](const std::string& label, const std::vector<std::string>& cells) {
      out << std::left << std::setw(label_width) << label;
      for (const std::string& cell : cells) out << std::right << std::setw(cell_width) << cell;
      out << "\n";
    };
    line(title_, columns_);
    out << std::string(size_t(label_width + cell_width * int(columns_.size())), '-') << "\n";
    for (const auto& [label, cells] : rows_) line(label, cells);
  }

 private:
  std::string title_;
  std::vector<std::string> columns_;
  std::vector<std::pair<std::string, std::vector<std::string>>> rows_;
};

// One row of the tables: a number per load (nullopt prints "-"), or a text where a ratio would
// mean nothing.
using Figure = std::function<std::optional<double>(const Phase&)>;
struct Metric {
  std::string label;
  Figure number;
  int decimals = 0;
  bool ratio = true;  // lab-orders / peer is worth printing
  std::function<std::string(const Phase&)> text;
  std::string for_d;       // the (d) column's cell in lab-orders' table
  bool sometimes = false;  // printed only when some load has the figure
};

Metric Number(std::string label, Figure number, int decimals = 0, std::string for_d = "") {
  Metric metric;
  metric.label = std::move(label);
  metric.number = std::move(number);
  metric.decimals = decimals;
  metric.for_d = std::move(for_d);
  return metric;
}

// A figure whose ratio to the peer's means nothing (a count of errors, a setting).
Metric Plain(std::string label, Figure number, int decimals = 0, std::string for_d = "") {
  Metric metric = Number(std::move(label), std::move(number), decimals, std::move(for_d));
  metric.ratio = false;
  return metric;
}

// A figure only some loads have (PostgreSQL's, wrk's): the row goes when none has it.
Metric Sometimes(std::string label, Figure number, int decimals, bool ratio = true) {
  Metric metric = Number(std::move(label), std::move(number), decimals);
  metric.ratio = ratio;
  metric.sometimes = true;
  return metric;
}

std::string Cell(const Metric& metric, const Phase& phase) {
  if (metric.text) return metric.text(phase);
  std::optional<double> value = metric.number(phase);
  return value ? Fixed(*value, metric.decimals) : "-";
}

std::string RatioCell(const Metric& metric, const Phase& ours, const Phase& peer) {
  if (metric.text || !metric.ratio) return "";
  std::optional<double> mine = metric.number(ours), theirs = metric.number(peer);
  // A peer figure printed as 0 would give a ratio of rounding noise, or none.
  if (!mine || !theirs ||
      Fixed(*theirs, metric.decimals).find_first_not_of("0.-") == std::string::npos) {
    return "-";
  }
  return Fixed(*mine / *theirs, 2);
}

std::optional<double> PerOrder(const Phase& phase, std::optional<long long> count) {
  long long orders = CreatedInWholeLoad(phase);
  if (!count || !CreatesOrders(phase) || orders == 0) return std::nullopt;
  return double(*count) / double(orders);
}

std::optional<double> P99(const Phase& phase) {
  if (phase.load.latencies_ms.empty()) return std::nullopt;
  return phase.load.Percentile(0.99);
}

std::optional<double> MicrosecondsPerOrder(const Phase& phase) {
  std::optional<double> seconds = CpuPerOrder(phase);
  if (!seconds) return std::nullopt;
  return *seconds * 1e6;
}

std::vector<Metric> Metrics(const std::vector<Phase>& phases, const std::optional<json>& pending) {
  using Value = std::optional<double>;
  // A figure of (d), from bench_pending_appointments' JSON.
  auto d = [&](const char* field, double scale, int decimals, const std::string& suffix = "") {
    return pending ? Fixed((*pending)[field].get<double>() * scale, decimals) + suffix : "";
  };
  std::vector<Metric> metrics;
  metrics.push_back(Plain(
      "connections", [](const Phase& p) -> Value { return p.connections; }, 0,
      pending ? d("workers", 1, 0) + " workers" : ""));
  metrics.push_back(Plain(
      "Junction latency (ms)", [](const Phase& p) -> Value { return p.junction_latency_ms; }, 0,
      pending ? "0" : ""));
  metrics.push_back(Number("answers/s (2xx)", [](const Phase& p) -> Value {
    long long ok_answers = 0;
    for (const auto& [status, count] : p.load.statuses) {
      if (status >= 200 && status < 300) ok_answers += count;
    }
    return double(ok_answers) / p.load.seconds;
  }));
  metrics.push_back(Number(
      "  orders created/s (201)",
      [](const Phase& p) -> Value {
        if (!CreatesOrders(p)) return std::nullopt;
        return double(Created(p)) / p.load.seconds;
      },
      1, d("setup_orders_per_s", 1, 1, " setup")));
  for (auto [label, fraction] : {std::pair{"latency p50 (ms)", 0.5},
                                 {"latency p90 (ms)", 0.9},
                                 {"latency p99 (ms)", 0.99}}) {
    metrics.push_back(Number(
        label,
        [fraction = fraction](const Phase& p) -> Value { return p.load.Percentile(fraction); }, 1,
        fraction == 0.99 ? d("setup_p99_ms", 1, 0, " setup") : ""));
  }
  metrics.push_back(Number(
      "latency max (ms)", [](const Phase& p) -> Value { return p.load.Max(); }, 1));
  // Errors by kind: every non-2xx status and every failure seen in any load.
  std::set<int> statuses;
  std::set<std::string> failures;
  for (const Phase& phase : phases) {
    for (const auto& [status, count] : phase.load.statuses) {
      if (status < 200 || status >= 300) statuses.insert(status);
    }
    for (const auto& [kind, count] : phase.load.failures) failures.insert(kind);
  }
  if (statuses.empty() && failures.empty()) {
    metrics.push_back(Plain("errors", [](const Phase&) -> Value { return 0; }));
  }
  for (int status : statuses) {
    metrics.push_back(Plain("errors: HTTP " + std::to_string(status),
                            [status](const Phase& p) -> Value { return p.load.Count(status); }));
  }
  for (const std::string& kind : failures) {
    metrics.push_back(Plain("errors: " + kind, [kind](const Phase& p) -> Value {
      auto it = p.load.failures.find(kind);
      return it == p.load.failures.end() ? 0 : it->second;
    }));
  }
  metrics.push_back(Plain("connections never answered",
                          [](const Phase& p) -> Value { return p.load.never_answered; }));
  metrics.push_back(Plain("slowest first answer (ms)",
                          [](const Phase& p) -> Value { return p.load.slowest_first_answer_ms; }));
  metrics.push_back(Number(
      "peak RSS (MiB, sampled)",
      [](const Phase& p) -> Value { return double(p.peak_rss_kb) / 1024; }, 1,
      d("peak_rss_kb", 1.0 / 1024, 1)));
  metrics.push_back(Plain(
      "threads (max)", [](const Phase& p) -> Value { return p.max_threads; }, 0,
      d("threads_max", 1, 0)));
  // Per order started (create_order is sent once per order), warm-up included, as the simulator
  // counts: orders still in flight when time is up weigh nothing, as they would per answer.
  Metric calls_per_order;
  calls_per_order.label = "Junction calls per order";
  calls_per_order.text = [](const Phase& p) {
    auto it = p.junction.operations.find("create_order");
    if (!CreatesOrders(p) || it == p.junction.operations.end() || it->second == 0) {
      return std::string("-");
    }
    double orders = double(it->second);
    return Fixed(double(CreationCalls(p)) / orders, 2) + " +" +
           Fixed(double(p.junction.calls_total - CreationCalls(p)) / orders, 2);
  };
  if (pending) {
    calls_per_order.for_d =
        Fixed(double((*pending)["setup_junction_calls"]) / double((*pending)["orders"]), 1) +
        " setup";
  }
  metrics.push_back(calls_per_order);
  metrics.push_back(Plain("Junction connections opened",
                          [](const Phase& p) -> Value { return p.junction.connections_opened; }));
  metrics.push_back(Number(
      "Junction calls/s",
      [](const Phase& p) -> Value { return double(p.junction.calls_total) / p.seconds; }, 0,
      d("junction_calls_per_s", 1, 1)));
  metrics.push_back(Number(
      "CPU % of a core: service", [](const Phase& p) -> Value { return p.service_cpu; }, 0,
      d("cpu_percent", 1, 1)));
  // What an answer costs the service, whatever share of the machine it got: steadier than the
  // rates on a shared machine, where a ceiling that did not get its CPU flatters every ratio.
  metrics.push_back(Number("service CPU per answer (us)",
                           [](const Phase& p) -> Value { return CpuPerAnswer(p) * 1e6; }));
  metrics.push_back(Sometimes(
      "CPU % of a core: database (PostgreSQL)", [](const Phase& p) { return p.database_cpu; }, 0));
  metrics.push_back(Sometimes("service + database CPU per order (us)", MicrosecondsPerOrder, 0));
  metrics.push_back(Sometimes(
      "fsyncs per order (service + database)", [](const Phase& p) { return PerOrder(p, p.fsyncs); },
      2));
  metrics.push_back(Sometimes(
      "WAL flushes per order (pg_stat_wal)",
      [](const Phase& p) { return PerOrder(p, p.wal_syncs); }, 2));
  metrics.push_back(Number(
      "CPU % of a core: junction-sim", [](const Phase& p) -> Value { return p.sim_cpu; }, 0,
      d("sim_cpu_percent", 1, 1)));
  metrics.push_back(Plain("CPU % of a core: load driver",
                          [](const Phase& p) -> Value { return p.load.DriverCpuPercent(); }));
  metrics.push_back(Sometimes(
      "same load from wrk (requests/s)", [](const Phase& p) { return p.wrk_rate; }, 0, false));
  // Rows only some loads have are left out when no load has them (no PostgreSQL, no wrk, ...).
  std::erase_if(metrics, [&](const Metric& metric) {
    return metric.sometimes && std::none_of(phases.begin(), phases.end(), [&](const Phase& p) {
             return metric.number(p).has_value();
           });
  });
  return metrics;
}

const Phase* Find(const std::vector<Phase>& phases, const std::string& scenario, bool peer) {
  for (const Phase& phase : phases) {
    if (phase.scenario == scenario && phase.peer == peer) return &phase;
  }
  return nullptr;
}

std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

double CreatedRate(const Phase& phase) { return double(Created(phase)) / phase.load.seconds; }

// A rate target's ratio again by service CPU per answer: what the load's answer costs against
// what /healthz costs. When the two verdicts differ, one of the loads did not get its share of
// the machine, and the rate ratio says more about the neighbours than about the service.
void PrintCpuCheck(const Phase& ceiling, const Phase& load, double target_percent) {
  double share = 100 * CpuPerAnswer(ceiling) / std::max(CpuPerAnswer(load), 1e-9);
  double rate_share = 100 * load.load.Rate() / std::max(ceiling.load.Rate(), 1e-9);
  bool agree = (share >= target_percent) == (rate_share >= target_percent);
  PrintRow(
      "  the same by service CPU per answer",
      Fixed(share, 1) + "%: " + Verdict(share >= target_percent) +
          (agree ? "" : " (disagrees: a load was short of CPU; trust this one, or run again)"));
}

// "ours / theirs = ratio: verdict", met(ratio) deciding. A peer without the figure (it created or
// answered nothing in the measured time) is beaten by any figure of lab-orders'.
void PrintRatioTarget(const std::string& label, std::optional<double> ours,
                      std::optional<double> theirs, int decimals, const std::string& unit,
                      const std::function<bool(double)>& met) {
  if (!ours) {
    PrintRow(label, "lab-orders has no figure: MISSED");
  } else if (!theirs || *theirs <= 0) {
    PrintRow(label, Fixed(*ours, decimals) + unit + ", the peer none: met");
  } else {
    double ratio = *ours / *theirs;
    PrintRow(label, Fixed(*ours, decimals) + " / " + Fixed(*theirs, decimals) + unit + " = " +
                        Fixed(ratio, 2) + ": " + Verdict(met(ratio)));
  }
}

// "orders/s >= factor x the peer's", and with cpu_check the same by service + database CPU per
// order: the loads ran one after the other, and one of them may have had less of the machine.
void PrintPeerRate(const std::string& label, const Phase& ours, const Phase& peer, double factor,
                   bool cpu_check) {
  double ratio = CreatedRate(ours) / std::max(CreatedRate(peer), 1e-9);
  PrintRatioTarget(label, CreatedRate(ours), CreatedRate(peer), 0, "",
                   [factor](double r) { return r >= factor; });
  std::optional<double> our_cpu = CpuPerOrder(ours), peer_cpu = CpuPerOrder(peer);
  if (!cpu_check || !our_cpu || !peer_cpu) return;
  double by_cpu = *peer_cpu / std::max(*our_cpu, 1e-12);
  bool agree = (by_cpu >= factor) == (ratio >= factor);
  PrintRow("  the same by service + database CPU per order",
           Fixed(*peer_cpu * 1e6, 0) + " / " + Fixed(*our_cpu * 1e6, 0) +
               " us = " + Fixed(by_cpu, 2) + "x: " + Verdict(by_cpu >= factor) +
               (agree ? ""
                      : " (disagrees: a rate was held back by more than its CPU, a neighbour or "
                        "the disk)"));
}

void PrintTargets(const LoadOptions& options, const std::vector<Phase>& phases,
                  const std::optional<json>& pending,
                  const std::map<std::string, std::string>& b_settings) {
  const bool on_postgres = IsPostgres(options.database);
  std::cout << "\nagainst the targets:\n";
  const Phase* ceiling_a = Find(phases, "ceiling A", false);
  const Phase* a = Find(phases, "(a) orders", false);
  const Phase* peer_a = Find(phases, "(a) orders", true);
  if (a && ceiling_a) {
    double share = 100 * a->load.Rate() / std::max(ceiling_a->load.Rate(), 1e-9);
    double created_share = 100 * CreatedRate(*a) / std::max(ceiling_a->load.Rate(), 1e-9);
    PrintRow("(a) orders/s >= 15% of /healthz",
             Fixed(CreatedRate(*a), 0) + " of " + Fixed(ceiling_a->load.Rate(), 0) + " = " +
                 Fixed(created_share, 1) + "%: " + Verdict(created_share >= 15 && share >= 15));
    PrintCpuCheck(*ceiling_a, *a, 15);
  }
  if (a) {
    PrintRow("(a) p99 < 25 ms",
             Fixed(a->load.Percentile(0.99), 1) + " ms: " + Verdict(a->load.Percentile(0.99) < 25));
  }
  if (a && peer_a && on_postgres) {
    PrintPeerRate("(a) orders/s >= 2x the peer's", *a, *peer_a, 2, false);
    PrintRatioTarget("(a) p99 <= 1/2 of the peer's", P99(*a), P99(*peer_a), 1, " ms",
                     [](double ratio) { return ratio <= 0.5; });
    PrintRatioTarget("(a) service + database CPU per order <= 1/2", MicrosecondsPerOrder(*a),
                     MicrosecondsPerOrder(*peer_a), 0, " us",
                     [](double ratio) { return ratio <= 0.5; });
  }
  if (a && peer_a && !on_postgres) {
    PrintPeerRate("(a) SQLite orders/s >= 3x the peer's (PostgreSQL)", *a, *peer_a, 3, true);
  }
  if (a && !on_postgres) {
    std::optional<double> fsyncs = PerOrder(*a, a->fsyncs);
    PrintRow("(a) fsyncs per order on SQLite <= 0.25",
             fsyncs ? Fixed(*fsyncs, 2) + " (" + std::to_string(*a->fsyncs) + " in " +
                          std::to_string(CreatedInWholeLoad(*a)) +
                          " orders): " + Verdict(*fsyncs <= 0.25)
                    : "not counted (needs perf; see the notes on stderr): MISSED");
  }
  if (a && on_postgres) {
    std::optional<double> ours = PerOrder(*a, a->wal_syncs);
    std::optional<double> theirs = peer_a ? PerOrder(*peer_a, peer_a->wal_syncs) : std::nullopt;
    PrintRow("(a) WAL flushes per order (no target)",
             (ours ? Fixed(*ours, 2) : "-") + (theirs ? ", the peer " + Fixed(*theirs, 2) : ""));
  }
  if (const Phase* b = Find(phases, "(b) orders", false)) {
    auto started = b->junction.operations.find("create_order");
    double calls = started != b->junction.operations.end() && started->second > 0
                       ? double(CreationCalls(*b)) / double(started->second)
                       : 2.0;
    double upstream_s = calls * options.latency_b_ms / 1000.0;
    double bound = upstream_s > 0 ? b->connections / upstream_s : 0;
    double achieved = CreatedRate(*b);
    PrintRow("(b) >= 90% of connections / upstream time",
             Fixed(achieved, 0) + " of " + Fixed(bound, 0) + " (" + std::to_string(b->connections) +
                 " / (" + Fixed(calls, 2) + " calls x " + std::to_string(options.latency_b_ms) +
                 " ms)) = " + Fixed(bound > 0 ? 100 * achieved / bound : 0, 1) +
                 "%: " + Verdict(bound > 0 && achieved >= 0.9 * bound));
    long long refused = 0;
    for (const auto& [kind, count] : b->load.failures) {
      if (kind.rfind("connect", 0) == 0) refused += count;
    }
    PrintRow("(b) no connection refused or starved",
             std::to_string(refused) + " refused/failed to connect, " +
                 std::to_string(b->load.never_answered) +
                 " never answered: " + Verdict(refused == 0 && b->load.never_answered == 0));
    long long unavailable = 0, answers = 0;
    for (const auto& [status, count] : b->whole_load_statuses) {
      answers += count;
      if (status == 503) unavailable += count;
    }
    auto threads = b_settings.find("LAB_ORDERS_HTTP_THREADS");
    bool default_pool = !b_settings.count("LAB_ORDERS_DATABASE_POOL");
    PrintRow("(b) no 503 (HTTP threads " +
                 (threads == b_settings.end() ? std::string("default") : threads->second) + ", " +
                 (default_pool ? "default" : "set") + " pool)",
             std::to_string(unavailable) + " of " + std::to_string(answers) +
                 " answers, warm-up included: " + Verdict(unavailable == 0 && default_pool) +
                 (default_pool ? "" : " (LAB_ORDERS_DATABASE_POOL set by --set)"));
    if (const Phase* peer_b = Find(phases, "(b) orders", true)) {
      PrintPeerRate("(b) orders/s >= 2x the peer's", *b, *peer_b, 2, false);
    }
    PrintRow("(b) peak RSS < 300 MB", Fixed(double(b->peak_rss_kb) / 1024, 1) + " MiB: " +
                                          Verdict(double(b->peak_rss_kb) * 1024 < 300e6));
  }
  if (const Phase* c = Find(phases, "(c) replays", false); c && ceiling_a) {
    double share = 100 * c->load.Rate() / std::max(ceiling_a->load.Rate(), 1e-9);
    PrintRow("(c) replays >= 50% of /healthz", Fixed(c->load.Rate(), 0) + " of " +
                                                   Fixed(ceiling_a->load.Rate(), 0) + " = " +
                                                   Fixed(share, 1) + "%: " + Verdict(share >= 50));
    PrintCpuCheck(*ceiling_a, *c, 50);
  }
  if (pending) {
    PrintRow("(d) Junction calls/s under the rate limit",
             Fixed((*pending)["junction_calls_per_s"].get<double>(), 1) + " (limit " +
                 std::to_string((*pending)["rate_limit"].get<int>()) + "), " +
                 std::to_string((*pending)["held_pending"].get<int>()) + " of " +
                 std::to_string((*pending)["orders"].get<int>()) + " held pending: " +
                 Verdict((*pending)["rate_under_limit"].get<bool>() &&
                         (*pending)["held_pending"] == (*pending)["orders"]));
  }
}

}  // namespace

void PrintReport(const LoadOptions& options, const std::vector<Phase>& phases,
                 const std::optional<json>& pending,
                 const std::map<std::string, std::string>& b_settings) {
  const std::vector<Metric> metrics = Metrics(phases, pending);

  // lab-orders: a column per load, (d) last.
  std::vector<const Phase*> ours;
  std::vector<std::string> columns;
  for (const Phase& phase : phases) {
    if (phase.peer) continue;
    ours.push_back(&phase);
    columns.push_back(phase.scenario);
  }
  if (pending) columns.push_back("(d) pending");
  Table table("", columns);
  for (const Metric& metric : metrics) {
    std::vector<std::string> cells;
    for (const Phase* phase : ours) cells.push_back(Cell(metric, *phase));
    if (pending) cells.push_back(metric.for_d);
    table.Row(metric.label, cells);
  }
  std::cout << "\nlab-orders load benchmark (" << Fixed(options.duration_s, 0) << " s loads, "
            << Fixed(options.healthz_s, 0) << " s ceilings, first " << Fixed(options.warmup_s, 0)
            << " s of each left out; database "
            << (options.database.empty() ? "SQLite, a new file per service in $TMPDIR"
                                         : options.database)
            << ")\n\n";
  table.Print(std::cout);
  std::cout << "\nJunction calls per order: the order's own calls (create or resolve user, create "
               "order) + the workflow's, per order started.\n";

  // Each load beside the same load on the peer.
  bool headed = false;
  for (const Phase* phase : ours) {
    const Phase* peer = Find(phases, phase->scenario, true);
    if (!peer) continue;
    if (!headed) {
      std::cout << "\nbeside the Node peer (" << options.peer_dir
                << ", on PostgreSQL: " << options.peer_database
                << "), the same loads in turn with lab-orders', each on a new junction-sim; "
                   "ratio = lab-orders / peer\n";
      headed = true;
    }
    Table beside(phase->scenario + ", " + std::to_string(phase->connections) + " conn., " +
                     std::to_string(phase->junction_latency_ms) + " ms",
                 {"lab-orders", "peer", "ratio"});
    for (const Metric& metric : metrics) {
      if (metric.label == "connections" || metric.label == "Junction latency (ms)") continue;
      std::string mine = Cell(metric, *phase), theirs = Cell(metric, *peer);
      if (mine == "-" && theirs == "-") continue;
      beside.Row(metric.label, {mine, theirs, RatioCell(metric, *phase, *peer)});
    }
    std::cout << "\n";
    beside.Print(std::cout);
  }

  PrintTargets(options, phases, pending, b_settings);
  if (!options.service_settings.empty()) {
    std::cout << "\nevery service also had (--set):";
    for (const auto& [name, value] : options.service_settings) {
      std::cout << " " << name << "=" << value;
    }
    std::cout << "\n";
  }
  if (!b_settings.empty()) {
    std::cout << "\n(b) service settings:";
    for (const auto& [name, value] : b_settings) std::cout << " " << name << "=" << value;
    std::cout << "; junction-sim --threads " << options.connections_b + 256 << "\n";
  }
  if (!options.peer_settings.empty()) {
    std::cout << "\nthe peer also had (--peer-set):";
    for (const auto& [name, value] : options.peer_settings)
      std::cout << " " << name << "=" << value;
    std::cout << "\n";
  }
  bool profiled = false;
  for (const Phase& phase : phases) {
    if (phase.profile.empty()) continue;
    if (!profiled) std::cout << "\nwhere the service's time went (perf, self time, top symbols):\n";
    profiled = true;
    std::cout << "  " << phase.Column() << ":\n" << phase.profile;
  }
  std::cout << std::endl;
}

}  // namespace lab_orders::bench
