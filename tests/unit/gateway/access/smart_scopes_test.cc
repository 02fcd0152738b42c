// SMART on FHIR system scopes, v1 and v2, as the API checks them.
#include "fl/gateway/smart_scopes.h"

#include <gtest/gtest.h>

namespace fl::gateway {
namespace {

TEST(SmartScopes, V1ReadAndWriteCoverTheirInteractions) {
  EXPECT_TRUE(scopes_permit("system/Observation.read", "Observation", 'r'));
  EXPECT_TRUE(scopes_permit("system/Observation.read", "Observation", 's'));
  EXPECT_FALSE(scopes_permit("system/Observation.read", "Observation", 'c'));
  EXPECT_TRUE(scopes_permit("system/Consent.write", "Consent", 'c'));
  EXPECT_FALSE(scopes_permit("system/Consent.write", "Consent", 'r'));
  EXPECT_TRUE(scopes_permit("system/*.*", "Patient", 'd'));
}

TEST(SmartScopes, V2PermissionsAreLettersOfCrudsInOrder) {
  EXPECT_TRUE(scopes_permit("system/Patient.rs", "Patient", 'r'));
  EXPECT_TRUE(scopes_permit("system/Patient.cruds", "Patient", 'u'));
  EXPECT_FALSE(scopes_permit("system/Patient.rs", "Patient", 'c'));
  EXPECT_FALSE(scopes_permit("system/Patient.sr", "Patient", 'r'));  // out of order
  EXPECT_FALSE(scopes_permit("system/Patient.rr", "Patient", 'r'));  // twice
  EXPECT_FALSE(scopes_permit("system/Patient.", "Patient", 'r'));
}

TEST(SmartScopes, TheTypeMustMatchOrBeAWildcard) {
  EXPECT_FALSE(scopes_permit("system/Observation.rs", "Patient", 'r'));
  EXPECT_TRUE(scopes_permit("system/*.rs", "Patient", 'r'));
  EXPECT_FALSE(scopes_permit("system/*.rs", "", 'r'));
}

TEST(SmartScopes, OnlySystemScopesCountAndANarrowedScopeGrantsNothing) {
  EXPECT_FALSE(scopes_permit("patient/Patient.read user/*.read", "Patient", 'r'));
  EXPECT_FALSE(scopes_permit("system/Observation.rs?category=laboratory", "Observation", 'r'));
}

TEST(SmartScopes, AnyOfSeveralScopesSeparatedBySpaces) {
  EXPECT_TRUE(scopes_permit("launch system/Condition.r  system/Patient.read", "Patient", 'r'));
  EXPECT_FALSE(scopes_permit("launch system/Condition.r", "Patient", 'r'));
  EXPECT_FALSE(scopes_permit("", "Patient", 'r'));
}

TEST(SmartScopes, TheGatewaysOwnScopesAreMatchedWholly) {
  EXPECT_TRUE(scopes_include("system/*.rs fhir-ledger/admin", kAdminScope));
  EXPECT_TRUE(scopes_include("fhir-ledger/tools", kToolsScope));
  EXPECT_FALSE(scopes_include("fhir-ledger/administrator", kAdminScope));
  EXPECT_FALSE(scopes_include("xfhir-ledger/admin", kAdminScope));
  EXPECT_FALSE(scopes_include("system/*.*", kAdminScope));  // no FHIR scope stands for it
  EXPECT_FALSE(scopes_include("", kAdminScope));
}

}  // namespace
}  // namespace fl::gateway
