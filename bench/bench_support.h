#pragma once

// What the benchmark programs share: starting the real binaries on free ports, reading /proc,
// a small HTTP client, realistic order bodies and the table's formatting. Not a test library:
// nothing here asserts on performance.

#include <Poco/Net/HTTPClientSession.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::bench {

using BenchClock = std::chrono::steady_clock;

std::string ReadFile(const std::filesystem::path& path);
std::string DescribeExit(int status);
std::map<std::string, std::string> InheritedEnvironment();

// A program run with its stdout and stderr in files (NAME.out, NAME.log in directory), stopped
// with SIGTERM (SIGKILL if it does not stop in time) when destroyed.
class Child {
 public:
  // environment is the child's whole environment.
  Child(std::string name, const std::vector<std::string>& argv,
        const std::map<std::string, std::string>& environment,
        const std::filesystem::path& directory);
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Log() const { return ReadFile(stderr_path_); }

  // True while the process runs; once it has exited, its status is kept.
  bool Running();
  // The first stdout line ("... listening on http://HOST:PORT"), once written.
  std::string FirstLine(std::chrono::seconds timeout);
  // Waits for the exit, without signalling; returns the wait status.
  int Wait(std::chrono::seconds timeout);
  // SIGTERM, then waits; SIGKILL after the timeout. Returns the wait status.
  int Stop(std::chrono::seconds timeout);
  bool killed() const { return killed_; }

  static std::string Tail(const std::string& text, int lines);

 private:
  std::string name_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  bool killed_ = false;
};

unsigned short PortFromListeningLine(const std::string& name, const std::string& line);

// Stops the child with SIGTERM; a kill after the timeout or a non-zero exit is an error message.
std::optional<std::string> StopCleanly(Child& child, std::chrono::seconds timeout);

// ---- /proc -------------------------------------------------------------------------------------

struct ProcSample {
  long rss_kb = 0;
  long hwm_kb = 0;  // VmHWM: the peak RSS since the process started
  int threads = 0;
  long long cpu_ticks = 0;  // utime + stime
};

ProcSample ReadProc(pid_t pid);
// CPU between two samples as a percentage of one core.
double CpuPercent(const ProcSample& from, const ProcSample& to, double seconds);

// ---- HTTP --------------------------------------------------------------------------------------

struct Reply {
  int status = 0;
  std::string body;
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// One keep-alive HTTP/1.1 connection; a request that fails on the wire is sent again on a new
// connection (order creation carries an Idempotency-Key, so that is safe).
class HttpSession {
 public:
  explicit HttpSession(unsigned short port);
  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {});
  int wire_errors() const { return wire_errors_; }

 private:
  Poco::Net::HTTPClientSession session_;
  int wire_errors_ = 0;
};

// ---- the service -------------------------------------------------------------------------------

// The caller's environment without LAB_ORDERS_* and JUNCTION_* (a note on stderr names each
// one dropped), plus a deployment's settings: production mode, fresh random secrets, the panels
// of this checkout, Junction at sim_port. `settings` adds or overrides.
std::map<std::string, std::string> ServiceEnvironment(
    const std::string& database, unsigned short sim_port, const std::string& run_id,
    const std::map<std::string, std::string>& settings);

// The database one service of a run uses: for SQLite the URL as given; for a PostgreSQL URL a
// new database made on that server for this service alone (services of one run have their own
// PHI keys, so they must not share rows), dropped again when this goes away.
class ServiceDatabase {
 public:
  ServiceDatabase(const std::string& database_url, const std::string& name);
  ~ServiceDatabase();
  ServiceDatabase(const ServiceDatabase&) = delete;
  ServiceDatabase& operator=(const ServiceDatabase&) = delete;

  const std::string& url() const { return url_; }

 private:
  std::string server_url_;  // empty unless a database was made
  std::string name_;
  std::string url_;
};

// A token from `lab-orders token` for the brand, valid for a day.
std::string MintToken(const std::map<std::string, std::string>& service_env,
                      const std::string& brand, const std::filesystem::path& directory);

// A realistic POST /v1/labs/orders body, different for every index: the six panels in turn,
// patients alternating between the sandbox's two served ZIPs (Getlabs in Phoenix, PhlebFinders
// in Wisconsin), a distinct patient_id (so a Junction user per order).
nlohmann::json OrderBody(long long index, const std::string& run_id);

// ---- formatting and odds and ends --------------------------------------------------------------

std::string Fixed(double value, int decimals);
std::string Megabytes(long kb);
std::string RandomBase64(size_t bytes);
std::string RandomHex(size_t chars);
// Lines at level warning or above in a JSON log; the first few go to *first.
int CountWarnings(const std::string& log, std::vector<std::string>* first);
void PrintRow(const std::string& label, const std::string& value);

// Command-line flags as --name VALUE or --name=VALUE; bad values throw std::invalid_argument.
class Flags {
 public:
  Flags(int argc, char** argv, const char* usage) : args_(argv + 1, argv + argc), usage_(usage) {}
  // The next flag's name, or nullopt at the end. --help and -h print the usage and exit 0.
  std::optional<std::string> Next();
  bool has_value() const { return value_.has_value(); }
  std::string Value();
  int Integer(int low, int high);
  double Seconds(double low, double high);
  [[noreturn]] void Unknown() const;

 private:
  std::vector<std::string> args_;
  const char* usage_;
  size_t at_ = 0;
  std::string flag_;
  std::optional<std::string> value_;
};

// A temporary directory under $TMPDIR (else /tmp).
std::filesystem::path MakeTemporaryDirectory(const std::string& prefix);

// A benchmark's main after its flags: run(directory) in a new temporary directory, which is
// removed afterwards unless kept or the run failed (its name goes to stderr then). An exception
// from run is a failed run (exit code 1).
int RunInTemporaryDirectory(const std::string& program, const std::string& prefix, bool keep,
                            const std::function<int(const std::filesystem::path&)>& run);

// A benchmark's whole main: flags (exit code 2 when bad), then run in a temporary directory.
template <class Options>
int BenchMain(int argc, char** argv, const std::string& program, const std::string& prefix,
              Options (*parse)(int, char**),
              int (*run)(const Options&, const std::filesystem::path&)) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  return RunInTemporaryDirectory(
      program, prefix, options.keep,
      [&](const std::filesystem::path& directory) { return run(options, directory); });
}

}  // namespace lab_orders::bench
