#pragma once

#include <filesystem>
#include <string>

namespace lab_orders::testing {

// Made with openssl in a temporary folder, removed with this: two certificate authorities
// ("trusted-ca", "other-ca") and server certificates with their keys: "good" (signed by
// trusted-ca for localhost and 127.0.0.1), "wrong-name" (trusted-ca, for wrong.example) and
// "untrusted" (other-ca, for localhost and 127.0.0.1). Path("good.pem"), Path("good.key"), ...
class TlsCertificates {
 public:
  TlsCertificates();
  ~TlsCertificates();
  TlsCertificates(const TlsCertificates&) = delete;
  TlsCertificates& operator=(const TlsCertificates&) = delete;

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  void MakeAuthority(const std::string& name);
  void MakeServer(const std::string& name, const std::string& authority,
                  const std::string& alt_names);

  std::filesystem::path dir_;
};

}  // namespace lab_orders::testing
