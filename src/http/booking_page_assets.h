#pragma once

// The booking page's own style sheet, script and icon (GET /book/assets/...): compiled in, served
// from where they lie. Internal to the http floor.

#include <string_view>

namespace lab_orders::http::booking_page {

// The Content-Security-Policy of every booking page: the service's own script, style sheet and
// icon, requests to itself, forms posted to itself, never framed.
inline constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct Asset {
  std::string_view body;
  const char* content_type;
};

// The asset named file ("page.css", "page.js", "icon.svg"), or one with an empty body.
Asset AssetNamed(std::string_view file);

}  // namespace lab_orders::http::booking_page
