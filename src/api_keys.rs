//! Kafka protocol API keys and their names (kafkajs's spelling first: its REQUEST events say
//! `GroupCoordinator` where the protocol says `FindCoordinator`; both are accepted as input).

const KEYS: &[(&str, i16)] = &[
  ("Produce", 0),
  ("Fetch", 1),
  ("ListOffsets", 2),
  ("Metadata", 3),
  ("OffsetCommit", 8),
  ("OffsetFetch", 9),
  ("GroupCoordinator", 10),
  ("FindCoordinator", 10),
  ("JoinGroup", 11),
  ("Heartbeat", 12),
  ("LeaveGroup", 13),
  ("SyncGroup", 14),
  ("DescribeGroups", 15),
  ("ListGroups", 16),
  ("SaslHandshake", 17),
  ("ApiVersions", 18),
  ("CreateTopics", 19),
  ("DeleteTopics", 20),
  ("DeleteRecords", 21),
  ("InitProducerId", 22),
  ("OffsetForLeaderEpoch", 23),
  ("AddPartitionsToTxn", 24),
  ("AddOffsetsToTxn", 25),
  ("EndTxn", 26),
  ("TxnOffsetCommit", 28),
  ("DescribeAcls", 29),
  ("CreateAcls", 30),
  ("DeleteAcls", 31),
  ("DescribeConfigs", 32),
  ("AlterConfigs", 33),
  ("DescribeLogDirs", 35),
  ("SaslAuthenticate", 36),
  ("CreatePartitions", 37),
  ("DeleteGroups", 42),
  ("ElectLeaders", 43),
  ("IncrementalAlterConfigs", 44),
  ("AlterPartitionReassignments", 45),
  ("ListPartitionReassignments", 46),
  ("OffsetDelete", 47),
  ("DescribeClientQuotas", 48),
  ("AlterClientQuotas", 49),
  ("DescribeUserScramCredentials", 50),
  ("AlterUserScramCredentials", 51),
  ("DescribeCluster", 60),
  ("DescribeProducers", 61),
  ("DescribeTransactions", 65),
  ("ListTransactions", 66),
  ("ConsumerGroupHeartbeat", 68),
  ("ConsumerGroupDescribe", 69),
  ("GetTelemetrySubscriptions", 71),
  ("PushTelemetry", 72),
];

/// The key of an API named as above (any case), or given as a number.
pub fn key_of(name: &str) -> Option<i16> {
  name.parse::<i16>().ok().or_else(|| KEYS.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v))
}

/// The names accepted by [`key_of`], for error messages.
pub fn names() -> Vec<&'static str> {
  KEYS.iter().map(|(k, _)| *k).collect()
}

/// kafkajs's name of an API key; `ApiKey<n>` for one it does not know.
pub fn name_of(key: i16) -> String {
  KEYS.iter().find(|(_, v)| *v == key).map(|(k, _)| k.to_string()).unwrap_or_else(|| format!("ApiKey{}", key))
}
