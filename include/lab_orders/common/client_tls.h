#pragma once

// The TLS settings of every outgoing HTTPS connection (Junction, the simulator's webhooks, the
// webhooks to brands), made in one place so they cannot drift apart.

#include <Poco/Net/Context.h>

#include <string>

namespace lab_orders {

// A client context that verifies the peer's chain against ca_file (empty: the system's
// certificate authorities) and its host name (VERIFY_STRICT with extended verification, which
// POCO's VERIFY_RELAXED would skip for loopback), with TLS 1.2 at least and strong ciphers only.
// Initialises POCO's SSL library on first use.
Poco::Net::Context::Ptr MakeClientTlsContext(const std::string& ca_file = "");

}  // namespace lab_orders
