// The console's audit view (GET /console/api/audit) over AuditEvents as the gateway writes them
// (fl/gateway/audit_event.h): an ingest refused by the default effect, a grant and a read
// permitted by rules, a shadow bundle's difference and an erasure, beside a message that is not
// JSON. Filters by kind, outcome, rule ("none": the default effect decided), policy hash (either
// bundle of a shadow difference) and time; newest first up to the limit; every match counted per
// rule in time buckets; refuses a query it cannot read, naming the parameter; and AuditTail reads
// the topic from where it stopped and keeps what it has when the topic cannot be read.
#include "cli/console_audit.h"

#include "fl/base/bytes.h"
#include "fl/gateway/audit_event.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fl::cli {
namespace {

namespace audit = gateway::audit;
using gateway::policy::Effect;

// 2026-03-01T10:00:00Z.
constexpr std::int64_t kT0 = 1772359200;

ports::Hash32 filled(std::uint8_t byte) {
  ports::Hash32 hash;
  hash.fill(byte);
  return hash;
}

const ports::Hash32 kActive = filled(0xaa);
const ports::Hash32 kCandidate = filled(0xbb);

audit::Common common_at(std::int64_t unix) {
  return {.recorded = audit::rfc3339_utc(unix),
          .gateway = "gw-eu",
          .agents = {{.address = "0x1111111111111111111111111111111111111111",
                      .jurisdiction = "DE",
                      .display = "clinic",
                      .requestor = true}},
          .patient_key = "0x" + std::string(64, 'c')};
}

ports::SourceEvent message(std::int32_t partition, std::int64_t offset, std::string value) {
  return {.origin = {.topic = "audit", .partition = partition, .offset = offset},
          .key = "0x" + std::string(64, 'c'),
          .value = std::move(value)};
}

// What the gateway wrote to the audit topic, in the order written (two partitions).
std::vector<ports::SourceEvent> written() {
  const audit::PolicyFacts by_default{
      .policy_hash = kActive, .effect = Effect::kDeny, .rule_ids = {}, .obligations = "none"};
  const audit::PolicyFacts by_treatment{.policy_hash = kActive,
                                        .effect = Effect::kPermit,
                                        .rule_ids = {"eu-treatment"},
                                        .obligations = "pseudonymize identifiers"};
  const audit::PolicyFacts by_two_rules{.policy_hash = kActive,
                                        .effect = Effect::kPermit,
                                        .rule_ids = {"eu-treatment", "research-pseudonymised"},
                                        .obligations = "none"};
  const audit::PolicyFacts candidate{.policy_hash = kCandidate,
                                     .effect = Effect::kDeny,
                                     .rule_ids = {"no-export"},
                                     .obligations = "none"};
  const std::string resource_key = "0x" + std::string(64, 'd');
  return {
      message(0, 0,
              audit::ingest_denial_event(common_at(kT0), resource_key, "Observation", false,
                                         by_default)),
      message(0, 1, "not json {"),
      message(1, 0, audit::grant_event(common_at(kT0 + 600), true, by_treatment)),
      message(0, 2,
              audit::read_event(common_at(kT0 + 1200), resource_key, "Observation", true,
                                by_two_rules)),
      message(1, 1,
              audit::shadow_difference_event(common_at(kT0 + 1800), "read", resource_key,
                                             "Observation", by_treatment, candidate)),
      message(0, 3, audit::erasure_event(common_at(kT0 + 2400), "patient asked")),
  };
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

// The answer to `query_string` over `messages`, read through an AuditTail as serve does.
rapidjson::Document answer(const std::string& query_string,
                           const std::vector<ports::SourceEvent>& messages = written()) {
  auto query = parse_audit_query(query_string);
  EXPECT_TRUE(query) << query_string << ": " << query.error().message;
  if (!query) return parse("{}");
  AuditTail tail([messages](const AuditTail::PartitionOffsets&) {
    return Result<std::vector<ports::SourceEvent>>(messages);
  });
  auto answered = tail.query(*query);
  EXPECT_TRUE(answered) << answered.error().message;
  return answered ? parse(*answered) : parse("{}");
}

std::vector<std::string> kinds_of(const rapidjson::Document& doc) {
  std::vector<std::string> out;
  for (const auto& e : doc["events"].GetArray()) out.emplace_back(e["kind"].GetString());
  return out;
}

std::vector<std::string> strings_of(const rapidjson::Value& array) {
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) out.emplace_back(v.GetString());
  return out;
}

using Kinds = std::vector<std::string>;

TEST(ConsoleAudit, SummarisesTheDecisionTheGatewayRecorded) {
  const auto messages = written();

  auto shadow = summarise_audit_event(messages[4]);

  ASSERT_TRUE(shadow);
  EXPECT_EQ(shadow->partition, 1);
  EXPECT_EQ(shadow->offset, 1);
  EXPECT_EQ(shadow->recorded, "2026-03-01T10:30:00Z");
  EXPECT_EQ(shadow->recorded_unix, kT0 + 1800);
  EXPECT_EQ(shadow->kind, "policy-shadow-difference");
  EXPECT_EQ(shadow->outcome, "0");
  EXPECT_EQ(shadow->policy_hash, to_0x_hex(kActive));
  EXPECT_EQ(shadow->rule_ids, std::vector<std::string>{"eu-treatment"});
  EXPECT_EQ(shadow->effect, "permit");
  EXPECT_EQ(shadow->obligations, "pseudonymize identifiers");
  EXPECT_EQ(shadow->candidate_policy_hash, to_0x_hex(kCandidate));
  EXPECT_EQ(shadow->candidate_rule_ids, std::vector<std::string>{"no-export"});
  EXPECT_EQ(shadow->candidate_effect, "deny");
  EXPECT_EQ(shadow->json, messages[4].value);
}

TEST(ConsoleAudit, ADecisionOfTheDefaultEffectHasNoRuleIds) {
  auto ingest = summarise_audit_event(written()[0]);

  ASSERT_TRUE(ingest);
  EXPECT_EQ(ingest->kind, "ingest");
  EXPECT_EQ(ingest->outcome, "4");
  EXPECT_EQ(ingest->policy_hash, to_0x_hex(kActive));
  EXPECT_TRUE(ingest->rule_ids.empty());
  EXPECT_EQ(ingest->effect, "deny");
}

TEST(ConsoleAudit, SeveralRulesAreSplitIntoTheirIds) {
  auto read = summarise_audit_event(written()[3]);

  ASSERT_TRUE(read);
  EXPECT_EQ(read->kind, "read");
  EXPECT_EQ(read->rule_ids, (std::vector<std::string>{"eu-treatment", "research-pseudonymised"}));
}

TEST(ConsoleAudit, AMessageThatIsNotAnAuditEventIsNotSummarised) {
  EXPECT_FALSE(summarise_audit_event(message(0, 0, "not json {")));
  EXPECT_FALSE(summarise_audit_event(message(0, 0, R"({"resourceType":"Patient"})")));
  EXPECT_FALSE(summarise_audit_event(message(0, 0, R"(["AuditEvent"])")));
}

TEST(ConsoleAudit, EveryEventIsAnsweredNewestFirstAndTheMessageThatIsNotJsonIsCounted) {
  auto doc = answer("");

  EXPECT_EQ(doc["kept"].GetUint64(), 5u);
  EXPECT_EQ(doc["skipped"].GetUint64(), 1u);
  EXPECT_EQ(doc["total"].GetUint64(), 5u);
  EXPECT_EQ(kinds_of(doc),
            (Kinds{"erasure", "policy-shadow-difference", "read", "grant", "ingest"}));
  const auto& newest = doc["events"][0];
  EXPECT_EQ(newest["partition"].GetInt(), 0);
  EXPECT_EQ(newest["offset"].GetInt64(), 3);
  EXPECT_STREQ(newest["recorded"].GetString(), "2026-03-01T10:40:00Z");
  EXPECT_STREQ(newest["description"].GetString(), "patient asked");
  EXPECT_STREQ(newest["policyHash"].GetString(), "");
  EXPECT_TRUE(newest["ruleIds"].Empty());
  EXPECT_FALSE(newest.HasMember("candidate"));
  // The event itself, as written.
  EXPECT_STREQ(newest["event"]["resourceType"].GetString(), "AuditEvent");
  EXPECT_STREQ(newest["event"]["recorded"].GetString(), "2026-03-01T10:40:00Z");
}

TEST(ConsoleAudit, AShadowDifferenceCarriesTheCandidatesDecision) {
  auto doc = answer("kind=shadow");

  ASSERT_EQ(doc["events"].Size(), 1u);
  const auto& shadow = doc["events"][0];
  EXPECT_EQ(std::string(shadow["policyHash"].GetString()), to_0x_hex(kActive));
  EXPECT_EQ(strings_of(shadow["ruleIds"]), std::vector<std::string>{"eu-treatment"});
  EXPECT_STREQ(shadow["effect"].GetString(), "permit");
  ASSERT_TRUE(shadow.HasMember("candidate"));
  EXPECT_EQ(std::string(shadow["candidate"]["policyHash"].GetString()), to_0x_hex(kCandidate));
  EXPECT_EQ(strings_of(shadow["candidate"]["ruleIds"]), std::vector<std::string>{"no-export"});
  EXPECT_STREQ(shadow["candidate"]["effect"].GetString(), "deny");
}

TEST(ConsoleAudit, FiltersByKind) {
  EXPECT_EQ(kinds_of(answer("kind=grant")), Kinds{"grant"});
  EXPECT_EQ(kinds_of(answer("kind=erasure")), Kinds{"erasure"});
  EXPECT_EQ(kinds_of(answer("kind=policy-shadow-difference")), Kinds{"policy-shadow-difference"});
  EXPECT_EQ(kinds_of(answer("kind=revocation")), Kinds{});
}

TEST(ConsoleAudit, FiltersByOutcome) {
  EXPECT_EQ(kinds_of(answer("outcome=4")), Kinds{"ingest"});
  EXPECT_EQ(kinds_of(answer("outcome=0")),
            (Kinds{"erasure", "policy-shadow-difference", "read", "grant"}));
  EXPECT_EQ(kinds_of(answer("outcome=8")), Kinds{});
}

TEST(ConsoleAudit, FiltersByTheRuleThatDecidedEitherBundle) {
  EXPECT_EQ(kinds_of(answer("rule=eu-treatment")),
            (Kinds{"policy-shadow-difference", "read", "grant"}));
  EXPECT_EQ(kinds_of(answer("rule=research-pseudonymised")), Kinds{"read"});
  EXPECT_EQ(kinds_of(answer("rule=no-export")), Kinds{"policy-shadow-difference"});
  EXPECT_EQ(kinds_of(answer("rule=unknown-rule")), Kinds{});
}

// "none": a policy decided, and no rule did (its default effect). The erasure had no policy
// decision at all, so it is not one of them.
TEST(ConsoleAudit, RuleNoneIsADecisionOfTheDefaultEffect) {
  EXPECT_EQ(kinds_of(answer("rule=none")), Kinds{"ingest"});
}

TEST(ConsoleAudit, FiltersByPolicyHashOfEitherBundle) {
  EXPECT_EQ(kinds_of(answer("policyHash=" + to_0x_hex(kActive))),
            (Kinds{"policy-shadow-difference", "read", "grant", "ingest"}));
  EXPECT_EQ(kinds_of(answer("policyHash=" + to_0x_hex(kCandidate))),
            Kinds{"policy-shadow-difference"});
  EXPECT_EQ(kinds_of(answer("policyHash=0x" + std::string(64, 'B'))),
            Kinds{"policy-shadow-difference"});
  EXPECT_EQ(kinds_of(answer("policyHash=0x" + std::string(64, '0'))), Kinds{});
}

TEST(ConsoleAudit, SinceIsInclusiveAndUntilExclusive) {
  EXPECT_EQ(kinds_of(answer("since=2026-03-01T10:10:00Z&until=2026-03-01T10:30:00Z")),
            (Kinds{"read", "grant"}));
  EXPECT_EQ(kinds_of(answer("since=2026-03-01T10:30:00Z")),
            (Kinds{"erasure", "policy-shadow-difference"}));
  EXPECT_EQ(kinds_of(answer("until=2026-03-01T10:00:01Z")), Kinds{"ingest"});
  EXPECT_EQ(kinds_of(answer("since=2026-03-01T10:40:01Z")), Kinds{});
}

TEST(ConsoleAudit, FiltersCombine) {
  EXPECT_EQ(kinds_of(answer("rule=eu-treatment&since=2026-03-01T10:15:00Z&kind=read")),
            Kinds{"read"});
  EXPECT_EQ(kinds_of(answer("rule=none&outcome=0")), Kinds{});
}

TEST(ConsoleAudit, TheLimitKeepsTheNewestAndTheTotalCountsEveryMatch) {
  auto doc = answer("limit=2");

  EXPECT_EQ(doc["total"].GetUint64(), 5u);
  EXPECT_EQ(kinds_of(doc), (Kinds{"erasure", "policy-shadow-difference"}));
}

TEST(ConsoleAudit, EventsOfTheSameSecondAreNewestFirstByOffset) {
  const auto grant = audit::grant_event(common_at(kT0), true, std::nullopt);
  const std::vector<ports::SourceEvent> messages = {message(0, 0, grant), message(0, 1, grant),
                                                    message(0, 2, grant)};

  auto doc = answer("", messages);

  ASSERT_EQ(doc["events"].Size(), 3u);
  EXPECT_EQ(doc["events"][0]["offset"].GetInt64(), 2);
  EXPECT_EQ(doc["events"][1]["offset"].GetInt64(), 1);
  EXPECT_EQ(doc["events"][2]["offset"].GetInt64(), 0);
}

// Series per deciding rule over minute buckets from 10:00 to 10:40; the erasure decided nothing
// and is in no series. A read two rules permitted counts for both.
TEST(ConsoleAudit, MatchesAreCountedPerRuleInTimeBuckets) {
  auto doc = answer("");

  const auto& counts = doc["counts"];
  EXPECT_EQ(counts["bucketSeconds"].GetInt64(), 60);
  const auto buckets = strings_of(counts["buckets"]);
  ASSERT_EQ(buckets.size(), 41u);
  EXPECT_EQ(buckets[0], "2026-03-01T10:00:00Z");
  EXPECT_EQ(buckets[10], "2026-03-01T10:10:00Z");
  EXPECT_EQ(buckets[40], "2026-03-01T10:40:00Z");
  std::map<std::string, std::vector<std::uint64_t>> series;
  for (const auto& s : counts["series"].GetArray()) {
    auto& into = series[s["rule"].GetString()];
    for (const auto& c : s["counts"].GetArray()) into.push_back(c.GetUint64());
  }
  const auto only = [](std::map<std::size_t, std::uint64_t> at) {
    std::vector<std::uint64_t> out(41, 0);
    for (const auto& [i, n] : at) out[i] = n;
    return out;
  };
  EXPECT_EQ(series.size(), 3u);
  EXPECT_EQ(series["none"], only({{0, 1}}));
  EXPECT_EQ(series["eu-treatment"], only({{10, 1}, {20, 1}, {30, 1}}));
  EXPECT_EQ(series["research-pseudonymised"], only({{20, 1}}));
}

TEST(ConsoleAudit, TheCountsHoldEveryMatchNotOnlyTheLimitedList) {
  auto doc = answer("rule=eu-treatment&limit=1");

  ASSERT_EQ(doc["events"].Size(), 1u);
  std::uint64_t counted = 0;
  for (const auto& s : doc["counts"]["series"].GetArray()) {
    if (std::string(s["rule"].GetString()) != "eu-treatment") continue;
    for (const auto& c : s["counts"].GetArray()) counted += c.GetUint64();
  }
  EXPECT_EQ(counted, 3u);
}

// Two days (2024-02-28 12:00 to 2024-03-01 12:00, a leap year) in three-hour buckets.
TEST(ConsoleAudit, TheBucketWidthGrowsWithTheSpanAndBucketsAreUtcTimes) {
  const audit::PolicyFacts permit{
      .policy_hash = kActive, .effect = Effect::kPermit, .rule_ids = {"r1"}, .obligations = ""};
  const std::vector<ports::SourceEvent> messages = {
      message(0, 0, audit::grant_event(common_at(1709121600), true, permit)),
      message(0, 1, audit::grant_event(common_at(1709294400), true, permit))};

  auto doc = answer("", messages);

  const auto& counts = doc["counts"];
  EXPECT_EQ(counts["bucketSeconds"].GetInt64(), 10800);
  const auto buckets = strings_of(counts["buckets"]);
  ASSERT_EQ(buckets.size(), 17u);
  EXPECT_EQ(buckets[0], "2024-02-28T12:00:00Z");
  EXPECT_EQ(buckets[4], "2024-02-29T00:00:00Z");
  EXPECT_EQ(buckets[8], "2024-02-29T12:00:00Z");
  EXPECT_EQ(buckets[16], "2024-03-01T12:00:00Z");
  ASSERT_EQ(counts["series"].Size(), 1u);
  const auto& r1 = counts["series"][0]["counts"];
  ASSERT_EQ(r1.Size(), 17u);
  EXPECT_EQ(r1[0].GetUint64(), 1u);
  EXPECT_EQ(r1[16].GetUint64(), 1u);
}

// 10:00:59 to 10:48:58 spans 47 minutes and 59 seconds but touches 49 minutes: minute buckets
// would be one too many, so they are five minutes wide.
TEST(ConsoleAudit, NeverMoreThanFortyEightBuckets) {
  const audit::PolicyFacts permit{
      .policy_hash = kActive, .effect = Effect::kPermit, .rule_ids = {"r1"}, .obligations = ""};
  const std::int64_t ten = 1772359200;  // 2026-03-01T10:00:00Z
  const std::vector<ports::SourceEvent> messages = {
      message(0, 0, audit::grant_event(common_at(ten + 59), true, permit)),
      message(0, 1, audit::grant_event(common_at(ten + 48 * 60 + 58), true, permit))};

  auto doc = answer("", messages);

  const auto& counts = doc["counts"];
  EXPECT_EQ(counts["bucketSeconds"].GetInt64(), 300);
  EXPECT_EQ(strings_of(counts["buckets"]).size(), 10u);
}

TEST(ConsoleAudit, NoMatchesMeansNoBucketsAndNoSeries) {
  auto doc = answer("kind=revocation");

  EXPECT_EQ(doc["total"].GetUint64(), 0u);
  EXPECT_TRUE(doc["counts"]["buckets"].Empty());
  EXPECT_TRUE(doc["counts"]["series"].Empty());
}

TEST(ParseAuditQuery, ReadsEveryParameter) {
  auto q = parse_audit_query("kind=grant&outcome=4&rule=eu-treatment&policyHash=0x" +
                             std::string(64, 'A') +
                             "&since=2026-03-01T10:00:00Z&until=2026-03-02T10:00:00Z&limit=1000");

  ASSERT_TRUE(q) << q.error().message << " " << q.error().where;
  EXPECT_EQ(q->kind, "grant");
  EXPECT_EQ(q->outcome, "4");
  EXPECT_EQ(q->rule, "eu-treatment");
  EXPECT_EQ(q->policy_hash, "0x" + std::string(64, 'a'));
  EXPECT_EQ(q->since, "2026-03-01T10:00:00Z");
  EXPECT_EQ(q->until, "2026-03-02T10:00:00Z");
  EXPECT_EQ(q->limit, 1000u);
}

TEST(ParseAuditQuery, NothingAskedIsEverythingUpToTwoHundred) {
  auto q = parse_audit_query("");

  ASSERT_TRUE(q);
  EXPECT_EQ(q->kind, "");
  EXPECT_EQ(q->rule, "");
  EXPECT_EQ(q->limit, 200u);
}

TEST(ParseAuditQuery, AnEmptyValueIsAny) {
  auto q = parse_audit_query("kind=&outcome=&rule=");

  ASSERT_TRUE(q) << q.error().where;
  EXPECT_EQ(q->kind, "");
  EXPECT_EQ(q->outcome, "");
  EXPECT_EQ(q->rule, "");
}

// Each refusal names the parameter, as "?name".
TEST(ParseAuditQuery, RefusesWhatItCannotReadNamingTheParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"color=red", "?color"},
      {"kind=grant&sort=asc", "?sort"},
      {"kind=everything", "?kind"},
      {"outcome=5", "?outcome"},
      {"limit=0", "?limit"},
      {"limit=1001", "?limit"},
      {"limit=ten", "?limit"},
      {"limit=-1", "?limit"},
      {"since=yesterday", "?since"},
      {"since=2026-03-01", "?since"},
      {"until=2026-13-01T10:00:00Z", "?until"},
      {"until=2026-03-01 10:00:00Z", "?until"},
      {"policyHash=0xabc", "?policyHash"},
      {"rule=" + std::string(129, 'r'), "?rule"},
      // Values are not percent-decoded: what would need it is refused, not guessed.
      {"rule=eu%2Dtreatment", "?rule"},
      {"rule=eu%26treatment", "?rule"},
      {"since=2026-03-01T10:00:00%2B01:00", "?since"},
      {"rule=a=b", "?rule"},
      // A '&' ends the value: what follows is a parameter of its own.
      {"rule=eu&treatment=1", "?treatment"},
      // An unknown name is refused even without a value.
      {"bogus=", "?bogus"},
      {"bogus", "?bogus"},
      // Times are exactly as AuditEvents record them, and real days.
      {"since=2026-03-01T10:00:00garbage", "?since"},
      {"since=2026-03-01T10:00:00", "?since"},
      {"since=2026-02-31T10:00:00Z", "?since"},
      {"since=2026-02-29T10:00:00Z", "?since"},
      {"policyHash=0x" + std::string(64, 'z'), "?policyHash"},
  };
  for (const auto& [query_string, where] : cases) {
    auto q = parse_audit_query(query_string);

    ASSERT_FALSE(q) << query_string;
    EXPECT_EQ(q.error().code, ErrorCode::kInvalidInput) << query_string;
    EXPECT_EQ(q.error().where, where) << query_string;
  }
}

// The topic as the fake reader has it; records the offsets each read started from.
class FakeAuditTopic {
 public:
  void write(ports::SourceEvent message) { messages_.push_back(std::move(message)); }
  void fail_next() { fail_next_ = true; }
  const std::vector<AuditTail::PartitionOffsets>& reads() const { return reads_; }

  AuditTail::Reader reader() {
    return
        [this](const AuditTail::PartitionOffsets& from) -> Result<std::vector<ports::SourceEvent>> {
          reads_.push_back(from);
          if (fail_next_) {
            fail_next_ = false;
            return Error{ErrorCode::kUnavailable, "broker down", "localhost:9092"};
          }
          std::vector<ports::SourceEvent> out;
          for (const auto& m : messages_) {
            const auto it = from.find(m.origin.partition);
            if (it == from.end() || m.origin.offset >= it->second) out.push_back(m);
          }
          return out;
        };
  }

 private:
  std::vector<ports::SourceEvent> messages_;
  std::vector<AuditTail::PartitionOffsets> reads_;
  bool fail_next_ = false;
};

std::multiset<std::pair<std::int32_t, std::int64_t>> origins_of(const rapidjson::Document& doc) {
  std::multiset<std::pair<std::int32_t, std::int64_t>> out;
  for (const auto& e : doc["events"].GetArray()) {
    out.insert({e["partition"].GetInt(), e["offset"].GetInt64()});
  }
  return out;
}

TEST(AuditTail, ReadsOnFromWhereItStoppedWithoutDuplicates) {
  const auto messages = written();
  FakeAuditTopic topic;
  for (std::size_t i = 0; i < 3; ++i) topic.write(messages[i]);  // p0 o0, p0 o1, p1 o0
  AuditTail tail(topic.reader());
  ASSERT_TRUE(tail.query({}));
  for (std::size_t i = 3; i < messages.size(); ++i) topic.write(messages[i]);

  auto second = tail.query({});

  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(topic.reads().size(), 2u);
  EXPECT_TRUE(topic.reads()[0].empty());
  // After the message that is not JSON too: it is not read (and counted) again.
  EXPECT_EQ(topic.reads()[1], (AuditTail::PartitionOffsets{{0, 2}, {1, 1}}));
  auto doc = parse(*second);
  EXPECT_EQ(doc["kept"].GetUint64(), 5u);
  EXPECT_EQ(doc["skipped"].GetUint64(), 1u);
  EXPECT_EQ(origins_of(doc), (std::multiset<std::pair<std::int32_t, std::int64_t>>{
                                 {0, 0}, {0, 2}, {0, 3}, {1, 0}, {1, 1}}));
}

TEST(AuditTail, ALookWithNothingNewAnswersWhatWasKept) {
  FakeAuditTopic topic;
  for (const auto& m : written()) topic.write(m);
  AuditTail tail(topic.reader());
  ASSERT_TRUE(tail.query({}));

  auto again = tail.query({});

  ASSERT_TRUE(again);
  EXPECT_EQ(topic.reads().back(), (AuditTail::PartitionOffsets{{0, 4}, {1, 2}}));
  auto doc = parse(*again);
  EXPECT_EQ(doc["kept"].GetUint64(), 5u);
  EXPECT_EQ(doc["skipped"].GetUint64(), 1u);
}

TEST(AuditTail, ATopicThatCannotBeReadFailsTheCallAndKeepsWhatWasRead) {
  const auto messages = written();
  FakeAuditTopic topic;
  for (std::size_t i = 0; i < 3; ++i) topic.write(messages[i]);
  AuditTail tail(topic.reader());
  ASSERT_TRUE(tail.query({}));
  topic.fail_next();

  auto failed = tail.query({});

  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(failed.error().message, "broker down");
  for (std::size_t i = 3; i < messages.size(); ++i) topic.write(messages[i]);
  auto recovered = tail.query({});
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(topic.reads().back(), (AuditTail::PartitionOffsets{{0, 2}, {1, 1}}));
  auto doc = parse(*recovered);
  EXPECT_EQ(doc["kept"].GetUint64(), 5u);
  EXPECT_EQ(doc["skipped"].GetUint64(), 1u);
  EXPECT_EQ(origins_of(doc).size(), 5u);
}

TEST(AuditTail, AFailedFirstLookKeepsNothingAndTheNextReadsFromTheBeginning) {
  FakeAuditTopic topic;
  for (const auto& m : written()) topic.write(m);
  topic.fail_next();
  AuditTail tail(topic.reader());

  ASSERT_FALSE(tail.query({}));
  auto recovered = tail.query({});

  ASSERT_TRUE(recovered);
  EXPECT_TRUE(topic.reads()[1].empty());
  EXPECT_EQ(parse(*recovered)["kept"].GetUint64(), 5u);
}

// The oldest go first: the erasure written first is no longer kept.
TEST(AuditTail, KeepsOnlyTheNewestEvents) {
  const auto messages = written();
  FakeAuditTopic topic;
  topic.write(message(0, 0, messages[5].value));  // the erasure
  for (std::int64_t offset = 1; offset <= static_cast<std::int64_t>(AuditTail::kMaxKept);
       ++offset) {
    topic.write(message(0, offset, messages[2].value));  // a grant
  }
  AuditTail tail(topic.reader());

  auto answered = tail.query({.kind = "erasure"});

  ASSERT_TRUE(answered);
  auto doc = parse(*answered);
  EXPECT_EQ(doc["kept"].GetUint64(), AuditTail::kMaxKept);
  EXPECT_EQ(doc["total"].GetUint64(), 0u);
}

}  // namespace
}  // namespace fl::cli
