// Benchmark (not a test): one lab-orders instance holding N appointments `pending` at the
// provider, with the worker pool bounded and the Junction call rate limited. It starts
// junction-sim and lab-orders on free ports, creates N orders through the API, waits until every
// one is appointment_pending, then measures for a fixed window the Junction calls per second the
// service made (by operation), the largest count in any 1-second window, and the service's RSS,
// threads and CPU. Figures are printed, never asserted; the exit code says only whether the run
// itself worked (processes started, orders created and held, clean shutdown).
//
// See bench/README.md for how to run it and how to read the table.

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr const char* kPendingStatus = "appointment_pending";

// ---- options -----------------------------------------------------------------------------------

struct Options {
  int orders = 1000;
  int workers = 8;
  int rate = 50;
  double window_s = 30;
  int clients = 4;
  int confirmation_poll_ms = 1000;
  double settle_s = 0;
  int setup_timeout_s = 900;
  int sim_latency_ms = 0;
  bool keep = false;
};

constexpr const char* kUsage =
    R"(bench_pending_appointments: N appointments held pending on one lab-orders instance

Usage: bench_pending_appointments [flags]

  --orders N                orders created and held appointment_pending (1000)
  --workers N               LAB_ORDERS_WORKERS, the job runner's pool (8)
  --rate N                  LAB_ORDERS_JUNCTION_RATE, workflow calls/s to Junction (50)
  --window S                seconds measured once all orders are pending (30)
  --clients N               client threads creating orders, one keep-alive session each (4)
  --confirmation-poll-ms N  LAB_ORDERS_CONFIRMATION_POLL_MS, first confirmation poll (1000)
  --settle S                seconds to wait after all are pending before measuring (0)
  --setup-timeout S         give up if the orders are not all pending by then (900)
  --sim-latency-ms N        junction-sim --latency-ms, a slower Junction (0)
  --keep                    keep the temporary directory (database, logs) afterwards
  --help                    this text

Figures are printed, not asserted. Exit code 0 when the run worked, 1 when something failed
(a process did not start or stop cleanly, an order was not created or did not stay pending).
)";

Options ParseOptions(int argc, char** argv) {
  Options options;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (size_t equals = flag.find('='); equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
    }
    auto next = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
      return args[++i];
    };
    auto integer = [&](int low, int high) {
      std::string text = next();
      size_t used = 0;
      long long number = 0;
      try {
        number = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || text.empty() || number < low || number > high) {
        throw std::invalid_argument(flag + " wants a whole number from " + std::to_string(low) +
                                    " to " + std::to_string(high));
      }
      return int(number);
    };
    auto seconds = [&](double low, double high) {
      std::string text = next();
      size_t used = 0;
      double number = 0;
      try {
        number = std::stod(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || text.empty() || !(number >= low && number <= high)) {
        throw std::invalid_argument(flag + " wants seconds from " + std::to_string(int(low)) +
                                    " to " + std::to_string(int(high)));
      }
      return number;
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--orders") {
      options.orders = integer(1, 1000000);
    } else if (flag == "--workers") {
      options.workers = integer(1, 256);
    } else if (flag == "--rate") {
      options.rate = integer(1, 10000);
    } else if (flag == "--window") {
      options.window_s = seconds(1, 86400);
    } else if (flag == "--clients") {
      options.clients = integer(1, 256);
    } else if (flag == "--confirmation-poll-ms") {
      options.confirmation_poll_ms = integer(10, 3600000);
    } else if (flag == "--settle") {
      options.settle_s = seconds(0, 86400);
    } else if (flag == "--setup-timeout") {
      options.setup_timeout_s = integer(1, 86400);
    } else if (flag == "--sim-latency-ms") {
      options.sim_latency_ms = integer(0, 60000);
    } else if (flag == "--keep" && !value) {
      options.keep = true;
    } else {
      throw std::invalid_argument("unknown flag " + args[i] + " (see --help)");
    }
  }
  return options;
}

// ---- child processes ---------------------------------------------------------------------------

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::map<std::string, std::string> InheritedEnvironment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    size_t equals = text.find('=');
    if (equals != std::string::npos) environment[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return environment;
}

// A program run with its stdout and stderr in files, stopped with SIGTERM (SIGKILL if it does
// not stop in time) when destroyed.
class Child {
 public:
  // environment is the child's whole environment.
  Child(std::string name, const std::vector<std::string>& argv,
        const std::map<std::string, std::string>& environment, const fs::path& directory)
      : name_(std::move(name)),
        stdout_path_(directory / (name_ + ".out")),
        stderr_path_(directory / (name_ + ".log")) {
    std::vector<std::string> env_strings;
    for (const auto& [key, value] : environment) env_strings.push_back(key + "=" + value);
    std::vector<char*> env_pointers, arg_pointers;
    for (std::string& entry : env_strings) env_pointers.push_back(entry.data());
    env_pointers.push_back(nullptr);
    std::vector<std::string> args = argv;
    for (std::string& arg : args) arg_pointers.push_back(arg.data());
    arg_pointers.push_back(nullptr);

    int out = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || err < 0 || null < 0) throw std::runtime_error(name_ + ": cannot open its logs");
    std::string cwd = directory.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec.
      ::dup2(null, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(err);
    ::close(null);
    if (pid_ < 0) throw std::runtime_error(name_ + ": fork failed");
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (!exit_status_) {
      try {
        Stop(std::chrono::seconds(10));
      } catch (...) {
      }
    }
  }

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Log() const { return ReadFile(stderr_path_); }

  // True while the process runs; once it has exited, its status is kept.
  bool Running() {
    if (exit_status_) return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = status;
      return false;
    }
    return true;
  }

  // The first stdout line ("... listening on http://HOST:PORT"), once written.
  std::string FirstLine(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      std::string text = Stdout();
      if (size_t newline = text.find('\n'); newline != std::string::npos) {
        return text.substr(0, newline);
      }
      if (!Running()) {
        throw std::runtime_error(name_ + " exited (" + DescribeExit(*exit_status_) +
                                 ") before it listened:\n" + Tail(Log(), 20));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    throw std::runtime_error(name_ + " printed no first line in time:\n" + Tail(Log(), 20));
  }

  // Waits for the exit, without signalling; returns the wait status.
  int Wait(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Running()) {
      if (Clock::now() >= deadline) throw std::runtime_error(name_ + " did not exit in time");
      std::this_thread::sleep_for(milliseconds(10));
    }
    return *exit_status_;
  }

  // SIGTERM, then waits; SIGKILL after the timeout. Returns the wait status.
  int Stop(std::chrono::seconds timeout) {
    if (!Running()) return *exit_status_;
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + timeout;
    while (Running()) {
      if (Clock::now() >= deadline) {
        killed_ = true;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        exit_status_ = status;
        break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return *exit_status_;
  }
  bool killed() const { return killed_; }

  static std::string Tail(const std::string& text, int lines) {
    size_t at = text.size();
    for (int i = 0; i <= lines && at != std::string::npos && at > 0; ++i) {
      at = text.rfind('\n', at - 1);
    }
    return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
  }

 private:
  std::string name_;
  fs::path stdout_path_;
  fs::path stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  bool killed_ = false;
};

unsigned short PortFromListeningLine(const std::string& name, const std::string& line) {
  size_t colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    throw std::runtime_error(name + " did not start: \"" + line + "\"");
  }
  return static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

// ---- /proc -------------------------------------------------------------------------------------

struct ProcSample {
  long rss_kb = 0;
  long hwm_kb = 0;  // VmHWM: the peak RSS since the process started
  int threads = 0;
  long long cpu_ticks = 0;  // utime + stime
};

ProcSample ReadProc(pid_t pid) {
  ProcSample sample;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto number = [&](const char* key) -> std::optional<long> {
      size_t length = std::strlen(key);
      if (line.compare(0, length, key) != 0) return std::nullopt;
      return std::strtol(line.c_str() + length, nullptr, 10);
    };
    if (auto value = number("VmRSS:")) sample.rss_kb = *value;
    if (auto value = number("VmHWM:")) sample.hwm_kb = *value;
    if (auto value = number("Threads:")) sample.threads = int(*value);
  }
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream fields(stat.substr(paren + 2));
    std::vector<std::string> rest;
    std::string field;
    while (fields >> field) rest.push_back(field);
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    if (rest.size() > 13) sample.cpu_ticks = std::stoll(rest[11]) + std::stoll(rest[12]);
  }
  return sample;
}

// ---- HTTP --------------------------------------------------------------------------------------

struct Reply {
  int status = 0;
  std::string body;
  json Json() const { return json::parse(body); }
};

// One keep-alive HTTP/1.1 connection; a request that fails on the wire is sent again on a new
// connection (order creation carries an Idempotency-Key, so that is safe).
class HttpSession {
 public:
  explicit HttpSession(unsigned short port) : session_("127.0.0.1", port) {
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(60, 0));
    // Below the servers' idle timeouts (lab-orders closes idle connections after 5 s), so an
    // idle session reconnects instead of writing into a closed one.
    session_.setKeepAliveTimeout(Poco::Timespan(4, 0));
  }

  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {}) {
    for (int attempt = 1;; ++attempt) {
      try {
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        request.setKeepAlive(true);
        for (const auto& [name, value] : headers) request.set(name, value);
        if (!body.empty() || method == "POST") {
          request.setContentType("application/json");
          request.setContentLength(std::streamsize(body.size()));
        }
        std::ostream& out = session_.sendRequest(request);
        out << body;
        Poco::Net::HTTPResponse response;
        std::istream& in = session_.receiveResponse(response);
        Reply reply;
        reply.status = int(response.getStatus());
        Poco::StreamCopier::copyToString(in, reply.body);
        return reply;
      } catch (const Poco::Exception& e) {
        session_.reset();
        ++wire_errors_;
        if (attempt >= 3) throw std::runtime_error(method + " " + path + ": " + e.displayText());
        std::this_thread::sleep_for(milliseconds(100 * attempt));
      }
    }
  }
  int wire_errors() const { return wire_errors_; }

 private:
  Poco::Net::HTTPClientSession session_;
  int wire_errors_ = 0;
};

// ---- the orders --------------------------------------------------------------------------------

const char* const kPanels[] = {"wellness",   "pcos",        "fertility",
                               "hashimotos", "performance", "hormone_metabolic"};

// Patients alternate between the sandbox's two served ZIPs (Getlabs in Phoenix, PhlebFinders in
// Wisconsin), so the bookings spread over two providers' slots.
json OrderBody(int index, const std::string& run_id) {
  char number[16];
  std::snprintf(number, sizeof number, "%06d", index);
  bool phoenix = index % 2 == 0;
  json address = phoenix ? json{{"line1", "1 West Lincoln Street"},
                                {"city", "Phoenix"},
                                {"state", "AZ"},
                                {"zip", "85004"},
                                {"country", "US"}}
                         : json{{"line1", "220 Main Street"},
                                {"city", "Onalaska"},
                                {"state", "WI"},
                                {"zip", "54650"},
                                {"country", "US"}};
  return {{"panel_slug", kPanels[index % 6]},
          {"patient",
           {{"first_name", "Bench"},
            {"last_name", std::string("Patient ") + number},
            {"dob", "1984-02-29"},
            {"email", std::string("bench.patient.") + number + "@example.org"},
            {"phone", "602-555-0144"},
            {"sex", index % 3 == 0 ? "male" : "female"}}},
          {"address", address},
          {"total_cents", 14900},
          {"currency", "USD"},
          {"patient_id", "bench-" + run_id + "-patient-" + number}};
}

struct CreationResult {
  int created = 0;
  std::map<int, int> statuses;  // HTTP status -> count
  std::vector<std::string> errors;
  std::vector<double> latencies_ms;
  int wire_errors = 0;
  double seconds = 0;
};

CreationResult CreateOrders(unsigned short port, const std::string& token,
                            const std::string& run_id, const Options& options) {
  CreationResult result;
  std::mutex mutex;
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.emplace_back([&] {
      HttpSession session(port);
      std::map<int, int> statuses;
      std::vector<std::string> errors;
      std::vector<double> latencies;
      for (int i = next++; i < options.orders; i = next++) {
        auto sent = Clock::now();
        try {
          Reply reply;
          // A resend after a lost answer can find the first request still running (409): the
          // key's first answer comes once it finishes (Retry-After: 1).
          for (int tries = 0; tries < 10; ++tries) {
            reply = session.Call(
                "POST", "/v1/labs/orders", OrderBody(i, run_id).dump(),
                {{"Authorization", "Bearer " + token},
                 {"Idempotency-Key", "bench-" + run_id + "-order-" + std::to_string(i)}});
            if (reply.status != 409) break;
            std::this_thread::sleep_for(milliseconds(1000));  // its Retry-After
          }
          latencies.push_back(duration<double, std::milli>(Clock::now() - sent).count());
          ++statuses[reply.status];
          if (reply.status != 201) {
            errors.push_back("order " + std::to_string(i) + ": " + std::to_string(reply.status) +
                             " " + reply.body.substr(0, 300));
          }
        } catch (const std::exception& e) {
          ++statuses[0];
          errors.push_back("order " + std::to_string(i) + ": " + e.what());
        }
      }
      std::lock_guard lock(mutex);
      for (auto [status, count] : statuses) result.statuses[status] += count;
      result.errors.insert(result.errors.end(), errors.begin(), errors.end());
      result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
      result.wire_errors += session.wire_errors();
    });
  }
  for (std::thread& client : clients) client.join();
  result.seconds = duration<double>(Clock::now() - start).count();
  result.created = result.statuses[201];
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

// Every order of the brand, counted by status (pages of 100 through the list endpoint).
std::map<std::string, int> StatusCounts(HttpSession& session, const std::string& token) {
  std::map<std::string, int> counts;
  std::optional<std::string> cursor;
  for (int page = 0; page < 100000; ++page) {
    std::string path = "/v1/labs/orders?limit=100";
    if (cursor) path += "&cursor=" + *cursor;
    Reply reply = session.Call("GET", path, "", {{"Authorization", "Bearer " + token}});
    if (reply.status != 200) {
      throw std::runtime_error("GET " + path + ": " + std::to_string(reply.status) + " " +
                               reply.body.substr(0, 300));
    }
    json body = reply.Json();
    for (const json& order : body["data"]) counts[order.value("status", "?")]++;
    if (!body["next_cursor"].is_string()) break;
    cursor = body["next_cursor"].get<std::string>();
  }
  return counts;
}

std::string Histogram(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [status, count] : counts) {
    if (!text.empty()) text += ", ";
    text += status + " " + std::to_string(count);
  }
  return text.empty() ? "none" : text;
}

// ---- measuring ---------------------------------------------------------------------------------

struct Sample {
  Clock::time_point at;
  long long calls_total = 0;
  long long connections_opened = 0;
  std::map<std::string, long long> operations;
  ProcSample service;
  ProcSample sim;
};

Sample TakeSample(HttpSession& sim_admin, pid_t service_pid, pid_t sim_pid) {
  Sample sample;
  Reply reply = sim_admin.Call("GET", "/_sim/stats");
  sample.at = Clock::now();
  if (reply.status != 200) throw std::runtime_error("/_sim/stats: " + std::to_string(reply.status));
  json stats = reply.Json();
  sample.calls_total = stats.value("calls_total", 0LL);
  sample.connections_opened = stats.value("connections_opened", 0LL);
  for (const auto& [name, count] : stats["operations"].items()) {
    sample.operations[name] = count.get<long long>();
  }
  sample.service = ReadProc(service_pid);
  sample.sim = ReadProc(sim_pid);
  return sample;
}

std::string Fixed(double value, int decimals) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(decimals) << value;
  return text.str();
}

std::string Megabytes(long kb) { return Fixed(double(kb) / 1024.0, 1) + " MiB"; }

std::string RandomBase64(size_t bytes) {
  std::random_device device;
  std::string raw;
  for (size_t i = 0; i < bytes; ++i) raw.push_back(char(device() & 0xff));
  std::ostringstream text;
  Poco::Base64Encoder encoder(text);
  encoder.rdbuf()->setLineLength(0);
  encoder << raw;
  encoder.close();
  return text.str();
}

std::string RandomHex(size_t chars) {
  std::random_device device;
  const char* digits = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < chars; ++i) text.push_back(digits[device() % 16]);
  return text;
}

int CountWarnings(const std::string& log, std::vector<std::string>* first) {
  int count = 0;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("\"level\":\"warning\"") != std::string::npos ||
        line.find("\"level\":\"error\"") != std::string::npos ||
        line.find("\"level\":\"critical\"") != std::string::npos) {
      ++count;
      if (first && first->size() < 5) first->push_back(line.substr(0, 300));
    }
  }
  return count;
}

void PrintRow(const std::string& label, const std::string& value) {
  std::cout << "  " << std::left << std::setw(52) << label << value << "\n";
}

// ---- the run -----------------------------------------------------------------------------------

int Run(const Options& options, const fs::path& directory) {
  const std::string run_id = RandomHex(8);
  const double burst = std::max(1, options.rate);  // src/app/main.cpp: the bucket holds rate tokens
  bool ok = true;
  auto fail = [&](const std::string& why) {
    std::cerr << "FAILED: " << why << "\n";
    ok = false;
  };

  // 1. junction-sim: every booking stays pending far beyond the run; requisitions at once.
  const long long resolve_after_ms = 24LL * 3600 * 1000;
  json script = {
      {"name", "bench: every booking pending for a day"},
      {"requisition", {{"mode", "immediate"}}},
      {"bookings",
       {{{"from_call", 1}, {"outcome", "confirmed"}, {"resolve_after_ms", resolve_after_ms}}}}};
  std::ofstream(directory / "sim-script.json") << script.dump(2);
  std::vector<std::string> sim_args = {JUNCTION_SIM_BINARY, "--listen", "127.0.0.1:0", "--script",
                                       (directory / "sim-script.json").string()};
  if (options.sim_latency_ms > 0) {
    sim_args.insert(sim_args.end(), {"--latency-ms", std::to_string(options.sim_latency_ms)});
  }
  Child sim("junction-sim", sim_args, InheritedEnvironment(), directory);
  unsigned short sim_port =
      PortFromListeningLine(sim.name(), sim.FirstLine(std::chrono::seconds(30)));

  // 2. lab-orders serve, configured as a deployment would be: production mode, its own secrets,
  // a fresh SQLite file, default timeouts and backoffs, the pool and the rate under test. Nothing
  // the caller's shell exports for the service (LAB_ORDERS_*, JUNCTION_*) leaks into the run.
  std::map<std::string, std::string> service_env = InheritedEnvironment();
  for (auto it = service_env.begin(); it != service_env.end();) {
    bool ours = it->first.rfind("LAB_ORDERS_", 0) == 0 || it->first.rfind("JUNCTION_", 0) == 0;
    if (ours) std::cerr << "note: ignoring " << it->first << " from the environment\n";
    it = ours ? service_env.erase(it) : std::next(it);
  }
  std::map<std::string, std::string> settings = {
      {"LAB_ORDERS_ENV", "production"},
      {"LAB_ORDERS_LISTEN", "127.0.0.1:0"},
      {"LAB_ORDERS_DATABASE", "sqlite:" + (directory / "lab-orders.db").string()},
      {"LAB_ORDERS_PANELS", std::string(PROJECT_SOURCE_DIR) + "/config/panels.json"},
      {"LAB_ORDERS_PHI_KEY", RandomBase64(32)},
      {"LAB_ORDERS_JWT_SECRET", RandomBase64(48)},
      {"JUNCTION_BASE_URL", "http://127.0.0.1:" + std::to_string(sim_port)},
      {"JUNCTION_API_KEY", "sk_us_bench_" + run_id},
      {"LAB_ORDERS_WORKERS", std::to_string(options.workers)},
      {"LAB_ORDERS_JUNCTION_RATE", std::to_string(options.rate)},
      {"LAB_ORDERS_CONFIRMATION_POLL_MS", std::to_string(options.confirmation_poll_ms)},
  };
  service_env.insert(settings.begin(), settings.end());
  Child service("lab-orders", {LAB_ORDERS_BINARY, "serve"}, service_env, directory);
  unsigned short service_port =
      PortFromListeningLine(service.name(), service.FirstLine(std::chrono::seconds(60)));

  std::string token;
  {
    Child minter("lab-orders-token",
                 {LAB_ORDERS_BINARY, "token", "--brand", "bench-brand-" + run_id, "--user",
                  "bench-user", "--ttl", "86400"},
                 service_env, directory);
    int status = minter.Wait(std::chrono::seconds(30));
    std::string out = minter.Stdout();
    token = out.substr(0, out.find('\n'));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || token.empty()) {
      throw std::runtime_error("lab-orders token failed (" + DescribeExit(status) +
                               "): " + minter.Log());
    }
  }

  std::cerr << "junction-sim on port " << sim_port << ", lab-orders on port " << service_port
            << " (pid " << service.pid() << "), files in " << directory.string() << "\n";

  // 3. N orders through the API, a few clients with keep-alive sessions.
  auto setup_start = Clock::now();
  std::cerr << "creating " << options.orders << " orders with " << options.clients
            << " clients...\n";
  CreationResult creation = CreateOrders(service_port, token, run_id, options);
  std::cerr << "created " << creation.created << "/" << options.orders << " in "
            << Fixed(creation.seconds, 1) << " s\n";
  if (creation.created != options.orders) {
    fail(std::to_string(options.orders - creation.created) + " orders were not created");
    for (size_t i = 0; i < creation.errors.size() && i < 5; ++i) {
      std::cerr << "  " << creation.errors[i] << "\n";
    }
    return 1;
  }

  // 4. Wait until every order is appointment_pending.
  HttpSession api(service_port);
  HttpSession sim_admin(sim_port);
  auto deadline = setup_start + std::chrono::seconds(options.setup_timeout_s);
  std::map<std::string, int> counts;
  auto last_report = Clock::now() - std::chrono::seconds(10);
  while (true) {
    if (!service.Running()) throw std::runtime_error("lab-orders exited during the setup");
    counts = StatusCounts(api, token);
    int pending = counts[kPendingStatus];
    if (pending == options.orders) break;
    int stuck = 0;  // orders that took another road than to appointment_pending
    for (const char* status : {"failed", "cancelled", "completed", "appointment_scheduled",
                               "draw_completed", "sample_with_lab"}) {
      if (auto found = counts.find(status); found != counts.end()) stuck += found->second;
    }
    if (stuck > 0) {
      fail("orders reached other states instead of appointment_pending: " + Histogram(counts));
      std::vector<std::string> warnings;
      CountWarnings(service.Log(), &warnings);
      for (const std::string& line : warnings) std::cerr << "  " << line << "\n";
      return 1;
    }
    if (Clock::now() > deadline) {
      fail("not all orders appointment_pending after " + std::to_string(options.setup_timeout_s) +
           " s: " + Histogram(counts));
      return 1;
    }
    if (Clock::now() - last_report >= std::chrono::seconds(10)) {
      last_report = Clock::now();
      std::cerr << "  " << Fixed(duration<double>(Clock::now() - setup_start).count(), 0)
                << " s: " << Histogram(counts) << "\n";
    }
    std::this_thread::sleep_for(milliseconds(1000));
  }
  double setup_s = duration<double>(Clock::now() - setup_start).count();
  Sample setup_end = TakeSample(sim_admin, service.pid(), sim.pid());
  std::cerr << "all " << options.orders << " orders appointment_pending after " << Fixed(setup_s, 1)
            << " s (" << setup_end.calls_total << " Junction calls)\n";
  if (options.settle_s > 0) {
    std::cerr << "settling for " << Fixed(options.settle_s, 0) << " s...\n";
    std::this_thread::sleep_for(duration<double>(options.settle_s));
  }

  // 5. The window: /_sim/stats and /proc every 200 ms, nothing else asked of the service.
  std::cerr << "measuring for " << Fixed(options.window_s, 0) << " s...\n";
  const std::string setup_log = service.Log();
  const size_t log_offset = setup_log.size();
  std::vector<Sample> samples;
  samples.push_back(TakeSample(sim_admin, service.pid(), sim.pid()));
  const auto window_start = samples.front().at;
  const auto window_end = window_start + std::chrono::duration_cast<Clock::duration>(
                                             duration<double>(options.window_s));
  for (auto tick = window_start + milliseconds(200);; tick += milliseconds(200)) {
    if (tick > window_end) tick = window_end;
    std::this_thread::sleep_until(tick);
    if (!service.Running()) throw std::runtime_error("lab-orders exited during the window");
    samples.push_back(TakeSample(sim_admin, service.pid(), sim.pid()));
    if (tick >= window_end) break;
  }
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  const double window = duration<double>(last.at - first.at).count();
  const std::string window_log = service.Log().substr(log_offset);

  // Still held? (After the window, so the listing is not measured.)
  std::map<std::string, int> after = StatusCounts(api, token);
  int held = after[kPendingStatus];
  if (held != options.orders) {
    fail("after the window " + std::to_string(held) + " of " + std::to_string(options.orders) +
         " orders are appointment_pending: " + Histogram(after));
  }

  // The busiest span of about one second: from each sample, the first later sample at least 1 s
  // after it (a late sample makes the span longer, so spans are compared by calls per second).
  // The bucket allows rate * T + burst calls in T seconds.
  long long max_calls = 0;
  double max_per_second = 0;
  double max_calls_span = 0;
  bool windows_under = true;
  double worst_ratio = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      double span = duration<double>(samples[j].at - samples[i].at).count();
      if (span < 0.999) continue;
      long long calls = samples[j].calls_total - samples[i].calls_total;
      double allowed = options.rate * span + burst;
      worst_ratio = std::max(worst_ratio, double(calls) / allowed);
      if (double(calls) > allowed) windows_under = false;
      if (double(calls) / span > max_per_second) {
        max_per_second = double(calls) / span;
        max_calls = calls;
        max_calls_span = span;
      }
      break;
    }
  }
  long long total_calls = last.calls_total - first.calls_total;
  double allowed_total = options.rate * window + burst;
  bool total_under = double(total_calls) <= allowed_total;

  long peak_rss = 0;
  int max_threads = 0, min_threads = 1 << 30;
  for (const Sample& sample : samples) {
    peak_rss = std::max(peak_rss, sample.service.rss_kb);
    max_threads = std::max(max_threads, sample.service.threads);
    min_threads = std::min(min_threads, sample.service.threads);
  }
  const double ticks = double(sysconf(_SC_CLK_TCK));
  double cpu_percent =
      100.0 * double(last.service.cpu_ticks - first.service.cpu_ticks) / ticks / window;
  double sim_cpu_percent =
      100.0 * double(last.sim.cpu_ticks - first.sim.cpu_ticks) / ticks / window;
  std::vector<std::string> window_warnings;
  int warnings = CountWarnings(window_log, &window_warnings);

  // 6. The table.
  auto percentile = [&](double p) {
    if (creation.latencies_ms.empty()) return 0.0;
    size_t at = size_t(p * double(creation.latencies_ms.size() - 1));
    return creation.latencies_ms[at];
  };
  std::cout << "\nlab-orders: " << options.orders << " appointments held pending, "
            << Fixed(window, 1) << " s window\n\n";
  PrintRow("orders held appointment_pending",
           std::to_string(held) + " / " + std::to_string(options.orders));
  PrintRow("workers (LAB_ORDERS_WORKERS)", std::to_string(options.workers));
  PrintRow("rate limit (LAB_ORDERS_JUNCTION_RATE)",
           std::to_string(options.rate) + " calls/s, burst " + Fixed(burst, 0));
  PrintRow("confirmation poll", std::to_string(options.confirmation_poll_ms) +
                                    " ms first, doubling to the default max (60 s)");
  PrintRow("setup: orders created",
           Fixed(creation.seconds, 1) + " s (" +
               Fixed(options.orders / std::max(creation.seconds, 1e-9), 0) + " orders/s, p50 " +
               Fixed(percentile(0.5), 0) + " ms, p99 " + Fixed(percentile(0.99), 0) + " ms)");
  PrintRow("setup: all appointment_pending after",
           Fixed(setup_s, 1) + " s, " + std::to_string(setup_end.calls_total) + " Junction calls");
  PrintRow("Junction calls/s, total", Fixed(double(total_calls) / window, 2) + "  (" +
                                          std::to_string(total_calls) + " calls)");
  std::map<std::string, long long> by_operation;
  for (const auto& [name, count] : last.operations) {
    auto before = first.operations.find(name);
    long long delta = count - (before == first.operations.end() ? 0 : before->second);
    if (delta > 0) by_operation[name] = delta;
  }
  if (by_operation.empty()) PrintRow("  (no calls in the window)", "");
  for (const auto& [name, count] : by_operation) {
    PrintRow("  " + name, Fixed(double(count) / window, 2) + "  (" + std::to_string(count) + ")");
  }
  PrintRow("max calls in any ~1 s (200 ms /_sim/stats samples)",
           std::to_string(max_calls) + " in " + Fixed(max_calls_span, 2) +
               " s = " + Fixed(max_per_second, 1) + "/s (allowed " +
               Fixed(options.rate * max_calls_span + burst, 0) + ")");
  PrintRow("rate under the limit (rate*T + burst)",
           std::string(total_under && windows_under ? "yes" : "NO") + " (window " +
               std::to_string(total_calls) + " <= " + Fixed(allowed_total, 0) +
               (total_under ? "" : " EXCEEDED") + "; worst 1 s window at " +
               Fixed(100 * worst_ratio, 0) + "% of allowed)");
  PrintRow("connections opened to Junction in the window",
           std::to_string(last.connections_opened - first.connections_opened));
  PrintRow("service RSS start / end / peak sampled", Megabytes(first.service.rss_kb) + " / " +
                                                         Megabytes(last.service.rss_kb) + " / " +
                                                         Megabytes(peak_rss));
  PrintRow("service peak RSS since start (VmHWM)", Megabytes(last.service.hwm_kb));
  PrintRow("service threads min / max",
           std::to_string(min_threads) + " / " + std::to_string(max_threads));
  PrintRow("service CPU (% of one core)", Fixed(cpu_percent, 1) + "%");
  PrintRow("junction-sim CPU (% of one core)", Fixed(sim_cpu_percent, 1) + "%");
  PrintRow("service warnings/errors logged: setup / window",
           std::to_string(CountWarnings(setup_log, nullptr)) + " / " + std::to_string(warnings));
  std::cout << std::endl;
  for (const std::string& line : window_warnings) std::cerr << "  log: " << line << "\n";

  // 7. Stop both with SIGTERM.
  int service_status = service.Stop(std::chrono::seconds(30));
  if (service.killed() || !WIFEXITED(service_status) || WEXITSTATUS(service_status) != 0) {
    fail(std::string("lab-orders did not stop cleanly on SIGTERM: ") +
         (service.killed() ? "killed after 30 s" : DescribeExit(service_status)));
  }
  int sim_status = sim.Stop(std::chrono::seconds(30));
  if (sim.killed() || !WIFEXITED(sim_status) || WEXITSTATUS(sim_status) != 0) {
    fail(std::string("junction-sim did not stop cleanly on SIGTERM: ") +
         (sim.killed() ? "killed after 30 s" : DescribeExit(sim_status)));
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_pending_appointments: " << e.what() << "\n";
    return 2;
  }
  std::string pattern = (fs::temp_directory_path() / "lab-orders-bench-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) {
    std::cerr << "bench_pending_appointments: cannot create a temporary directory\n";
    return 1;
  }
  fs::path directory = pattern;
  int code = 1;
  try {
    code = Run(options, directory);
  } catch (const std::exception& e) {
    std::cerr << "FAILED: " << e.what() << "\n";
    code = 1;
  }
  if (options.keep || code != 0) {
    std::cerr << "files kept in " << directory.string() << "\n";
  } else {
    std::error_code ignored;
    fs::remove_all(directory, ignored);
  }
  return code;
}
