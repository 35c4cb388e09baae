#include "lab_orders/common/listen.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>

#include <cerrno>
#include <stdexcept>

namespace lab_orders {

void ListenExclusively(Poco::Net::ServerSocket& socket, const std::string& host,
                       unsigned short port, int backlog) {
  const std::string where = host + ":" + std::to_string(port);
  try {
    socket.bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true,
                /*reusePort=*/false);
    socket.listen(backlog);
  } catch (const Poco::Exception& e) {
    const bool in_use =
        e.code() == EADDRINUSE || e.displayText().find("already in use") != std::string::npos;
    throw std::runtime_error("cannot listen on " + where + ": " +
                             (in_use ? std::string("the address is already in use (is another "
                                                   "server running on this port?)")
                                     : e.displayText()));
  }
}

}  // namespace lab_orders
