//! The producer: one N-API call per tick's `send`/`sendBatch` calls, however many records they carry.
//!
//! Records are copied into librdkafka's queue synchronously inside the call (no payload copy
//! in between); the returned promise settles when every record's delivery report is in. When
//! librdkafka's queue is full the remaining records wait for room instead of failing.

use crate::config;
use crate::delivery::{produce_many, SendState};
use crate::error::{blocking, Context, FerroError, Result};
use crate::logging::{LogFn, LogSink, RawLogFn};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// librdkafka callbacks for a producer: logs and client-level errors go to the JS logger.
pub struct ProducerCtx {
  pub log: LogSink,
  pub stats: crate::logging::LatestStats,
  pub oauth: Option<Arc<crate::oauth::TokenCell>>,
  pub handshake: crate::handshake::HandshakeFailure,
}

impl ClientContext for ProducerCtx {
  const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;
  fn generate_oauth_token(&self, _: Option<&str>) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
    crate::oauth::answer(&self.oauth)
  }
  fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
    self.log.rdkafka(level, fac, message);
  }
  fn error(&self, error: KafkaError, reason: &str) {
    self.handshake.record(&error, reason);
    let _ = self.log.client_error(&error, reason);
  }
  fn stats_raw(&self, statistics: &[u8]) {
    self.stats.set(statistics);
  }
}

impl ProducerContext for ProducerCtx {
  type DeliveryOpaque = Arc<SendState>;
  fn delivery(&self, result: &DeliveryResult<'_>, state: Arc<SendState>) {
    state.delivered(result);
  }
}

pub type RawProducer = ThreadedProducer<ProducerCtx>;

/// Per-send options of kafkajs that librdkafka fixes per client: a sibling client is used.
#[napi(object)]
pub struct SendOptions {
  pub acks: Option<i32>,
  pub compression: Option<u32>,
}

/// kafkajs's RecordMetadata: one entry per topic-partition written by the call.
#[napi(object)]
pub struct RecordMetadata {
  pub topic_name: String,
  pub partition: i32,
  pub error_code: i32,
  pub base_offset: String,
  pub log_append_time: String,
  pub log_start_offset: String,
}

pub(crate) struct ProducerInner {
  common: Value,
  options: Value,
  /// Released on disconnect: a live threadsafe function shows up as an open handle in Jest.
  log: Mutex<Option<LogFn>>,
  log_level: u32,
  pub(crate) main: RwLock<Option<Arc<RawProducer>>>,
  siblings: Mutex<HashMap<(i32, u32), Arc<RawProducer>>>,
  pub(crate) transactional: bool,
  pub(crate) txn_ready: std::sync::atomic::AtomicBool,
}

/// The native half of a kafkajs `Producer`.
#[napi]
pub struct NativeProducer {
  pub(crate) inner: Arc<ProducerInner>,
}

/// Creates a producer from `cfg` (translated from `common`), holding its first OAUTHBEARER token
/// when `common` names a provider.
pub(crate) fn create_raw(
  mut cfg: rdkafka::ClientConfig,
  common: &Value,
  log: Option<LogFn>,
  level: u32,
) -> Result<RawProducer> {
  let oauth = crate::oauth::cell_for(common);
  crate::interceptor::enable(&mut cfg);
  let producer: RawProducer = cfg
    .create_with_context(ProducerCtx {
      log: LogSink::new(log, level),
      stats: Default::default(),
      oauth: oauth.clone(),
      handshake: Default::default(),
    })
    .map_err(|e| FerroError::creation("producer", e))?;
  crate::oauth::seed_client(&oauth, producer.client().native_ptr())?;
  Ok(producer)
}

impl ProducerInner {
  pub(crate) fn client(&self) -> Result<Arc<RawProducer>> {
    self
      .main
      .read()
      .unwrap()
      .clone()
      .ok_or_else(|| FerroError::state("The producer is not connected (call connect() first)"))
  }

  fn client_for(&self, opts: &Option<SendOptions>) -> Result<Arc<RawProducer>> {
    let main = self.client()?;
    let Some(opts) = opts else { return Ok(main) };
    let configured = self.options.get("acks").and_then(Value::as_i64).unwrap_or(-1) as i32;
    let acks = opts.acks.unwrap_or(configured);
    if acks == configured && opts.compression.is_none() {
      return Ok(main);
    }
    if !matches!(acks, -1..=1) {
      return Err(FerroError::config("acks", "must be -1 (all), 0 or 1"));
    }
    if self.transactional && acks != -1 {
      return Err(FerroError::config("acks", "must be -1 (all) for a transactional producer"));
    }
    // As kafkajs: a producer asked to be idempotent refuses a send that would not wait for all
    // replicas. (Idempotent by default only, it sends such a record through a plain sibling.)
    if acks != -1 && self.options.get("idempotent") == Some(&Value::Bool(true)) {
      return Err(FerroError::config(
        "acks",
        "must be -1 (all) for a producer created with idempotent: true (not requiring ack for all messages invalidates its guarantees)",
      ));
    }
    let codec = opts.compression.unwrap_or(0);
    // Checked under the per-send name: the sibling's own config would blame `producer.compression`.
    config::compression_codec(&codec.into(), "compression")?;
    let mut siblings = self.siblings.lock().unwrap();
    if let Some(p) = siblings.get(&(acks, codec)) {
      return Ok(p.clone());
    }
    let mut options = self.options.clone();
    if let Value::Object(map) = &mut options {
      map.insert("acks".into(), acks.into());
      map.insert("idempotent".into(), (acks == -1 && map.get("idempotent") != Some(&Value::Bool(false))).into());
      map.insert("compression".into(), codec.into());
      map.remove("transactionalId");
    }
    let cfg = config::producer_config(&self.common, &options)?;
    let p = Arc::new(create_raw(cfg, &self.common, self.log.lock().unwrap().clone(), self.log_level)?);
    siblings.insert((acks, codec), p.clone());
    Ok(p)
  }
}

#[napi]
impl NativeProducer {
  /// Validates the options and builds the librdkafka client (no connection is made yet).
  #[napi(constructor)]
  pub fn new(
    common: Value,
    options: Value,
    #[napi(ts_arg_type = "((record: LogRecord) => void) | undefined | null")] log: Option<RawLogFn>,
  ) -> napi::Result<Self> {
    let log: Option<LogFn> = log.map(std::sync::Arc::new);
    let cfg = config::producer_config(&common, &options)?;
    let log_level = crate::logging::client_log_level(&common);
    let transactional = options.get("transactionalId").map(|v| !v.is_null()).unwrap_or(false);
    let main = create_raw(cfg, &common, log.clone(), log_level)?;
    Ok(NativeProducer {
      inner: Arc::new(ProducerInner {
        common,
        options,
        log: Mutex::new(log),
        log_level,
        main: RwLock::new(Some(Arc::new(main))),
        siblings: Mutex::new(HashMap::new()),
        transactional,
        txn_ready: std::sync::atomic::AtomicBool::new(false),
      }),
    })
  }

  /// Resolves once a broker answered a metadata request within `timeoutMs`.
  #[napi]
  pub async fn connect(&self, timeout_ms: u32) -> napi::Result<()> {
    let producer = self.inner.client()?;
    let idempotent = self.inner.options.get("idempotent") != Some(&Value::Bool(false));
    blocking(move || {
      let failure = &producer.context().handshake;
      let timeout = Duration::from_millis(timeout_ms as u64);
      crate::handshake::connect(producer.client(), failure, timeout, false)?;
      if idempotent {
        // librdkafka asks for the producer id when a metadata answer arrives and some broker is up;
        // at the first answer only the bootstrap connection was (and it is retired as the brokers
        // are learned), so it waits for its 500 ms retry timer. A second request, made over a learned
        // broker, lets the id be asked for now and the first send go without that wait.
        let _ = producer.client().fetch_metadata(None, timeout.min(Duration::from_secs(1)));
      }
      Ok(())
    })
    .await
  }

  /// Sends every record of several sends in one crossing (see
  /// [`crate::packed_records::PackedRecords`]): `sends[i]` is how many `topics` entries the i-th
  /// send has. Resolves to one promise per send, each settling to kafkajs's RecordMetadata[] for
  /// that send alone.
  #[napi(ts_return_type = "Array<Promise<RecordMetadata[]>>")]
  pub fn send<'e>(
    &self,
    env: &'e Env,
    topics: Vec<String>,
    counts: Vec<u32>,
    sends: Vec<u32>,
    data: BufferSlice<'_>,
    options: Option<SendOptions>,
  ) -> napi::Result<Vec<PromiseRaw<'e, Vec<RecordMetadata>>>> {
    let producer = self.inner.client_for(&options)?;
    produce_many(env, producer, topics, counts, &sends, data)
  }

  /// librdkafka's latest statistics JSON (set `rdkafka: { 'statistics.interval.ms': n }`), or
  /// null before the first report or when not connected.
  #[napi]
  pub fn stats(&self) -> Option<String> {
    self.inner.client().ok().and_then(|p| p.context().stats.get())
  }

  /// Waits for every queued record to be delivered or to fail.
  #[napi]
  pub async fn flush(&self, timeout_ms: u32) -> napi::Result<()> {
    let producer = self.inner.client()?;
    blocking(move || producer.flush(Duration::from_millis(timeout_ms as u64)).during("flush")).await
  }

  /// Flushes within `timeoutMs`, then releases the client and its threads.
  #[napi]
  pub async fn disconnect(&self, timeout_ms: u32) -> napi::Result<()> {
    let main = self.inner.main.write().unwrap().take();
    self.inner.log.lock().unwrap().take();
    let siblings: Vec<_> = self.inner.siblings.lock().unwrap().drain().map(|(_, p)| p).collect();
    blocking(move || {
      for p in main.iter().chain(siblings.iter()) {
        let _ = p.flush(Duration::from_millis(timeout_ms as u64));
        // Anything still queued settles with a purge error instead of hanging its promise.
        p.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
      }
      drop(siblings);
      drop(main);
      Ok(())
    })
    .await
  }
}
