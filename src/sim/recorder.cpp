#include "lab_orders/sim/recorder.h"

#include <Poco/String.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/json_depth.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

// Deeper bodies are kept as raw_body: printing and copying JSON recurse.
constexpr int kMaxBodyDepth = 64;

// The answer headers a recording keeps, under these names: what a Junction client acts on
// besides the body (Content-Type is always application/json in a replay).
const char* const kRecordedHeaders[] = {"Retry-After"};

}  // namespace

Recorder::Recorder(std::string name, std::string path)
    : name_(std::move(name)), path_(std::move(path)) {}

int Recorder::Add(const std::string& operation, int status, const std::string& body,
                  const std::map<std::string, std::string>& headers) {
  Answer answer{status, std::nullopt, "", {}};
  if (JsonNestingDepth(body) <= kMaxBodyDepth) {
    json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_discarded()) answer.body = std::move(parsed);
  }
  if (!answer.body) answer.raw_body = body;
  for (const auto& [name, value] : headers) {
    for (const char* kept : kRecordedHeaders) {
      if (Poco::icompare(name, std::string(kept)) == 0) answer.headers[kept] = value;
    }
  }
  std::lock_guard lock(mutex_);
  std::vector<Answer>& answers = operations_[operation];
  answers.push_back(std::move(answer));
  ++calls_;
  return int(answers.size());
}

json Recorder::ToScriptLocked() const {
  json operations = json::object();
  for (const auto& [operation, answers] : operations_) {
    json rules = json::array();
    for (size_t i = 0; i < answers.size(); ++i) {
      const Answer& answer = answers[i];
      json rule = {{"call", int(i + 1)}, {"status", answer.status}};
      if (answer.body) {
        rule["body"] = *answer.body;
      } else {
        rule["raw_body"] = answer.raw_body;
      }
      if (!answer.headers.empty()) rule["headers"] = answer.headers;
      rules.push_back(std::move(rule));
    }
    operations[operation] = std::move(rules);
  }
  return {{"name", name_}, {"operations", std::move(operations)}};
}

json Recorder::ToScript() const {
  std::lock_guard lock(mutex_);
  return ToScriptLocked();
}

int Recorder::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

void Recorder::Flush() {
  if (path_.empty()) return;
  std::lock_guard lock(mutex_);
  // A raw_body that is not UTF-8 cannot be written as JSON text: its bad bytes become U+FFFD.
  WriteFileAtomically(path_,
                      ToScriptLocked().dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

std::string RecordingName(const std::string& upstream, std::chrono::system_clock::time_point at) {
  return "recorded from " + upstream + " at " + FormatRfc3339(at);
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("cannot write " + path + ": " + what + ": " + std::strerror(errno));
  };
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open " + temporary);
  std::size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      errno = saved;
      fail("write");
    }
    written += std::size_t(n);
  }
  bool synced = ::fsync(fd) == 0;
  int saved = errno;
  bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    if (synced) saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    fail("sync");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    fail("rename");
  }
}

}  // namespace lab_orders::sim
