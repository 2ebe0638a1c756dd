//! A failed message's fate: retry after a backoff, dead-letter, or (kafkajs's policy) crash.
//!
//! Without a dead-letter policy the consumer follows kafkajs: retry per `retry`, then CRASH and
//! start the budget again. With `deadLetter` (a `run()` option, and what the event layer uses)
//! a message that is non-retryable or out of retries is written to its DLQ topic with its
//! original bytes and the failure context in headers; its offset is stored only after the
//! broker acknowledged that record. If the DLQ write fails, nothing is stored and the message
//! comes back after a backoff. A circuit breaker (consumer_breaker.rs) stops a downstream outage
//! from filling the DLQ.

use crate::config::{self, Options};
use crate::consumer::{tokio_spawn, ConsumerInner, NativeConsumer, Tp};
use crate::dlq_writer::DeadLetter;
use crate::error::{FerroError, Result};
use crate::producer::{create_raw, RawProducer};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::Offset;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// kafkajs's `retry` options, owned by Rust.
#[derive(Clone, Copy)]
pub struct RetryPolicy {
  pub retries: u32,
  pub initial_ms: f64,
  pub max_ms: f64,
  pub multiplier: f64,
  pub factor: f64,
}

impl RetryPolicy {
  pub fn from_options(retry: &Options) -> Result<Self> {
    Ok(RetryPolicy {
      retries: retry.integer("retries", 1_000_000)?.unwrap_or(5) as u32,
      initial_ms: retry.integer("initialRetryTime", 3_600_000)?.unwrap_or(300) as f64,
      max_ms: retry.integer("maxRetryTime", 3_600_000)?.unwrap_or(30_000) as f64,
      multiplier: retry.raw("multiplier").and_then(Value::as_f64).unwrap_or(2.0),
      factor: retry.raw("factor").and_then(Value::as_f64).unwrap_or(0.2),
    })
  }

  /// kafkajs's `retry` of a client: its own fields over the `Kafka` config's, as kafkajs merges
  /// them. A consumer with no `retry` of its own gets kafkajs's `{ retries: 5 }` over the
  /// config's (`own_default`), whatever `retries` the `Kafka` config names.
  pub fn of_client(options: &Options, common: &Value, own_default: Option<Value>) -> Result<Self> {
    let shared = Options::new("retry", common.get("retry").unwrap_or(&Value::Null))?;
    Self::from_options(&shared)?;
    let own = match options.raw("retry") {
      Some(_) => {
        Self::from_options(&options.child("retry")?)?;
        options.raw("retry").cloned()
      }
      None => own_default,
    };
    let mut merged = match common.get("retry") {
      Some(Value::Object(map)) => map.clone(),
      _ => serde_json::Map::new(),
    };
    if let Some(Value::Object(map)) = own {
      merged.extend(map.into_iter().filter(|(_, v)| !v.is_null()));
    }
    let merged = Value::Object(merged);
    Self::from_options(&Options::new("retry", &merged)?)
  }

  /// How long kafkajs keeps retrying before it gives up: the sum of its backoffs, unrandomised,
  /// at most an hour (librdkafka's bound for the setting this feeds).
  pub fn budget_ms(&self) -> u64 {
    let sum = (0..self.retries.min(64)).map(|k| (self.initial_ms * self.multiplier.powi(k as i32)).min(self.max_ms));
    (sum.sum::<f64>() as u64).min(3_600_000)
  }

  /// kafkajs's backoff: initial * multiplier^(attempt-1), randomised by ±factor, capped.
  pub fn delay(&self, attempt: u32) -> u32 {
    let base = self.initial_ms * self.multiplier.powi(attempt.saturating_sub(1) as i32);
    let jitter = 1.0 + self.factor * (2.0 * pseudo_random() - 1.0);
    (base * jitter).min(self.max_ms).max(0.0) as u32
  }
}

fn pseudo_random() -> f64 {
  let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
  (nanos % 10_000) as f64 / 10_000.0
}

/// Header names of a dead-letter record (stable: operators and tools read them).
pub const HEADERS: [&str; 12] = [
  "dlq-original-topic",
  "dlq-original-partition",
  "dlq-original-offset",
  "dlq-original-timestamp",
  "dlq-consumer-group",
  "dlq-error-name",
  "dlq-error-message",
  "dlq-error-stack",
  "dlq-failed-at",
  "dlq-attempts",
  "dlq-correlation-id",
  "dlq-non-retryable",
];

/// A header of the failed message, as the facade passes it back.
#[napi(object)]
pub struct FailedHeader {
  pub key: String,
  pub value: Buffer,
}

/// Everything Rust needs to decide about, and possibly dead-letter, a failed message.
#[napi(object)]
pub struct FailureReport {
  pub topic: String,
  pub partition: i32,
  pub offset: String,
  pub error_name: String,
  pub error_message: String,
  pub error_stack: Option<String>,
  /// False for a `NonRetryableError`, a schema failure or an unparseable payload: no retries.
  pub retryable: bool,
  pub key: Option<Buffer>,
  pub value: Option<Buffer>,
  pub headers: Option<Vec<FailedHeader>>,
  pub timestamp: Option<String>,
  pub correlation_id: Option<String>,
}

/// What Rust decided about a failed message.
#[napi(object)]
pub struct FailureDecision {
  /// `retry` (the partition is rewound and paused for `delayMs`), `dead-lettered` (acknowledged
  /// by the DLQ topic and committed past: go on with the next message) or `crash` (kafkajs's
  /// retries are spent: the facade emits CRASH).
  pub action: String,
  /// How many times this message has failed in a row.
  pub attempt: u32,
  pub delay_ms: u32,
  pub dlq_topic: Option<String>,
  /// Whether the failure could have been retried: false for a non-retriable error and, under
  /// kafkajs's policy, for a TypeError, RangeError, ReferenceError or SyntaxError.
  pub retryable: bool,
}

/// Errors kafkajs never retries: a programming error does not go away on a second try.
const UNRECOVERABLE_ERRORS: [&str; 4] = ["RangeError", "ReferenceError", "SyntaxError", "TypeError"];

/// `run({ deadLetter: { topic?, maxRetries, initialRetryTimeMs, multiplier, maxRetryTimeMs,
/// jitter }, circuitBreaker: { failureThreshold, cooldownMs } })`.
#[derive(Clone)]
pub struct DeadLetterPolicy {
  /// One DLQ topic for all (`KAFKA_DLQ_TOPIC`); otherwise `dlq.<original topic>`.
  topic: Option<String>,
  retry: RetryPolicy,
  breaker: Option<(u32, u64)>,
}

impl DeadLetterPolicy {
  pub fn from_run_options(run: &Options) -> Result<Option<Self>> {
    if run.raw("deadLetter").is_none() {
      return Ok(None);
    }
    let dl = run.child("deadLetter")?;
    let retry = RetryPolicy {
      retries: dl.integer("maxRetries", 1_000)?.unwrap_or(3) as u32,
      initial_ms: dl.integer("initialRetryTimeMs", 3_600_000)?.unwrap_or(100) as f64,
      max_ms: dl.integer("maxRetryTimeMs", 3_600_000)?.unwrap_or(30_000) as f64,
      multiplier: dl.number_between("multiplier", 1.0, 100.0)?.unwrap_or(2.0),
      // A fraction of each delay either way: above 1 a delay could go negative.
      factor: dl.number_between("jitter", 0.0, 1.0)?.unwrap_or(0.2),
    };
    let cb = run.child("circuitBreaker")?;
    let breaker = match cb.integer("failureThreshold", 1_000_000)? {
      Some(0) => return Err(FerroError::config(cb.field("failureThreshold"), "must be an integer from 1 to 1000000")),
      Some(k) => Some((k as u32, cb.integer("cooldownMs", 3_600_000)?.unwrap_or(30_000))),
      None => None,
    };
    let topic = dl.string("topic")?.filter(|t| !t.is_empty()).map(str::to_string);
    Ok(Some(DeadLetterPolicy { topic, retry, breaker }))
  }

  pub fn topic_for(&self, original: &str) -> String {
    self.topic.clone().unwrap_or_else(|| format!("dlq.{}", original))
  }
}

impl ConsumerInner {
  fn record_failure(&self, key: &Tp, offset: i64) -> u32 {
    let mut failures = self.failures.lock().unwrap();
    let entry = failures.entry(key.clone()).or_insert((offset, 0));
    if entry.0 != offset {
      *entry = (offset, 0);
    }
    entry.1 += 1;
    entry.1
  }

  /// Rewinds `key` to `offset` and keeps it from the handlers for `delay_ms`, unless the user
  /// paused it meanwhile. Short backoffs hold the partition (its fetched messages are dropped,
  /// then it is rewound); long ones pause it, since a librdkafka resume takes ~1 s to fetch again.
  fn retry_later(self: &Arc<Self>, key: Tp, offset: i64, delay_ms: u32) -> Result<()> {
    let consumer = self.client()?;
    self.set_next(key.clone(), offset);
    let hold = delay_ms < 1000;
    if hold {
      let until = std::time::Instant::now() + Duration::from_millis(delay_ms as u64);
      self.holds.lock().unwrap().insert(key.clone(), until);
    } else {
      self.set_paused(&consumer, std::slice::from_ref(&key), true);
    }
    let _ = crate::consumer_ahead::seek(&consumer, &[(key.clone(), Offset::Offset(offset))], Duration::ZERO);
    let inner = self.clone();
    tokio_spawn(async move {
      tokio::time::sleep(Duration::from_millis(delay_ms as u64)).await;
      if hold {
        inner.holds.lock().unwrap().remove(&key);
      }
      if inner.user_paused.lock().unwrap().contains(&key) {
        return;
      }
      if let Ok(c) = inner.client() {
        if hold {
          let _ = crate::consumer_ahead::seek(&c, &[(key.clone(), Offset::Offset(offset))], Duration::ZERO);
        } else {
          inner.resume_at_next(&c, &[key]);
        }
      }
    });
    Ok(())
  }

  pub(crate) fn dlq_producer(&self) -> Result<Arc<RawProducer>> {
    let mut slot = self.dlq_producer.lock().unwrap();
    if let Some(p) = slot.as_ref() {
      return Ok(p.clone());
    }
    let cfg = config::producer_config(&self.common, &Value::Null)?;
    let p = Arc::new(create_raw(cfg, &self.common, self.log.lock().unwrap().clone(), self.log_level)?);
    *slot = Some(p.clone());
    Ok(p)
  }
}

fn dlq_headers(r: &FailureReport, group: &str, attempts: u32) -> OwnedHeaders {
  let failed_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
  let failed_at = chrono_like_iso(failed_at as i64);
  let mut h = OwnedHeaders::new_with_capacity(r.headers.as_ref().map(Vec::len).unwrap_or(0) + HEADERS.len());
  for orig in r.headers.iter().flatten() {
    if !orig.key.starts_with("dlq-") || orig.key == "dlq-reprocess-count" {
      h = h.insert(Header { key: &orig.key, value: Some(&orig.value[..]) });
    }
  }
  let values = [
    r.topic.clone(),
    r.partition.to_string(),
    r.offset.clone(),
    r.timestamp.clone().unwrap_or_default(),
    group.to_string(),
    r.error_name.clone(),
    r.error_message.clone(),
    r.error_stack.clone().unwrap_or_default(),
    failed_at,
    attempts.to_string(),
    r.correlation_id.clone().unwrap_or_default(),
    (!r.retryable).to_string(),
  ];
  for (k, v) in HEADERS.iter().zip(values.iter()) {
    h = h.insert(Header { key: k, value: Some(v.as_bytes()) });
  }
  h
}

/// Epoch milliseconds as an ISO-8601 UTC string (no date crate needed for one format).
pub fn chrono_like_iso(ms: i64) -> String {
  let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
  let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
  // Civil-from-days (Howard Hinnant's algorithm).
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z - era * 146_097;
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let d = doy - (153 * mp + 2) / 5 + 1;
  let m = if mp < 10 { mp + 3 } else { mp - 9 };
  let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
  format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, millis)
}

#[napi]
impl NativeConsumer {
  /// A handler failed at `report.offset`: Rust decides retry, dead-letter or crash. Synchronous:
  /// nothing here waits (the dead-letter write and the backoff run on tasks), and a failure's
  /// round trip through a promise was most of what a dead-lettered record cost the run loop.
  #[napi]
  pub fn fail(&self, report: FailureReport) -> napi::Result<FailureDecision> {
    let inner = self.inner.clone();
    let off: i64 = report.offset.parse().map_err(|_| FerroError::config("offset", "must be a decimal string"))?;
    let key: Tp = (report.topic.clone(), report.partition);
    let attempt = inner.record_failure(&key, off);
    let policy = inner.dead_letter.read().unwrap().clone();
    let Some(policy) = policy else {
      // kafkajs: retry per `retry`; past it, CRASH and begin the budget again. A non-retriable
      // error is not retried at all, nor are the errors kafkajs deems unrecoverable. (The event
      // layer retries those: a handler's `TypeError: fetch failed` is a network error.)
      let retry = inner.policy;
      let retryable = report.retryable && !UNRECOVERABLE_ERRORS.contains(&report.error_name.as_str());
      let exhausted = attempt > retry.retries || !retryable;
      if exhausted {
        inner.failures.lock().unwrap().remove(&key);
      }
      let delay_ms = retry.delay(attempt.min(retry.retries.max(1)));
      inner.retry_later(key, off, delay_ms)?;
      let action = if exhausted { "crash" } else { "retry" };
      return Ok(FailureDecision { action: action.into(), attempt, delay_ms, dlq_topic: None, retryable });
    };
    if let Some((threshold, cooldown)) = policy.breaker {
      if inner.breaker_trips(threshold) {
        inner.retry_later(key.clone(), off, cooldown as u32)?;
        inner.open_breaker(cooldown)?;
        // A downstream outage is not this message's fault: its attempt does not count.
        inner.failures.lock().unwrap().remove(&key);
        return Ok(FailureDecision {
          action: "retry".into(),
          attempt,
          delay_ms: cooldown as u32,
          dlq_topic: None,
          retryable: report.retryable,
        });
      }
    }
    if report.retryable && attempt <= policy.retry.retries {
      let delay_ms = policy.retry.delay(attempt);
      inner.retry_later(key, off, delay_ms)?;
      return Ok(FailureDecision { action: "retry".into(), attempt, delay_ms, dlq_topic: None, retryable: true });
    }
    let topic = policy.topic_for(&report.topic);
    inner.dlq_producer()?;
    let headers = dlq_headers(&report, &inner.group_id, attempt);
    inner.failures.lock().unwrap().remove(&key);
    // Queued now, in the order failures are reported, and written off this thread (dlq_writer.rs).
    let (k, v) = (report.key.map(|b| b.to_vec()), report.value.map(|b| b.to_vec()));
    let letter =
      DeadLetter { partition: key, offset: off, topic: topic.clone(), key: k, value: v, headers, retry: policy.retry };
    inner.queue_dead_letter(letter);
    Ok(FailureDecision {
      action: "dead-lettered".into(),
      attempt,
      delay_ms: 0,
      dlq_topic: Some(topic),
      retryable: report.retryable,
    })
  }
}

/// Where `DLQHandler` sends a dead-lettered record that has been replayed `reprocessed` times
/// already: `reprocess` (back to its original topic), `review` or `quarantine`.
/// Quarantine wins once its count is reached, also below `max_reprocess_attempts`.
#[napi]
pub fn dlq_route(reprocessed: u32, max_reprocess_attempts: u32, quarantine_after_attempts: u32) -> &'static str {
  match reprocessed {
    n if n >= quarantine_after_attempts => "quarantine",
    n if n >= max_reprocess_attempts => "review",
    _ => "reprocess",
  }
}
