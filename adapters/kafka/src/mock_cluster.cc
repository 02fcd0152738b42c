#include "fl/adapters/kafka/mock_cluster.h"

#include "handles.h"

#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <vector>

namespace fl::kafka {

using MockClusterPtr = CHandle<rd_kafka_mock_cluster_t, &rd_kafka_mock_cluster_destroy>;

struct MockCluster::Impl {
  KafkaPtr host;           // the client handle the mock cluster lives in
  MockClusterPtr cluster;  // declared last: destroyed before its host
};

MockCluster::MockCluster(Token, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MockCluster::~MockCluster() = default;

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  auto conf = make_conf({{"client.id", "fhir-ledger-dev-broker"}});
  if (!conf) return conf.error();
  auto host = make_client(RD_KAFKA_PRODUCER, std::move(*conf), "mock");
  if (!host) return host.error();
  auto impl = std::make_unique<Impl>();
  impl->host = std::move(*host);
  impl->cluster.reset(rd_kafka_mock_cluster_new(impl->host.get(), brokers));
  if (!impl->cluster) {
    return Error{ErrorCode::kUnavailable, "could not start librdkafka's mock cluster", "mock"};
  }
  return std::make_unique<MockCluster>(Token{}, std::move(impl));
}

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster.get());
}

Status MockCluster::create_topic(const std::string& name, int partitions) {
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, name);
  return Ok{};
}

void MockCluster::refuse_next_produce_requests_as_too_large(int count) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count),
                                          RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  constexpr std::int16_t kProduceApiKey = 0;  // RD_KAFKAP_Produce
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), kProduceApiKey, errors.size(),
                                          errors.data());
}

}  // namespace fl::kafka
