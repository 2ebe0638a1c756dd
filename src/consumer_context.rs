//! librdkafka's consumer callbacks, turned into events the run loop collects with each batch.
//!
//! Events are pulled, not pushed: they ride back on the next `fetch` result, so no callback
//! into JavaScript is needed and nothing keeps Node's event loop alive.

use crate::logging::LogSink;
use napi_derive::napi;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::Notify;

/// Something that happened inside librdkafka, for the facade's instrumentation events.
#[napi(object)]
#[derive(Clone)]
pub struct ConsumerEvent {
  /// `GROUP_JOIN`, `REBALANCING`, `COMMIT_OFFSETS`, `HEARTBEAT`, `ERROR` or `FATAL`.
  pub kind: String,
  pub payload: Value,
}

pub struct ConsumerCtx {
  pub log: LogSink,
  /// The provider's token cell, when the config has `sasl.oauthBearerProvider`.
  pub oauth: Option<std::sync::Arc<crate::oauth::TokenCell>>,
  pub group_id: String,
  events: Mutex<Vec<ConsumerEvent>>,
  /// Wakes a waiting fetch when an event arrives or the consumer closes.
  pub wake: Notify,
  pub joined: AtomicBool,
  rebalance_started: Mutex<Option<Instant>>,
  /// False: a partition with no committed offset starts at the high watermark read during the
  /// assignment itself, so a record produced after `run()` resolved is never skipped.
  from_beginning: bool,
  /// Start offsets fixed when a topic was added to a running subscription: records produced
  /// after that call are delivered even though the assignment comes later.
  pub pinned: Mutex<std::collections::HashMap<(String, i32), i64>>,
  pub stats: crate::logging::LatestStats,
  /// The last offset stored per partition (the next one to handle). When a rebalance takes a
  /// partition away and gives it back, the commit of what was handled may have been refused
  /// meanwhile (a rebalancing group refuses commits); resuming here avoids redoing that work.
  pub last_stored: Mutex<std::collections::HashMap<(String, i32), i64>>,
  /// The offset the broker last confirmed as committed per partition, by a commit of this member
  /// (or read at an assignment): a commit sends only the stored offsets that differ.
  pub acked: Mutex<std::collections::HashMap<(String, i32), i64>>,
  /// Held by a commit of the stored offsets from choosing them to recording the answer: two
  /// overlapping commits could otherwise land in the other order and move an offset back.
  pub commit_lock: Mutex<()>,
  /// Offsets to store again once the assignment that resumed after them is in effect (a store
  /// inside the rebalance callback is refused: the assignment is applied asynchronously).
  catch_up: Mutex<Vec<((String, i32), i64)>>,
  /// The batch drained while the handlers run the current one (consumer_ahead.rs).
  pub ahead: crate::consumer_ahead::ReadAhead,
  /// Where assigned partitions deliver their messages (consumer_queue.rs).
  pub fetch_queue: crate::consumer_queue::FetchQueue,
  /// The leader and protocol of the last join, for GROUP_JOIN (group_join.rs).
  last_join: crate::group_join::LastJoin,
}

impl ConsumerCtx {
  pub fn new(
    log: LogSink,
    group_id: String,
    from_beginning: bool,
    oauth: Option<std::sync::Arc<crate::oauth::TokenCell>>,
  ) -> Self {
    ConsumerCtx {
      oauth,
      log,
      group_id,
      events: Mutex::new(Vec::new()),
      wake: Notify::new(),
      joined: AtomicBool::new(false),
      rebalance_started: Mutex::new(None),
      from_beginning,
      pinned: Mutex::new(Default::default()),
      stats: Default::default(),
      last_stored: Mutex::new(Default::default()),
      acked: Mutex::new(Default::default()),
      commit_lock: Mutex::new(()),
      catch_up: Mutex::new(Vec::new()),
      ahead: Default::default(),
      fetch_queue: Default::default(),
      last_join: Default::default(),
    }
  }

  pub fn push(&self, kind: &str, payload: Value) {
    self.events.lock().unwrap().push(ConsumerEvent { kind: kind.into(), payload });
    self.wake.notify_one();
  }

  /// Stores the offsets a rebalance resumed after, so the next commit records that work. Stored
  /// again at every fetch until a commit reaches them: a store made while librdkafka still applies
  /// the assignment can be reset by it, and with nothing left to fetch no later store would
  /// repair that (the group's commit stayed behind for good). Dropped when the partition is no
  /// longer ours, or when this member stored further since.
  pub(crate) fn store_catch_up(&self, consumer: &crate::consumer::RawConsumer) {
    let mut pending = self.catch_up.lock().unwrap();
    if pending.is_empty() {
      return;
    }
    let assigned = consumer.assignment().unwrap_or_default();
    let last = self.last_stored.lock().unwrap();
    pending.retain(|(key, next)| {
      if assigned.find_partition(&key.0, key.1).is_none() || last.get(key).is_some_and(|&l| l > *next) {
        return false;
      }
      let mut one = TopicPartitionList::with_capacity(1);
      if one.add_partition_offset(&key.0, key.1, Offset::Offset(*next)).is_ok() {
        let _ = consumer.store_offsets(&one);
      }
      true
    });
  }

  /// A commit reached the broker: its offsets are acknowledged, catch-up stores at or below them done.
  pub fn committed(&self, offsets: &TopicPartitionList) {
    let done: Vec<((String, i32), i64)> = offsets
      .elements()
      .iter()
      .filter(|e| e.error().is_ok())
      .filter_map(|e| match e.offset() {
        Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
        _ => None,
      })
      .collect();
    let mut acked = self.acked.lock().unwrap();
    for (key, offset) in &done {
      acked.insert(key.clone(), *offset);
    }
    drop(acked);
    let mut pending = self.catch_up.lock().unwrap();
    pending.retain(|(key, next)| done.iter().find(|(k, _)| k == key).is_none_or(|(_, c)| c < next));
  }

  /// A heartbeat was answered (src/interceptor.rs). One waits at most: a run loop away for a
  /// while (stopped, or in a long batch) reports the latest, not a burst.
  pub fn heartbeat_answered(&self) {
    let mut events = self.events.lock().unwrap();
    if !events.iter().any(|e| e.kind == "HEARTBEAT") {
      events.push(ConsumerEvent { kind: "HEARTBEAT".into(), payload: json!({}) });
      drop(events);
      self.wake.notify_one();
    }
  }

  pub fn take_events(&self) -> Vec<ConsumerEvent> {
    std::mem::take(&mut *self.events.lock().unwrap())
  }

  pub fn has_events(&self) -> bool {
    !self.events.lock().unwrap().is_empty()
  }
}

/// `{ topic: [partitions] }`, kafkajs's memberAssignment shape.
pub fn assignment_map(tpl: &TopicPartitionList) -> Value {
  let mut map: BTreeMap<String, Vec<i32>> = BTreeMap::new();
  for e in tpl.elements() {
    map.entry(e.topic().to_string()).or_default().push(e.partition());
  }
  json!(map)
}

/// `[{ topic, partitions: [{ partition, offset }] }]`, kafkajs's offsets shape.
/// COMMIT_OFFSETS's `topics`. `resolved`: offsets the run loop resolved, whose partitions kafkajs
/// reports as strings (its offset manager keys them by partition); explicit ones keep numbers.
pub fn offsets_list(tpl: &TopicPartitionList, resolved: bool) -> Value {
  let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
  for e in tpl.elements() {
    if let Offset::Offset(o) = e.offset() {
      map
        .entry(e.topic().to_string())
        .or_default()
        .push(json!({ "partition": if resolved { json!(e.partition().to_string()) } else { json!(e.partition()) }, "offset": o.to_string() }));
    }
  }
  Value::Array(map.into_iter().map(|(topic, partitions)| json!({ "topic": topic, "partitions": partitions })).collect())
}

pub fn member_id<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> String {
  unsafe {
    let ptr = rdkafka::bindings::rd_kafka_memberid(consumer.client().native_ptr());
    if ptr.is_null() {
      return String::new();
    }
    let id = std::ffi::CStr::from_ptr(ptr).to_string_lossy().into_owned();
    rdkafka::bindings::rd_kafka_mem_free(consumer.client().native_ptr(), ptr as *mut _);
    id
  }
}

impl ClientContext for ConsumerCtx {
  const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;
  fn generate_oauth_token(&self, _: Option<&str>) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
    crate::oauth::answer(&self.oauth)
  }
  fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
    self.last_join.observe(fac, message);
    self.log.rdkafka(level, fac, message);
  }

  fn error(&self, error: KafkaError, reason: &str) {
    let fatal = matches!(error.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::Fatal));
    // A fatal error always reaches the run loop (it replaces the client); a repeat is dropped.
    if self.log.client_error(&error, reason) || fatal {
      let err = crate::error::FerroError::kafka("consumer", &error);
      self.push(if fatal { "FATAL" } else { "ERROR" }, err.to_json());
    }
  }

  fn stats_raw(&self, statistics: &[u8]) {
    self.stats.set(statistics);
  }
}

impl ConsumerContext for ConsumerCtx {
  /// librdkafka's default strategy, plus pinning start offsets for `fromBeginning: false`.
  fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
    let assign = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    let revoke = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
    if assign && !self.from_beginning {
      crate::assignment_start::pin_start_offsets(consumer, tpl);
    }
    let caught_up = if assign { crate::assignment_start::resume_after_handled(consumer, tpl) } else { Vec::new() };
    let rebalance = if assign {
      Rebalance::Assign(tpl)
    } else if revoke {
      self.ahead.note_revoked(tpl);
      Rebalance::Revoke(tpl)
    } else {
      // Given up below (an eager unassign drops the whole assignment).
      self.ahead.note_revoked(&consumer.assignment().unwrap_or_default());
      Rebalance::Error(KafkaError::Rebalance(err.into()))
    };
    self.pre_rebalance(consumer, &rebalance);
    if assign {
      self.fetch_queue.forward(consumer.client().native_ptr(), tpl);
    }
    let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
    let result = match (assign, cooperative) {
      (true, true) => consumer.incremental_assign(tpl),
      (true, false) => consumer.assign(tpl),
      (false, true) => consumer.incremental_unassign(tpl),
      (false, false) => consumer.unassign(),
    };
    if let Err(e) = result {
      self.log.emit(1, "REBALANCE", &format!("applying the assignment failed: {}", e));
    }
    self.catch_up.lock().unwrap().extend(caught_up);
    self.post_rebalance(consumer, &rebalance);
  }

  fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
    *self.rebalance_started.lock().unwrap() = Some(Instant::now());
    if let Rebalance::Revoke(tpl) = rebalance {
      self.joined.store(false, Ordering::SeqCst);
      self.push(
        "REBALANCING",
        json!({ "groupId": self.group_id, "memberId": member_id(consumer), "revoked": assignment_map(tpl) }),
      );
    }
  }

  fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
    if let Rebalance::Assign(_) = rebalance {
      let assignment = consumer.assignment().unwrap_or_default();
      let started = self.rebalance_started.lock().unwrap().take();
      let (joined, join_took) = self.last_join.take();
      let duration = join_took.or(started.map(|s| s.elapsed())).map_or(0, |d| d.as_millis() as u64);
      let member = member_id(consumer);
      self.push(
        "GROUP_JOIN",
        json!({
          "groupId": self.group_id,
          "memberId": member,
          // Without a JoinGroup line (the KIP-848 protocol has none): no leader; the member itself.
          "leaderId": joined.as_ref().map_or(member.as_str(), |j| j.leader_id.as_str()),
          "isLeader": joined.as_ref().is_some_and(|j| j.is_leader),
          "memberAssignment": assignment_map(&assignment),
          "groupProtocol": joined.as_ref().map_or(consumer.rebalance_protocol_name(), |j| j.protocol.as_str()),
          "duration": duration,
        }),
      );
      // After the event: a HEARTBEAT (src/interceptor.rs) is never queued before its GROUP_JOIN.
      self.joined.store(true, Ordering::SeqCst);
    }
  }

  fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
    match result {
      Ok(()) => {
        self.committed(offsets);
        self.push("COMMIT_OFFSETS", json!({ "groupId": self.group_id, "topics": offsets_list(offsets, true) }))
      }
      Err(e) => self.log.emit(2, "COMMIT", &format!("offset commit failed: {}", e)),
    }
  }
}

/// The assignor name librdkafka settled on, for GROUP_JOIN's `groupProtocol`.
trait ProtocolName {
  fn rebalance_protocol_name(&self) -> &'static str;
}

impl<C: ConsumerContext> ProtocolName for BaseConsumer<C> {
  fn rebalance_protocol_name(&self) -> &'static str {
    match self.rebalance_protocol() {
      rdkafka::consumer::RebalanceProtocol::Cooperative => "cooperative",
      _ => "eager",
    }
  }
}
