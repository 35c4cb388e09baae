#include "lab_orders/app/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/line_writer.h"

namespace lab_orders {
namespace {

class JsonLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::string payload(message.payload.data(), message.payload.size());
    nlohmann::json line = nlohmann::json::object();
    if (!payload.empty() && payload.front() == '{') {
      nlohmann::json fields = nlohmann::json::parse(payload, nullptr, false);
      if (fields.is_object()) line = std::move(fields);
    }
    if (line.empty()) line["message"] = payload;
    line["time"] = FormatRfc3339(message.time);
    line["level"] = spdlog::level::to_string_view(message.level).data();
    LineWriter::Stderr().Write(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  void flush_() override { LineWriter::Stderr().Flush(); }
};

}  // namespace

void ConfigureJsonLogging() {
  auto logger = std::make_shared<spdlog::logger>("lab-orders", std::make_shared<JsonLineSink>());
  // Lines reach standard error within microseconds (LineWriter); an error is waited for, so that
  // it is out before whatever follows it (an exit, a crash).
  logger->flush_on(spdlog::level::err);
  spdlog::set_default_logger(logger);
}

}  // namespace lab_orders
