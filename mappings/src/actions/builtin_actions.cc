// Every kind of mapping action, in one table (no static registration: see STYLE section 9).
#include "actions/action.h"

#include <array>

namespace fl::mappings::actions {
namespace {

constexpr std::array<std::string_view, 7> kTranslateOptions{
    "conceptMap", "targetSystem", "sourceSystem", "accept", "onUnmapped", "result", "rationale"};
constexpr std::array<std::string_view, 3> kSetOptions{"element", "value", "mode"};
constexpr std::array<std::string_view, 3> kCopyOptions{"element", "from", "mode"};
constexpr std::array<std::string_view, 2> kRenameOptions{"from", "to"};
constexpr std::array<std::string_view, 3> kSystemOptions{"systems", "wellKnown", "onUnknownOid"};
constexpr std::array<std::string_view, 4> kDateOptions{"timeZone", "formats", "toUtc", "onInvalid"};
constexpr std::array<std::string_view, 4> kUnitOptions{"units", "convert", "decimals", "onUnknown"};
constexpr std::array<std::string_view, 1> kLabelOptions{"coding"};

constexpr std::array<ActionKind, 11> kActions{{
    {"translate-code", compile_translate_code, kTranslateOptions},
    {"set", compile_set, kSetOptions},
    {"copy", compile_copy, kCopyOptions},
    {"remove", compile_remove, {}},
    {"rename", compile_rename, kRenameOptions},
    {"normalize-system", compile_normalize_system, kSystemOptions},
    {"normalize-date", compile_normalize_date, kDateOptions},
    {"normalize-unit", compile_normalize_unit, kUnitOptions},
    {"add-tag", compile_add_tag, kLabelOptions},
    {"add-security-label", compile_add_security_label, kLabelOptions},
    {"require", compile_require, {}},
}};

}  // namespace

std::span<const ActionKind> builtin_actions() { return kActions; }

const ActionKind* find_action(std::string_view name) {
  for (const ActionKind& kind : kActions) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

}  // namespace fl::mappings::actions
