#include "fl/mappings/schema_check.h"

#include "actions/action.h"

#include <rapidjson/pointer.h>

#include <map>
#include <regex>
#include <set>

namespace fl::mappings {
namespace {

const std::set<std::string, std::less<>>& known_keywords() {
  static const std::set<std::string, std::less<>> keywords{"$schema",
                                                           "id",
                                                           "title",
                                                           "description",
                                                           "type",
                                                           "properties",
                                                           "additionalProperties",
                                                           "required",
                                                           "enum",
                                                           "pattern",
                                                           "minLength",
                                                           "minItems",
                                                           "items",
                                                           "minimum",
                                                           "maximum",
                                                           "$ref",
                                                           "definitions"};
  return keywords;
}

bool has_type(const rapidjson::Value& v, std::string_view type) {
  if (type == "object") return v.IsObject();
  if (type == "array") return v.IsArray();
  if (type == "string") return v.IsString();
  if (type == "boolean") return v.IsBool();
  if (type == "integer") return v.IsInt64() || v.IsUint64();
  if (type == "number") return v.IsNumber();
  if (type == "null") return v.IsNull();
  return false;
}

std::string type_of(const rapidjson::Value& v) {
  if (v.IsObject()) return "an object";
  if (v.IsArray()) return "an array";
  if (v.IsString()) return "a string";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  return "null";
}

class Checker {
 public:
  Checker(const rapidjson::Value& root, const std::string& file, std::vector<Diagnostic>& out)
      : root_(root), file_(file), out_(out) {}

  void check(const rapidjson::Value& schema, const rapidjson::Value& v, const std::string& at) {
    if (!schema.IsObject()) return;
    for (auto m = schema.MemberBegin(); m != schema.MemberEnd(); ++m) {
      if (!known_keywords().contains(m->name.GetString())) {
        report(at, std::string("schema keyword '") + m->name.GetString() + "' is not supported");
      }
    }
    if (auto ref = schema.FindMember("$ref"); ref != schema.MemberEnd() && ref->value.IsString()) {
      const rapidjson::Value* target =
          rapidjson::Pointer(std::string(ref->value.GetString()).substr(1).c_str()).Get(root_);
      if (target != nullptr) check(*target, v, at);
      return;
    }
    if (auto type = schema.FindMember("type"); type != schema.MemberEnd()) {
      bool ok = false;
      std::string names;
      if (type->value.IsString()) {
        ok = has_type(v, type->value.GetString());
        names = type->value.GetString();
      } else if (type->value.IsArray()) {
        for (const auto& t : type->value.GetArray()) {
          ok = ok || has_type(v, t.GetString());
          names += (names.empty() ? "" : " or ") + std::string(t.GetString());
        }
      }
      if (!ok) {
        report(at, "expected " + names + ", got " + type_of(v));
        return;
      }
    }
    if (auto e = schema.FindMember("enum"); e != schema.MemberEnd()) {
      bool found = false;
      std::string list;
      for (const auto& item : e->value.GetArray()) {
        found = found || item == v;
        list += (list.empty() ? "" : ", ") + actions::json_text(item);
      }
      if (!found) report(at, "expected one of " + list);
    }
    if (v.IsString()) check_string(schema, v, at);
    if (v.IsNumber()) check_number(schema, v, at);
    if (v.IsArray()) check_array(schema, v, at);
    if (v.IsObject()) check_object(schema, v, at);
  }

 private:
  void report(const std::string& at, std::string message) {
    out_.push_back({file_, at, std::move(message)});
  }

  void check_string(const rapidjson::Value& schema, const rapidjson::Value& v,
                    const std::string& at) {
    if (auto m = schema.FindMember("minLength");
        m != schema.MemberEnd() && v.GetStringLength() < m->value.GetUint()) {
      report(at, m->value.GetUint() == 1
                     ? "expected a non-empty string"
                     : "expected at least " + std::to_string(m->value.GetUint()) + " characters");
    }
    if (auto m = schema.FindMember("pattern"); m != schema.MemberEnd()) {
      const std::string pattern = m->value.GetString();
      auto [it, added] = patterns_.try_emplace(pattern);
      if (added) it->second = std::regex(pattern, std::regex::ECMAScript);
      if (!std::regex_search(v.GetString(), it->second)) {
        report(at, "expected a string matching " + pattern);
      }
    }
  }

  void check_number(const rapidjson::Value& schema, const rapidjson::Value& v,
                    const std::string& at) {
    const auto min = schema.FindMember("minimum");
    const auto max = schema.FindMember("maximum");
    const bool low = min != schema.MemberEnd() && v.GetDouble() < min->value.GetDouble();
    const bool high = max != schema.MemberEnd() && v.GetDouble() > max->value.GetDouble();
    if (low || high) {
      std::string range = min != schema.MemberEnd() ? actions::json_text(min->value) : "";
      range += "..";
      if (max != schema.MemberEnd()) range += actions::json_text(max->value);
      report(at, "expected a number in " + range);
    }
  }

  void check_array(const rapidjson::Value& schema, const rapidjson::Value& v,
                   const std::string& at) {
    if (auto m = schema.FindMember("minItems");
        m != schema.MemberEnd() && v.Size() < m->value.GetUint()) {
      report(at, "expected at least " + std::to_string(m->value.GetUint()) + " item(s)");
    }
    if (auto items = schema.FindMember("items"); items != schema.MemberEnd()) {
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        check(items->value, v[i], at + "/" + std::to_string(i));
      }
    }
  }

  void check_object(const rapidjson::Value& schema, const rapidjson::Value& v,
                    const std::string& at) {
    const auto props = schema.FindMember("properties");
    if (auto req = schema.FindMember("required"); req != schema.MemberEnd()) {
      for (const auto& name : req->value.GetArray()) {
        if (!v.HasMember(name.GetString())) {
          report(at, std::string("missing required member '") + name.GetString() + "'");
        }
      }
    }
    const auto extra = schema.FindMember("additionalProperties");
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      const std::string name(m->name.GetString(), m->name.GetStringLength());
      const std::string child = at + "/" + pointer_token(name);
      if (props != schema.MemberEnd() && props->value.HasMember(m->name)) {
        check(props->value[m->name], m->value, child);
      } else if (extra != schema.MemberEnd() && extra->value.IsFalse()) {
        std::string allowed;
        if (props != schema.MemberEnd()) {
          for (const auto& p : props->value.GetObject()) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(p.name.GetString());
          }
        }
        report(child, "unknown member '" + name + "' (allowed: " + allowed + ")");
      } else if (extra != schema.MemberEnd() && extra->value.IsObject()) {
        check(extra->value, m->value, child);
      }
    }
  }

  const rapidjson::Value& root_;
  const std::string& file_;
  std::vector<Diagnostic>& out_;
  std::map<std::string, std::regex> patterns_;
};

}  // namespace

void check_schema(const rapidjson::Value& schema, const rapidjson::Value& document,
                  const std::string& file, std::vector<Diagnostic>& diagnostics) {
  Checker(schema, file, diagnostics).check(schema, document, "");
}

}  // namespace fl::mappings
