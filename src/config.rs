//! The one translation from kafkajs-shaped options to librdkafka's `ClientConfig`.
//!
//! The facade passes options through as JSON after resolving what only JavaScript can (a
//! `brokers` function, Buffers of PEM). Every check names the option at fault and never its
//! value, because any of them may hold a secret.

use crate::error::{FerroError, Result};
use rdkafka::ClientConfig;
use serde_json::{Map, Value};

/// Reads typed fields out of one options object, prefixing errors with its path.
pub struct Options<'a> {
  path: &'a str,
  map: Option<&'a Map<String, Value>>,
}

impl<'a> Options<'a> {
  pub fn new(path: &'a str, value: &'a Value) -> Result<Self> {
    match value {
      Value::Object(map) => Ok(Options { path, map: Some(map) }),
      Value::Null => Ok(Options { path, map: None }),
      _ => Err(FerroError::config(path, "must be an object")),
    }
  }

  pub(crate) fn field(&self, key: &str) -> String {
    if self.path.is_empty() {
      key.to_string()
    } else {
      format!("{}.{}", self.path, key)
    }
  }

  pub fn raw(&self, key: &str) -> Option<&'a Value> {
    self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
  }

  pub fn string(&self, key: &str) -> Result<Option<&'a str>> {
    match self.raw(key) {
      None => Ok(None),
      Some(Value::String(s)) => Ok(Some(s.as_str())),
      Some(_) => Err(FerroError::config(self.field(key), "must be a string")),
    }
  }

  pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
    match self.raw(key) {
      None => Ok(None),
      Some(Value::Bool(b)) => Ok(Some(*b)),
      Some(_) => Err(FerroError::config(self.field(key), "must be a boolean")),
    }
  }

  /// A non-negative integer no larger than `max`.
  pub fn integer(&self, key: &str, max: u64) -> Result<Option<u64>> {
    match self.raw(key) {
      None => Ok(None),
      Some(Value::Number(n)) => match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= max as f64 => Ok(Some(f as u64)),
        _ => Err(FerroError::config(self.field(key), format!("must be an integer from 0 to {}", max))),
      },
      Some(_) => Err(FerroError::config(self.field(key), "must be a number")),
    }
  }

  /// A finite number (kafkajs's fractional settings: `multiplier`, `jitter`).
  pub fn number(&self, key: &str) -> Result<Option<f64>> {
    match self.raw(key) {
      None => Ok(None),
      Some(Value::Number(n)) => Ok(n.as_f64()),
      Some(_) => Err(FerroError::config(self.field(key), "must be a number")),
    }
  }

  /// A finite number from `min` to `max`.
  pub fn number_between(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>> {
    match self.number(key)? {
      Some(f) if !(min..=max).contains(&f) => {
        Err(FerroError::config(self.field(key), format!("must be a number from {} to {}", min, max)))
      }
      n => Ok(n),
    }
  }

  pub fn child(&self, key: &str) -> Result<Options<'a>> {
    let path: &'a str = Box::leak(self.field(key).into_boxed_str());
    match self.raw(key) {
      None => Ok(Options { path, map: None }),
      Some(v) => Options::new(path, v),
    }
  }
}

const I32_MAX: u64 = i32::MAX as u64;

/// Kafka's rule for topic names, checked before a request so a bad name fails at once (a broker
/// that auto-creates topics would otherwise leave a subscriber waiting for a topic never made).
pub fn topic_name(field: &str, name: &str) -> Result<()> {
  let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
  let problem = if name.is_empty() {
    "must be a non-empty string"
  } else if name.len() > 249 {
    "must be at most 249 characters long"
  } else if name == "." || name == ".." {
    "must not be \".\" or \"..\""
  } else if !name.chars().all(legal) {
    "may contain only ASCII letters, digits, '.', '_' and '-'"
  } else {
    return Ok(());
  };
  Err(FerroError::config(field, problem))
}

/// Builds the connection part shared by producers, consumers and admin clients.
pub fn client_config(common: &Value) -> Result<ClientConfig> {
  let opts = Options::new("", common)?;
  let mut cfg = ClientConfig::new();
  // Accepted for kafkajs compatibility without effect, but still type-checked.
  for ignored in ["authenticationTimeout", "reauthenticationThreshold"] {
    opts.integer(ignored, I32_MAX)?;
  }
  let brokers = match opts.raw("brokers") {
    Some(Value::Array(list)) if !list.is_empty() => list
      .iter()
      .map(|b| b.as_str().filter(|s| !s.trim().is_empty()).map(str::trim))
      .collect::<Option<Vec<_>>>()
      .ok_or_else(|| FerroError::config("brokers", "every entry must be a non-empty \"host:port\" string"))?,
    Some(Value::Array(_)) => return Err(FerroError::config("brokers", "must list at least one broker")),
    Some(_) => {
      return Err(FerroError::config(
        "brokers",
        "must be an array of \"host:port\" strings or a function returning one",
      ))
    }
    None => return Err(FerroError::config("brokers", "is required")),
  };
  for b in &brokers {
    let port_ok = b.rsplit_once(':').map(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()).unwrap_or(false);
    if !port_ok {
      return Err(FerroError::config("brokers", format!("entry `{}` is not \"host:port\"", b)));
    }
  }
  cfg.set("bootstrap.servers", brokers.join(","));
  cfg.set("client.id", opts.string("clientId")?.unwrap_or("ferrokafka"));
  if let Some(ms) = opts.integer("connectionTimeout", I32_MAX)? {
    cfg.set("socket.connection.setup.timeout.ms", ms.max(1000).to_string());
  }
  if let Some(ms) = opts.integer("requestTimeout", I32_MAX)? {
    cfg.set("socket.timeout.ms", ms.max(10).to_string());
  }
  let tls = crate::config_security::apply_ssl(&opts, &mut cfg)?;
  let sasl = crate::config_security::apply_sasl(&opts, &mut cfg)?;
  cfg.set(
    "security.protocol",
    match (tls, sasl) {
      (false, false) => "plaintext",
      (true, false) => "ssl",
      (false, true) => "sasl_plaintext",
      (true, true) => "sasl_ssl",
    },
  );
  // librdkafka drops lines above the client's level before they reach its logger. Set through
  // `set_log_level`: rdkafka applies that after creation, over any `log_level` property, and by
  // default takes it from the global `tracing` subscriber, i.e. from whichever clients happen to be
  // alive (a lone consumer at DEBUG got no debug lines after its start).
  opts.integer("logLevel", 5)?;
  cfg.set_log_level(crate::logging::rdkafka_level(crate::logging::client_log_level(common).into()));
  apply_overrides(&opts, &mut cfg)?;
  Ok(cfg)
}

/// `rdkafka: { "key": value }` passes librdkafka properties straight through (ferrokafka's
/// escape hatch); librdkafka itself rejects unknown keys when the client is created.
fn apply_overrides(opts: &Options, cfg: &mut ClientConfig) -> Result<()> {
  let overrides = opts.child("rdkafka")?;
  if let Some(map) = overrides.map {
    for (k, v) in map {
      let text = match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(FerroError::config(format!("rdkafka.{}", k), "must be a string, number or boolean")),
      };
      cfg.set(k, text);
    }
  }
  Ok(())
}

/// Producer options (kafkajs `kafka.producer(opts)`) on top of the client config.
pub fn producer_config(common: &Value, producer: &Value) -> Result<ClientConfig> {
  let mut cfg = client_config(common)?;
  let opts = Options::new("producer", producer)?;
  let transactional_id = opts.string("transactionalId")?;
  opts.integer("metadataMaxAge", I32_MAX)?;
  let idempotent = opts.boolean("idempotent")?.unwrap_or(true) || transactional_id.is_some();
  let acks = match opts.raw("acks") {
    None => -1,
    Some(Value::Number(n)) if matches!(n.as_i64(), Some(-1..=1)) => n.as_i64().unwrap_or(-1),
    Some(_) => return Err(FerroError::config("producer.acks", "must be -1 (all), 0 or 1")),
  };
  if idempotent && acks != -1 {
    return Err(FerroError::config(
      "producer.acks",
      "must be -1 (all) for an idempotent producer; set idempotent: false to use acks 0 or 1",
    ));
  }
  cfg.set("enable.idempotence", idempotent.to_string());
  cfg.set("acks", acks.to_string());
  // murmur2 on the key bytes: the partition Java clients and kafkajs's default partitioner pick.
  cfg.set("partitioner", "murmur2_random");
  // An awaited single send must not wait out a linger; batches still form from what queues
  // up while a request is in flight (see FACTS.md and the README's tuning section).
  cfg.set("linger.ms", opts.integer("lingerMs", 900_000)?.unwrap_or(0).to_string());
  cfg.set("message.timeout.ms", opts.integer("timeout", I32_MAX)?.unwrap_or(30_000).to_string());
  if let Some(id) = transactional_id {
    if id.is_empty() {
      return Err(FerroError::config("producer.transactionalId", "must be a non-empty string"));
    }
    cfg.set("transactional.id", id);
  }
  if let Some(ms) = opts.integer("transactionTimeout", I32_MAX)? {
    cfg.set("transaction.timeout.ms", ms.to_string());
  }
  if let Some(n) = opts.integer("maxInFlightRequests", 1_000_000)? {
    if idempotent && n > 5 {
      return Err(FerroError::config("producer.maxInFlightRequests", "must be at most 5 for an idempotent producer"));
    }
    cfg.set("max.in.flight.requests.per.connection", n.max(1).to_string());
  }
  let retry = crate::dlq::RetryPolicy::of_client(&opts, common, None)?;
  if let Some(auto) = opts.boolean("allowAutoTopicCreation")? {
    cfg.set("allow.auto.create.topics", auto.to_string());
    // kafkajs gives up on a topic no broker hosts once its retries are spent (about 9 s by
    // default); librdkafka would hold the messages for topic.metadata.propagation.max.ms (30 s).
    if !auto {
      cfg.set("topic.metadata.propagation.max.ms", retry.budget_ms().to_string());
    }
  }
  // kafkajs's retry count bounds a plain producer's resends; an idempotent one must keep
  // resending (its ordering and dedup depend on it) until message.timeout.ms.
  if !idempotent && opts.raw("retry").or(common.get("retry")).is_some() {
    cfg.set("message.send.max.retries", retry.retries.to_string());
  }
  if let Some(codec) = opts.raw("compression") {
    cfg.set("compression.codec", compression_codec(codec, "producer.compression")?);
  }
  cfg.set("queue.buffering.max.messages", "1000000");
  apply_overrides(&Options::new("", common)?, &mut cfg)?;
  Ok(cfg)
}

/// kafkajs `CompressionTypes` (None 0, GZIP 1, Snappy 2, LZ4 3, ZSTD 4) to librdkafka's codec.
pub fn compression_codec(value: &Value, field: &str) -> Result<&'static str> {
  match value.as_u64() {
    Some(0) => Ok("none"),
    Some(1) => Ok("gzip"),
    Some(2) => Ok("snappy"),
    Some(3) => Ok("lz4"),
    Some(4) => Ok("zstd"),
    _ => Err(FerroError::config(field, "must be a CompressionTypes value (0 to 4)")),
  }
}

/// Consumer options (kafkajs `kafka.consumer(opts)`) on top of the client config.
pub fn consumer_config(common: &Value, consumer: &Value, from_beginning: bool) -> Result<ClientConfig> {
  let mut cfg = client_config(common)?;
  let opts = Options::new("consumer", consumer)?;
  opts.integer("maxInFlightRequests", I32_MAX)?;
  opts.integer("metadataMaxAge", I32_MAX)?;
  let group = opts.string("groupId")?.filter(|g| !g.is_empty());
  let group = group.ok_or_else(|| FerroError::config("consumer.groupId", "must be a non-empty string"))?;
  cfg.set("group.id", group);
  // Offsets are stored only after a handler succeeded; librdkafka commits only stored offsets.
  cfg.set("enable.auto.offset.store", "false");
  cfg.set("enable.auto.commit", opts.boolean("autoCommit")?.unwrap_or(true).to_string());
  cfg.set("auto.commit.interval.ms", opts.integer("autoCommitInterval", I32_MAX)?.unwrap_or(5000).to_string());
  cfg.set("auto.offset.reset", if from_beginning { "earliest" } else { "latest" });
  let proto = opts.string("groupProtocol")?;
  if proto.is_some_and(|p| p != "classic" && p != "consumer") {
    return Err(FerroError::config("consumer.groupProtocol", "must be \"classic\" or \"consumer\""));
  }
  // KIP-848: the broker owns session, heartbeat and assignment; librdkafka refuses the settings.
  let broker_owned = proto == Some("consumer");
  let session = opts.integer("sessionTimeout", I32_MAX)?;
  let heartbeat = opts.integer("heartbeatInterval", I32_MAX)?;
  if !broker_owned {
    cfg.set("session.timeout.ms", session.unwrap_or(30_000).to_string());
    if let Some(ms) = heartbeat {
      cfg.set("heartbeat.interval.ms", ms.to_string());
    }
  }
  // kafkajs's rebalanceTimeout is how long a member may take to rejoin: librdkafka's poll bound.
  let rebalance = opts.integer("rebalanceTimeout", I32_MAX)?.unwrap_or(60_000);
  cfg.set("max.poll.interval.ms", rebalance.max(300_000).to_string());
  if let Some(b) = opts.integer("maxBytesPerPartition", I32_MAX)? {
    cfg.set("max.partition.fetch.bytes", b.to_string());
  }
  if let Some(b) = opts.integer("minBytes", 100_000_000)? {
    cfg.set("fetch.min.bytes", b.max(1).to_string());
  }
  if let Some(b) = opts.integer("maxBytes", I32_MAX)? {
    cfg.set("fetch.max.bytes", b.to_string());
  }
  // A real broker answers a Fetch as soon as data arrives; librdkafka's MockCluster waits out the
  // whole long-poll, so against an in-process mock the default wait is kept short.
  let in_mock = cfg.get("bootstrap.servers").map(crate::mock::is_in_process).unwrap_or(false);
  let wait = opts.integer("maxWaitTimeInMs", I32_MAX)?.unwrap_or(if in_mock { 5 } else { 500 });
  cfg.set("fetch.wait.max.ms", wait.to_string());
  // kafkajs's consumers ask brokers to create a subscribed topic that is missing (librdkafka's
  // default is not to, since KIP-361); a broker with auto.create.topics.enable=false still won't.
  let auto_create = opts.boolean("allowAutoTopicCreation")?.unwrap_or(true);
  cfg.set("allow.auto.create.topics", auto_create.to_string());
  let read_uncommitted = opts.boolean("readUncommitted")?.unwrap_or(false);
  cfg.set("isolation.level", if read_uncommitted { "read_uncommitted" } else { "read_committed" });
  if let Some(id) = opts.string("groupInstanceId")? {
    cfg.set("group.instance.id", id);
  }
  // kafkajs's rackId: fetch from a replica in the same rack (KIP-392) where the brokers allow it.
  if let Some(rack) = opts.string("rackId")? {
    cfg.set("client.rack", rack);
  }
  if let Some(proto) = proto {
    cfg.set("group.protocol", proto);
  }
  if let (false, Some(Value::Array(names))) = (broker_owned, opts.raw("partitionAssigners")) {
    let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
    if !names.is_empty() {
      cfg.set("partition.assignment.strategy", names.join(","));
    }
  }
  // The default backoff (1000 ms) throttles a fast consumer six-fold (FACTS.md); 0 makes the broker
  // threads spin while the whole consumer queue holds queued.min.messages (twice their CPU).
  cfg.set("fetch.queue.backoff.ms", "10");
  cfg.set("queued.min.messages", "100000");
  apply_overrides(&Options::new("", common)?, &mut cfg)?;
  if !broker_owned {
    crate::group_join::enable(&mut cfg);
  }
  Ok(cfg)
}
