#pragma once

#include <gtest/gtest.h>

#include "lab_orders/common/error.h"

namespace lab_orders::testing {

// Runs fn and returns the AppError it throws (failing the test when it throws none).
template <typename Fn>
AppError ErrorFrom(Fn&& fn) {
  try {
    fn();
  } catch (const AppError& error) {
    return error;
  }
  ADD_FAILURE() << "no AppError thrown";
  return AppError(ErrorCode::kInternalError, "none");
}

}  // namespace lab_orders::testing
