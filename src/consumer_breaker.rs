//! The circuit breaker (seed 002): after K consecutive failures in a subscription its partitions
//! pause for a cool-down instead of filling the DLQ (a downstream outage is not a poison
//! message), then one message goes through (half-open) before the rest resume.

use crate::consumer::{tokio_spawn, ConsumerInner, Tp};
use crate::error::Result;
use rdkafka::consumer::Consumer;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The circuit breaker of one consumer: closed, open (paused) or half-open (one probe).
#[derive(Default)]
pub struct Breaker {
  consecutive: u32,
  open: bool,
  half_open: bool,
}

impl ConsumerInner {
  /// Counts a failure; true when it opens the breaker (the streak reached `threshold`, or the
  /// half-open probe failed).
  pub(crate) fn breaker_trips(&self, threshold: u32) -> bool {
    let mut b = self.breaker.lock().unwrap();
    b.consecutive += 1;
    !b.open && (b.half_open || b.consecutive >= threshold)
  }

  /// A handled message closes a half-open breaker and resets the failure streak.
  pub fn on_success(&self) {
    let mut b = self.breaker.lock().unwrap();
    if b.half_open {
      b.half_open = false;
      drop(b);
      self.emit("CIRCUIT_CLOSED", json!({ "groupId": self.group_id }));
      self.breaker.lock().unwrap().consecutive = 0;
    } else {
      b.consecutive = 0;
    }
  }

  fn emit(&self, kind: &str, payload: Value) {
    if let Ok(c) = self.client() {
      c.context().push(kind, payload);
    }
  }

  /// Opens the breaker: every assigned partition pauses for the cool-down, then one probe runs.
  pub(crate) fn open_breaker(self: &Arc<Self>, cooldown_ms: u64) -> Result<()> {
    let consumer = self.client()?;
    let assigned: Vec<Tp> = consumer
      .assignment()
      .unwrap_or_default()
      .elements()
      .iter()
      .map(|e| (e.topic().to_string(), e.partition()))
      .collect();
    self.set_paused(&consumer, &assigned, true);
    {
      let mut b = self.breaker.lock().unwrap();
      b.open = true;
      b.half_open = false;
    }
    self.emit("CIRCUIT_OPEN", json!({ "groupId": self.group_id, "cooldownMs": cooldown_ms }));
    let inner = self.clone();
    tokio_spawn(async move {
      tokio::time::sleep(Duration::from_millis(cooldown_ms)).await;
      {
        let mut b = inner.breaker.lock().unwrap();
        b.open = false;
        b.half_open = true;
      }
      inner.emit("CIRCUIT_HALF_OPEN", json!({ "groupId": inner.group_id }));
      let paused = inner.user_paused.lock().unwrap().clone();
      if let Ok(c) = inner.client() {
        let resume: Vec<Tp> = assigned.into_iter().filter(|tp| !paused.contains(tp)).collect();
        inner.resume_at_next(&c, &resume);
      }
    });
    Ok(())
  }
}
