#pragma once

// The simulated Quest's patient service centers near any ZIP: three sites, the first two taking
// bookings through Junction, the third only the lab's own. Their site codes name the ZIP
// ("Q" + ZIP + A, B or C), so a code alone finds its site. Private to src/sim/.

#include <optional>
#include <string>

namespace lab_orders::sim {

struct SiteTemplate {
  const char* suffix;  // of the site code, after the ZIP
  const char* name;
  const char* street;
  int distance_miles;
  bool books_through_junction;
};

inline constexpr SiteTemplate kSites[] = {
    {"A", "Quest Diagnostics - Central", "1120 North Central Avenue", 2, true},
    {"B", "Quest Diagnostics - Medical Plaza", "4400 East Medical Plaza Drive", 6, true},
    {"C", "Quest Diagnostics - Westside", "9000 West Indian School Road", 14, false},
};

inline constexpr const char* kSiteCity = "Service City";
inline constexpr const char* kSiteState = "AZ";

inline std::string SiteCode(const std::string& zip_code, const SiteTemplate& site) {
  return "Q" + zip_code + site.suffix;
}

// The site a code names, and its ZIP; nullopt for a code no site has.
struct SiteRef {
  const SiteTemplate* site;
  std::string zip_code;
};
inline std::optional<SiteRef> SiteOfCode(const std::string& code) {
  if (code.size() != 7 || code[0] != 'Q') return std::nullopt;
  const std::string zip_code = code.substr(1, 5);
  if (zip_code.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  for (const SiteTemplate& site : kSites) {
    if (code.substr(6) == site.suffix) return SiteRef{&site, zip_code};
  }
  return std::nullopt;
}

// The site's longitude: each a little west of the last.
inline double SiteLongitude(const SiteTemplate& site) {
  return -112.07 - site.distance_miles / 100.0;
}
inline constexpr double kSiteLatitude = 33.45;

}  // namespace lab_orders::sim
