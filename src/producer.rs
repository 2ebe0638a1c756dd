//! The producer: one N-API call per `send`/`sendBatch`, however many records it carries.
//!
//! Records are copied into librdkafka's queue synchronously inside the call (no payload copy
//! in between); the returned promise settles when every record's delivery report is in. When
//! librdkafka's queue is full the remaining records wait for room instead of failing.

use crate::config;
use crate::error::{Context, FerroError, Result};
use crate::logging::{LogFn, LogSink, RawLogFn};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// librdkafka callbacks for a producer: logs and client-level errors go to the JS logger.
pub struct ProducerCtx {
  pub log: LogSink,
}

impl ClientContext for ProducerCtx {
  fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
    self.log.rdkafka(level, fac, message);
  }
  fn error(&self, error: KafkaError, reason: &str) {
    self.log.emit(1, "ERROR", &format!("{}: {}", error, reason));
  }
}

pub type RawProducer = FutureProducer<ProducerCtx>;

/// A header as the facade sends it: kafkajs allows repeated keys, so a list, not a map.
#[napi(object)]
pub struct MessageHeader {
  pub key: String,
  pub value: Buffer,
}

/// One record of a kafkajs `messages` array, with strings already encoded as Buffers.
#[napi(object)]
pub struct OutgoingMessage {
  pub partition: Option<i32>,
  pub key: Option<Buffer>,
  pub value: Option<Buffer>,
  /// Epoch milliseconds.
  pub timestamp: Option<f64>,
  pub headers: Option<Vec<MessageHeader>>,
}

/// kafkajs `{ topic, messages }`, the unit of `send` and an element of `sendBatch`.
#[napi(object)]
pub struct TopicMessages {
  pub topic: String,
  pub messages: Vec<OutgoingMessage>,
}

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

/// An enqueued record's delivery, remembered with its topic for the metadata.
pub(crate) struct InFlight {
  topic: Arc<str>,
  future: DeliveryFuture,
}

pub(crate) struct Owned {
  topic: Arc<str>,
  partition: Option<i32>,
  key: Option<Vec<u8>>,
  value: Option<Vec<u8>>,
  timestamp: Option<i64>,
  headers: Option<OwnedHeaders>,
}

pub(crate) struct ProducerInner {
  common: Value,
  options: Value,
  log: Option<LogFn>,
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

pub(crate) fn create_raw(cfg: rdkafka::ClientConfig, log: Option<LogFn>, level: u32) -> Result<RawProducer> {
  cfg
    .create_with_context(ProducerCtx { log: LogSink::new(log, level) })
    .map_err(|e| FerroError::creation("producer", e))
}

fn headers_of(list: &Option<Vec<MessageHeader>>) -> Option<OwnedHeaders> {
  let list = list.as_ref().filter(|l| !l.is_empty())?;
  let mut headers = OwnedHeaders::new_with_capacity(list.len());
  for h in list {
    headers = headers.insert(Header { key: &h.key, value: Some(&h.value[..]) });
  }
  Some(headers)
}

impl ProducerInner {
  pub(crate) fn client(&self) -> Result<Arc<RawProducer>> {
    self.main.read().unwrap().clone().ok_or_else(|| FerroError::state("The producer is not connected (call connect() first)"))
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
    let codec = opts.compression.unwrap_or(0);
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
    let p = Arc::new(create_raw(cfg, self.log.clone(), self.log_level)?);
    siblings.insert((acks, codec), p.clone());
    Ok(p)
  }
}

/// Enqueues every record; records that meet a full queue are copied and returned for later.
pub(crate) fn enqueue(producer: &RawProducer, batches: &[TopicMessages]) -> Result<(Vec<InFlight>, Vec<Owned>)> {
  let total = batches.iter().map(|b| b.messages.len()).sum();
  let mut inflight = Vec::with_capacity(total);
  let mut waiting = Vec::new();
  for batch in batches {
    if batch.topic.is_empty() {
      return Err(FerroError::config("topic", "must be a non-empty string"));
    }
    let topic: Arc<str> = Arc::from(batch.topic.as_str());
    for m in &batch.messages {
      if !waiting.is_empty() {
        waiting.push(own(&topic, m));
        continue;
      }
      let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&batch.topic);
      if let Some(k) = &m.key { record = record.key(&k[..]); }
      if let Some(v) = &m.value { record = record.payload(&v[..]); }
      if let Some(p) = m.partition { record = record.partition(p); }
      if let Some(t) = m.timestamp { record = record.timestamp(t as i64); }
      if let Some(h) = headers_of(&m.headers) { record = record.headers(h); }
      match producer.send_result(record) {
        Ok(future) => inflight.push(InFlight { topic: topic.clone(), future }),
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => waiting.push(own(&topic, m)),
        Err((e, _)) => return Err(FerroError::kafka(&format!("send to topic \"{}\"", batch.topic), &e)),
      }
    }
  }
  Ok((inflight, waiting))
}

fn own(topic: &Arc<str>, m: &OutgoingMessage) -> Owned {
  Owned {
    topic: topic.clone(),
    partition: m.partition,
    key: m.key.as_ref().map(|b| b.to_vec()),
    value: m.value.as_ref().map(|b| b.to_vec()),
    timestamp: m.timestamp.map(|t| t as i64),
    headers: headers_of(&m.headers),
  }
}

/// Backpressure: waits for queue room, bounded by librdkafka's own message timeout.
async fn enqueue_waiting(producer: &RawProducer, waiting: Vec<Owned>, inflight: &mut Vec<InFlight>) -> Result<()> {
  let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
  for m in waiting {
    loop {
      let mut record: FutureRecord<'_, Vec<u8>, Vec<u8>> = FutureRecord::to(&m.topic);
      if let Some(k) = &m.key { record = record.key(k); }
      if let Some(v) = &m.value { record = record.payload(v); }
      if let Some(p) = m.partition { record = record.partition(p); }
      if let Some(t) = m.timestamp { record = record.timestamp(t); }
      if let Some(h) = &m.headers { record = record.headers(h.clone()); }
      match producer.send_result(record) {
        Ok(future) => {
          inflight.push(InFlight { topic: m.topic.clone(), future });
          break;
        }
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) if tokio::time::Instant::now() < deadline => {
          tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Err((e, _)) => return Err(FerroError::kafka(&format!("send to topic \"{}\"", m.topic), &e)),
      }
    }
  }
  Ok(())
}

/// Awaits every delivery report and folds them into kafkajs's per-partition metadata.
pub(crate) async fn settle(inflight: Vec<InFlight>) -> Result<Vec<RecordMetadata>> {
  let mut order: Vec<(Arc<str>, i32, i64)> = Vec::new();
  let mut index: HashMap<(Arc<str>, i32), usize> = HashMap::new();
  let mut first_error: Option<FerroError> = None;
  for f in inflight {
    match f.future.await {
      Ok(Ok(d)) => match index.get(&(f.topic.clone(), d.partition)) {
        Some(&i) => order[i].2 = order[i].2.min(d.offset),
        None => {
          index.insert((f.topic.clone(), d.partition), order.len());
          order.push((f.topic, d.partition, d.offset));
        }
      },
      Ok(Err((e, _))) => {
        first_error.get_or_insert_with(|| FerroError::kafka(&format!("deliver to topic \"{}\"", f.topic), &e));
      }
      Err(_) => {
        first_error.get_or_insert_with(|| FerroError::state("The producer was closed before delivery"));
      }
    }
  }
  if let Some(e) = first_error {
    return Err(e);
  }
  Ok(
    order
      .into_iter()
      .map(|(topic, partition, offset)| RecordMetadata {
        topic_name: topic.to_string(),
        partition,
        error_code: 0,
        base_offset: offset.to_string(),
        log_append_time: "-1".into(),
        log_start_offset: "-1".into(),
      })
      .collect(),
  )
}

/// Enqueues and settles one call's records on `producer`.
pub(crate) fn produce<'e>(env: &'e Env, producer: Arc<RawProducer>, batches: Vec<TopicMessages>) -> napi::Result<PromiseRaw<'e, Vec<RecordMetadata>>> {
  let (mut inflight, waiting) = enqueue(&producer, &batches)?;
  drop(batches);
  env.spawn_future(async move {
    if !waiting.is_empty() {
      enqueue_waiting(&producer, waiting, &mut inflight).await?;
    }
    Ok(settle(inflight).await?)
  })
}

#[napi]
impl NativeProducer {
  /// Validates the options and builds the librdkafka client (no connection is made yet).
  #[napi(constructor)]
  pub fn new(common: Value, options: Value, #[napi(ts_arg_type = "((record: LogRecord) => void) | undefined | null")] log: Option<RawLogFn>) -> napi::Result<Self> {
    let log: Option<LogFn> = log.map(std::sync::Arc::new);
    let cfg = config::producer_config(&common, &options)?;
    let log_level = common.get("logLevel").and_then(Value::as_u64).unwrap_or(4) as u32;
    let transactional = options.get("transactionalId").map(|v| !v.is_null()).unwrap_or(false);
    let main = create_raw(cfg, log.clone(), log_level)?;
    Ok(NativeProducer {
      inner: Arc::new(ProducerInner {
        common,
        options,
        log,
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
    tokio::task::spawn_blocking(move || {
      producer.client().fetch_metadata(None, Duration::from_millis(timeout_ms as u64)).map(|_| ()).during("connect")
    })
    .await
    .map_err(|e| napi::Error::from_reason(e.to_string()))??;
    Ok(())
  }

  /// Sends every record of every topic in one crossing; resolves to kafkajs's RecordMetadata[].
  #[napi(ts_return_type = "Promise<RecordMetadata[]>")]
  pub fn send<'e>(&self, env: &'e Env, batches: Vec<TopicMessages>, options: Option<SendOptions>) -> napi::Result<PromiseRaw<'e, Vec<RecordMetadata>>> {
    let producer = self.inner.client_for(&options)?;
    produce(env, producer, batches)
  }

  /// Waits for every queued record to be delivered or to fail.
  #[napi]
  pub async fn flush(&self, timeout_ms: u32) -> napi::Result<()> {
    let producer = self.inner.client()?;
    tokio::task::spawn_blocking(move || producer.flush(Duration::from_millis(timeout_ms as u64)).during("flush"))
      .await
      .map_err(|e| napi::Error::from_reason(e.to_string()))??;
    Ok(())
  }

  /// Flushes within `timeoutMs`, then releases the client and its threads.
  #[napi]
  pub async fn disconnect(&self, timeout_ms: u32) -> napi::Result<()> {
    let main = self.inner.main.write().unwrap().take();
    let siblings: Vec<_> = self.inner.siblings.lock().unwrap().drain().map(|(_, p)| p).collect();
    tokio::task::spawn_blocking(move || {
      for p in main.iter().chain(siblings.iter()) {
        let _ = p.flush(Duration::from_millis(timeout_ms as u64));
        // Anything still queued settles with a purge error instead of hanging its promise.
        p.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
      }
      drop(siblings);
      drop(main);
    })
    .await
    .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    Ok(())
  }
}
