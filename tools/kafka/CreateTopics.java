// Creates Kafka topics on a real broker in one JVM (Kafka's TopicCommand takes one topic per
// start, about a second each): scripts/services runs it as a single-file source program,
//   java -cp 'libs/*' tools/kafka/CreateTopics.java BOOTSTRAP PARTITIONS REPLICATION TOPIC...
// where TOPIC is a name, or NAME:CONFIG=VALUE[,CONFIG=VALUE...] for a topic with configs of its
// own (max.message.bytes=102400, as a test of a broker that refuses a message needs).
// A topic that already exists is left as it is, so running it twice is harmless. It returns
// once the broker reports every topic's partitions with a leader, so clients that start next
// find them.
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopics {
  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println("usage: CreateTopics BOOTSTRAP PARTITIONS REPLICATION TOPIC...");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
    int partitions = Integer.parseInt(args[1]);
    short replication = Short.parseShort(args[2]);
    List<NewTopic> topics = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      String[] nameAndConfigs = args[i].split(":", 2);
      NewTopic topic = new NewTopic(nameAndConfigs[0], partitions, replication);
      if (nameAndConfigs.length == 2) {
        Map<String, String> configs = new HashMap<>();
        for (String entry : nameAndConfigs[1].split(",")) {
          String[] kv = entry.split("=", 2);
          if (kv.length != 2) {
            System.err.println("CreateTopics: a topic config is CONFIG=VALUE, not '" + entry + "'");
            System.exit(2);
          }
          configs.put(kv[0], kv[1]);
        }
        topic.configs(configs);
      }
      topics.add(topic);
      names.add(nameAndConfigs[0]);
    }
    try (Admin admin = Admin.create(props)) {
      for (Map.Entry<String, ? extends org.apache.kafka.common.KafkaFuture<Void>> e :
           admin.createTopics(topics).values().entrySet()) {
        try {
          e.getValue().get();
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) throw ex;
        }
      }
      // Creation returns when the controller has the topic; wait until every partition has a
      // leader, which is what producers and consumers need.
      long deadline = System.currentTimeMillis() + 60000;
      while (true) {
        boolean ready = true;
        for (TopicDescription d : admin.describeTopics(names).allTopicNames().get().values()) {
          if (d.partitions().size() != partitions
              || d.partitions().stream().anyMatch(p -> p.leader() == null)) {
            ready = false;
          }
        }
        if (ready) break;
        if (System.currentTimeMillis() > deadline) {
          System.err.println("CreateTopics: partitions without a leader after 60 s");
          System.exit(1);
        }
        Thread.sleep(100);
      }
    }
  }
}
