// Micro-benchmarks (Google Benchmark) for the per-request work on POST /v1/labs/orders:
// validation, the canonical fingerprint, bearer token verification, PHI encryption and the
// store's first commits. Figures only: nothing here asserts on performance. See bench/README.md.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/strict_json.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/model/order.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/orders/request_validator.h"
#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/store/store.h"
#include "support/key_pairs.h"
#include "support/order_bodies.h"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using namespace lab_orders;

// ---- request bodies -----------------------------------------------------------------------------

// The body the workflow tests send: every field a typical order carries.
json TypicalOrderBody() { return testing::WorkflowOrderBody("patient-0001"); }

// Wrong in many places at once, both for the schema (unknown panel, missing last_name) and for
// the lab's rules (email, phone, dob in the future, state, ZIP, country, currency).
json InvalidOrderBody() {
  return {{"panel_slug", "full-body-scan"},
          {"patient",
           {{"first_name", "Orsolya"},
            {"dob", "2999-01-01"},
            {"email", "not-an-email"},
            {"phone", "555-01"},
            {"sex", "female"}}},
          {"address",
           {{"line1", "1 West Lincoln Street"},
            {"city", "Phoenix"},
            {"state", "ZZ"},
            {"zip", "8500"},
            {"country", "CA"}}},
          {"currency", "usd"},
          {"patient_id", "patient-0001"}};
}

// As src/app/main.cpp builds it: the compiled-in schema and the system clock.
struct ValidatorFixture {
  SystemClock clock;
  orders::RequestValidator validator{http::LabOrderRequestSchema(), clock};
};

ValidatorFixture& Validator() {
  static ValidatorFixture fixture;
  return fixture;
}

// ---- 1. request validation ----------------------------------------------------------------------

void BM_ValidateTypicalOrder(benchmark::State& state) {
  const orders::RequestValidator& validator = Validator().validator;
  const json body = TypicalOrderBody();
  if (!std::holds_alternative<model::OrderRequest>(validator.Validate(body))) {
    state.SkipWithError("the typical body did not validate");
    return;
  }
  for (auto _ : state) {
    auto result = validator.Validate(body);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateTypicalOrder);

// The body text parsed as the HTTP layer parses it (ParseStrictJson: no member named twice),
// against nlohmann's plain parse.
void BM_ParseStrictJsonTypicalOrder(benchmark::State& state) {
  const std::string text = TypicalOrderBody().dump();
  for (auto _ : state) benchmark::DoNotOptimize(ParseStrictJson(text, 32));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseStrictJsonTypicalOrder);

void BM_ParsePlainJsonTypicalOrder(benchmark::State& state) {
  const std::string text = TypicalOrderBody().dump();
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(text, nullptr, false));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParsePlainJsonTypicalOrder);

// The same, from the raw body text as the HTTP layer receives it (parsed first).
void BM_ParseAndValidateTypicalOrder(benchmark::State& state) {
  const orders::RequestValidator& validator = Validator().validator;
  const std::string text = TypicalOrderBody().dump();
  for (auto _ : state) {
    json body = std::get<json>(ParseStrictJson(text, 32));
    auto result = validator.Validate(body);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseAndValidateTypicalOrder);

void BM_ValidateInvalidOrder(benchmark::State& state) {
  const orders::RequestValidator& validator = Validator().validator;
  const json body = InvalidOrderBody();
  auto first = validator.Validate(body);
  const auto* violations = std::get_if<std::vector<FieldViolation>>(&first);
  if (violations == nullptr || violations->size() < 5) {
    state.SkipWithError("the invalid body did not give several violations");
    return;
  }
  state.counters["violations"] = static_cast<double>(violations->size());
  for (auto _ : state) {
    auto result = validator.Validate(body);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateInvalidOrder);

// ---- 2. the request fingerprint -----------------------------------------------------------------

// Parse of the raw body, then SHA-256 over method, path and the canonical dump (as the service
// does: the body is parsed once by the HTTP layer and fingerprinted in CreateOrder).
void BM_RequestFingerprint(benchmark::State& state) {
  const std::string text = TypicalOrderBody().dump(2);  // as a client might send it: indented
  for (auto _ : state) {
    json body = json::parse(text, nullptr, false);
    std::string fingerprint = orders::RequestFingerprint("POST", "/v1/labs/orders", body);
    benchmark::DoNotOptimize(fingerprint);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_RequestFingerprint);

// The fingerprint alone, on an already parsed body.
void BM_RequestFingerprintParsed(benchmark::State& state) {
  const json body = TypicalOrderBody();
  for (auto _ : state) {
    std::string fingerprint = orders::RequestFingerprint("POST", "/v1/labs/orders", body);
    benchmark::DoNotOptimize(fingerprint);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestFingerprintParsed);

// ---- 3. JWT verification ------------------------------------------------------------------------

const std::string kJwtSecret = "bench-hs256-secret-0123456789abcdef";  // over the 32-byte minimum

// Generated once per run (RSA generation takes a while).
const testing::KeyPair& RsaKey() {
  static const testing::KeyPair key = testing::GenerateRsa(2048);
  return key;
}
const testing::KeyPair& EcKey() {
  static const testing::KeyPair key = testing::GenerateEc("P-256");
  return key;
}

json TokenClaims() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return {{"sub", "user-1"},
          {"brand_id", "brand-1"},
          {"iat", now},
          {"exp", now + 24 * 3600},  // well past the end of the run
          {"scope", "labs:orders:read labs:orders:write"}};
}

void RunVerify(benchmark::State& state, const auth::JwtSettings& settings,
               const std::string& token) {
  SystemClock clock;
  auth::JwtVerifier verifier(settings, clock);
  if (!std::holds_alternative<auth::Principal>(verifier.Verify(token))) {
    state.SkipWithError("the token did not verify");
    return;
  }
  for (auto _ : state) {
    auto result = verifier.Verify(token);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VerifyJwtHs256(benchmark::State& state) {
  auth::JwtSettings settings;
  settings.hs256_secret = kJwtSecret;
  RunVerify(state, settings, auth::MintHs256(kJwtSecret, TokenClaims()));
}
BENCHMARK(BM_VerifyJwtHs256);

// The HMAC-SHA256 inside the HS256 check alone, over a signing input of the same length: how
// much of BM_VerifyJwtHs256 is the MAC and how much the token's decoding and claims. The
// verifier keys its HMAC once (HmacSha256Key); the one-shot HmacSha256 is there for comparison.
void BM_HmacSha256OfSigningInput(benchmark::State& state) {
  const std::string token = auth::MintHs256(kJwtSecret, TokenClaims());
  const std::string signing_input = token.substr(0, token.rfind('.'));
  const HmacSha256Key key(kJwtSecret);
  for (auto _ : state) {
    std::string mac = key.Sign(signing_input);
    benchmark::DoNotOptimize(mac);
  }
  state.counters["input_bytes"] = static_cast<double>(signing_input.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HmacSha256OfSigningInput);

void BM_HmacSha256OneShot(benchmark::State& state) {
  const std::string token = auth::MintHs256(kJwtSecret, TokenClaims());
  const std::string signing_input = token.substr(0, token.rfind('.'));
  for (auto _ : state) {
    std::string mac = HmacSha256(kJwtSecret, signing_input);
    benchmark::DoNotOptimize(mac);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HmacSha256OneShot);

void BM_VerifyJwtRs256(benchmark::State& state) {
  auth::JwtSettings settings;
  settings.public_key_pem = RsaKey().public_pem;
  RunVerify(state, settings,
            auth::MintWithPrivateKey("RS256", RsaKey().private_pem, TokenClaims()));
}
BENCHMARK(BM_VerifyJwtRs256);

void BM_VerifyJwtEs256(benchmark::State& state) {
  auth::JwtSettings settings;
  settings.public_key_pem = EcKey().public_pem;
  RunVerify(state, settings, auth::MintWithPrivateKey("ES256", EcKey().private_pem, TokenClaims()));
}
BENCHMARK(BM_VerifyJwtEs256);

// ---- 4. PHI encryption --------------------------------------------------------------------------

const std::string kPhiKey(32, 'p');
const std::string kOrderId = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f";

// A patient and address as one JSON document, about 300 bytes like the store's PHI column.
std::string PatientDocument() {
  json document = TypicalOrderBody();
  document["address"]["line2"] = "Apartment 1204, North Tower";
  document.erase("panel_slug");
  document.erase("patient_id");
  return document.dump();
}

void BM_PhiEncrypt(benchmark::State& state) {
  const store::PhiCipher cipher(kPhiKey);
  const std::string plaintext = PatientDocument();
  for (auto _ : state) {
    std::string sealed = cipher.Encrypt(plaintext, kOrderId);
    benchmark::DoNotOptimize(sealed);
  }
  state.counters["plaintext_bytes"] = static_cast<double>(plaintext.size());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plaintext.size()));
}
BENCHMARK(BM_PhiEncrypt);

void BM_PhiDecrypt(benchmark::State& state) {
  const store::PhiCipher cipher(kPhiKey);
  const std::string plaintext = PatientDocument();
  const std::string sealed = cipher.Encrypt(plaintext, kOrderId);
  if (cipher.Decrypt(sealed, kOrderId) != plaintext) {
    state.SkipWithError("the round trip changed the document");
    return;
  }
  for (auto _ : state) {
    std::string opened = cipher.Decrypt(sealed, kOrderId);
    benchmark::DoNotOptimize(opened);
  }
  state.counters["plaintext_bytes"] = static_cast<double>(plaintext.size());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plaintext.size()));
}
BENCHMARK(BM_PhiDecrypt);

// ---- 5. the store -------------------------------------------------------------------------------

// A migrated SqliteStore on a fresh file in the temporary directory ($TMPDIR), removed after.
class TempStore {
 public:
  TempStore()
      : path_((std::filesystem::temp_directory_path() /
               ("lab-orders-bench-" + NewRandomUuid() + ".db"))
                  .string()) {
    store_ = std::make_unique<store::SqliteStore>(path_, store::PhiCipher(kPhiKey));
    store_->Migrate();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  store::SqliteStore& operator*() { return *store_; }
  store::SqliteStore* operator->() { return store_.get(); }

 private:
  std::string path_;
  std::unique_ptr<store::SqliteStore> store_;
};

constexpr char kBrand[] = "brand-1";

model::LabOrder MakeOrder(const std::string& id, const std::string& created_at) {
  model::LabOrder order;
  order.id = id;
  order.brand_id = kBrand;
  order.user_id = "user-1";
  order.patient_id = "patient-0001";
  order.panel_slug = "wellness";
  order.status = "received";
  order.total_cents = 4900;
  order.currency = "usd";
  order.created_at = created_at;
  order.updated_at = created_at;
  order.patient = {"Orsolya",      "Quenneville", "1984-02-29", "orsolya.q@example.org",
                   "+16025550144", "female"};
  order.address = {"1 West Lincoln Street", "Apartment 1204", "Phoenix", "AZ", "85004", "US"};
  return order;
}

// The first commit of a new order: claim a fresh key (kNew) together with the order recorded
// under it (PHI encrypted into the row). One write transaction per iteration, with the fsyncs of
// synchronous=FULL (one thread: no other write shares its group commit).
void BM_StoreClaimAndRecordOrder(benchmark::State& state) {
  TempStore store;
  const std::string fingerprint =
      orders::RequestFingerprint("POST", "/v1/labs/orders", TypicalOrderBody());
  std::int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string key = "bench-key-" + std::to_string(n);
    const std::string order_id = NewRandomUuid();
    const auto now = std::chrono::system_clock::now();
    model::LabOrder order = MakeOrder(order_id, FormatRfc3339(now));
    ++n;
    state.ResumeTiming();

    store::Claim claim = store->ClaimKey(kBrand, key, {fingerprint}, now, now + 60s, order);
    if (claim.result != store::ClaimResult::kNew) {
      state.SkipWithError("a fresh key was not claimed as new");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
// Wall time: the iteration mostly waits on the disk, which CPU time does not see.
BENCHMARK(BM_StoreClaimAndRecordOrder)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A retry of a finished request: FindFinishedKey reads the stored answer to replay (a read on a
// reader connection, no transaction of the writer's).
void BM_StoreReplayFinishedKey(benchmark::State& state) {
  TempStore store;
  const std::string fingerprint =
      orders::RequestFingerprint("POST", "/v1/labs/orders", TypicalOrderBody());
  const std::string key = "bench-finished-key";
  const auto created = std::chrono::system_clock::now();
  const std::string order_id = NewRandomUuid();
  model::LabOrder order = MakeOrder(order_id, FormatRfc3339(created));
  if (store->ClaimKey(kBrand, key, {fingerprint}, created, created + 60s, order).result !=
      store::ClaimResult::kNew) {
    state.SkipWithError("setup: the key was not new");
    return;
  }
  store->FinishKey(kBrand, key, 201, model::OrderJson(order).dump());

  for (auto _ : state) {
    std::optional<store::IdempotencyRecord> finished = store->FindFinishedKey(kBrand, key);
    if (!finished || finished->fingerprint != fingerprint) {
      state.SkipWithError("the finished key did not replay");
      break;
    }
    benchmark::DoNotOptimize(finished);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreReplayFinishedKey)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
