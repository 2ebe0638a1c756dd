//! The kafkajs → librdkafka option mapping, checked property by property: a framework passes these
//! options through (issue #9), so each must land on the librdkafka name the docs promise.

use crate::config::{client_config, consumer_config, producer_config};
use serde_json::{json, Value};

fn common() -> Value {
  json!({ "brokers": ["127.0.0.1:9092"], "clientId": "mapping" })
}

fn consumer(options: Value) -> rdkafka::ClientConfig {
  consumer_config(&common(), &options, false).unwrap()
}

fn get<'a>(cfg: &'a rdkafka::ClientConfig, key: &str) -> Option<&'a str> {
  cfg.get(key)
}

#[test]
fn client_options_map_to_librdkafka_names() {
  let cfg = client_config(
    &json!({ "brokers": ["a:1", "b:2"], "clientId": "svc", "connectionTimeout": 1234, "requestTimeout": 5678 }),
  )
  .unwrap();
  assert_eq!(get(&cfg, "bootstrap.servers"), Some("a:1,b:2"));
  assert_eq!(get(&cfg, "client.id"), Some("svc"));
  assert_eq!(get(&cfg, "socket.connection.setup.timeout.ms"), Some("1234"));
  assert_eq!(get(&cfg, "socket.timeout.ms"), Some("5678"));
}

#[test]
fn consumer_options_frameworks_pass_through_are_mapped() {
  let cfg = consumer(json!({
    "groupId": "g", "sessionTimeout": 6000, "heartbeatInterval": 500, "rebalanceTimeout": 400_000,
    "maxBytesPerPartition": 1024, "minBytes": 10, "maxBytes": 2048, "maxWaitTimeInMs": 250,
    "allowAutoTopicCreation": false, "readUncommitted": true, "groupInstanceId": "static-1",
    "partitionAssigners": ["cooperative-sticky"], "autoCommitInterval": 700, "rackId": "eu-west-1a",
  }));
  let expected = [
    ("group.id", "g"),
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "500"),
    ("max.poll.interval.ms", "400000"),
    ("max.partition.fetch.bytes", "1024"),
    ("fetch.min.bytes", "10"),
    ("fetch.max.bytes", "2048"),
    ("fetch.wait.max.ms", "250"),
    ("allow.auto.create.topics", "false"),
    ("isolation.level", "read_uncommitted"),
    ("group.instance.id", "static-1"),
    ("partition.assignment.strategy", "cooperative-sticky"),
    ("auto.commit.interval.ms", "700"),
    ("client.rack", "eu-west-1a"),
    // Offsets are stored by the run loop after a handler succeeds, never by librdkafka.
    ("enable.auto.offset.store", "false"),
  ];
  for (key, value) in expected {
    assert_eq!(get(&cfg, key), Some(value), "{key}");
  }
}

#[test]
fn consumer_defaults_follow_kafkajs() {
  let cfg = consumer(json!({ "groupId": "g" }));
  assert_eq!(get(&cfg, "session.timeout.ms"), Some("30000"));
  assert_eq!(get(&cfg, "isolation.level"), Some("read_committed"));
  assert_eq!(get(&cfg, "auto.offset.reset"), Some("latest"));
  // kafkajs's consumer default: a missing subscribed topic is created where the broker allows it.
  assert_eq!(get(&cfg, "allow.auto.create.topics"), Some("true"));
  // rebalanceTimeout below librdkafka's default poll bound does not shorten it.
  assert_eq!(get(&cfg, "max.poll.interval.ms"), Some("300000"));
  let from_start = consumer_config(&common(), &json!({ "groupId": "g" }), true).unwrap();
  assert_eq!(get(&from_start, "auto.offset.reset"), Some("earliest"));
}

#[test]
fn kip848_leaves_broker_owned_settings_out() {
  let cfg = consumer(json!({
    "groupId": "g", "groupProtocol": "consumer", "sessionTimeout": 6000, "heartbeatInterval": 500,
    "partitionAssigners": ["roundrobin"],
  }));
  assert_eq!(get(&cfg, "group.protocol"), Some("consumer"));
  for key in ["session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy"] {
    assert_eq!(get(&cfg, key), None, "{key}");
  }
  let e = consumer_config(&common(), &json!({ "groupId": "g", "groupProtocol": "new" }), false).unwrap_err();
  assert_eq!(e.field.as_deref(), Some("consumer.groupProtocol"));
}

#[test]
fn producer_options_are_mapped() {
  let cfg = producer_config(
    &common(),
    &json!({ "idempotent": false, "acks": 1, "transactionTimeout": 9000, "maxInFlightRequests": 3, "timeout": 4000,
             "allowAutoTopicCreation": true, "compression": 4, "retry": { "retries": 2 } }),
  )
  .unwrap();
  let expected = [
    ("enable.idempotence", "false"),
    ("acks", "1"),
    ("transaction.timeout.ms", "9000"),
    ("max.in.flight.requests.per.connection", "3"),
    ("message.timeout.ms", "4000"),
    ("allow.auto.create.topics", "true"),
    ("compression.codec", "zstd"),
    ("partitioner", "murmur2_random"),
    ("linger.ms", "0"),
    ("message.send.max.retries", "2"),
  ];
  for (key, value) in expected {
    assert_eq!(get(&cfg, key), Some(value), "{key}");
  }
  let defaults = producer_config(&common(), &json!({})).unwrap();
  assert_eq!(get(&defaults, "enable.idempotence"), Some("true"));
  assert_eq!(get(&defaults, "acks"), Some("-1"));
  // kafkajs's retry budget (300 + 600 + 1200 + 2400 + 4800 ms) bounds the wait for a missing topic.
  let no_auto = producer_config(&common(), &json!({ "allowAutoTopicCreation": false })).unwrap();
  assert_eq!(get(&no_auto, "topic.metadata.propagation.max.ms"), Some("9300"));
}

#[test]
fn contradictory_producer_options_name_the_field() {
  let e = producer_config(&common(), &json!({ "idempotent": true, "acks": 1 })).unwrap_err();
  assert_eq!(e.field.as_deref(), Some("producer.acks"));
}
