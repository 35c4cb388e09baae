#pragma once

// A setting that cannot be used: start-up (or a command) stops with the message, which names the
// variable or file at fault. Raised wherever configuration is read, at any floor.

#include <stdexcept>

namespace lab_orders {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace lab_orders
