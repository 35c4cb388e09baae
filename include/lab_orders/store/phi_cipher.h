#pragma once

#include <string>
#include <string_view>

namespace lab_orders::store {

// AES-256-GCM for patient data at rest. Each value gets a fresh 12-byte nonce; the output is
// "v1:" + base64(nonce || ciphertext || 16-byte tag). The associated data binds a value to its row
// (e.g. the order id), so a ciphertext copied onto another row does not decrypt.
class PhiCipher {
 public:
  // key: 32 raw bytes. Throws std::invalid_argument otherwise.
  explicit PhiCipher(std::string key);
  // From LAB_ORDERS_PHI_KEY's form: base64 of 32 bytes.
  static PhiCipher FromBase64(std::string_view base64_key);

  std::string Encrypt(std::string_view plaintext, std::string_view associated_data) const;
  // Throws std::runtime_error when the value was tampered with or the key is wrong.
  std::string Decrypt(std::string_view sealed, std::string_view associated_data) const;

 private:
  std::string key_;
};

}  // namespace lab_orders::store
