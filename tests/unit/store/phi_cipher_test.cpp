#include "lab_orders/store/phi_cipher.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "lab_orders/common/encoding.h"

namespace lab_orders::store {
namespace {

const std::string kKey(32, 'k');
constexpr std::string_view kPlaintext = R"({"first_name":"Zelda","dob":"1980-02-29"})";
constexpr std::string_view kOrderId = "order-1";

TEST(PhiCipherTest, RoundTrips) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt(kPlaintext, kOrderId);
  EXPECT_EQ(cipher.Decrypt(sealed, kOrderId), kPlaintext);
}

TEST(PhiCipherTest, SealedFormIsVersionedBase64OfNonceCiphertextAndTag) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt(kPlaintext, kOrderId);
  ASSERT_TRUE(sealed.starts_with("v1:"));
  std::optional<std::string> raw = Base64Decode(sealed.substr(3));
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 12 + kPlaintext.size() + 16);
  EXPECT_EQ(sealed.find("Zelda"), std::string::npos);
}

TEST(PhiCipherTest, FreshNonceEachTimeSoSamePlaintextEncryptsDifferently) {
  PhiCipher cipher(kKey);
  std::string first = cipher.Encrypt(kPlaintext, kOrderId);
  std::string second = cipher.Encrypt(kPlaintext, kOrderId);
  EXPECT_NE(first, second);
  EXPECT_NE(Base64Decode(first.substr(3))->substr(0, 12),
            Base64Decode(second.substr(3))->substr(0, 12));
  EXPECT_EQ(cipher.Decrypt(first, kOrderId), kPlaintext);
  EXPECT_EQ(cipher.Decrypt(second, kOrderId), kPlaintext);
}

TEST(PhiCipherTest, TamperingWithAnyByteThrows) {
  PhiCipher cipher(kKey);
  std::string raw = *Base64Decode(cipher.Encrypt(kPlaintext, kOrderId).substr(3));
  // Nonce, ciphertext and tag: every byte is covered by authentication.
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string tampered = raw;
    tampered[i] = char(tampered[i] ^ 0x01);
    EXPECT_THROW(cipher.Decrypt("v1:" + Base64Encode(tampered), kOrderId), std::runtime_error)
        << "byte " << i;
  }
}

TEST(PhiCipherTest, TruncatedOrMalformedValuesThrow) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt(kPlaintext, kOrderId);
  std::string raw = *Base64Decode(sealed.substr(3));
  EXPECT_THROW(cipher.Decrypt("v1:" + Base64Encode(raw.substr(0, raw.size() - 1)), kOrderId),
               std::runtime_error);
  EXPECT_THROW(cipher.Decrypt("v1:" + Base64Encode(raw.substr(0, 27)), kOrderId),
               std::runtime_error);
  EXPECT_THROW(cipher.Decrypt("v2:" + sealed.substr(3), kOrderId), std::runtime_error);
  EXPECT_THROW(cipher.Decrypt(sealed.substr(3), kOrderId), std::runtime_error);
  EXPECT_THROW(cipher.Decrypt("v1:not base64!", kOrderId), std::runtime_error);
  EXPECT_THROW(cipher.Decrypt("", kOrderId), std::runtime_error);
}

TEST(PhiCipherTest, WrongAssociatedDataThrows) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt(kPlaintext, kOrderId);
  EXPECT_THROW(cipher.Decrypt(sealed, "order-2"), std::runtime_error);
  EXPECT_THROW(cipher.Decrypt(sealed, ""), std::runtime_error);
}

TEST(PhiCipherTest, WrongKeyThrows) {
  std::string sealed = PhiCipher(kKey).Encrypt(kPlaintext, kOrderId);
  EXPECT_THROW(PhiCipher(std::string(32, 'x')).Decrypt(sealed, kOrderId), std::runtime_error);
}

TEST(PhiCipherTest, FailureMessagesCarryNoPlaintextOrKey) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt(kPlaintext, kOrderId);
  try {
    cipher.Decrypt(sealed, "order-2");
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    EXPECT_EQ(message.find("Zelda"), std::string::npos);
    EXPECT_EQ(message.find(kKey), std::string::npos);
  }
}

TEST(PhiCipherTest, KeyMustBe32Bytes) {
  EXPECT_THROW(PhiCipher(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(PhiCipher(std::string(33, 'k')), std::invalid_argument);
  EXPECT_THROW(PhiCipher(std::string()), std::invalid_argument);
  EXPECT_NO_THROW(PhiCipher(std::string(32, '\0')));
}

TEST(PhiCipherTest, FromBase64AcceptsThirtyTwoBytes) {
  std::string key = RandomBytes(32);
  PhiCipher from_base64 = PhiCipher::FromBase64(Base64Encode(key));
  EXPECT_EQ(PhiCipher(key).Decrypt(from_base64.Encrypt(kPlaintext, kOrderId), kOrderId),
            kPlaintext);
  // As read from a file or a secret manager, with its newline.
  EXPECT_NO_THROW(PhiCipher::FromBase64(Base64Encode(key) + "\n"));
}

TEST(PhiCipherTest, FromBase64RejectsBadInput) {
  EXPECT_THROW(PhiCipher::FromBase64("not base64!"), std::invalid_argument);
  EXPECT_THROW(PhiCipher::FromBase64(""), std::invalid_argument);
  EXPECT_THROW(PhiCipher::FromBase64(Base64Encode(std::string(16, 'k'))), std::invalid_argument);
  EXPECT_THROW(PhiCipher::FromBase64(Base64Encode(std::string(48, 'k'))), std::invalid_argument);
}

TEST(PhiCipherTest, EmptyPlaintextRoundTripsAndIsStillAuthenticated) {
  PhiCipher cipher(kKey);
  std::string sealed = cipher.Encrypt("", kOrderId);
  EXPECT_EQ(Base64Decode(sealed.substr(3))->size(), 12u + 16u);
  EXPECT_EQ(cipher.Decrypt(sealed, kOrderId), "");
  EXPECT_THROW(cipher.Decrypt(sealed, "order-2"), std::runtime_error);
}

TEST(PhiCipherTest, EmptyAssociatedDataWorks) {
  PhiCipher cipher(kKey);
  EXPECT_EQ(cipher.Decrypt(cipher.Encrypt(kPlaintext, ""), ""), kPlaintext);
}

TEST(PhiCipherTest, BinaryPlaintextRoundTrips) {
  PhiCipher cipher(kKey);
  std::string binary = RandomBytes(1000) + std::string(3, '\0');
  EXPECT_EQ(cipher.Decrypt(cipher.Encrypt(binary, kOrderId), kOrderId), binary);
}

}  // namespace
}  // namespace lab_orders::store
