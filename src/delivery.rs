//! From one packed send to kafkajs's RecordMetadata[]: enqueueing, backpressure and delivery.
//!
//! Each send call gets one shared [`SendState`]; every record carries a reference to it as its
//! delivery opaque, and librdkafka's delivery callback folds reports into it. The promise
//! settles once, when the last report is in: no channel, allocation or wake-up per record.

use crate::error::{FerroError, Result};
use crate::packed_records::{PackedRecords, RecordView};
use crate::producer::{RawProducer, RecordMetadata};
use napi::bindgen_prelude::*;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What one send call is waiting for.
pub struct SendState {
  inner: Mutex<SendProgress>,
}

struct SendProgress {
  /// Records enqueued whose report is still due, plus one hold while records of the send may
  /// still be enqueued (released by [`SendState::release`]).
  pending: usize,
  /// (topic, partition, lowest offset), in first-delivery order.
  partitions: Vec<(String, i32, i64)>,
  error: Option<FerroError>,
  done: Option<oneshot::Sender<()>>,
}

impl SendState {
  fn new(done: oneshot::Sender<()>) -> Arc<Self> {
    Arc::new(SendState {
      inner: Mutex::new(SendProgress { pending: 1, partitions: Vec::new(), error: None, done: Some(done) }),
    })
  }

  /// Hands one record of this send to librdkafka. It counts as pending before the call (its
  /// delivery report may arrive on another thread before `send` returns) and stops counting if
  /// librdkafka does not take it; a refused record's headers come back for a later attempt.
  fn hand_over(
    &self,
    producer: &RawProducer,
    r: Record<'_>,
  ) -> std::result::Result<(), (KafkaError, Option<OwnedHeaders>)> {
    self.inner.lock().unwrap().pending += 1;
    producer.send(r).map_err(|(e, rejected)| {
      self.inner.lock().unwrap().pending -= 1;
      (e, rejected.headers)
    })
  }

  fn finish_one(p: &mut SendProgress) {
    p.pending -= 1;
    if p.pending == 0 {
      if let Some(tx) = p.done.take() {
        let _ = tx.send(());
      }
    }
  }

  /// Drops the hold: every record of the send is enqueued (or failed to be).
  fn release(&self) {
    Self::finish_one(&mut self.inner.lock().unwrap());
  }

  /// Called from librdkafka's delivery callback.
  pub fn delivered(&self, result: &DeliveryResult<'_>) {
    let mut p = self.inner.lock().unwrap();
    match result {
      Ok(m) => {
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        match p.partitions.iter_mut().find(|e| e.1 == partition && e.0 == topic) {
          Some(e) => e.2 = e.2.min(offset),
          None => p.partitions.push((topic.to_string(), partition, offset)),
        }
      }
      Err((e, m)) => {
        if p.error.is_none() {
          p.error = Some(FerroError::kafka(&format!("deliver to topic \"{}\"", m.topic()), e));
        }
      }
    }
    Self::finish_one(&mut p);
  }

  fn fail(&self, err: FerroError) {
    let mut p = self.inner.lock().unwrap();
    p.error.get_or_insert(err);
  }

  fn failed(&self) -> bool {
    self.inner.lock().unwrap().error.is_some()
  }

  /// Waits for the hold's release and every report.
  async fn settle(self: Arc<Self>, done: oneshot::Receiver<()>) -> Result<Vec<RecordMetadata>> {
    done.await.map_err(|_| FerroError::state("The producer was closed before delivery"))?;
    let mut p = self.inner.lock().unwrap();
    if let Some(e) = p.error.take() {
      return Err(e);
    }
    // By topic and partition, as kafkajs lists them (not in the order the acknowledgements came).
    p.partitions.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(
      p.partitions
        .drain(..)
        .map(|(topic, partition, offset)| RecordMetadata {
          topic_name: topic,
          partition,
          error_code: 0,
          base_offset: offset.to_string(),
          log_append_time: "-1".into(),
          log_start_offset: "-1".into(),
        })
        .collect(),
    )
  }
}

/// A record copied out of the JS buffer because librdkafka's queue was full.
struct Owned {
  state: Arc<SendState>,
  topic: Arc<str>,
  partition: Option<i32>,
  key: Option<Vec<u8>>,
  value: Option<Vec<u8>>,
  timestamp: Option<i64>,
  headers: Option<OwnedHeaders>,
}

fn own(state: &Arc<SendState>, topic: &Arc<str>, m: RecordView<'_>) -> Owned {
  Owned {
    state: state.clone(),
    topic: topic.clone(),
    partition: m.partition,
    key: m.key.map(<[u8]>::to_vec),
    value: m.value.map(<[u8]>::to_vec),
    timestamp: m.timestamp,
    headers: m.headers,
  }
}

/// A record as librdkafka takes it, carrying its send's state as the delivery opaque.
type Record<'a> = BaseRecord<'a, [u8], [u8], Arc<SendState>>;

fn record<'a>(
  topic: &'a str,
  state: &Arc<SendState>,
  partition: Option<i32>,
  timestamp: Option<i64>,
  key: Option<&'a [u8]>,
  value: Option<&'a [u8]>,
  headers: Option<OwnedHeaders>,
) -> Record<'a> {
  let mut r = BaseRecord::with_opaque_to(topic, state.clone());
  if let Some(k) = key {
    r = r.key(k);
  }
  if let Some(v) = value {
    r = r.payload(v);
  }
  if let Some(p) = partition {
    r = r.partition(p);
  }
  if let Some(t) = timestamp {
    r = r.timestamp(t);
  }
  if let Some(h) = headers {
    r = r.headers(h);
  }
  r
}

/// One send's slice of a call: its state and its range of `topics`/`counts`.
struct SendSlice {
  state: Arc<SendState>,
  topics: std::ops::Range<usize>,
}

/// What [`enqueue`] left for [`enqueue_waiting`]: records that met a full queue, in order, and
/// the sends whose hold is released only once those are in.
#[derive(Default)]
struct Waiting {
  records: Vec<Owned>,
  holds: Vec<Arc<SendState>>,
}

/// Enqueues the records of every send in order. From the first record that meets a full queue
/// on, records are copied into [`Waiting`] so that order holds across sends. A send that fails
/// (bad topic, a produce error) stops there; the others go on.
fn enqueue(producer: &RawProducer, sends: &[SendSlice], topics: &[String], counts: &[u32], data: &[u8]) -> Waiting {
  let mut records = PackedRecords::new(data);
  let mut waiting = Waiting::default();
  for (i, send) in sends.iter().enumerate() {
    let state = &send.state;
    for t in send.topics.clone() {
      let name = &topics[t];
      if let Err(e) = crate::config::topic_name("topic", name) {
        state.fail(e);
      }
      let topic: Arc<str> = Arc::from(name.as_str());
      for _ in 0..counts[t] {
        let m = match records.next_record() {
          Ok(m) => m,
          Err(e) => {
            // Nothing after a malformed record can be read: this and every later send fail.
            for s in &sends[i..] {
              s.state.fail(e.clone());
              s.state.release();
            }
            return waiting;
          }
        };
        if state.failed() {
          continue;
        }
        if !waiting.records.is_empty() {
          waiting.records.push(own(state, &topic, m));
          continue;
        }
        let (partition, timestamp, key, value) = (m.partition, m.timestamp, m.key, m.value);
        if let Err((e, rejected)) =
          state.hand_over(producer, record(name, state, partition, timestamp, key, value, m.headers))
        {
          match e {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => waiting.records.push(own(
              state,
              &topic,
              RecordView { partition, timestamp, key, value, headers: rejected },
            )),
            e => state.fail(FerroError::kafka(&format!("send to topic \"{}\"", name), &e)),
          }
        }
      }
    }
    if waiting.records.is_empty() {
      state.release();
    } else {
      waiting.holds.push(state.clone());
    }
  }
  waiting
}

/// Backpressure: waits for queue room, bounded by librdkafka's default message timeout, then
/// releases the holds of the sends that waited.
async fn enqueue_waiting(producer: &RawProducer, waiting: Waiting) {
  let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
  for m in waiting.records {
    let state = &m.state;
    while !state.failed() {
      let r =
        record(&m.topic, state, m.partition, m.timestamp, m.key.as_deref(), m.value.as_deref(), m.headers.clone());
      match state.hand_over(producer, r) {
        Ok(()) => break,
        Err((e, _)) => match e {
          KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) if tokio::time::Instant::now() < deadline => {
            tokio::time::sleep(Duration::from_millis(1)).await;
          }
          e => state.fail(FerroError::kafka(&format!("send to topic \"{}\"", m.topic), &e)),
        },
      }
    }
  }
  for state in waiting.holds {
    state.release();
  }
}

/// Sends one record from Rust itself (the dead-letter path). The record is enqueued by the call
/// itself, so records keep the order of the calls; the returned future waits for the broker's ack.
pub(crate) fn send_one(
  producer: &RawProducer,
  topic: &str,
  key: Option<&[u8]>,
  value: Option<&[u8]>,
  headers: OwnedHeaders,
) -> impl std::future::Future<Output = Result<Vec<RecordMetadata>>> + Send + 'static {
  let (tx, rx) = oneshot::channel();
  let state = SendState::new(tx);
  if let Err((e, _)) = state.hand_over(producer, record(topic, &state, None, None, key, value, Some(headers))) {
    state.fail(FerroError::kafka(&format!("send to topic \"{}\"", topic), &e));
  }
  state.release();
  async move { state.settle(rx).await }
}

/// Enqueues several sends packed back to back in one call (`sends[i]` topic entries each, in
/// order); one promise per send settles with that send's delivery reports.
pub(crate) fn produce_many<'e>(
  env: &'e Env,
  producer: Arc<RawProducer>,
  topics: Vec<String>,
  counts: Vec<u32>,
  sends: &[u32],
  data: BufferSlice<'_>,
) -> napi::Result<Vec<PromiseRaw<'e, Vec<RecordMetadata>>>> {
  if topics.len() != counts.len() || sends.iter().map(|&n| n as usize).sum::<usize>() != topics.len() {
    return Err(FerroError::config("topicMessages", "topics, counts and sends disagree in length").into());
  }
  let mut slices = Vec::with_capacity(sends.len());
  let mut receivers = Vec::with_capacity(sends.len());
  let mut first = 0;
  for &n in sends {
    let (tx, rx) = oneshot::channel();
    slices.push(SendSlice { state: SendState::new(tx), topics: first..first + n as usize });
    receivers.push(rx);
    first += n as usize;
  }
  let waiting = enqueue(&producer, &slices, &topics, &counts, &data);
  if !waiting.records.is_empty() {
    let producer = producer.clone();
    env.spawn_future(async move {
      enqueue_waiting(&producer, waiting).await;
      Ok(())
    })?;
  }
  slices
    .into_iter()
    .zip(receivers)
    .map(|(s, rx)| env.spawn_future(async move { Ok(s.state.settle(rx).await?) }))
    .collect()
}

/// Enqueues one call's records on `producer`; the promise settles with every delivery report.
pub(crate) fn produce<'e>(
  env: &'e Env,
  producer: Arc<RawProducer>,
  topics: Vec<String>,
  counts: Vec<u32>,
  data: BufferSlice<'_>,
) -> napi::Result<PromiseRaw<'e, Vec<RecordMetadata>>> {
  let sends = [topics.len() as u32];
  let mut promises = produce_many(env, producer, topics, counts, &sends, data)?;
  Ok(promises.pop().expect("one send, one promise"))
}
