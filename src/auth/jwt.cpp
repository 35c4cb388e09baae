#include "lab_orders/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "auth/verified_tokens.h"
#include "lab_orders/common/encoding.h"

namespace lab_orders::auth {
namespace {

using nlohmann::json;

// Far above any real bearer token, and small enough that the header's JSON is never a cost.
constexpr std::size_t kMaxTokenBytes = 8 * 1024;
// Verified tokens kept: a few per client, each until it expires.
constexpr std::size_t kVerifiedTokensKept = 4096;
// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
constexpr std::size_t kMinHs256SecretBytes = 32;
// RFC 7518 §3.3: RS256 keys of 2048 bits or more.
constexpr int kMinRsaKeyBits = 2048;
// A P-256 scalar; JWS ES256 signatures are r||s, each left-padded to this width (RFC 7518 §3.4).
constexpr int kP256ScalarBytes = 32;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct BignumFree {
  void operator()(BIGNUM* number) const { BN_free(number); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

enum class KeyKind { kUnsupported, kRsa, kP256 };

KeyKind ClassifyKey(EVP_PKEY* key) {
  // "RSA" excludes RSA-PSS keys, whose padding RS256 does not use.
  if (EVP_PKEY_is_a(key, "RSA")) return KeyKind::kRsa;
  if (EVP_PKEY_is_a(key, "EC")) {
    // Only named curves have a group name; explicit curve parameters are refused with the rest.
    char group_name[64] = {};
    size_t name_length = 0;
    if (EVP_PKEY_get_group_name(key, group_name, sizeof(group_name), &name_length) == 1 &&
        (OBJ_sn2nid(group_name) == NID_X9_62_prime256v1 ||
         EC_curve_nist2nid(group_name) == NID_X9_62_prime256v1)) {
      return KeyKind::kP256;
    }
  }
  return KeyKind::kUnsupported;
}

BioPtr MemoryBio(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::runtime_error("cannot allocate an OpenSSL BIO");
  return bio;
}

// Encrypted keys fail instead of prompting on the terminal.
int RefusePassphrase(char*, int, int, void*) { return -1; }

// The JWS signing input, "base64url(header).base64url(claims)".
std::string SigningInput(const json& header, const json& claims) {
  if (!claims.is_object()) throw std::invalid_argument("JWT claims must be a JSON object");
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
}

// RFC 7518 §3.4 r||s → the DER ECDSA-Sig-Value OpenSSL verifies; nullopt if OpenSSL fails.
std::optional<std::string> RawEcdsaToDer(std::string_view raw) {
  BignumPtr r(BN_bin2bn(Bytes(raw), kP256ScalarBytes, nullptr));
  BignumPtr s(BN_bin2bn(Bytes(raw) + kP256ScalarBytes, kP256ScalarBytes, nullptr));
  EcdsaSigPtr signature(ECDSA_SIG_new());
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  // ECDSA_SIG_set0 took ownership of both numbers.
  r.release();
  s.release();
  int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(signature.get(), &out) != length) return std::nullopt;
  return der;
}

std::string DerEcdsaToRaw(std::string_view der) {
  const unsigned char* in = Bytes(der);
  EcdsaSigPtr signature(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!signature) throw std::runtime_error("OpenSSL returned an unreadable ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(signature.get(), &r, &s);
  std::string raw(2 * kP256ScalarBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kP256ScalarBytes) != kP256ScalarBytes ||
      BN_bn2binpad(s, out + kP256ScalarBytes, kP256ScalarBytes) != kP256ScalarBytes) {
    throw std::runtime_error("ECDSA signature does not fit P-256");
  }
  return raw;
}

// SHA-256 signature check, PKCS#1 v1.5 for RSA keys. Anything short of a clean success is false.
bool VerifySha256Signature(EVP_PKEY* key, KeyKind kind, std::string_view signing_input,
                           std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_ctx = nullptr;
  bool verified =
      ctx && EVP_DigestVerifyInit(ctx.get(), &key_ctx, Sha256Algorithm(), nullptr, key) == 1 &&
      (kind != KeyKind::kRsa || EVP_PKEY_CTX_set_rsa_padding(key_ctx, RSA_PKCS1_PADDING) == 1) &&
      EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(signing_input),
                       signing_input.size()) == 1;
  // A failed verification leaves errors queued; they must not surface in unrelated later calls.
  ERR_clear_error();
  return verified;
}

std::string SignSha256(EVP_PKEY* key, KeyKind kind, std::string_view signing_input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_ctx = nullptr;
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &key_ctx, Sha256Algorithm(), nullptr, key) != 1 ||
      (kind == KeyKind::kRsa && EVP_PKEY_CTX_set_rsa_padding(key_ctx, RSA_PKCS1_PADDING) != 1) ||
      EVP_DigestSign(ctx.get(), nullptr, &length, Bytes(signing_input), signing_input.size()) !=
          1) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL could not start signing the token");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     Bytes(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL could not sign the token");
  }
  signature.resize(length);
  return signature;
}

// nlohmann's own DOM builder, fed by the parser's SAX events, counting member names on the way:
// a duplicate name leaves its object one member short of the names seen. Cheaper than a parse
// callback keeping a set of names per open object, on every token.
class MemberCountingBuilder {
 public:
  explicit MemberCountingBuilder(json& root) : dom_(root, /*allow_exceptions_=*/false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool value) { return dom_.boolean(value); }
  bool number_integer(json::number_integer_t value) { return dom_.number_integer(value); }
  bool number_unsigned(json::number_unsigned_t value) { return dom_.number_unsigned(value); }
  bool number_float(json::number_float_t value, const json::string_t& text) {
    return dom_.number_float(value, text);
  }
  bool string(json::string_t& value) { return dom_.string(value); }
  bool binary(json::binary_t& value) { return dom_.binary(value); }
  bool start_object(std::size_t size) { return dom_.start_object(size); }
  bool key(json::string_t& name) {
    ++names_;
    return dom_.key(name);
  }
  bool end_object() { return dom_.end_object(); }
  bool start_array(std::size_t size) { return dom_.start_array(size); }
  bool end_array() { return dom_.end_array(); }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& error) {
    return dom_.parse_error(position, token, error);
  }

  std::size_t names() const { return names_; }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::size_t names_ = 0;
};

// Members of every object in the value, nested ones included (without recursion: the text may
// nest as deep as its length allows).
std::size_t CountMembers(const json& root) {
  std::size_t members = 0;
  std::vector<const json*> pending{&root};
  while (!pending.empty()) {
    const json* value = pending.back();
    pending.pop_back();
    if (value->is_object()) members += value->size();
    if (value->is_structured()) {
      for (const json& child : *value) {
        if (child.is_structured()) pending.push_back(&child);
      }
    }
  }
  return members;
}

// Parses JSON text, refusing duplicate member names: with them, which "alg" or "sub" counts would
// depend on the parser (RFC 7515 §5.2 allows rejecting them).
std::optional<json> ParseJsonWithoutDuplicateKeys(const std::string& text) {
  json parsed;
  MemberCountingBuilder builder(parsed);
  if (!json::sax_parse(text, &builder) || CountMembers(parsed) != builder.names()) {
    return std::nullopt;
  }
  return parsed;
}

std::optional<json> DecodeJsonObject(std::string_view part) {
  auto text = Base64UrlDecode(part);
  if (!text) return std::nullopt;
  auto parsed = ParseJsonWithoutDuplicateKeys(*text);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  return parsed;
}

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// What the header may say besides "alg": "typ" absent or JWT (media types ignore case, RFC 7515
// §4.1.9), and no "crit", since this verifier understands no extensions (RFC 7515 §4.1.11).
bool HeaderIsAcceptable(const json& header) {
  auto typ = header.find("typ");
  if (typ != header.end() &&
      !(typ->is_string() && EqualsIgnoringAsciiCase(typ->get_ref<const std::string&>(), "JWT"))) {
    return false;
  }
  return !header.contains("crit");
}

const std::string* NonEmptyString(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

bool AudienceMatches(const json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == expected;
  if (!aud.is_array()) return false;
  return std::any_of(aud.begin(), aud.end(), [&](const json& entry) {
    return entry.is_string() && entry.get_ref<const std::string&>() == expected;
  });
}

std::vector<std::string> SplitScopes(std::string_view scope) {
  std::vector<std::string> scopes;
  std::size_t pos = 0;
  while (pos < scope.size()) {
    std::size_t end = scope.find(' ', pos);
    if (end == std::string_view::npos) end = scope.size();
    // Runs of spaces are tolerated rather than producing empty scopes.
    if (end > pos) scopes.emplace_back(scope.substr(pos, end - pos));
    pos = end + 1;
  }
  return scopes;
}

}  // namespace

struct JwtVerifier::Keys {
  EVP_PKEY* public_key = nullptr;  // owned; null when only HS256 is configured
  KeyKind public_key_kind = KeyKind::kUnsupported;
  std::unique_ptr<HmacSha256Key> hs256;  // null when no HS256 secret is configured

  Keys() = default;
  Keys(const Keys&) = delete;
  Keys& operator=(const Keys&) = delete;
  ~Keys() { EVP_PKEY_free(public_key); }
};

bool Principal::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

const char* AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMalformed:
      return "malformed";
    case AuthFailure::kAlgorithmNotAllowed:
      return "algorithm_not_allowed";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kExpired:
      return "expired";
    case AuthFailure::kNotYetValid:
      return "not_yet_valid";
    case AuthFailure::kWrongIssuer:
      return "wrong_issuer";
    case AuthFailure::kWrongAudience:
      return "wrong_audience";
    case AuthFailure::kMissingClaims:
      return "missing_claims";
  }
  return "unknown";
}

JwtVerifier::JwtVerifier(JwtSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock),
      keys_(std::make_unique<Keys>()),
      verified_(std::make_unique<VerifiedTokens>(kVerifiedTokensKept)) {
  if (!settings_.hs256_secret && !settings_.public_key_pem) {
    throw std::invalid_argument("JWT verification needs an HS256 secret or a public key");
  }
  if (settings_.not_before_leeway.count() < 0) {
    throw std::invalid_argument("JWT nbf leeway must not be negative");
  }
  if (settings_.hs256_secret && settings_.hs256_secret->size() < kMinHs256SecretBytes) {
    throw std::invalid_argument("the JWT HS256 secret must be at least 32 bytes");
  }
  if (settings_.hs256_secret) {
    keys_->hs256 = std::make_unique<HmacSha256Key>(*settings_.hs256_secret);
  }
  if (!settings_.public_key_pem) return;
  // The public key is public: as an HMAC secret too it would let anyone mint tokens.
  if (settings_.hs256_secret == settings_.public_key_pem) {
    throw std::invalid_argument("the JWT HS256 secret must not be the public key");
  }
  BioPtr bio = MemoryBio(*settings_.public_key_pem);
  // Reads only "PUBLIC KEY" (SubjectPublicKeyInfo) blocks: a private key or a certificate is
  // refused rather than quietly accepted.
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, RefusePassphrase, nullptr));
  ERR_clear_error();
  if (!key) throw std::invalid_argument("the JWT public key is not a PEM public key");
  KeyKind kind = ClassifyKey(key.get());
  if (kind == KeyKind::kUnsupported) {
    throw std::invalid_argument("the JWT public key is neither RSA nor EC P-256");
  }
  if (kind == KeyKind::kRsa && EVP_PKEY_get_bits(key.get()) < kMinRsaKeyBits) {
    throw std::invalid_argument("the JWT RSA public key is shorter than 2048 bits");
  }
  keys_->public_key = key.release();
  keys_->public_key_kind = kind;
}

JwtVerifier::~JwtVerifier() = default;

std::optional<AuthFailure> JwtVerifier::CheckTimes(double expires_at,
                                                   std::optional<double> not_before) const {
  using SecondsAsDouble = std::chrono::duration<double>;
  const double now = SecondsAsDouble(clock_.Now().time_since_epoch()).count();
  const double leeway = SecondsAsDouble(settings_.not_before_leeway).count();
  if (now >= expires_at) return AuthFailure::kExpired;
  if (not_before && now + leeway < *not_before) return AuthFailure::kNotYetValid;
  return std::nullopt;
}

std::variant<Principal, AuthFailure> JwtVerifier::Verify(std::string_view token) const {
  if (std::optional<VerifiedToken> verified = verified_->Find(token)) {
    if (std::optional<AuthFailure> failure =
            CheckTimes(verified->expires_at, verified->not_before)) {
      return *failure;
    }
    return std::move(verified->principal);
  }
  return VerifyFully(token);
}

std::variant<Principal, AuthFailure> JwtVerifier::VerifyFully(std::string_view token) const {
  // ---- structure: three base64url parts, header and payload JSON objects ----
  if (token.empty() || token.size() > kMaxTokenBytes) return AuthFailure::kMalformed;
  std::size_t first_dot = token.find('.');
  std::size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return AuthFailure::kMalformed;
  }
  std::string_view signing_input = token.substr(0, second_dot);
  auto header = DecodeJsonObject(token.substr(0, first_dot));
  auto claims = DecodeJsonObject(token.substr(first_dot + 1, second_dot - first_dot - 1));
  auto signature = Base64UrlDecode(token.substr(second_dot + 1));
  if (!header || !claims || !signature) return AuthFailure::kMalformed;
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || !HeaderIsAcceptable(*header)) {
    return AuthFailure::kMalformed;
  }

  // ---- signature: the algorithm must be one the configuration enables, and for its key type ----
  // "alg" is case-sensitive (RFC 7515 §4.1.1), so "none", "None", "hs256" all end up refused.
  const std::string& algorithm = alg->get_ref<const std::string&>();
  if (algorithm == "HS256") {
    if (!keys_->hs256) return AuthFailure::kAlgorithmNotAllowed;
    if (!ConstantTimeEquals(keys_->hs256->Sign(signing_input), *signature)) {
      return AuthFailure::kBadSignature;
    }
  } else if (algorithm == "RS256") {
    if (keys_->public_key_kind != KeyKind::kRsa) return AuthFailure::kAlgorithmNotAllowed;
    if (!VerifySha256Signature(keys_->public_key, KeyKind::kRsa, signing_input, *signature)) {
      return AuthFailure::kBadSignature;
    }
  } else if (algorithm == "ES256") {
    if (keys_->public_key_kind != KeyKind::kP256) return AuthFailure::kAlgorithmNotAllowed;
    // JWS uses fixed-width r||s, never DER; any other length is not an ES256 signature.
    if (signature->size() != 2 * kP256ScalarBytes) return AuthFailure::kBadSignature;
    auto der = RawEcdsaToDer(*signature);
    if (!der || !VerifySha256Signature(keys_->public_key, KeyKind::kP256, signing_input, *der)) {
      return AuthFailure::kBadSignature;
    }
  } else {
    return AuthFailure::kAlgorithmNotAllowed;
  }

  // ---- claims: only now are they the issuer's word ----
  auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number()) return AuthFailure::kExpired;
  const double expires_at = exp->get<double>();
  if (std::optional<AuthFailure> failure = CheckTimes(expires_at, std::nullopt)) return *failure;
  auto nbf = claims->find("nbf");
  if (nbf != claims->end() && !nbf->is_number()) return AuthFailure::kNotYetValid;
  const std::optional<double> not_before =
      nbf != claims->end() ? std::optional<double>(nbf->get<double>()) : std::nullopt;
  if (std::optional<AuthFailure> failure = CheckTimes(expires_at, not_before)) return *failure;
  if (settings_.issuer) {
    auto iss = claims->find("iss");
    if (iss == claims->end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != *settings_.issuer) {
      return AuthFailure::kWrongIssuer;
    }
  }
  if (settings_.audience) {
    auto aud = claims->find("aud");
    if (aud == claims->end() || !AudienceMatches(*aud, *settings_.audience)) {
      return AuthFailure::kWrongAudience;
    }
  }
  const std::string* subject = NonEmptyString(*claims, "sub");
  const std::string* brand_id = NonEmptyString(*claims, "brand_id");
  if (!subject || !brand_id) return AuthFailure::kMissingClaims;
  Principal principal{.user_id = *subject, .brand_id = *brand_id, .scopes = {}};
  if (auto scope = claims->find("scope"); scope != claims->end()) {
    // A scope we cannot read is not silently treated as "no scopes".
    if (!scope->is_string()) return AuthFailure::kMissingClaims;
    principal.scopes = SplitScopes(scope->get_ref<const std::string&>());
  }
  verified_->Remember(token, VerifiedToken{principal, expires_at, not_before});
  return principal;
}

std::string MintHs256(std::string_view secret, const nlohmann::json& claims) {
  if (secret.empty()) throw std::invalid_argument("an HS256 token needs a non-empty secret");
  std::string signing_input = SigningInput({{"alg", "HS256"}, {"typ", "JWT"}}, claims);
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

std::string MintWithPrivateKey(std::string_view algorithm, std::string_view private_key_pem,
                               const nlohmann::json& claims) {
  KeyKind wanted_kind = algorithm == "RS256"   ? KeyKind::kRsa
                        : algorithm == "ES256" ? KeyKind::kP256
                                               : KeyKind::kUnsupported;
  if (wanted_kind == KeyKind::kUnsupported) {
    throw std::invalid_argument("only RS256 and ES256 tokens can be minted with a private key");
  }
  BioPtr bio = MemoryBio(private_key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  ERR_clear_error();
  if (!key) throw std::invalid_argument("not an unencrypted PEM private key");
  if (ClassifyKey(key.get()) != wanted_kind) {
    throw std::invalid_argument("the private key does not fit the algorithm");
  }
  std::string signing_input =
      SigningInput({{"alg", std::string(algorithm)}, {"typ", "JWT"}}, claims);
  std::string signature = SignSha256(key.get(), wanted_kind, signing_input);
  // OpenSSL signs ECDSA in DER; JWS wants the fixed-width r||s form.
  if (wanted_kind == KeyKind::kP256) signature = DerEcdsaToRaw(signature);
  return signing_input + "." + Base64UrlEncode(signature);
}

}  // namespace lab_orders::auth
