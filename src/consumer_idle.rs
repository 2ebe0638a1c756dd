//! Keeps a member in its group while a handler runs longer than librdkafka's poll bound.
//!
//! librdkafka heartbeats on its own thread, but it leaves the group when the application does not
//! poll within `max.poll.interval.ms`: a slow handler would cost a rebalance and a redelivery
//! (kafkajs#1527). While the run loop is away with a batch, a task here pauses the assignment
//! (so nothing more is buffered: bounded memory) and polls, which both serves rebalance callbacks
//! and tells librdkafka the application is alive. The next `fetch` resumes what was paused here.

use crate::consumer::{ConsumerInner, RawConsumer, Tp};
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// What the idle keeper did while the run loop was away.
pub(crate) struct IdleState {
  /// When the run loop last polled (a `fetch` returned), or `None` while a fetch is polling.
  last_poll: Option<Instant>,
  /// Partitions this keeper paused; `fetch` resumes them.
  paused: Vec<Tp>,
  /// Messages that still arrived while paused were not delivered: their partitions restart here.
  rewind: HashMap<Tp, i64>,
}

impl Default for IdleState {
  fn default() -> Self {
    IdleState { last_poll: Some(Instant::now()), paused: Vec::new(), rewind: HashMap::new() }
  }
}

/// The poll bound librdkafka enforces for this configuration.
pub(crate) fn poll_bound(cfg: &rdkafka::ClientConfig) -> Duration {
  let ms = cfg.get("max.poll.interval.ms").and_then(|v| v.parse::<u64>().ok()).unwrap_or(300_000);
  Duration::from_millis(ms)
}

impl ConsumerInner {
  /// A fetch is polling: the keeper stands down and whatever it paused flows again.
  pub(crate) fn fetch_started(&self, consumer: &RawConsumer) {
    let (paused, rewind) = {
      let mut idle = self.idle.lock().unwrap();
      idle.last_poll = None;
      (std::mem::take(&mut idle.paused), std::mem::take(&mut idle.rewind))
    };
    for (tp, &offset) in &rewind {
      self.set_next(tp.clone(), offset);
    }
    let targets: Vec<(Tp, rdkafka::Offset)> =
      rewind.into_iter().map(|(tp, o)| (tp, rdkafka::Offset::Offset(o))).collect();
    let _ = crate::consumer_ahead::seek(consumer, &targets, Duration::ZERO);
    if !paused.is_empty() {
      // A partition the user paused meanwhile stays paused.
      let user = self.user_paused.lock().unwrap().clone();
      let resume: Vec<Tp> = paused.into_iter().filter(|tp| !user.contains(tp)).collect();
      self.set_paused(consumer, &resume, false);
    }
  }

  pub(crate) fn fetch_ended(&self) {
    self.idle.lock().unwrap().last_poll = Some(Instant::now());
  }

  /// Pauses the assignment and polls when the run loop has been away for `after`.
  fn keep_alive(&self, consumer: &RawConsumer, after: Duration) {
    let mut idle = self.idle.lock().unwrap();
    // Once engaged, it polls at every tick: events (rebalances, statistics) stay timely.
    match idle.last_poll {
      Some(t) if t.elapsed() >= after || !idle.paused.is_empty() => {}
      _ => return,
    }
    // Re-read each time: a rebalance served by the poll below may have assigned more.
    let assigned = consumer.assignment().unwrap_or_default();
    let fresh: Vec<Tp> = assigned
      .elements()
      .iter()
      .map(|e| (e.topic().to_string(), e.partition()))
      .filter(|tp| !idle.paused.contains(tp))
      .collect();
    self.set_paused(consumer, &fresh, true);
    idle.paused.extend(fresh);
    let mut stream = consumer.stream();
    let poller = crate::consumer_batch::ReadyPoller::new();
    while let Some(item) = poller.next(&mut stream) {
      match item {
        Ok(m) => {
          let offset = idle.rewind.entry((m.topic().to_string(), m.partition())).or_insert(m.offset());
          *offset = (*offset).min(m.offset());
        }
        Err(e) => crate::consumer::report_fetch_error(consumer, crate::error::FerroError::kafka("fetch", &e)),
      }
    }
    idle.last_poll = Some(Instant::now());
  }
}

/// Watches `consumer` until it is closed or replaced.
pub(crate) fn spawn_keeper(inner: &Arc<ConsumerInner>, consumer: &Arc<RawConsumer>, bound: Duration) {
  let inner: Weak<ConsumerInner> = Arc::downgrade(inner);
  let watched: Weak<RawConsumer> = Arc::downgrade(consumer);
  // Well inside the bound, yet rare enough to cost nothing while handlers are quick.
  let after = bound / 3;
  let tick = (bound / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
  crate::consumer::tokio_spawn(async move {
    loop {
      tokio::time::sleep(tick).await;
      let Some(inner) = inner.upgrade() else { return };
      let Ok(current) = inner.client() else { return };
      if !watched.upgrade().is_some_and(|w| Arc::ptr_eq(&w, &current)) {
        return;
      }
      inner.keep_alive(&current, after);
    }
  });
}

/// The keeper's state, one per consumer.
pub(crate) type Idle = Mutex<IdleState>;
