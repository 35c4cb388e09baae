#pragma once

// The Store's logic over a SQL database: written once, run on SQLite (SqliteStore) and on
// PostgreSQL (PostgresStore). Every method is one transaction. Where many processes share the
// database, rows are locked as they are read (FOR UPDATE), job claims pass over rows another
// claimer holds (SKIP LOCKED), and claims of new rows rely on ON CONFLICT.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/store.h"

namespace lab_orders::store {

class FinishedKeys;
struct FinishedKey;
class SqlDatabase;
class SqlSession;
enum class TransactionKind;

class SqlStore : public Store {
 public:
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  void Migrate() override;
  bool Ready() override;

  std::optional<IdempotencyRecord> FindFinishedKey(const std::string& brand_id,
                                                   const std::string& key) override;
  std::optional<IdempotencyRecord> FindFinishedKeyInMemory(const std::string& brand_id,
                                                           const std::string& key) override;
  Claim ClaimKey(const std::string& brand_id, const std::string& key,
                 const RequestIdentity& request, TimePoint now, TimePoint lease_until,
                 const model::LabOrder& new_order) override;
  void ReleaseKey(const std::string& brand_id, const std::string& key) override;
  bool KeyUnfinished(const std::string& brand_id, const std::string& key) override;

  void SaveJunctionUser(const std::string& brand_id, const std::string& key,
                        const std::string& order_id, const std::string& client_user_id,
                        const std::string& junction_user_id, TimePoint now) override;
  void SaveJunctionOrder(const std::string& key, const model::LabOrder& order,
                         const NewJob& first_step, int status, const std::string& body) override;
  void FinishKey(const std::string& brand_id, const std::string& key, int status,
                 const std::string& body) override;

  std::optional<std::string> FindJunctionUser(const std::string& client_user_id) override;
  std::optional<model::LabOrder> GetOrder(const std::string& brand_id,
                                          const std::string& order_id) override;
  std::vector<model::LabOrder> ListOrders(const std::string& brand_id,
                                          const std::optional<std::string>& status, int limit,
                                          const std::optional<std::string>& cursor) override;

  int ReapKeys(TimePoint created_before) override;
  std::vector<IdempotencyRecord> ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                TimePoint lease_until, int limit) override;

  std::optional<model::LabOrder> GetOrderById(const std::string& order_id) override;
  std::optional<model::LabOrder> FindOrderByJunctionId(
      const std::string& junction_order_id) override;

  std::vector<Job> ClaimDueJobs(TimePoint now, TimePoint lease_until, const std::string& owner,
                                int limit) override;
  OrderJobClaim ClaimOrderStep(const std::string& order_id, TimePoint now, TimePoint lease_until,
                               const std::string& owner, Job* job) override;
  void CompleteJob(const Job& job, const JobOutcome& outcome) override;
  void CheckpointOrder(const Job& job, const model::LabOrder& order_update,
                       std::int64_t expected_order_version) override;
  void ReleaseJob(const Job& job) override;
  std::optional<TimePoint> NextJobDue() override;
  std::vector<std::pair<std::string, int>> QueuedJobCounts() override;

  bool RecordJunctionWebhook(const std::string& svix_id, TimePoint now, const NewJob& job) override;
  ActionClaim ClaimActionKey(const std::string& brand_id, const std::string& key,
                             std::string_view action, const RequestIdentity& request, TimePoint now,
                             TimePoint lease_until) override;
  void CheckpointActionKey(const std::string& brand_id, const std::string& key,
                           TimePoint held_until, const std::string& checkpoint) override;
  void FinishActionKey(const std::string& brand_id, const std::string& key, TimePoint held_until,
                       int status, const std::string& body) override;
  void ReleaseActionKey(const std::string& brand_id, const std::string& key,
                        TimePoint held_until) override;
  void ForgetActionKey(const std::string& brand_id, const std::string& key,
                       TimePoint held_until) override;
  void CreateWebhookEndpoint(const WebhookEndpoint& endpoint) override;
  std::vector<WebhookEndpoint> ListWebhookEndpoints(const std::string& brand_id) override;
  bool DeleteWebhookEndpoint(const std::string& brand_id, const std::string& id) override;
  std::vector<WebhookDelivery> ClaimDueDeliveries(TimePoint now, TimePoint lease_until,
                                                  const std::string& owner, int limit) override;
  void FinishDeliveryAttempt(const WebhookDelivery& delivery,
                             const DeliveryOutcome& outcome) override;
  std::optional<WebhookEndpoint> RotateWebhookSecret(const std::string& brand_id,
                                                     const std::string& id,
                                                     const std::string& secret,
                                                     TimePoint previous_expires_at) override;
  std::optional<std::vector<WebhookDeliveryRecord>> ListWebhookDeliveries(
      const std::string& brand_id, const std::string& endpoint_id, int limit,
      const std::optional<std::string>& cursor) override;
  std::optional<WebhookDeliveryRecord> ResendWebhookDelivery(const std::string& brand_id,
                                                             const std::string& id,
                                                             TimePoint now) override;

  std::optional<model::OrderResult> LatestResult(const std::string& brand_id,
                                                 const std::string& order_id) override;
  int CountResultVersions(const std::string& order_id) override;
  std::optional<model::OrderResult> LatestResultOfOrder(const std::string& order_id) override;

  void MintBookingLink(const BookingLink& link) override;
  std::optional<BookingLink> FindBookingLink(const std::string& token_hash) override;
  bool MarkBookingLinkUsed(const std::string& token_hash, const std::string& appointment_id,
                           TimePoint now) override;

  // Keeps up to capacity finished keys in memory, so that their replays read no database (see
  // src/store/finished_keys.h). retention: how long the reaper keeps a key
  // (LAB_ORDERS_IDEMPOTENCY_TTL). Call before serving; the clock must outlive the store.
  void CacheFinishedKeys(std::size_t capacity, std::chrono::seconds retention, const Clock& clock);

  // For a service starting on a file no other live process uses: every lease in it belonged to a
  // process that is gone, so unfinished keys become resumable at once instead of when their
  // leases run out. Wrong while another process still works on the same file. Returns how many.
  int ReleaseAllLeases();
  // The same for jobs: every queued job's lease is dropped, so a job whose worker died with the
  // last process runs at its due time instead of when the lease runs out. Returns how many.
  int ReleaseAllJobLeases();
  // The same for brand webhook deliveries: one in flight when the last process died is due again
  // at once (its receiver may get it twice: deliveries are at least once). Returns how many.
  int ReleaseAllDeliveryLeases();

 protected:
  SqlStore(std::unique_ptr<SqlDatabase> database, PhiCipher cipher);

 private:
  // The latest version of order_id's result, opened; of brand_id's orders only when given.
  std::optional<model::OrderResult> OpenResult(const std::string& order_id,
                                               const std::optional<std::string>& brand_id);
  // Runs body(session) in one transaction and returns what it returns.
  template <typename Body>
  auto Transact(const char* operation, TransactionKind kind, Body&& body)
      -> decltype(body(std::declval<SqlSession&>()));

  IdempotencyRecord FinishedRecord(const std::string& brand_id, const std::string& key,
                                   const FinishedKey& finished) const;

  std::unique_ptr<SqlDatabase> database_;
  PhiCipher cipher_;
  std::unique_ptr<FinishedKeys> finished_keys_;  // null: no cache
};

}  // namespace lab_orders::store
