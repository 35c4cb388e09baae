#pragma once

namespace lab_orders::sim {

// Junction's OpenAPI subset (schemas/junction-openapi.json), compiled in at build time.
const char* JunctionSpecText();

}  // namespace lab_orders::sim
