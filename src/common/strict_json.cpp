#include "lab_orders/common/strict_json.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "lab_orders/common/json_depth.h"
#include "lab_orders/common/schema_validator.h"

namespace lab_orders {
namespace {

using json = nlohmann::json;

// Where the parser is: one frame per open object or array.
struct Frame {
  bool object = false;
  std::unordered_set<std::string> names;  // an object's members so far
  std::string name;                       // the member being read
  long long index = -1;                   // an array's element being read
};

struct Repeated {
  std::string pointer;
};

// Reads the pointer to `name` in the innermost object.
std::string PointerTo(const std::vector<Frame>& frames, const std::string& name) {
  std::string pointer;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    pointer += "/";
    pointer += frames[i].object ? PointerToken(frames[i].name) : std::to_string(frames[i].index);
  }
  return pointer + "/" + PointerToken(name);
}

}  // namespace

std::variant<json, TooDeep, MalformedJson, RepeatedMember> ParseStrictJson(std::string_view text,
                                                                           int max_depth) {
  // A scan that neither parses nor recurses refuses deep input before anything else touches it.
  if (JsonNestingDepth(text) > max_depth) return TooDeep{};
  std::vector<Frame> frames;
  auto on_element = [&frames] {
    if (!frames.empty() && !frames.back().object) ++frames.back().index;
  };
  json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        on_element();
        frames.push_back(Frame{true, {}, {}, -1});
        break;
      case json::parse_event_t::array_start:
        on_element();
        frames.push_back(Frame{false, {}, {}, -1});
        break;
      case json::parse_event_t::key: {
        Frame& object = frames.back();
        std::string name = parsed.get<std::string>();
        if (!object.names.insert(name).second) throw Repeated{PointerTo(frames, name)};
        object.name = std::move(name);
        break;
      }
      case json::parse_event_t::value:
        on_element();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        break;
    }
    return true;
  };
  try {
    json value = json::parse(text, track, /*allow_exceptions=*/false);
    if (value.is_discarded()) return MalformedJson{};
    return value;
  } catch (const Repeated& repeated) {
    return RepeatedMember{repeated.pointer};
  }
}

}  // namespace lab_orders
