#include <nlohmann/json.hpp>

#include "lab_orders/store/action_key_store.h"

namespace lab_orders::store {

std::optional<std::string> SavedField(const ActionCheckpoint* key, const char* name) {
  if (key == nullptr || !key->saved) return std::nullopt;
  const nlohmann::json saved = nlohmann::json::parse(*key->saved);
  auto field = saved.find(name);
  if (field == saved.end() || !field->is_string()) return std::nullopt;
  return field->get<std::string>();
}

}  // namespace lab_orders::store
