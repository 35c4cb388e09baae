#pragma once

#include <map>
#include <string>
#include <vector>

namespace lab_orders::orders {

// panel_slug -> the Junction lab test ids ordered for it.
using PanelCatalog = std::map<std::string, std::vector<std::string>>;

// Reads config/panels.json ({"panels": {"pcos": ["<lab test id>", ...], ...}}). Every slug in
// required_slugs must be mapped to at least one id: throws ConfigError naming the first that is
// not.
PanelCatalog LoadPanels(const std::string& path, const std::vector<std::string>& required_slugs);

}  // namespace lab_orders::orders
