#include "bench_support.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lab_orders::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

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

// ---- Child -------------------------------------------------------------------------------------

Child::Child(std::string name, const std::vector<std::string>& argv,
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

Child::~Child() {
  if (!exit_status_) {
    try {
      Stop(std::chrono::seconds(10));
    } catch (...) {
    }
  }
}

bool Child::Running() {
  if (exit_status_) return false;
  int status = 0;
  pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_status_ = status;
    return false;
  }
  return true;
}

std::string Child::FirstLine(std::chrono::seconds timeout) {
  auto deadline = BenchClock::now() + timeout;
  while (BenchClock::now() < deadline) {
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

int Child::Wait(std::chrono::seconds timeout) {
  auto deadline = BenchClock::now() + timeout;
  while (Running()) {
    if (BenchClock::now() >= deadline) throw std::runtime_error(name_ + " did not exit in time");
    std::this_thread::sleep_for(milliseconds(10));
  }
  return *exit_status_;
}

int Child::Stop(std::chrono::seconds timeout) {
  if (!Running()) return *exit_status_;
  ::kill(pid_, SIGTERM);
  auto deadline = BenchClock::now() + timeout;
  while (Running()) {
    if (BenchClock::now() >= deadline) {
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

std::string Child::Tail(const std::string& text, int lines) {
  size_t at = text.size();
  for (int i = 0; i <= lines && at != std::string::npos && at > 0; ++i) {
    at = text.rfind('\n', at - 1);
  }
  return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
}

unsigned short PortFromListeningLine(const std::string& name, const std::string& line) {
  size_t colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    throw std::runtime_error(name + " did not start: \"" + line + "\"");
  }
  return static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

std::optional<std::string> StopCleanly(Child& child, std::chrono::seconds timeout) {
  int status = child.Stop(timeout);
  if (!child.killed() && WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
  return child.name() + " did not stop cleanly on SIGTERM: " +
         (child.killed() ? "killed after " + std::to_string(timeout.count()) + " s"
                         : DescribeExit(status));
}

// ---- /proc -------------------------------------------------------------------------------------

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

double CpuPercent(const ProcSample& from, const ProcSample& to, double seconds) {
  static const double ticks = double(sysconf(_SC_CLK_TCK));
  if (seconds <= 0) return 0;
  return 100.0 * double(to.cpu_ticks - from.cpu_ticks) / ticks / seconds;
}

// ---- HTTP --------------------------------------------------------------------------------------

HttpSession::HttpSession(unsigned short port) : session_("127.0.0.1", port) {
  session_.setKeepAlive(true);
  session_.setTimeout(Poco::Timespan(60, 0));
  // Below the servers' idle timeouts (lab-orders closes idle connections after 5 s), so an
  // idle session reconnects instead of writing into a closed one.
  session_.setKeepAliveTimeout(Poco::Timespan(4, 0));
}

Reply HttpSession::Call(const std::string& method, const std::string& path, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
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

// ---- the service -------------------------------------------------------------------------------

std::map<std::string, std::string> ServiceEnvironment(
    const std::string& database, unsigned short sim_port, const std::string& run_id,
    const std::map<std::string, std::string>& settings) {
  std::map<std::string, std::string> environment = InheritedEnvironment();
  for (auto it = environment.begin(); it != environment.end();) {
    bool ours = it->first.rfind("LAB_ORDERS_", 0) == 0 || it->first.rfind("JUNCTION_", 0) == 0;
    if (ours) std::cerr << "note: ignoring " << it->first << " from the environment\n";
    it = ours ? environment.erase(it) : std::next(it);
  }
  std::map<std::string, std::string> deployment = {
      {"LAB_ORDERS_ENV", "production"},
      {"LAB_ORDERS_LISTEN", "127.0.0.1:0"},
      {"LAB_ORDERS_DATABASE", database},
      {"LAB_ORDERS_PANELS", std::string(PROJECT_SOURCE_DIR) + "/config/panels.json"},
      {"LAB_ORDERS_PHI_KEY", RandomBase64(32)},
      {"LAB_ORDERS_JWT_SECRET", RandomBase64(48)},
      {"JUNCTION_BASE_URL", "http://127.0.0.1:" + std::to_string(sim_port)},
      {"JUNCTION_API_KEY", "sk_us_bench_" + run_id},
  };
  for (const auto& [name, value] : settings) deployment[name] = value;
  for (const auto& [name, value] : deployment) environment[name] = value;
  return environment;
}

std::string MintToken(const std::map<std::string, std::string>& service_env,
                      const std::string& brand, const fs::path& directory) {
  Child minter(
      "lab-orders-token",
      {LAB_ORDERS_BINARY, "token", "--brand", brand, "--user", "bench-user", "--ttl", "86400"},
      service_env, directory);
  int status = minter.Wait(std::chrono::seconds(30));
  std::string out = minter.Stdout();
  std::string token = out.substr(0, out.find('\n'));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || token.empty()) {
    throw std::runtime_error("lab-orders token failed (" + DescribeExit(status) +
                             "): " + minter.Log());
  }
  return token;
}

json OrderBody(long long index, const std::string& run_id) {
  static const char* const kPanels[] = {"wellness",   "pcos",        "fertility",
                                        "hashimotos", "performance", "hormone_metabolic"};
  char number[24];
  std::snprintf(number, sizeof number, "%06lld", index);
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

// ---- a database per service ----------------------------------------------------------------

namespace {

bool IsPostgresUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// libpq takes the URL as it is; the statement is the benchmark's own (no user input).
void RunOnServer(const std::string& server_url, const std::string& sql) {
  PGconn* connection = PQconnectdb(server_url.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string why = PQerrorMessage(connection);
    PQfinish(connection);
    throw std::runtime_error("cannot connect to PostgreSQL for the benchmark's database: " + why);
  }
  PGresult* result = PQexec(connection, sql.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string why = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(connection);
  if (!ok) throw std::runtime_error("PostgreSQL: " + sql + ": " + why);
}

// The URL with its database (the path) replaced.
std::string WithDatabase(const std::string& url, const std::string& database) {
  const std::size_t host_start = url.find("://") + 3;
  const std::size_t query = url.find('?', host_start);
  std::size_t path = url.find('/', host_start);
  if (path > query) path = query;  // no path, or only a query
  return url.substr(0, std::min(path, url.size())) + "/" + database +
         (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace

ServiceDatabase::ServiceDatabase(const std::string& database_url, const std::string& name)
    : url_(database_url) {
  if (!IsPostgresUrl(database_url)) return;
  name_ = "lab_orders_bench_" + name + "_" + RandomHex(8);
  RunOnServer(database_url, "CREATE DATABASE " + name_);
  server_url_ = database_url;
  url_ = WithDatabase(database_url, name_);
}

ServiceDatabase::~ServiceDatabase() {
  if (server_url_.empty()) return;
  try {
    RunOnServer(server_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "note: " << e.what() << "\n";
  }
}

// ---- formatting and odds and ends --------------------------------------------------------------

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

// ---- Flags -------------------------------------------------------------------------------------

std::optional<std::string> Flags::Next() {
  if (at_ >= args_.size()) return std::nullopt;
  flag_ = args_[at_++];
  value_.reset();
  if (size_t equals = flag_.find('='); equals != std::string::npos) {
    value_ = flag_.substr(equals + 1);
    flag_ = flag_.substr(0, equals);
  }
  if (flag_ == "--help" || flag_ == "-h") {
    std::cout << usage_;
    std::exit(0);
  }
  return flag_;
}

std::string Flags::Value() {
  if (value_) return *value_;
  if (at_ >= args_.size()) throw std::invalid_argument(flag_ + " needs a value");
  return args_[at_++];
}

int Flags::Integer(int low, int high) {
  std::string text = Value();
  size_t used = 0;
  long long number = 0;
  try {
    number = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || number < low || number > high) {
    throw std::invalid_argument(flag_ + " wants a whole number from " + std::to_string(low) +
                                " to " + std::to_string(high));
  }
  return int(number);
}

double Flags::Seconds(double low, double high) {
  std::string text = Value();
  size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !(number >= low && number <= high)) {
    throw std::invalid_argument(flag_ + " wants seconds from " + Fixed(low, 0) + " to " +
                                Fixed(high, 0));
  }
  return number;
}

void Flags::Unknown() const {
  throw std::invalid_argument("unknown flag " + flag_ + " (see --help)");
}

fs::path MakeTemporaryDirectory(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory");
  return pattern;
}

int RunInTemporaryDirectory(const std::string& program, const std::string& prefix, bool keep,
                            const std::function<int(const fs::path&)>& run) {
  fs::path directory;
  try {
    directory = MakeTemporaryDirectory(prefix);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 1;
  }
  int code = 1;
  try {
    code = run(directory);
  } catch (const std::exception& e) {
    std::cerr << "FAILED: " << e.what() << "\n";
    code = 1;
  }
  if (keep || code != 0) {
    std::cerr << "files kept in " << directory.string() << "\n";
  } else {
    std::error_code ignored;
    fs::remove_all(directory, ignored);
  }
  return code;
}

}  // namespace lab_orders::bench
