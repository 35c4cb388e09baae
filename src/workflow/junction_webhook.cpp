#include "lab_orders/workflow/junction_webhook.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "lab_orders/common/strict_json.h"
#include "lab_orders/workflow/junction_event.h"

namespace lab_orders::workflow {
namespace {

constexpr std::size_t kMaxMessageIdLength = 255;
// Deeper bodies are refused before anything recursive (the parser) sees them.
constexpr int kMaxBodyDepth = 64;

// The svix-id becomes a stored deduplication key: short, and printable ASCII only.
bool IsUsableMessageId(const std::string& id) {
  if (id.empty() || id.size() > kMaxMessageIdLength) return false;
  for (char c : id) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

const char* WebhookVerdictName(WebhookVerdict verdict) {
  switch (verdict) {
    case WebhookVerdict::kAccepted:
      return "accepted";
    case WebhookVerdict::kDuplicate:
      return "duplicate";
    case WebhookVerdict::kIgnored:
      return "ignored";
    case WebhookVerdict::kUnknownOrder:
      return "unknown_order";
    case WebhookVerdict::kBadSignature:
      return "bad_signature";
    case WebhookVerdict::kStaleTimestamp:
      return "stale_timestamp";
    case WebhookVerdict::kMalformedHeaders:
      return "malformed_headers";
    case WebhookVerdict::kUnreadableBody:
      return "unreadable_body";
  }
  return "unknown";
}

JunctionWebhookReceiver::JunctionWebhookReceiver(const std::string& secret, store::JobStore& store,
                                                 const Clock& clock, IdGenerator& ids,
                                                 std::chrono::seconds tolerance)
    : signer_(secret), store_(store), clock_(clock), ids_(ids), tolerance_(tolerance) {}

WebhookVerdict JunctionWebhookReceiver::Receive(const WebhookHeaders& headers,
                                                const std::string& raw_body) {
  if (!IsUsableMessageId(headers.id) || headers.timestamp.empty() || headers.signature.empty()) {
    return WebhookVerdict::kMalformedHeaders;
  }
  const store::TimePoint now = clock_.Now();
  switch (
      signer_.Verify(headers.id, headers.timestamp, headers.signature, raw_body, now, tolerance_)) {
    case WebhookSigner::Verdict::kValid:
      break;
    case WebhookSigner::Verdict::kBadSignature:
      return WebhookVerdict::kBadSignature;
    case WebhookSigner::Verdict::kTimestampOutOfTolerance:
      return WebhookVerdict::kStaleTimestamp;
    case WebhookSigner::Verdict::kMalformedHeaders:
      return WebhookVerdict::kMalformedHeaders;
  }

  // Too deep, or a member named twice, is malformed here as in every body we take.
  auto parsed = ParseStrictJson(raw_body, kMaxBodyDepth);
  if (!std::holds_alternative<nlohmann::json>(parsed)) return WebhookVerdict::kUnreadableBody;
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);

  std::optional<JunctionEvent> event;
  try {
    event = ParseJunctionWebhook(body);
  } catch (const std::invalid_argument&) {
    return WebhookVerdict::kUnreadableBody;
  }
  if (!event) return WebhookVerdict::kIgnored;

  std::optional<model::LabOrder> order = store_.FindOrderByJunctionId(event->junction_order_id);
  if (!order) return WebhookVerdict::kUnknownOrder;

  store::NewJob job{ids_.NewUuid(), store::kJobJunctionEvent, order->id,
                    JunctionEventToJson(*event).dump(), now};
  return store_.RecordJunctionWebhook(headers.id, now, job) ? WebhookVerdict::kAccepted
                                                            : WebhookVerdict::kDuplicate;
}

}  // namespace lab_orders::workflow
