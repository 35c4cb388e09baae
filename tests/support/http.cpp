#include "support/http.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>

#include <memory>
#include <mutex>

namespace lab_orders::testing {

HttpReply HttpCall(unsigned short port, const std::string& method, const std::string& path,
                   const std::string& body, const std::map<std::string, std::string>& headers,
                   bool secure) {
  std::unique_ptr<Poco::Net::HTTPClientSession> owned;
  if (secure) {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
    // Test plumbing only: the simulator's admin surface, not the client under test.
    static Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_NONE);
    owned = std::make_unique<Poco::Net::HTTPSClientSession>("127.0.0.1", port, context);
  } else {
    owned = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port);
  }
  Poco::Net::HTTPClientSession& session = *owned;
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "POST" || method == "PATCH") {
    if (!request.has("Content-Type")) request.setContentType("application/json");
    request.setContentLength(std::streamsize(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = response.getStatus();
  for (const auto& [name, value] : response) reply.headers[name] = value;
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

}  // namespace lab_orders::testing
