#pragma once

// Reading Junction's JSON field by field, for the decoders. Each throws MalformedJunctionJson
// naming the field, never its value.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "codec.h"

namespace lab_orders::junction {

using nlohmann::json;

inline const json& Field(const json& object, const char* key) {
  if (!object.is_object())
    throw MalformedJunctionJson(std::string("expected an object around ") + key);
  auto it = object.find(key);
  if (it == object.end()) throw MalformedJunctionJson(std::string("missing field ") + key);
  return *it;
}

inline std::string String(const json& object, const char* key) {
  const json& value = Field(object, key);
  if (!value.is_string())
    throw MalformedJunctionJson(std::string("field ") + key + " is not a string");
  return value.get<std::string>();
}

inline std::optional<std::string> OptionalString(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw MalformedJunctionJson(std::string("field ") + key + " is not a string");
  return it->get<std::string>();
}

inline bool Bool(const json& object, const char* key, std::optional<bool> fallback = std::nullopt) {
  auto it = object.find(key);
  if (it == object.end() && fallback) return *fallback;
  const json& value = Field(object, key);
  if (!value.is_boolean())
    throw MalformedJunctionJson(std::string("field ") + key + " is not a boolean");
  return value.get<bool>();
}

inline const json& Array(const json& value, const char* what) {
  if (!value.is_array()) throw MalformedJunctionJson(std::string(what) + " is not an array");
  return value;
}

}  // namespace lab_orders::junction
