#include "lab_orders/common/encoding.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace lab_orders {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                 (unsigned char)bytes[i + 2];
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    unsigned n = (unsigned char)bytes[i] << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    unsigned n = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  // Every sealed value is read through here (a replayed answer, the patient's data): a table and
  // a buffer of the final size, with padding allowed only at the end of the last group.
  static constexpr std::array<std::int8_t, 256> kValues = [] {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    for (int i = 0; i < 64; ++i) values[static_cast<unsigned char>(kAlphabet[i])] = i;
    return values;
  }();
  auto value = [&](char c) { return static_cast<int>(kValues[static_cast<unsigned char>(c)]); };
  const std::size_t padding = text.back() != '=' ? 0 : text[text.size() - 2] == '=' ? 2 : 1;
  std::string out(text.size() / 4 * 3 - padding, '\0');
  std::size_t at = 0;
  const std::size_t last = text.size() - 4;
  for (std::size_t i = 0; i < last; i += 4) {
    const int a = value(text[i]), b = value(text[i + 1]), c = value(text[i + 2]),
              d = value(text[i + 3]);
    if ((a | b | c | d) < 0) return std::nullopt;
    const unsigned n = unsigned(a) << 18 | unsigned(b) << 12 | unsigned(c) << 6 | unsigned(d);
    out[at++] = char(n >> 16);
    out[at++] = char((n >> 8) & 0xFF);
    out[at++] = char(n & 0xFF);
  }
  const int a = value(text[last]), b = value(text[last + 1]);
  const int c = padding == 2 ? 0 : value(text[last + 2]);
  const int d = padding >= 1 ? 0 : value(text[last + 3]);
  if ((a | b | c | d) < 0) return std::nullopt;
  const unsigned n = unsigned(a) << 18 | unsigned(b) << 12 | unsigned(c) << 6 | unsigned(d);
  out[at++] = char(n >> 16);
  if (padding < 2) out[at++] = char((n >> 8) & 0xFF);
  if (padding < 1) out[at++] = char(n & 0xFF);
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // One leftover character would carry only 6 bits: never a whole byte.
  if (text.size() % 4 == 1) return std::nullopt;
  // Decoded in place, since every bearer token goes through here three times: the standard
  // alphabet's own characters ('+', '/') and padding are not base64url and decode to -1.
  auto value = [](char c) {
    if (c == '-') return 62;
    if (c == '_') return 63;
    return c == '+' || c == '/' ? -1 : DecodeChar(c);
  };
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  unsigned bits = 0;
  int pending = 0;  // bits held in `bits`
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6 | unsigned(v)) & 0xFFFFFF;
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out += char((bits >> pending) & 0xFF);
    }
  }
  // The last character's unused low bits must be zero: otherwise a flipped trailing bit would
  // be a second spelling of the same bytes (of the same signature, say).
  if ((bits & ((1u << pending) - 1)) != 0) return std::nullopt;
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

const EVP_MD* Sha256Algorithm() {
  static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

const EVP_CIPHER* Aes256GcmAlgorithm() {
  static const EVP_CIPHER* const fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return fetched != nullptr ? fetched : EVP_aes_256_gcm();
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(Sha256Algorithm(), key.data(), int(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
            &length)) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

struct HmacSha256Key::Keyed {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* keyed = nullptr;  // never updated: each Sign() works on a copy
  ~Keyed() {
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
  }
};

HmacSha256Key::HmacSha256Key(std::string_view key) : keyed_(std::make_unique<Keyed>()) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  keyed_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  keyed_->keyed = keyed_->mac ? EVP_MAC_CTX_new(keyed_->mac) : nullptr;
  if (!keyed_->keyed ||
      EVP_MAC_init(keyed_->keyed, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    throw std::runtime_error("HMAC-SHA256 key setup failed");
  }
}

HmacSha256Key::~HmacSha256Key() = default;

std::string HmacSha256Key::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MAC_CTX, void (*)(EVP_MAC_CTX*)> ctx(EVP_MAC_CTX_dup(keyed_->keyed),
                                                           EVP_MAC_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), digest, &length, sizeof digest) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::string Sha256(std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(message.data(), message.size(), digest, &length, Sha256Algorithm(), nullptr)) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomBytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(count)) != 1) {
    throw std::runtime_error("the system random generator failed");
  }
  return out;
}

}  // namespace lab_orders
