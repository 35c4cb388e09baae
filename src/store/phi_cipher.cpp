#include "lab_orders/store/phi_cipher.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "lab_orders/common/encoding.h"

namespace lab_orders::store {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;  // the GCM standard nonce: no extra GHASH pass
constexpr std::size_t kTagBytes = 16;    // the full tag: truncated tags weaken forgery bounds
constexpr std::string_view kVersionPrefix = "v1:";

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext NewContext() {
  CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!context) throw std::runtime_error("PHI cipher: out of memory");
  return context;
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

unsigned char* MutableBytes(std::string& text) {
  return reinterpret_cast<unsigned char*>(text.data());
}

// OpenSSL's update functions take int lengths.
int CheckedLength(std::size_t size) {
  if (size > static_cast<std::size_t>(INT_MAX) - kTagBytes) {
    throw std::invalid_argument("PHI cipher: value too large");
  }
  return static_cast<int>(size);
}

std::string_view TrimAsciiWhitespace(std::string_view text) {
  constexpr std::string_view kWhitespace = " \t\r\n";
  std::size_t begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(kWhitespace);
  return text.substr(begin, end - begin + 1);
}

}  // namespace

PhiCipher::PhiCipher(std::string key) : key_(std::move(key)) {
  if (key_.size() != kKeyBytes) {
    // The length only: never the key.
    throw std::invalid_argument("PHI key must be 32 bytes");
  }
}

PhiCipher PhiCipher::FromBase64(std::string_view base64_key) {
  // Keys read from files or secret managers often carry a trailing newline.
  std::optional<std::string> key = Base64Decode(TrimAsciiWhitespace(base64_key));
  if (!key) throw std::invalid_argument("PHI key is not valid base64");
  return PhiCipher(std::move(*key));
}

std::string PhiCipher::Encrypt(std::string_view plaintext, std::string_view associated_data) const {
  const int plaintext_length = CheckedLength(plaintext.size());
  const int associated_length = CheckedLength(associated_data.size());
  // A random nonce per value: with 96 bits, a collision under one key stays negligible far beyond
  // the number of orders this service will ever write.
  const std::string nonce = RandomBytes(kNonceBytes);

  CipherContext context = NewContext();
  if (EVP_EncryptInit_ex(context.get(), Aes256GcmAlgorithm(), nullptr, Bytes(key_), Bytes(nonce)) !=
      1) {
    throw std::runtime_error("PHI cipher: encrypt init failed");
  }
  int written = 0;
  if (EVP_EncryptUpdate(context.get(), nullptr, &written, Bytes(associated_data),
                        associated_length) != 1) {
    throw std::runtime_error("PHI cipher: associated data rejected");
  }

  // nonce || ciphertext || tag, laid out in one buffer.
  std::string sealed(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  sealed.replace(0, kNonceBytes, nonce);
  unsigned char* ciphertext = MutableBytes(sealed) + kNonceBytes;
  if (EVP_EncryptUpdate(context.get(), ciphertext, &written, Bytes(plaintext), plaintext_length) !=
      1) {
    throw std::runtime_error("PHI cipher: encrypt failed");
  }
  int final_written = 0;
  if (EVP_EncryptFinal_ex(context.get(), ciphertext + written, &final_written) != 1) {
    throw std::runtime_error("PHI cipher: encrypt final failed");
  }
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          ciphertext + plaintext.size()) != 1) {
    throw std::runtime_error("PHI cipher: tag failed");
  }
  return std::string(kVersionPrefix) + Base64Encode(sealed);
}

std::string PhiCipher::Decrypt(std::string_view sealed_text,
                               std::string_view associated_data) const {
  // One message for every failure: which check failed is no business of a caller or a log.
  const std::runtime_error undecryptable("PHI value does not decrypt (tampered or wrong key)");

  if (!sealed_text.starts_with(kVersionPrefix)) throw undecryptable;
  std::optional<std::string> sealed = Base64Decode(sealed_text.substr(kVersionPrefix.size()));
  if (!sealed || sealed->size() < kNonceBytes + kTagBytes) throw undecryptable;

  const std::size_t ciphertext_size = sealed->size() - kNonceBytes - kTagBytes;
  const int ciphertext_length = CheckedLength(ciphertext_size);
  const int associated_length = CheckedLength(associated_data.size());
  const unsigned char* nonce = Bytes(*sealed);
  const unsigned char* ciphertext = nonce + kNonceBytes;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; it only reads it.
  unsigned char* tag = MutableBytes(*sealed) + kNonceBytes + ciphertext_size;

  CipherContext context = NewContext();
  if (EVP_DecryptInit_ex(context.get(), Aes256GcmAlgorithm(), nullptr, Bytes(key_), nonce) != 1) {
    throw std::runtime_error("PHI cipher: decrypt init failed");
  }
  int written = 0;
  if (EVP_DecryptUpdate(context.get(), nullptr, &written, Bytes(associated_data),
                        associated_length) != 1) {
    throw undecryptable;
  }
  std::string plaintext(ciphertext_size, '\0');
  if (EVP_DecryptUpdate(context.get(), MutableBytes(plaintext), &written, ciphertext,
                        ciphertext_length) != 1) {
    throw undecryptable;
  }
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) {
    throw undecryptable;
  }
  int final_written = 0;
  // The tag is checked here; until it passes, the plaintext buffer must not be used.
  if (EVP_DecryptFinal_ex(context.get(), MutableBytes(plaintext) + written, &final_written) != 1) {
    throw undecryptable;
  }
  return plaintext;
}

}  // namespace lab_orders::store
