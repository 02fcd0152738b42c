// Pseudonyms per source. The expected values were computed outside our code, with
// `printf '<input>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<pepper>`, so a change of
// derivation (which would orphan every pointer on chain) fails here.
#include "fl/gateway/pseudonyms.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

namespace fl::gateway {
namespace {

TEST(Pseudonyms, ResourcePatientAndPersonKeysAreTheDocumentedHmacs) {
  testing::FakeKeyProvider keys;  // pepper: 32 bytes of 0x17
  Pseudonyms p(keys);
  EXPECT_EQ(to_hex(p.resource_key("ehr-a", "Patient/23").value()),
            "8a81541be0d0da3a985964cc3c93a2a37e1b80095a9da04753f3b99b07a1eaa5");
  EXPECT_EQ(to_hex(p.patient_key("ehr-a", "Patient/23").value()),
            "a96d63e456808b9388243c9ff493887747adec8a4448ae75a4c3a3976efb0fe7");
  EXPECT_EQ(to_hex(p.person_key("urn:oid:2.999.40.1", "NAT-1").value()),
            "dc880e3fda0ea1965abf1af6e5639d1d84822b115bb08b794eeb585abb90631e");
}

TEST(Pseudonyms, TheSameIdFromTwoSourcesIsTwoKeysAndNoSplitOfTheInputsCollides) {
  testing::FakeKeyProvider keys;
  Pseudonyms p(keys);
  EXPECT_NE(p.resource_key("ehr-a", "Patient/23").value(),
            p.resource_key("ehr-b", "Patient/23").value());
  EXPECT_NE(p.patient_key("ehr-a", "Patient/23").value(),
            p.patient_key("ehr-b", "Patient/23").value());
  // The source's length is part of the input: "ab" + "c/1" is not "a" + "bc/1".
  EXPECT_NE(p.resource_key("ab", "c/1").value(), p.resource_key("a", "bc/1").value());
  // Kinds are separated: a record's key is never a resource's or a person's.
  EXPECT_NE(p.patient_key("s", "Patient/1").value(), p.resource_key("s", "Patient/1").value());
  EXPECT_NE(p.person_key("s", "Patient/1").value(), p.patient_key("s", "Patient/1").value());
}

}  // namespace
}  // namespace fl::gateway
