#include "support/tls_certificates.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace lab_orders::testing {
namespace {

namespace fs = std::filesystem;

void Run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

}  // namespace

TlsCertificates::TlsCertificates() {
  static std::atomic<int> counter{0};
  dir_ = fs::temp_directory_path() /
         ("lab-orders-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(dir_);
  MakeAuthority("trusted-ca");
  MakeAuthority("other-ca");
  MakeServer("good", "trusted-ca", "DNS:localhost,IP:127.0.0.1");
  MakeServer("wrong-name", "trusted-ca", "DNS:wrong.example");
  MakeServer("untrusted", "other-ca", "DNS:localhost,IP:127.0.0.1");
}

TlsCertificates::~TlsCertificates() { fs::remove_all(dir_); }

void TlsCertificates::MakeAuthority(const std::string& name) {
  Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj '/CN=" +
      name + "' -keyout " + Path(name + ".key") + " -out " + Path(name + ".pem"));
}

void TlsCertificates::MakeServer(const std::string& name, const std::string& authority,
                                 const std::string& alt_names) {
  std::ofstream(Path(name + ".ext")) << "subjectAltName=" << alt_names << "\n";
  Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" + name +
      "' -keyout " + Path(name + ".key") + " -out " + Path(name + ".csr"));
  Run("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " + Path(authority + ".pem") +
      " -CAkey " + Path(authority + ".key") + " -CAcreateserial -extfile " + Path(name + ".ext") +
      " -out " + Path(name + ".pem"));
}

}  // namespace lab_orders::testing
