#include "lab_orders/common/client_tls.h"

#include <Poco/Net/SSLManager.h>

#include <mutex>

namespace lab_orders {

Poco::Net::Context::Ptr MakeClientTlsContext(const std::string& ca_file) {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file, Poco::Net::Context::VERIFY_STRICT, 9,
      ca_file.empty(), "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:@STRENGTH");
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  context->enableExtendedCertificateVerification(true);
  return context;
}

}  // namespace lab_orders
