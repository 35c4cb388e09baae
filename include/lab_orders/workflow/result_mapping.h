#pragma once

// Junction's lab result in the form the service keeps and serves: each marker's flag from the
// lab's interpretation and range, the overall interpretation, the version's status.

#include <string>

#include "lab_orders/junction/lab_result.h"
#include "lab_orders/model/order_result.h"

namespace lab_orders::workflow {

// normal | low | high | abnormal (out of range, no direction known) | critical.
std::string MarkerFlag(const junction::ResultMarker& marker);

// The result's overall interpretation: Junction's own when it is one we know, else the worst
// marker's (critical over abnormal over normal).
std::string OverallInterpretation(const junction::LabResult& result);

// id, version, status and received_at are the caller's (the workflow's): the rest is the lab's.
model::OrderResult ToOrderResult(const junction::LabResult& fetched, const std::string& order_id);

}  // namespace lab_orders::workflow
