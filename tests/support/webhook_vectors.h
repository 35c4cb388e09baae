#pragma once

// The published Standard Webhooks / Svix signature vectors (shared/WEBHOOK-VECTORS.md), for the
// Junction receiver's signer tests and the outgoing webhook signer's. Their timestamps are long
// past: verify them against a fixed "now", never a clock.

namespace lab_orders::testing::webhook_vectors {

// Vector A (Standard Webhooks / Svix canonical). The body has a space after the colon.
inline constexpr const char* kSecretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
inline constexpr const char* kIdA = "msg_p5jXN8AQM9LWM0D4loKWxJek";
inline constexpr long long kTimestampA = 1614265330;
inline constexpr const char* kBodyA = R"({"test": 2432232314})";
inline constexpr const char* kSignatureA = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// The Python suite's negative: the last base64 character changed.
inline constexpr const char* kSignatureALastCharChanged =
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";

// Vector B (Rust reference library).
inline constexpr const char* kSecretB = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
inline constexpr const char* kIdB = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
inline constexpr long long kTimestampB = 1649367553;
inline constexpr const char* kBodyB = R"({"email":"test@example.com","username":"test_user"})";
inline constexpr const char* kSignatureB = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
// The Rust suite's negatives for vector B's id and body.
inline constexpr const char* kWrongSignatureB = "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=";
inline constexpr const char* kThreeWrongSignaturesB =
    "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= "
    "v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= "
    "v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";

// The junk v1 entry of the multi-signature suites (Python/JS/C#/Java).
inline constexpr const char* kJunkSignature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

}  // namespace lab_orders::testing::webhook_vectors
