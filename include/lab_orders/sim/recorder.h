#pragma once

// junction-sim --record: the answers the simulator gave while forwarding to an upstream Junction,
// kept as a simulator script that answers the same calls the same way. See "Recording" in
// docs/junction-sim.md.

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::sim {

class Recorder {
 public:
  // name: the script's "name". path: where Flush writes it (empty: nowhere).
  explicit Recorder(std::string name, std::string path = "");

  // Keeps one answer to a call of operation (a script operation name): its status, its body's
  // bytes, and its headers (only Retry-After is kept; names are matched ignoring case). Returns
  // its call number: 1-based, per operation, in the order answers are added. Thread-safe.
  int Add(const std::string& operation, int status, const std::string& body,
          const std::map<std::string, std::string>& headers = {});

  // The recording as a script: {"name", "operations": {"<op>": [{"call": 1, "status": S,
  // "body": <json>} or {..., "raw_body": "<text>"} for a body that is not JSON, with "headers"
  // when there are any]}}.
  nlohmann::json ToScript() const;
  int calls() const;
  const std::string& path() const { return path_; }

  // Writes ToScript() to path(), atomically (WriteFileAtomically). Writes are serialized, so the
  // file always holds every answer added before the latest Flush. Throws std::runtime_error.
  void Flush();

 private:
  struct Answer {
    int status;
    std::optional<nlohmann::json> body;  // the body, when it is JSON...
    std::string raw_body;                // ...else its bytes
    std::map<std::string, std::string> headers;
  };
  nlohmann::json ToScriptLocked() const;

  const std::string name_;
  const std::string path_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Answer>> operations_;
  int calls_ = 0;
};

// "recorded from <upstream> at <RFC 3339 time>".
std::string RecordingName(const std::string& upstream, std::chrono::system_clock::time_point at);

// Replaces path with text so that a reader sees the old file or the new one, never a part:
// path + ".tmp" is written (readable by its owner only), synced and renamed over path.
// Throws std::runtime_error naming the path and the error.
void WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace lab_orders::sim
