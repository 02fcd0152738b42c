#include "fl/gateway/smart_scopes.h"

#include <string>

namespace fl::gateway {
namespace {

// v2 permissions: a non-empty subsequence of "cruds" (each letter once, in that order).
bool is_v2_permissions(std::string_view p) {
  constexpr std::string_view kOrder = "cruds";
  if (p.empty()) return false;
  std::size_t at = 0;
  for (char c : p) {
    const auto found = kOrder.find(c, at);
    if (found == std::string_view::npos) return false;
    at = found + 1;
  }
  return true;
}

bool scope_permits(std::string_view scope, std::string_view type, char permission) {
  constexpr std::string_view kContext = "system/";
  if (!scope.starts_with(kContext)) return false;
  scope.remove_prefix(kContext.size());
  const auto dot = scope.find('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view scoped_type = scope.substr(0, dot);
  const std::string_view permissions = scope.substr(dot + 1);
  if (scoped_type != "*" && scoped_type != type) return false;
  if (permissions == "*") return true;
  if (permissions == "read") return permission == 'r' || permission == 's';
  if (permissions == "write") return permission == 'c' || permission == 'u' || permission == 'd';
  return is_v2_permissions(permissions) && permissions.find(permission) != std::string_view::npos;
}

}  // namespace

bool scopes_permit(std::string_view scopes, std::string_view resource_type, char permission) {
  if (resource_type.empty()) return false;
  std::size_t at = 0;
  while (at < scopes.size()) {
    const auto end = scopes.find(' ', at);
    const auto scope = scopes.substr(at, end == std::string_view::npos ? end : end - at);
    if (scope_permits(scope, resource_type, permission)) return true;
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return false;
}

bool scopes_include(std::string_view scopes, std::string_view scope) {
  while (!scopes.empty()) {
    const auto space = scopes.find(' ');
    if (scopes.substr(0, space) == scope) return true;
    if (space == std::string_view::npos) break;
    scopes.remove_prefix(space + 1);
  }
  return false;
}

}  // namespace fl::gateway
