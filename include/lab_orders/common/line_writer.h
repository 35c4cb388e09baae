#pragma once

// Log lines written to a file descriptor by one background thread, many per write(): a thread
// that logs appends its line to a buffer and goes on, waking the writer only when it sleeps. Under
// load a request costs no system call and no wake-up for its log line (the writer, busy, looks
// again every millisecond); at rest a line is written within microseconds. A writer that falls 8
// MiB behind (a blocked pipe) makes callers wait, as a blocking stream would, rather than grow
// without bound.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace lab_orders {

class LineWriter {
 public:
  explicit LineWriter(int fd);
  ~LineWriter();  // writes what is buffered, then stops
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  // Appends line and a newline.
  void Write(std::string_view line);
  // Returns once every line written before the call has reached the descriptor.
  void Flush();

  // Standard error's, for the whole process.
  static LineWriter& Stderr();

 private:
  void Run();

  const int fd_;
  std::mutex mutex_;
  std::condition_variable wake_;     // the writer: there are lines
  std::condition_variable written_;  // callers of Flush, and callers held back
  std::string pending_;
  std::uint64_t appended_ = 0;  // bytes ever appended
  std::uint64_t done_ = 0;      // bytes ever written
  bool waiting_ = false;        // the writer sleeps until woken
  bool stopping_ = false;
  std::thread thread_;
};

// text as a JSON string, quotes included. Control characters and bytes past ASCII are escaped
// (\u00XX), so the result is valid JSON whatever text holds.
std::string JsonQuoted(std::string_view text);

}  // namespace lab_orders
