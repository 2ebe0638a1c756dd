//! MockCluster: librdkafka's in-process Kafka-protocol cluster, with fault injection.
//!
//! Clients reach it over real TCP on loopback, so tests exercise the same code as production.
//! The raw `rd_kafka_mock_*` calls are used directly because the crate's `mocking` module hides
//! the cluster pointer the fault calls need. librdkafka's mock API is thread-safe: every call
//! is queued to the cluster's own thread. The mock has no CreateTopics API, so in-process
//! clusters are registered by bootstrap address and `admin.createTopics` routes to them.

use crate::consumer::NativeConsumer;
use crate::error::{FerroError, Result};
use napi_derive::napi;
use once_cell::sync::Lazy;
use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::Mutex;

#[derive(Clone, Copy)]
struct ClusterPtr(*mut rd::rd_kafka_mock_cluster_t);
// SAFETY: librdkafka serialises all mock operations onto the cluster's thread.
unsafe impl Send for ClusterPtr {}
unsafe impl Sync for ClusterPtr {}

static REGISTRY: Lazy<Mutex<HashMap<String, ClusterPtr>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// Options of `new MockCluster(...)`.
#[napi(object)]
pub struct MockClusterOptions {
  /// Number of brokers (default 3), with ids 1..=brokers.
  pub brokers: Option<i32>,
  /// How long a new group waits for more members before its first assignment (default 100 ms;
  /// Kafka's own default of 3 s makes every test's first join slow).
  pub group_initial_rebalance_delay_ms: Option<i32>,
}

/// An embedded Kafka cluster for tests and local development.
///
/// ```js
/// const cluster = new MockCluster({ brokers: 3 })
/// cluster.createTopic('orders', 6, 3)
/// const kafka = new Kafka({ brokers: cluster.brokers })
/// ```
#[napi]
pub struct MockCluster {
  ptr: Option<ClusterPtr>,
  // Owns the cluster's host client; dropped after the cluster.
  host: Option<BaseProducer>,
  bootstrap: String,
}

fn check(op: &str, err: rd::rd_kafka_resp_err_t) -> Result<()> {
  if err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
    Ok(())
  } else {
    Err(FerroError::from_code(op, err.into()))
  }
}

fn cstr(field: &str, s: &str) -> Result<CString> {
  CString::new(s).map_err(|_| FerroError::config(field, "must not contain NUL characters"))
}

/// True when `bootstrap` is the address list of a MockCluster running in this process.
pub fn is_in_process(bootstrap: &str) -> bool {
  REGISTRY.lock().unwrap().contains_key(bootstrap)
}

/// Creates a topic on an in-process cluster whose bootstrap list is `bootstrap`, if any.
pub fn create_topic_if_mock(bootstrap: &str, topic: &str, partitions: i32, replication: i32) -> Option<Result<()>> {
  let ptr = *REGISTRY.lock().unwrap().get(bootstrap)?;
  Some(create_topic_raw(ptr, bootstrap, topic, partitions, replication))
}

/// Partitions per topic the mock accepts: librdkafka allocates them all up front and aborts the
/// process when the allocation fails, so an absurd count must be refused before it gets there.
const MAX_PARTITIONS: i32 = 100_000;

fn create_topic_raw(ptr: ClusterPtr, bootstrap: &str, topic: &str, partitions: i32, replication: i32) -> Result<()> {
  let name = cstr("topic", topic)?;
  if !(1..=MAX_PARTITIONS).contains(&partitions) {
    return Err(FerroError::config("partitions", format!("must be between 1 and {}", MAX_PARTITIONS)));
  }
  let brokers = bootstrap.split(',').count() as i32;
  if !(1..=brokers).contains(&replication) {
    return Err(FerroError::config(
      "replicationFactor",
      format!("must be between 1 and the cluster's {} broker(s)", brokers),
    ));
  }
  check("createTopic", unsafe { rd::rd_kafka_mock_topic_create(ptr.0, name.as_ptr(), partitions, replication) })
}

/// A Kafka protocol API by name or number, for `pushRequestErrors`.
fn api_key(name: &str) -> Result<i16> {
  crate::api_keys::key_of(name).ok_or_else(|| {
    FerroError::config(
      "api",
      format!("unknown API `{}`; use a number or one of {}", name, crate::api_keys::names().join(", ")),
    )
  })
}

/// A librdkafka/Kafka error name (`NOT_LEADER_FOR_PARTITION`) or number to its code.
fn error_code(name: &str) -> Result<rd::rd_kafka_resp_err_t> {
  crate::error::code_by_name(name).ok_or_else(|| FerroError::config("errors", format!("unknown error name `{}`", name)))
}

#[napi]
impl MockCluster {
  #[napi(constructor)]
  pub fn new(options: Option<MockClusterOptions>) -> napi::Result<Self> {
    let brokers = options.as_ref().and_then(|o| o.brokers).unwrap_or(3);
    let delay = options.as_ref().and_then(|o| o.group_initial_rebalance_delay_ms).unwrap_or(100);
    if !(1..=64).contains(&brokers) {
      return Err(FerroError::config("brokers", "must be between 1 and 64").into());
    }
    let host: BaseProducer = ClientConfig::new()
      .set_log_level(rdkafka::config::RDKafkaLogLevel::Emerg)
      .create()
      .map_err(|e| FerroError::kafka("create mock cluster", &e))?;
    let raw = unsafe { rd::rd_kafka_mock_cluster_new(host.client().native_ptr(), brokers) };
    if raw.is_null() {
      return Err(FerroError::state("librdkafka could not start the mock cluster").into());
    }
    unsafe { rd::rd_kafka_mock_group_initial_rebalance_delay_ms(raw, delay) };
    let bootstrap = unsafe { CStr::from_ptr(rd::rd_kafka_mock_cluster_bootstraps(raw)) }.to_string_lossy().into_owned();
    REGISTRY.lock().unwrap().insert(bootstrap.clone(), ClusterPtr(raw));
    Ok(MockCluster { ptr: Some(ClusterPtr(raw)), host: Some(host), bootstrap })
  }

  fn ptr(&self) -> Result<ClusterPtr> {
    self.ptr.ok_or_else(|| FerroError::state("The mock cluster is closed"))
  }

  /// The bootstrap list, `host:port,host:port,...`.
  #[napi(getter)]
  pub fn bootstrap_servers(&self) -> String {
    self.bootstrap.clone()
  }

  /// The bootstrap list as kafkajs `brokers`.
  #[napi(getter)]
  pub fn brokers(&self) -> Vec<String> {
    self.bootstrap.split(',').map(str::to_string).collect()
  }

  /// Creates a topic (the mock has no CreateTopics API of its own).
  #[napi]
  pub fn create_topic(
    &self,
    topic: String,
    partitions: Option<i32>,
    replication_factor: Option<i32>,
  ) -> napi::Result<()> {
    Ok(create_topic_raw(
      self.ptr()?,
      &self.bootstrap,
      &topic,
      partitions.unwrap_or(1),
      replication_factor.unwrap_or(1),
    )?)
  }

  /// Takes broker `id` down: its connections close and it refuses new ones.
  #[napi]
  pub fn broker_down(&self, id: i32) -> napi::Result<()> {
    Ok(check("brokerDown", unsafe { rd::rd_kafka_mock_broker_set_down(self.ptr()?.0, id) })?)
  }

  #[napi]
  pub fn broker_up(&self, id: i32) -> napi::Result<()> {
    Ok(check("brokerUp", unsafe { rd::rd_kafka_mock_broker_set_up(self.ptr()?.0, id) })?)
  }

  /// Moves a partition's leadership to broker `id` (-1: no leader).
  #[napi]
  pub fn set_partition_leader(&self, topic: String, partition: i32, id: i32) -> napi::Result<()> {
    let name = cstr("topic", &topic)?;
    Ok(check("setPartitionLeader", unsafe {
      rd::rd_kafka_mock_partition_set_leader(self.ptr()?.0, name.as_ptr(), partition, id)
    })?)
  }

  /// Adds `ms` of round-trip time to every request broker `id` answers.
  #[napi]
  pub fn set_rtt(&self, id: i32, ms: i32) -> napi::Result<()> {
    Ok(check("setRtt", unsafe { rd::rd_kafka_mock_broker_set_rtt(self.ptr()?.0, id, ms) })?)
  }

  /// Makes the next requests of `api` (e.g. `"Produce"`) fail with `errors`, one per request.
  #[napi]
  pub fn push_request_errors(&self, api: String, errors: Vec<String>) -> napi::Result<()> {
    let key = api_key(&api)?;
    let codes = errors.iter().map(|e| error_code(e)).collect::<Result<Vec<_>>>()?;
    unsafe { rd::rd_kafka_mock_push_request_errors_array(self.ptr()?.0, key, codes.len(), codes.as_ptr()) };
    Ok(())
  }

  /// Forgets errors queued by `pushRequestErrors` for `api`.
  #[napi]
  pub fn clear_request_errors(&self, api: String) -> napi::Result<()> {
    unsafe { rd::rd_kafka_mock_clear_request_errors(self.ptr()?.0, api_key(&api)?) };
    Ok(())
  }

  /// Makes broker `id` the coordinator of a group (`kind` "group") or transactional id ("transaction").
  #[napi]
  pub fn set_coordinator(&self, kind: String, key: String, id: i32) -> napi::Result<()> {
    if kind != "group" && kind != "transaction" {
      return Err(FerroError::config("kind", "must be \"group\" or \"transaction\"").into());
    }
    let (k, v) = (cstr("kind", &kind)?, cstr("key", &key)?);
    Ok(check("setCoordinator", unsafe {
      rd::rd_kafka_mock_coordinator_set(self.ptr()?.0, k.as_ptr(), v.as_ptr(), id)
    })?)
  }

  /// Stops the cluster and its threads; idempotent.
  #[napi]
  pub fn close(&mut self) {
    if let Some(ptr) = self.ptr.take() {
      REGISTRY.lock().unwrap().remove(&self.bootstrap);
      unsafe { rd::rd_kafka_mock_cluster_destroy(ptr.0) };
    }
    self.host.take();
  }
}

impl Drop for MockCluster {
  fn drop(&mut self) {
    self.close();
  }
}

#[napi]
impl NativeConsumer {
  /// Raises a fatal error inside this consumer's librdkafka client (`rd_kafka_test_fatal_error`,
  /// as a fenced static member would get): the client is unusable afterwards, so the facade's
  /// crash-and-restart path runs. For fault-injection tests only (`failConsumer` in
  /// `ferrokafka/testing`).
  #[napi]
  pub fn inject_fatal_error(&self, reason: String) -> napi::Result<()> {
    let consumer = self.inner.client()?;
    let reason = CString::new(reason).map_err(|_| FerroError::config("reason", "must not contain NUL"))?;
    unsafe {
      rd::rd_kafka_test_fatal_error(
        consumer.client().native_ptr(),
        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
        reason.as_ptr(),
      )
    };
    Ok(())
  }
}
