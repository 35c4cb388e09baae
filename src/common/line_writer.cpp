#include "lab_orders/common/line_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

namespace lab_orders {
namespace {

constexpr std::size_t kMaxPending = 8 << 20;
constexpr std::chrono::milliseconds kBusyPoll{1};

void WriteAll(int fd, const std::string& bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + at, bytes.size() - at);
    if (wrote > 0) {
      at += std::size_t(wrote);
    } else if (wrote < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // nowhere to log that logging failed
    }
  }
}

}  // namespace

LineWriter::LineWriter(int fd) : fd_(fd), thread_([this] { Run(); }) {}

LineWriter::~LineWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LineWriter::Write(std::string_view line) {
  std::unique_lock lock(mutex_);
  written_.wait(lock, [&] { return pending_.size() < kMaxPending || stopping_; });
  if (stopping_) {  // a line logged while the process ends: written here, in order after the rest
    pending_.append(line).push_back('\n');
    WriteAll(fd_, pending_);
    pending_.clear();
    return;
  }
  pending_.append(line).push_back('\n');
  appended_ += line.size() + 1;
  if (!waiting_) return;
  lock.unlock();
  wake_.notify_one();
}

void LineWriter::Flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = appended_;
  written_.wait(lock, [&] { return done_ >= target || stopping_; });
}

void LineWriter::Run() {
  std::string writing;
  std::unique_lock lock(mutex_);
  for (;;) {
    // Busy (something was just written): look again in a millisecond without being woken, so
    // that a line under load costs its writer no wake-up. Idle: sleep until a line arrives.
    if (!wake_.wait_for(lock, kBusyPoll, [&] { return !pending_.empty() || stopping_; })) {
      waiting_ = true;
      wake_.wait(lock, [&] { return !pending_.empty() || stopping_; });
      waiting_ = false;
    }
    if (pending_.empty()) return;  // stopping, all written
    writing.swap(pending_);
    lock.unlock();
    WriteAll(fd_, writing);
    lock.lock();
    done_ += writing.size();
    writing.clear();
    written_.notify_all();
  }
}

LineWriter& LineWriter::Stderr() {
  // Never destroyed: a line logged by a static's destructor must still find it. What is buffered
  // at exit is written first.
  static LineWriter* writer = [] {
    auto* created = new LineWriter(STDERR_FILENO);
    std::atexit([] { Stderr().Flush(); });
    return created;
  }();
  return *writer;
}

std::string JsonQuoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (byte < 0x20 || byte >= 0x7F) {
      quoted.append("\\u00").push_back(kHex[byte >> 4]);
      quoted.push_back(kHex[byte & 0xF]);
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace lab_orders
