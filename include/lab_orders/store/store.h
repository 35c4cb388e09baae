#pragma once

// Durable state, by aggregate: keys and orders (OrderStore), the actions' keys (ActionKeyStore),
// the workflow's jobs (JobStore), brand webhooks (WebhookStore), lab results (ResultStore), the
// patients' booking links (BookingLinkStore), each
// its own interface for the code that needs it; Store is all of them with the schema, for the
// composition root.

#include "lab_orders/store/action_key_store.h"
#include "lab_orders/store/booking_link_store.h"
#include "lab_orders/store/job_store.h"
#include "lab_orders/store/order_store.h"
#include "lab_orders/store/result_store.h"
#include "lab_orders/store/webhook_store.h"

namespace lab_orders::store {

// The schema: what start-up and the readiness probe need.
class StoreSchema {
 public:
  virtual ~StoreSchema() = default;

  // Applies pending versioned migrations; idempotent.
  virtual void Migrate() = 0;
  // Reachable, and every migration applied.
  virtual bool Ready() = 0;
};

class Store : public StoreSchema,
              public OrderStore,
              public KeyMaintenance,
              public ActionKeyStore,
              public JobStore,
              public WebhookStore,
              public ResultStore,
              public BookingLinkStore {};

}  // namespace lab_orders::store
