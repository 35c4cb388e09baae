#pragma once

// Claiming a listening port for a server, and only if no other process has it.

#include <Poco/Net/ServerSocket.h>

#include <string>

namespace lab_orders {

// Binds socket to host:port and puts it in listening state. SO_REUSEADDR is set (a restart is
// not refused because of the last run's connections in TIME_WAIT) but never SO_REUSEPORT, which
// POCO's ServerSocket(address) also sets: with it a second server started on a busy port says it
// is listening and silently shares the port (and the first one's traffic). Throws
// std::runtime_error naming the address when the port is taken or the address is not usable.
void ListenExclusively(Poco::Net::ServerSocket& socket, const std::string& host,
                       unsigned short port, int backlog);

}  // namespace lab_orders
