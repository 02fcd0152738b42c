#include "fl/gateway/policy/policy_bundle.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace fl::gateway::policy {
namespace {

// The assigned ISO 3166-1 alpha-2 codes, sorted.
constexpr std::array<std::string_view, 249> kIsoCountries = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"};

struct Alpha3 {
  std::string_view alpha3;
  std::string_view alpha2;
};

// The assigned ISO 3166-1 alpha-3 codes with the alpha-2 code of the same country, sorted by
// alpha-3: the same 249 countries as kIsoCountries (taken from Debian's iso-codes 4.15,
// iso_3166-1.json; the static_asserts below tie the two tables together). Not assigned, so not
// here: user-assigned codes such as XKX (Kosovo, as the EU and others write it) and reserved or
// withdrawn ones (ROM, TMP, ZAR, ANT, SCG).
constexpr std::array<Alpha3, 249> kAlpha3 = {
    {{"ABW", "AW"}, {"AFG", "AF"}, {"AGO", "AO"}, {"AIA", "AI"}, {"ALA", "AX"}, {"ALB", "AL"},
     {"AND", "AD"}, {"ARE", "AE"}, {"ARG", "AR"}, {"ARM", "AM"}, {"ASM", "AS"}, {"ATA", "AQ"},
     {"ATF", "TF"}, {"ATG", "AG"}, {"AUS", "AU"}, {"AUT", "AT"}, {"AZE", "AZ"}, {"BDI", "BI"},
     {"BEL", "BE"}, {"BEN", "BJ"}, {"BES", "BQ"}, {"BFA", "BF"}, {"BGD", "BD"}, {"BGR", "BG"},
     {"BHR", "BH"}, {"BHS", "BS"}, {"BIH", "BA"}, {"BLM", "BL"}, {"BLR", "BY"}, {"BLZ", "BZ"},
     {"BMU", "BM"}, {"BOL", "BO"}, {"BRA", "BR"}, {"BRB", "BB"}, {"BRN", "BN"}, {"BTN", "BT"},
     {"BVT", "BV"}, {"BWA", "BW"}, {"CAF", "CF"}, {"CAN", "CA"}, {"CCK", "CC"}, {"CHE", "CH"},
     {"CHL", "CL"}, {"CHN", "CN"}, {"CIV", "CI"}, {"CMR", "CM"}, {"COD", "CD"}, {"COG", "CG"},
     {"COK", "CK"}, {"COL", "CO"}, {"COM", "KM"}, {"CPV", "CV"}, {"CRI", "CR"}, {"CUB", "CU"},
     {"CUW", "CW"}, {"CXR", "CX"}, {"CYM", "KY"}, {"CYP", "CY"}, {"CZE", "CZ"}, {"DEU", "DE"},
     {"DJI", "DJ"}, {"DMA", "DM"}, {"DNK", "DK"}, {"DOM", "DO"}, {"DZA", "DZ"}, {"ECU", "EC"},
     {"EGY", "EG"}, {"ERI", "ER"}, {"ESH", "EH"}, {"ESP", "ES"}, {"EST", "EE"}, {"ETH", "ET"},
     {"FIN", "FI"}, {"FJI", "FJ"}, {"FLK", "FK"}, {"FRA", "FR"}, {"FRO", "FO"}, {"FSM", "FM"},
     {"GAB", "GA"}, {"GBR", "GB"}, {"GEO", "GE"}, {"GGY", "GG"}, {"GHA", "GH"}, {"GIB", "GI"},
     {"GIN", "GN"}, {"GLP", "GP"}, {"GMB", "GM"}, {"GNB", "GW"}, {"GNQ", "GQ"}, {"GRC", "GR"},
     {"GRD", "GD"}, {"GRL", "GL"}, {"GTM", "GT"}, {"GUF", "GF"}, {"GUM", "GU"}, {"GUY", "GY"},
     {"HKG", "HK"}, {"HMD", "HM"}, {"HND", "HN"}, {"HRV", "HR"}, {"HTI", "HT"}, {"HUN", "HU"},
     {"IDN", "ID"}, {"IMN", "IM"}, {"IND", "IN"}, {"IOT", "IO"}, {"IRL", "IE"}, {"IRN", "IR"},
     {"IRQ", "IQ"}, {"ISL", "IS"}, {"ISR", "IL"}, {"ITA", "IT"}, {"JAM", "JM"}, {"JEY", "JE"},
     {"JOR", "JO"}, {"JPN", "JP"}, {"KAZ", "KZ"}, {"KEN", "KE"}, {"KGZ", "KG"}, {"KHM", "KH"},
     {"KIR", "KI"}, {"KNA", "KN"}, {"KOR", "KR"}, {"KWT", "KW"}, {"LAO", "LA"}, {"LBN", "LB"},
     {"LBR", "LR"}, {"LBY", "LY"}, {"LCA", "LC"}, {"LIE", "LI"}, {"LKA", "LK"}, {"LSO", "LS"},
     {"LTU", "LT"}, {"LUX", "LU"}, {"LVA", "LV"}, {"MAC", "MO"}, {"MAF", "MF"}, {"MAR", "MA"},
     {"MCO", "MC"}, {"MDA", "MD"}, {"MDG", "MG"}, {"MDV", "MV"}, {"MEX", "MX"}, {"MHL", "MH"},
     {"MKD", "MK"}, {"MLI", "ML"}, {"MLT", "MT"}, {"MMR", "MM"}, {"MNE", "ME"}, {"MNG", "MN"},
     {"MNP", "MP"}, {"MOZ", "MZ"}, {"MRT", "MR"}, {"MSR", "MS"}, {"MTQ", "MQ"}, {"MUS", "MU"},
     {"MWI", "MW"}, {"MYS", "MY"}, {"MYT", "YT"}, {"NAM", "NA"}, {"NCL", "NC"}, {"NER", "NE"},
     {"NFK", "NF"}, {"NGA", "NG"}, {"NIC", "NI"}, {"NIU", "NU"}, {"NLD", "NL"}, {"NOR", "NO"},
     {"NPL", "NP"}, {"NRU", "NR"}, {"NZL", "NZ"}, {"OMN", "OM"}, {"PAK", "PK"}, {"PAN", "PA"},
     {"PCN", "PN"}, {"PER", "PE"}, {"PHL", "PH"}, {"PLW", "PW"}, {"PNG", "PG"}, {"POL", "PL"},
     {"PRI", "PR"}, {"PRK", "KP"}, {"PRT", "PT"}, {"PRY", "PY"}, {"PSE", "PS"}, {"PYF", "PF"},
     {"QAT", "QA"}, {"REU", "RE"}, {"ROU", "RO"}, {"RUS", "RU"}, {"RWA", "RW"}, {"SAU", "SA"},
     {"SDN", "SD"}, {"SEN", "SN"}, {"SGP", "SG"}, {"SGS", "GS"}, {"SHN", "SH"}, {"SJM", "SJ"},
     {"SLB", "SB"}, {"SLE", "SL"}, {"SLV", "SV"}, {"SMR", "SM"}, {"SOM", "SO"}, {"SPM", "PM"},
     {"SRB", "RS"}, {"SSD", "SS"}, {"STP", "ST"}, {"SUR", "SR"}, {"SVK", "SK"}, {"SVN", "SI"},
     {"SWE", "SE"}, {"SWZ", "SZ"}, {"SXM", "SX"}, {"SYC", "SC"}, {"SYR", "SY"}, {"TCA", "TC"},
     {"TCD", "TD"}, {"TGO", "TG"}, {"THA", "TH"}, {"TJK", "TJ"}, {"TKL", "TK"}, {"TKM", "TM"},
     {"TLS", "TL"}, {"TON", "TO"}, {"TTO", "TT"}, {"TUN", "TN"}, {"TUR", "TR"}, {"TUV", "TV"},
     {"TWN", "TW"}, {"TZA", "TZ"}, {"UGA", "UG"}, {"UKR", "UA"}, {"UMI", "UM"}, {"URY", "UY"},
     {"USA", "US"}, {"UZB", "UZ"}, {"VAT", "VA"}, {"VCT", "VC"}, {"VEN", "VE"}, {"VGB", "VG"},
     {"VIR", "VI"}, {"VNM", "VN"}, {"VUT", "VU"}, {"WLF", "WF"}, {"WSM", "WS"}, {"YEM", "YE"},
     {"ZAF", "ZA"}, {"ZMB", "ZM"}, {"ZWE", "ZW"}}};

constexpr bool sorted_tables() {
  for (std::size_t i = 1; i < kIsoCountries.size(); ++i) {
    if (!(kIsoCountries[i - 1] < kIsoCountries[i])) return false;
  }
  for (std::size_t i = 1; i < kAlpha3.size(); ++i) {
    if (!(kAlpha3[i - 1].alpha3 < kAlpha3[i].alpha3)) return false;
  }
  return true;
}
static_assert(sorted_tables(), "binary search needs the country tables sorted");

// Every alpha-3 code names an assigned alpha-2 code, and no two name the same one.
constexpr bool one_alpha3_per_country() {
  std::array<bool, kIsoCountries.size()> seen{};
  for (const Alpha3& a : kAlpha3) {
    const auto* it = std::lower_bound(kIsoCountries.begin(), kIsoCountries.end(), a.alpha2);
    if (it == kIsoCountries.end() || *it != a.alpha2) return false;
    auto& s = seen[static_cast<std::size_t>(it - kIsoCountries.begin())];
    if (s) return false;
    s = true;
  }
  return true;
}
static_assert(one_alpha3_per_country(), "the alpha-3 table must map onto the alpha-2 table");

}  // namespace

bool is_iso_country(std::string_view code) {
  return std::binary_search(kIsoCountries.begin(), kIsoCountries.end(), code);
}

std::optional<std::string_view> iso_alpha2(std::string_view code) {
  if (code.size() != 2 && code.size() != 3) return std::nullopt;
  char upper[3] = {};
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c >= 'a' && c <= 'z') {
      upper[i] = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      upper[i] = c;
    } else {
      return std::nullopt;
    }
  }
  const std::string_view key(upper, code.size());
  if (key.size() == 2) {
    const auto* it = std::lower_bound(kIsoCountries.begin(), kIsoCountries.end(), key);
    if (it == kIsoCountries.end() || *it != key) return std::nullopt;
    return *it;  // the table's own view: it outlives `upper`
  }
  const auto* it =
      std::lower_bound(kAlpha3.begin(), kAlpha3.end(), key,
                       [](const Alpha3& a, std::string_view k) { return a.alpha3 < k; });
  if (it == kAlpha3.end() || it->alpha3 != key) return std::nullopt;
  return it->alpha2;
}

std::optional<std::size_t> country_index(std::string_view code) {
  if (code.size() != 2) return std::nullopt;
  const auto letter = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!letter(code[0]) || !letter(code[1])) return std::nullopt;
  return static_cast<std::size_t>(code[0] - 'A') * 26 + static_cast<std::size_t>(code[1] - 'A');
}

bool Obligations::empty() const {
  return redact.empty() && !pseudonymize_identifiers && require_purpose.empty() &&
         !purpose_unsatisfiable && !max_days;
}

void Obligations::merge(const Obligations& other) {
  // Redactions are compared by their text: two rules naming the same element remove it once.
  for (std::size_t i = 0; i < other.redact.size(); ++i) {
    const std::string& text = other.redact[i].text();
    const bool known = std::any_of(redact.begin(), redact.end(), [&](const auto& expression) {
      return expression.text() == text;
    });
    if (known) continue;
    redact.push_back(other.redact[i]);
    redact_text.push_back(text);
  }
  pseudonymize_identifiers = pseudonymize_identifiers || other.pseudonymize_identifiers;
  // Every deciding permit's purpose requirement must hold: the lists intersect (an empty list
  // requires nothing). Disjoint requirements leave no purpose that satisfies them all.
  purpose_unsatisfiable = purpose_unsatisfiable || other.purpose_unsatisfiable;
  if (!other.require_purpose.empty()) {
    if (require_purpose.empty() && !purpose_unsatisfiable) {
      require_purpose = other.require_purpose;
    } else {
      std::erase_if(require_purpose, [&](const std::string& purpose) {
        return std::find(other.require_purpose.begin(), other.require_purpose.end(), purpose) ==
               other.require_purpose.end();
      });
      if (require_purpose.empty()) purpose_unsatisfiable = true;
    }
  }
  if (other.max_days && (!max_days || *other.max_days < *max_days)) max_days = other.max_days;
}

const Jurisdiction* PolicyBundle::find_jurisdiction(std::string_view jurisdiction_id) const {
  for (const Jurisdiction& j : jurisdictions) {
    if (j.id == jurisdiction_id) return &j;
  }
  return nullptr;
}

std::string PolicyBundle::region_for(std::string_view country) const {
  const auto index = country_index(country);
  if (index) {
    for (const Jurisdiction& j : jurisdictions) {
      if (!j.region.empty() && j.countries.test(*index)) return j.region;
    }
  }
  return default_region;
}

std::string PolicyBundle::country_of_source(std::string_view source_system) const {
  for (const auto& [source, country] : jurisdiction.source_countries) {
    if (source == source_system) return country;
  }
  return "";
}

}  // namespace fl::gateway::policy
