#pragma once

// What a simulator script says should happen on each call of each Junction operation.
// The format is documented in docs/junction-sim.md.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::sim {

enum class Fault {
  kNone,
  kReset,          // the connection is reset (RST) without an answer
  kClose,          // the connection is closed (FIN) without an answer
  kHang,           // nothing is answered for hang_ms, then the connection is closed
  kMalformedJson,  // 200 with a body that is not JSON
  kTruncatedBody,  // a Content-Length longer than the bytes sent, then the connection closes
  kTrickle,        // a 200 whose body comes one byte every trickle_ms
  kRateLimited,    // 429 with Retry-After
  kUnavailable,    // 503 with Retry-After
};

// Parses "reset", "close", ...; nullopt for an unknown name.
std::optional<Fault> ParseFault(const std::string& name);
const char* FaultName(Fault fault);

struct CallRule {
  // Which calls (1-based, counted per operation since the script was loaded) the rule matches.
  std::vector<int> calls;  // empty together with from_call == 0: every call
  int from_call = 0;       // this call and every later one
  int delay_ms = 0;        // added before the call is handled
  Fault fault = Fault::kNone;
  int hang_ms = 60000;
  int trickle_ms = 1000;
  int retry_after_seconds = 1;
  std::optional<int> status;  // a canned answer...
  std::optional<nlohmann::json> body;
  std::optional<std::string> raw_body;  // ...or raw bytes instead of JSON
  std::map<std::string, std::string> headers;
  bool after = false;  // handle the call for real first, then answer as scripted

  bool Matches(int call_number) const;
  bool ReplacesAnswer() const { return fault != Fault::kNone || status.has_value(); }
};

enum class BookingOutcome { kConfirmed, kReserved, kCancelled };

// How the phlebotomy provider answers one booking.
struct BookingRule {
  std::vector<int> calls;
  int from_call = 0;
  BookingOutcome outcome = BookingOutcome::kConfirmed;
  int provider_delay_ms = 0;  // how long the provider takes to answer
  // Set when the provider answers only after the booking call returned "pending".
  std::optional<int> resolve_after_polls;  // GET appointment calls
  std::optional<int> resolve_after_ms;

  bool Matches(int call_number) const;
};

struct RequisitionRule {
  enum class Mode { kImmediate, kAfterPolls, kAfterMs, kManual } mode = Mode::kImmediate;
  int polls = 0;  // GET /v3/order/{id} calls for that order
  int ms = 0;
};

// How a test kit moves once its requisition is made (each time from the status before; nullopt:
// only when advanced by hand, POST /_sim/orders/{id}/advance).
struct KitRule {
  std::optional<int> shipped_after_ms = 0;    // -> transit_customer, with its tracking number
  std::optional<int> delivered_after_ms = 0;  // -> with_customer
  std::optional<int> returned_after_ms;       // -> transit_lab (the patient mails it back)
  std::optional<int> at_lab_after_ms = 0;     // -> delivered_to_lab
};

struct Script {
  std::map<std::string, std::vector<CallRule>> operations;
  std::vector<BookingRule> bookings;
  RequisitionRule requisition;
  KitRule kit;
  bool allow_booking_before_requisition = false;
  bool duplicate_webhooks = false;
  std::vector<std::string> served_zips;  // in addition to the sandbox ZIPs and --zip flags
  // ZIPs with no patient service center near: every other ZIP has Quest's (walk-in draws).
  std::vector<std::string> psc_unserved_zips;
  int slot_capacity = 10;  // appointments one slot can take

  // The first rule of the operation matching this call, if any.
  const CallRule* RuleFor(const std::string& operation, int call_number) const;
  BookingRule BookingFor(int call_number) const;
};

// Throws std::invalid_argument naming the offending field.
Script ParseScript(const nlohmann::json& document);

// The operation names a script may use, one per Junction operation the simulator serves.
const std::vector<std::string>& OperationNames();

}  // namespace lab_orders::sim
