#pragma once

// Freshly generated signing keys as PEM text, the way an operator's key files hold them (for the
// RS256/ES256 tests and benchmarks). Header-only: the benchmarks use it without the test library.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace lab_orders::testing {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

inline std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// Takes ownership of key.
inline KeyPair ToPems(EVP_PKEY* key) {
  if (!key) throw std::runtime_error("key generation failed");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(key, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> private_bio(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> public_bio(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PrivateKey(private_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_PUBKEY(public_bio.get(), key) != 1) {
    throw std::runtime_error("writing PEM failed");
  }
  return {DrainBio(private_bio.get()), DrainBio(public_bio.get())};
}

inline KeyPair GenerateRsa(std::size_t bits) {
  return ToPems(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

inline KeyPair GenerateEc(const char* curve) {
  return ToPems(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

}  // namespace lab_orders::testing
