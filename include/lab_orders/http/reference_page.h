#pragma once

// docs/reference.html, compiled in: the API reference page GET /docs serves, built from
// schemas/openapi.json with the pinned Redocly tool (scripts/check-openapi.sh keeps it in step).

namespace lab_orders::http {

// The page as committed, byte for byte: one HTML file that loads nothing from elsewhere.
const char* ReferencePageText();

// What the page may load: its own inline script and styles, inline images, and the worker Redoc
// starts for search from a blob. Nothing from any origin, its own included.
inline constexpr const char* kReferencePagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; worker-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace lab_orders::http
