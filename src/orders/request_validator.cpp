#include "lab_orders/orders/request_validator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lab_orders::orders {
namespace {

using nlohmann::json;

// Junction's PatientDetailsWithValidation: first_name and last_name are 1..50 characters.
constexpr std::size_t kLabNameMaxLength = 50;
constexpr std::size_t kMetadataKeyMaxLength = 40;  // as the Metadata description says
// RFC 5321's limit on a forward path; longer addresses cannot be delivered anyway.
constexpr std::size_t kEmailMaxLength = 254;
// Junction's at-home draws are for adults only (docs/junction.md: Endpoints).
constexpr int kMinimumPatientAge = 18;
constexpr int kMaximumPatientAge = 120;

// ---- UTF-8 ------------------------------------------------------------------------------------

constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point at *pos and moves past it. A malformed sequence (stray continuation
// byte, truncation, overlong form, surrogate, beyond U+10FFFF) yields kInvalidCodePoint and moves
// one byte, so a caller can drop it and resynchronise.
char32_t DecodeUtf8(std::string_view text, std::size_t* pos) {
  const auto lead = static_cast<unsigned char>(text[*pos]);
  int continuation_bytes;
  char32_t code_point;
  char32_t smallest;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    continuation_bytes = 1, code_point = lead & 0x1F, smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    continuation_bytes = 2, code_point = lead & 0x0F, smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    continuation_bytes = 3, code_point = lead & 0x07, smallest = 0x10000;
  } else {
    ++*pos;
    return kInvalidCodePoint;
  }
  if (text.size() - *pos <= static_cast<std::size_t>(continuation_bytes)) {
    ++*pos;
    return kInvalidCodePoint;
  }
  for (int i = 1; i <= continuation_bytes; ++i) {
    const auto byte = static_cast<unsigned char>(text[*pos + i]);
    if ((byte & 0xC0) != 0x80) {
      ++*pos;
      return kInvalidCodePoint;
    }
    code_point = (code_point << 6) | (byte & 0x3F);
  }
  if (code_point < smallest || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    ++*pos;
    return kInvalidCodePoint;
  }
  *pos += continuation_bytes + 1;
  return code_point;
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiLetter(char c) { return IsAsciiUpper(c) || (c >= 'a' && c <= 'z'); }
char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// ---- transliteration --------------------------------------------------------------------------

// U+00C0..U+00FF. × and ÷ are not letters and are dropped.
constexpr std::array<std::string_view, 64> kLatin1Letters = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",   // C0
    "D", "N", "O", "O", "O", "O", "O",  "",  "O", "U", "U", "U", "U", "Y", "TH", "ss",  // D0
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // E0
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // F0
};

// U+0100..U+017F: Polish, Czech, Slovak, Hungarian, Baltic, Turkish, Maltese, Croatian letters.
constexpr std::array<std::string_view, 128> kLatinExtendedALetters = {
    "A", "a", "A",  "a",  "A", "a", "C", "c", "C", "c", "C", "c", "C", "c", "D", "d",  // 0100
    "D", "d", "E",  "e",  "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G", "g",  // 0110
    "G", "g", "G",  "g",  "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i",  // 0120
    "I", "i", "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L",  // 0130
    "l", "L", "l",  "N",  "n", "N", "n", "N", "n", "n", "N", "n", "O", "o", "O", "o",  // 0140
    "O", "o", "OE", "oe", "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s",  // 0150
    "S", "s", "T",  "t",  "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u",  // 0160
    "U", "u", "U",  "u",  "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z", "z", "s",  // 0170
};

// What one code point becomes in a name the lab can print: itself for ASCII letters, digits and
// -.,', " " for any space (collapsed later), a Latin letter without its accent, and nothing for
// the rest (combining accents included, so a decomposed "José" comes out as "Jose" too).
std::string_view AsciiFor(char32_t code_point) {
  static constexpr std::string_view kAsciiKept =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.,'";
  if (code_point < 0x80) {
    const char c = static_cast<char>(code_point);
    if (const std::size_t kept = kAsciiKept.find(c); kept != std::string_view::npos) {
      return kAsciiKept.substr(kept, 1);
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return " ";
    if (c == '`') return "'";  // typed for an apostrophe: O`Brien
    return "";
  }
  if (code_point >= 0xC0 && code_point <= 0xFF) return kLatin1Letters[code_point - 0xC0];
  if (code_point >= 0x100 && code_point <= 0x17F) return kLatinExtendedALetters[code_point - 0x100];
  switch (code_point) {
    case 0xA0:    // no-break space
    case 0x202F:  // narrow no-break space
    case 0x3000:  // ideographic space
      return " ";
    case 0xB4:    // acute accent used as an apostrophe
    case 0x2BC:   // modifier letter apostrophe
    case 0x2018:  // left single quotation mark
    case 0x2019:  // right single quotation mark: D’Angelo
    case 0x201B:
    case 0x2032:  // prime
      return "'";
    case 0x218:  // Romanian Ș ș Ț ț (comma below)
      return "S";
    case 0x219:
      return "s";
    case 0x21A:
      return "T";
    case 0x21B:
      return "t";
    case 0x2212:  // minus sign
      return "-";
    default:
      break;
  }
  if (code_point >= 0x2000 && code_point <= 0x200A) return " ";  // en, em and other spaces
  if (code_point >= 0x2010 && code_point <= 0x2015) return "-";  // hyphens and dashes
  return "";
}

// ---- step 3: the lab's rules ------------------------------------------------------------------

// The 50 states and DC. Territories (PR, GU, VI, AS, MP) are left out: they have ISO country
// codes of their own while address.country must be "US", and Junction's at-home providers do not
// list them; adding one is adding it here.
constexpr std::array<std::string_view, 51> kUsStateCodes = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID",
    "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO",
    "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
};

std::optional<std::string> NormaliseStateCode(std::string_view state) {
  if (state.size() != 2 || !IsAsciiLetter(state[0]) || !IsAsciiLetter(state[1])) {
    return std::nullopt;
  }
  std::string upper{AsciiUpper(state[0]), AsciiUpper(state[1])};
  if (std::find(kUsStateCodes.begin(), kUsStateCodes.end(), upper) == kUsStateCodes.end()) {
    return std::nullopt;
  }
  return upper;
}

// ^\d{5}(-\d{4})?$ by hand: no std::regex on client input (the design notes).
bool IsUsZip(std::string_view zip) {
  if (zip.size() != 5 && zip.size() != 10) return false;
  for (std::size_t i = 0; i < zip.size(); ++i) {
    if (i == 5 ? zip[i] != '-' : !IsAsciiDigit(zip[i])) return false;
  }
  return true;
}

// A plausible address, not RFC 5322: what catches typos without refusing real addresses.
bool IsPlausibleEmail(std::string_view email) {
  if (email.empty() || email.size() > kEmailMaxLength) return false;
  for (char c : email) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) return false;  // spaces and control characters
  }
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view local = email.substr(0, at);
  const std::string_view domain = email.substr(at + 1);
  if (local.empty() || domain.find('.') == std::string_view::npos) return false;
  return domain.front() != '.' && domain.back() != '.' &&
         domain.find("..") == std::string_view::npos;
}

// A US number: 10 digits, optionally after +1 or 1, with spaces, dashes, dots and parentheses
// between them. Returns E.164 (+1XXXXXXXXXX). No NANP check on the digits: Junction's own
// examples use +11234567890.
std::optional<std::string> NormaliseUsPhone(std::string_view phone) {
  std::string digits;
  bool has_plus = false;
  for (char c : phone) {
    if (IsAsciiDigit(c)) {
      digits += c;
    } else if (c == '+' && !has_plus && digits.empty()) {
      has_plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  if (digits.size() == 11 && digits.front() == '1') {
    digits.erase(0, 1);
  } else if (has_plus || digits.size() != 10) {
    return std::nullopt;  // "+" must be followed by country code 1
  }
  return "+1" + digits;
}

bool IsCurrencyCode(std::string_view currency) {
  return currency.size() == 3 && std::all_of(currency.begin(), currency.end(), IsAsciiUpper);
}

// Why a date of birth is refused, or nothing. Age is counted in whole years on the clock's UTC
// date; someone born on 29 February turns a year older on 1 March in common years.
std::optional<std::string> DateOfBirthProblem(std::string_view dob,
                                              std::chrono::system_clock::time_point now) {
  const std::optional<std::chrono::year_month_day> born = ParseCalendarDate(std::string(dob));
  if (!born) return "must be a real date in YYYY-MM-DD form";
  const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
  if (std::chrono::sys_days{*born} > std::chrono::sys_days{today}) {
    return "must not be in the future";
  }
  auto month_and_day = [](const std::chrono::year_month_day& date) {
    return std::pair{static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day())};
  };
  int age = static_cast<int>(today.year()) - static_cast<int>(born->year());
  if (month_and_day(today) < month_and_day(*born)) --age;
  if (age < kMinimumPatientAge) return "is too recent: the patient must be 18 or older";
  // An older date is a typing slip (1800 for 1980), not a patient the lab will see.
  if (age > kMaximumPatientAge) return "is too long ago: the patient would be over 120";
  return std::nullopt;
}

// The lab rules run only where the schema found nothing, so each field gets one message.
class LabRuleCheck {
 public:
  LabRuleCheck(const json& body, std::vector<FieldViolation>* violations)
      : body_(body), violations_(violations), schema_violation_count_(violations->size()) {}

  // The value at /object_key/key (or /key when object_key is empty), when it is present and the
  // schema did not refuse it or anything above it.
  const json* Passed(std::string_view object_key, std::string_view key) const {
    const json* parent = &body_;
    std::string pointer;
    if (!object_key.empty()) {
      parent = Member(body_, object_key);
      pointer = "/" + PointerToken(object_key);
    }
    if (parent == nullptr || !parent->is_object()) return nullptr;
    pointer += "/" + PointerToken(key);
    for (std::size_t i = 0; i < schema_violation_count_; ++i) {
      if (IsAtOrUnder(pointer, (*violations_)[i].path)) return nullptr;
    }
    const json* value = Member(*parent, key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }

  // Whether the object at /object_key exists and the schema accepted the object itself.
  bool ObjectPassed(std::string_view object_key) const {
    const json* object = Member(body_, object_key);
    if (object == nullptr || !object->is_object()) return false;
    const std::string pointer = "/" + PointerToken(object_key);
    for (std::size_t i = 0; i < schema_violation_count_; ++i) {
      if ((*violations_)[i].path == pointer || (*violations_)[i].path.empty()) return false;
    }
    return true;
  }

  void Refuse(std::string pointer, std::string message) {
    violations_->push_back({std::move(pointer), std::move(message)});
  }

 private:
  static const json* Member(const json& object, std::string_view key) {
    if (!object.is_object()) return nullptr;
    auto found = object.find(key);
    return found == object.end() ? nullptr : &*found;
  }

  const json& body_;
  std::vector<FieldViolation>* violations_;
  std::size_t schema_violation_count_;
};

std::string StringOf(const json* value) {
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::optional<std::string> OptionalStringOf(const json* value) {
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

void CheckName(LabRuleCheck& check, std::string_view key, std::string* normalised) {
  const json* name = check.Passed("patient", key);
  if (name == nullptr || !name->is_string()) return;
  const std::string pointer = "/patient/" + std::string(key);
  *normalised = TransliterateName(name->get_ref<const std::string&>());
  // A name of bare punctuation (what "—" leaves) prints as nothing useful either.
  if (std::none_of(normalised->begin(), normalised->end(),
                   [](char c) { return IsAsciiLetter(c) || IsAsciiDigit(c); })) {
    check.Refuse(pointer, "has no characters the lab can print");
  } else if (normalised->size() > kLabNameMaxLength) {
    check.Refuse(pointer, "must be at most 50 characters once written in ASCII letters");
  }
}

void ApplyLabRules(const json& body, const Clock& clock, std::vector<FieldViolation>* violations,
                   model::OrderRequest* request) {
  LabRuleCheck check(body, violations);
  request->panel_slug = StringOf(check.Passed("", "panel_slug"));
  if (const json* method = check.Passed("", "collection_method");
      method != nullptr && method->is_string()) {
    request->collection_method = method->get<std::string>();
  }
  request->fallback = OptionalStringOf(check.Passed("", "fallback"));
  if (const json* auto_book = check.Passed("", "auto_book");
      auto_book != nullptr && auto_book->is_boolean()) {
    request->auto_book = auto_book->get<bool>();
  }

  CheckName(check, "first_name", &request->patient.first_name);
  CheckName(check, "last_name", &request->patient.last_name);

  if (const json* email = check.Passed("patient", "email");
      email != nullptr && email->is_string()) {
    request->patient.email = email->get<std::string>();
    if (!IsPlausibleEmail(request->patient.email)) {
      check.Refuse("/patient/email", "must be a valid email address");
    }
  }

  if (const json* phone = check.Passed("patient", "phone");
      phone != nullptr && phone->is_string()) {
    if (auto e164 = NormaliseUsPhone(phone->get_ref<const std::string&>())) {
      request->patient.phone = std::move(e164);
    } else {
      check.Refuse("/patient/phone", "must be a 10-digit US phone number");
    }
  } else if (check.ObjectPassed("patient") && !body.at("patient").contains("phone")) {
    check.Refuse("/patient/phone", "is required for a blood draw");
  }

  if (const json* dob = check.Passed("patient", "dob"); dob != nullptr && dob->is_string()) {
    request->patient.dob = dob->get<std::string>();
    if (auto problem = DateOfBirthProblem(request->patient.dob, clock.Now())) {
      check.Refuse("/patient/dob", std::move(*problem));
    }
  }
  request->patient.sex = OptionalStringOf(check.Passed("patient", "sex"));

  request->address.line1 = StringOf(check.Passed("address", "line1"));
  request->address.line2 = OptionalStringOf(check.Passed("address", "line2"));
  request->address.city = StringOf(check.Passed("address", "city"));
  if (const json* state = check.Passed("address", "state");
      state != nullptr && state->is_string()) {
    if (auto code = NormaliseStateCode(state->get_ref<const std::string&>())) {
      request->address.state = std::move(*code);
    } else {
      check.Refuse("/address/state", "must be a US state code such as CA (the 50 states and DC)");
    }
  }
  if (const json* zip = check.Passed("address", "zip"); zip != nullptr && zip->is_string()) {
    request->address.zip = zip->get<std::string>();
    if (!IsUsZip(request->address.zip)) {
      check.Refuse("/address/zip", "must be a US ZIP code: 5 digits, or 5 digits, a dash and 4");
    }
  }
  if (const json* country = check.Passed("address", "country");
      country != nullptr && country->is_string()) {
    request->address.country = country->get<std::string>();
    if (request->address.country != "US") {
      check.Refuse("/address/country", "must be \"US\": the lab serves US addresses only");
    }
  }

  // Integers beyond int64_t were refused with the bounds.
  if (const json* total = check.Passed("", "total_cents");
      total != nullptr && total->is_number_integer()) {
    request->total_cents = total->get<std::int64_t>();
  }
  if (const json* currency = check.Passed("", "currency");
      currency != nullptr && currency->is_string()) {
    request->currency = currency->get<std::string>();
    if (!IsCurrencyCode(*request->currency)) {
      check.Refuse("/currency", "must be a three-letter ISO 4217 code in capitals, such as USD");
    }
  }
  request->patient_id = OptionalStringOf(check.Passed("", "patient_id"));
  request->external_order_id = OptionalStringOf(check.Passed("", "external_order_id"));
  if (const json* metadata = check.Passed("", "metadata");
      metadata != nullptr && metadata->is_object()) {
    bool key_refused = false;
    for (const auto& [name, value] : metadata->items()) {
      const std::size_t length = CodePointCount(name);
      if (length < 1 || length > kMetadataKeyMaxLength) {
        // Said once, however many keys are out of bounds.
        if (!key_refused) check.Refuse("/metadata", "keys must be 1 to 40 characters long");
        key_refused = true;
      } else if (value.is_string()) {
        request->metadata.emplace(name, value.get<std::string>());
      }
    }
  }
}

}  // namespace

RequestValidator::RequestValidator(const json& schema, const Clock& clock, InputLimits limits)
    : schema_(schema, limits), clock_(clock) {
  auto closed = schema.find("additionalProperties");
  auto properties = schema.find("properties");
  if (closed != schema.end() && *closed == false && properties != schema.end() &&
      properties->is_object()) {
    top_level_fields_.emplace();
    for (const auto& [name, _] : properties->items()) top_level_fields_->insert(name);
  }
}

std::variant<model::OrderRequest, std::vector<FieldViolation>> RequestValidator::Validate(
    const json& body) const {
  if (!body.is_object()) {
    return std::vector<FieldViolation>{{"", "must be a JSON object"}};
  }
  std::vector<FieldViolation> violations = schema_.CheckBounds(body);
  if (!violations.empty()) return violations;
  violations = schema_.CheckSchema(body);
  if (top_level_fields_) {
    // Every unknown field by name (the schema check names only the first).
    for (const auto& [name, _] : body.items()) {
      if (top_level_fields_->contains(name)) continue;
      FieldViolation unknown{"/" + PointerToken(name), "is not a field of this request"};
      const bool said =
          std::any_of(violations.begin(), violations.end(),
                      [&](const FieldViolation& v) { return v.path == unknown.path; });
      if (!said) violations.push_back(std::move(unknown));
    }
  }

  model::OrderRequest request;
  ApplyLabRules(body, clock_, &violations, &request);
  if (!violations.empty()) return violations;
  return request;
}

std::string TransliterateName(std::string_view utf8) {
  std::string printable;
  printable.reserve(utf8.size());
  bool space_pending = false;  // spaces are written only between words: trimmed and collapsed
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const char32_t code_point = DecodeUtf8(utf8, &pos);
    if (code_point == kInvalidCodePoint) continue;
    for (char c : AsciiFor(code_point)) {
      if (c == ' ') {
        space_pending = !printable.empty();
        continue;
      }
      if (space_pending) printable += ' ';
      space_pending = false;
      printable += c;
    }
  }
  return printable;
}

}  // namespace lab_orders::orders
