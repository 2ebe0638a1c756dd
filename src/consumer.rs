//! The consumer: batches out, outcomes in. Rust decides each message's fate.
//!
//! The facade's run loop calls `fetch` for a packed batch, runs the handlers, then reports
//! `store` (handled up to an offset) or `fail` (the handler threw at an offset). Only `store`
//! moves the stored offset librdkafka commits, so a commit never runs ahead of processing.
//! `fail` applies the retry policy: the partition is rewound to the failed message and paused
//! for the backoff, while other partitions keep flowing. The next batch is drained while the
//! handlers run the current one (consumer_ahead.rs).

use crate::config::{self, Options};
use crate::consumer_batch::{cached_high_watermark, FetchedBatch, RowsMode};
use crate::consumer_context::ConsumerCtx;
use crate::dlq::RetryPolicy;
use crate::error::{Context, FerroError, Result};
use crate::logging::{LogFn, LogSink, RawLogFn};
use napi_derive::napi;
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub(crate) use crate::consumer_queue::RawConsumer;

/// A position in a partition: kafkajs's `{ topic, partition, offset }` with the offset a string.
#[napi(object)]
#[derive(Clone)]
pub struct TopicPartitionOffset {
  pub topic: String,
  pub partition: i32,
  pub offset: String,
}

/// kafkajs's `{ topic, partitions? }` for pause and resume.
#[napi(object)]
pub struct TopicPartitions {
  pub topic: String,
  pub partitions: Option<Vec<i32>>,
}

pub(crate) type Tp = (String, i32);

pub(crate) struct ConsumerInner {
  pub(crate) common: Value,
  options: Value,
  /// Released on close: a live threadsafe function shows up as an open handle in Jest.
  pub(crate) log: Mutex<Option<LogFn>>,
  pub(crate) log_level: u32,
  pub(crate) group_id: String,
  pub(crate) consumer: RwLock<Option<Arc<RawConsumer>>>,
  pub(crate) policy: RetryPolicy,
  pub(crate) failures: Mutex<HashMap<Tp, (i64, u32)>>,
  pub(crate) user_paused: Mutex<HashSet<Tp>>,
  pub(crate) commit: RwLock<CommitPolicy>,
  pub(crate) resolved_since_commit: AtomicU64,
  pub(crate) dead_letter: RwLock<Option<crate::dlq::DeadLetterPolicy>>,
  pub(crate) breaker: Mutex<crate::consumer_breaker::Breaker>,
  pub(crate) dlq_producer: Mutex<Option<Arc<crate::producer::RawProducer>>>,
  /// The next offset the run loop has not handled, per partition.
  next_offsets: Mutex<HashMap<Tp, i64>>,
  /// Dead letters awaiting the broker's ack: a store never passes the first of a partition's.
  pub(crate) barriers: Mutex<crate::dlq_writer::StoreBarriers>,
  pub(crate) dead_letters: Mutex<crate::dlq_writer::DeadLetterQueue>,
  /// Partitions in a short retry backoff: their fetched messages are dropped until the instant,
  /// then the partition is rewound (a librdkafka resume takes about a second to fetch again).
  pub(crate) holds: Arc<crate::consumer_ahead::Holds>,
  pub(crate) idle: crate::consumer_idle::Idle,
  /// A requested commit is running / another one was requested meanwhile (consumer_commit.rs).
  pub(crate) committing: std::sync::atomic::AtomicBool,
  pub(crate) commit_again: std::sync::atomic::AtomicBool,
}

/// When stored offsets are committed, from kafkajs's `run()` options: with `autoCommit`, after
/// every batch, as kafkajs's runner commits. `autoCommitThreshold`/`autoCommitInterval` add commits
/// inside an `eachMessage` batch; that per-message check runs in JS (js/consumer-offsets.ts), where
/// the messages are, rather than as a crossing per message.
#[derive(Clone, Copy, Default)]
pub(crate) struct CommitPolicy {
  pub(crate) auto_commit: bool,
}

/// The native half of a kafkajs `Consumer`.
#[napi]
pub struct NativeConsumer {
  pub(crate) inner: Arc<ConsumerInner>,
}

pub(crate) fn tpl_of(entries: &[TopicPartitionOffset], field: &str) -> Result<TopicPartitionList> {
  let mut tpl = TopicPartitionList::with_capacity(entries.len());
  for e in entries {
    let off: i64 = e.offset.parse().map_err(|_| FerroError::config(field, "offset must be a decimal string"))?;
    let offset = match off {
      -2 => Offset::Beginning,
      -1 => Offset::End,
      o if o >= 0 => Offset::Offset(o),
      _ => return Err(FerroError::config(field, "offset must be >= 0, or -1 (latest) / -2 (earliest)")),
    };
    tpl.add_partition_offset(&e.topic, e.partition, offset).during("offsets")?;
  }
  Ok(tpl)
}

/// The partitions as a list without offsets (for pause and resume).
pub(crate) fn partitions_tpl(tps: &[Tp]) -> TopicPartitionList {
  let mut tpl = TopicPartitionList::with_capacity(tps.len());
  for (t, p) in tps {
    tpl.add_partition(t, *p);
  }
  tpl
}

impl ConsumerInner {
  pub(crate) fn client(&self) -> Result<Arc<RawConsumer>> {
    self
      .consumer
      .read()
      .unwrap()
      .clone()
      .ok_or_else(|| FerroError::state("The consumer is not running (call subscribe() and run() first)"))
  }

  /// Pauses or resumes partitions; a paused one resumes at its first record not handed to the
  /// facade (consumer_ahead::pause).
  pub(crate) fn set_paused(&self, consumer: &RawConsumer, tps: &[Tp], pause: bool) {
    if pause {
      let next: Vec<Option<i64>> = {
        let offsets = self.next_offsets.lock().unwrap();
        tps.iter().map(|tp| offsets.get(tp).copied()).collect()
      };
      crate::consumer_ahead::pause(consumer, tps, &next);
      return;
    }
    let _ = consumer.resume(&partitions_tpl(tps));
  }

  /// Resumes partitions and seeks each to its next unhandled offset: a resumed partition would
  /// otherwise wait for its broker thread's next idle wake-up (about a second).
  pub(crate) fn resume_at_next(&self, consumer: &RawConsumer, tps: &[Tp]) {
    let targets: Vec<(Tp, Offset)> = {
      let next = self.next_offsets.lock().unwrap();
      tps.iter().filter_map(|tp| next.get(tp).map(|&o| (tp.clone(), Offset::Offset(o)))).collect()
    };
    let _ = crate::consumer_ahead::seek(consumer, &targets, Duration::ZERO);
    self.set_paused(consumer, tps, false);
  }

  /// Records where a partition must resume: after a fetch, a rewind, a retry or a seek.
  pub(crate) fn set_next(&self, tp: Tp, offset: i64) {
    self.next_offsets.lock().unwrap().insert(tp, offset);
  }
}

#[napi]
impl NativeConsumer {
  /// Validates the options; the librdkafka client is created by `start`.
  #[napi(constructor)]
  pub fn new(
    common: Value,
    options: Value,
    #[napi(ts_arg_type = "((record: LogRecord) => void) | undefined | null")] log: Option<RawLogFn>,
  ) -> napi::Result<Self> {
    let log: Option<LogFn> = log.map(std::sync::Arc::new);
    config::consumer_config(&common, &options, false)?;
    let opts = Options::new("consumer", &options)?;
    let policy = RetryPolicy::of_client(&opts, &common, Some(serde_json::json!({ "retries": 5 })))?;
    Ok(NativeConsumer {
      inner: Arc::new(ConsumerInner {
        log_level: crate::logging::client_log_level(&common),
        group_id: opts.string("groupId")?.unwrap_or_default().to_string(),
        common,
        options,
        log: Mutex::new(log),
        consumer: RwLock::new(None),
        policy,
        failures: Mutex::new(HashMap::new()),
        user_paused: Mutex::new(HashSet::new()),
        commit: RwLock::new(CommitPolicy::default()),
        dead_letter: RwLock::new(None),
        breaker: Mutex::new(Default::default()),
        dlq_producer: Mutex::new(None),
        next_offsets: Mutex::new(HashMap::new()),
        holds: Default::default(),
        barriers: Default::default(),
        dead_letters: Default::default(),
        idle: Default::default(),
        committing: Default::default(),
        commit_again: Default::default(),
        resolved_since_commit: AtomicU64::new(0),
      }),
    })
  }

  /// Creates the librdkafka consumer and subscribes; a topic starting with `^` is a regex.
  /// `run` holds kafkajs's `autoCommit`, `autoCommitInterval` and `autoCommitThreshold`.
  #[napi]
  pub fn start(&self, topics: Vec<String>, from_beginning: bool, run: Value) -> napi::Result<()> {
    if topics.is_empty() {
      return Err(FerroError::config("topics", "subscribe to at least one topic before run()").into());
    }
    for topic in topics.iter().filter(|t| !t.starts_with('^')) {
      config::topic_name("topics", topic)?;
    }
    let run_opts = Options::new("run", &run)?;
    let auto_commit = run_opts.boolean("autoCommit")?.unwrap_or(true);
    let interval = run_opts.integer("autoCommitInterval", i32::MAX as u64)?;
    // Read for its check: a bad value is named here.
    run_opts.integer("autoCommitThreshold", u32::MAX as u64)?;
    let dead_letter = crate::dlq::DeadLetterPolicy::from_run_options(&run_opts)?;
    if dead_letter.is_some() {
      // Created up front so the first dead-letter write does not also pay for a connection.
      self.inner.dlq_producer()?;
    }
    *self.inner.dead_letter.write().unwrap() = dead_letter;
    *self.inner.commit.write().unwrap() = CommitPolicy { auto_commit };
    let mut options = self.inner.options.clone();
    if let Value::Object(map) = &mut options {
      map.insert("autoCommit".into(), auto_commit.into());
      if let Some(i) = interval {
        map.insert("autoCommitInterval".into(), i.into());
      }
    }
    let mut cfg = config::consumer_config(&self.inner.common, &options, from_beginning)?;
    let ctx = ConsumerCtx::new(
      LogSink::new(self.inner.log.lock().unwrap().clone(), self.inner.log_level),
      self.inner.group_id.clone(),
      from_beginning,
      crate::oauth::cell_for(&self.inner.common),
    );
    // StreamConsumer spawns its wake-up task on the ambient tokio runtime: enter napi's.
    let created = crate::interceptor::create_consumer(&mut cfg, |cfg| {
      napi::bindgen_prelude::within_runtime_if_available(|| cfg.create_with_context(ctx))
    });
    // Its fetch queue exists before the subscription: the first assignment forwards to it.
    let consumer = RawConsumer::new(created.map_err(|e| FerroError::creation("consumer", e))?);
    crate::oauth::seed_client(&consumer.context().oauth, consumer.client().native_ptr())?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).during("subscribe")?;
    let consumer = Arc::new(consumer);
    if cfg.get("allow.auto.create.topics") == Some("true") {
      crate::consumer_flow::request_creation(&consumer, &topics);
    }
    *self.inner.idle.lock().unwrap() = Default::default();
    crate::consumer_idle::spawn_keeper(&self.inner, &consumer, crate::consumer_idle::poll_bound(&cfg));
    *self.inner.consumer.write().unwrap() = Some(consumer);
    Ok(())
  }

  /// Resolves once a broker answers with the client options given (kafkajs's `connect()`);
  /// rejects with the handshake's reason (TLS, SASL) or a connection error after `timeoutMs`.
  #[napi]
  pub async fn connect(&self, timeout_ms: u32) -> napi::Result<()> {
    let common = self.inner.common.clone();
    crate::error::blocking(move || crate::handshake::probe(&common, Duration::from_millis(timeout_ms as u64))).await
  }

  /// Hands over the batch read ahead while the handlers ran (consumer_ahead.rs); with none, waits
  /// up to `maxWaitMs` for messages (or an event), then drains up to `maxMessages`.
  /// `shareHeaders`, `checkEnvelopes`: the event layer's rows (consumer_batch.rs `RowsMode`).
  #[napi]
  pub async fn fetch(
    &self,
    max_messages: u32,
    max_wait_ms: u32,
    share_headers: Option<bool>,
    check_envelopes: Option<bool>,
  ) -> napi::Result<FetchedBatch> {
    let consumer = self.inner.client()?;
    let ctx = consumer.context();
    self.inner.fetch_started(&consumer);
    ctx.store_catch_up(&consumer);
    let ahead = &ctx.ahead;
    // The rows read ahead while the handlers ran, else a drain now.
    ahead.settle().await;
    ahead.set_mode(RowsMode {
      share_headers: share_headers == Some(true),
      check_envelopes: check_envelopes == Some(true),
    });
    let wait = Duration::from_millis(max_wait_ms as u64);
    // Events waiting (their wake-up may have ended the read-ahead) go back at once.
    if ahead.is_empty() && !ctx.has_events() {
      ahead.drain(&consumer, &self.inner.holds, max_messages as usize, wait).await;
    }
    let builder = ahead.take();
    let rk = consumer.client().native_ptr();
    let batch = builder.finish(|t, p| cached_high_watermark(rk, t, p), ctx.take_events());
    for p in &batch.partitions {
      let last = batch.meta[(p.start + p.count - 1) as usize * crate::consumer_batch::ROW];
      self.inner.set_next((p.topic.clone(), p.partition), last as i64 + 1);
    }
    // Messages are flowing: drain the next batch while the handlers run this one.
    if !batch.partitions.is_empty() {
      crate::consumer_ahead::ReadAhead::spawn(consumer.clone(), self.inner.holds.clone(), max_messages as usize, wait);
    }
    self.inner.fetch_ended();
    Ok(batch)
  }

  /// librdkafka's latest statistics JSON (set `rdkafka: { 'statistics.interval.ms': n }`), or
  /// null before the first report or before `start`.
  #[napi]
  pub fn stats(&self) -> Option<String> {
    self.inner.client().ok().and_then(|c| c.context().stats.get())
  }

  /// Makes a pending `fetch` return at once (used by `stop()` and by new events).
  #[napi]
  pub fn wake(&self) {
    if let Ok(c) = self.inner.client() {
      // Twice: a read-ahead waiting for messages takes the first; the second stays for the
      // fetch's own drain after it, which would otherwise wait its full `maxWaitMs`.
      c.context().wake.notify_one();
      c.context().wake.notify_one();
    }
  }

  /// Records that handlers finished every message before each `offset` (the next to read).
  /// `succeeded` (default true): whether a handler succeeded among them; false when every one was
  /// dead-lettered, which must not end the circuit breaker's streak of failures.
  #[napi]
  pub fn store(
    &self,
    resolved: Vec<TopicPartitionOffset>,
    message_count: u32,
    succeeded: Option<bool>,
  ) -> napi::Result<()> {
    let consumer = self.inner.client()?;
    let tpl = tpl_of(&resolved, "resolveOffset")?;
    {
      let mut failures = self.inner.failures.lock().unwrap();
      for e in tpl.elements() {
        if let (Some(f), Offset::Offset(next)) = (failures.get(&(e.topic().to_string(), e.partition())), e.offset()) {
          if next > f.0 {
            failures.remove(&(e.topic().to_string(), e.partition()));
          }
        }
      }
    }
    // A partition revoked meanwhile rejects the store: it is no longer ours to commit.
    for e in tpl.elements() {
      if let Offset::Offset(next) = e.offset() {
        self.inner.store_gated(&consumer, (e.topic().to_string(), e.partition()), next);
      }
    }
    if succeeded.unwrap_or(true) {
      self.inner.on_success();
    }
    let count =
      self.inner.resolved_since_commit.fetch_add(message_count as u64, Ordering::SeqCst) + message_count as u64;
    let policy = *self.inner.commit.read().unwrap();
    if policy.auto_commit && count > 0 {
      self.inner.resolved_since_commit.store(0, Ordering::SeqCst);
      // Commits the stored offsets (never positions) of the current assignment.
      self.inner.commit_soon(consumer.clone());
    }
    Ok(())
  }

  /// Sets each partition's next fetch back to `offset`: messages the run loop pulled but did not
  /// process (a pause or seek mid-batch) are fetched again instead of skipped.
  #[napi]
  pub fn rewind(&self, positions: Vec<TopicPartitionOffset>) -> napi::Result<()> {
    let consumer = self.inner.client()?;
    let mut targets = Vec::with_capacity(positions.len());
    for p in tpl_of(&positions, "rewind")?.elements() {
      let tp = (p.topic().to_string(), p.partition());
      if let Offset::Offset(o) = p.offset() {
        self.inner.set_next(tp.clone(), o);
      }
      targets.push((tp, p.offset()));
    }
    let _ = crate::consumer_ahead::seek(&consumer, &targets, Duration::ZERO);
    Ok(())
  }

  /// Moves the next fetch position of an assigned partition.
  #[napi]
  pub fn seek(&self, target: TopicPartitionOffset) -> napi::Result<()> {
    let consumer = self.inner.client()?;
    let tpl = tpl_of(std::slice::from_ref(&target), "seek")?;
    let offset = tpl.elements()[0].offset();
    self.inner.failures.lock().unwrap().remove(&(target.topic.clone(), target.partition));
    // A seek back asks for records again: a rebalance must not skip them.
    consumer.context().last_stored.lock().unwrap().remove(&(target.topic.clone(), target.partition));
    let tp = (target.topic.clone(), target.partition);
    crate::consumer_ahead::seek(&consumer, &[(tp, offset)], Duration::from_secs(5)).during("seek")?;
    if let Offset::Offset(o) = offset {
      self.inner.set_next((target.topic.clone(), target.partition), o);
    }
    Ok(())
  }
}

/// A consumption error for the facade; FATAL when librdkafka has declared the client unusable
/// (its error code is then the underlying one, e.g. FENCED_INSTANCE_ID, not `Fatal`).
pub(crate) fn report_fetch_error(consumer: &RawConsumer, error: FerroError) {
  let kind = if consumer.client().fatal_error().is_some() { "FATAL" } else { "ERROR" };
  consumer.context().push(kind, error.to_json());
}

pub(crate) fn tokio_spawn<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
  napi::bindgen_prelude::spawn(f);
}
