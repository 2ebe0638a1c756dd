//! Read-ahead: the next batch is drained from librdkafka while the handlers run the current one.
//!
//! Draining costs one librdkafka poll per message, about as much as the facade's own work per
//! message; done one after the other they add up, done at once the slower one sets the pace
//! (interleaved A/B on the MockCluster: eachBatch +18%, eachMessage +10%, bus subscribe +25%).
//!
//! Rows read ahead are not handed to anyone yet, so nothing may be lost or replayed out of order
//! when their partition moves: every seek, rewind and pause goes through [`ReadAhead::moving`],
//! which drops the partition's rows under the lock the drain polls under. A message is therefore
//! either dropped there, or was polled after the move (librdkafka discards older ones itself).
//! A pause seeks back to the first dropped row, so a resume fetches those rows again; a
//! revocation (noted by the rebalance callback, which runs inside a drain's poll) drops them.

use crate::consumer::{report_fetch_error, RawConsumer, Tp};
use crate::consumer_batch::{names_equal, BatchBuilder, ReadyPoller};
use crate::error::FerroError;
use futures::Stream;
use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Retry holds (see `ConsumerInner::holds`): a held partition's messages are dropped when drained.
pub(crate) type Holds = Mutex<HashMap<Tp, Instant>>;

#[derive(Default)]
struct AheadState {
  rows: BatchBuilder,
  /// Bumped by every move: a drain then re-reads the retry holds.
  moves: u64,
  closed: bool,
}

/// Rows drained but not yet handed to the facade, and the drain running in the background.
#[derive(Default)]
pub struct ReadAhead {
  state: Mutex<AheadState>,
  /// Ends when the background drain has finished.
  running: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
  revoked: Mutex<Vec<Tp>>,
  any_revoked: AtomicBool,
}

impl ReadAhead {
  /// Called by the rebalance callback: their rows go at the drain's next step (it holds the lock).
  pub(crate) fn note_revoked(&self, tpl: &TopicPartitionList) {
    let mut revoked = self.revoked.lock().unwrap();
    revoked.extend(tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())));
    self.any_revoked.store(true, Ordering::SeqCst);
  }

  /// Drops the rows of `tps` and runs `apply` (a seek, a pause) under the drain's lock; `apply`
  /// gets the first dropped offset of each partition that had rows.
  pub(crate) fn moving<R>(&self, tps: &[Tp], apply: impl FnOnce(&[(Tp, i64)]) -> R) -> R {
    let mut state = self.state.lock().unwrap();
    let dropped: Vec<(Tp, i64)> =
      tps.iter().filter_map(|tp| state.rows.purge(tp).map(|first| (tp.clone(), first))).collect();
    state.moves += 1;
    apply(&dropped)
  }

  /// Waits for the background drain, if one runs.
  pub(crate) async fn settle(&self) {
    let running = self.running.lock().unwrap().take();
    if let Some(done) = running {
      let _ = done.await;
    }
  }

  /// Takes the rows drained so far (a revocation served meanwhile by another poller counts).
  pub(crate) fn take(&self) -> BatchBuilder {
    let mut state = self.state.lock().unwrap();
    self.drop_revoked(&mut state);
    let mut next = BatchBuilder::with_capacity(64 * 1024);
    next.mode = state.rows.mode;
    std::mem::replace(&mut state.rows, next)
  }

  /// What the rows drained from now on are for (consumer_batch.rs).
  pub(crate) fn set_mode(&self, mode: crate::consumer_batch::RowsMode) {
    self.state.lock().unwrap().rows.mode = mode;
  }

  fn drop_revoked(&self, state: &mut AheadState) {
    if self.any_revoked.swap(false, Ordering::SeqCst) {
      for tp in std::mem::take(&mut *self.revoked.lock().unwrap()) {
        state.rows.purge(&tp);
      }
    }
  }

  pub(crate) fn is_empty(&self) -> bool {
    self.state.lock().unwrap().rows.count == 0
  }

  /// Starts draining the next batch in the background (not after `close`).
  pub(crate) fn spawn(consumer: Arc<RawConsumer>, holds: Arc<Holds>, max: usize, wait: Duration) {
    let ahead = &consumer.context().ahead;
    if ahead.state.lock().unwrap().closed {
      return;
    }
    let (done, running) = tokio::sync::oneshot::channel();
    *ahead.running.lock().unwrap() = Some(running);
    crate::consumer::tokio_spawn(async move {
      consumer.context().ahead.drain(&consumer, &holds, max, wait).await;
      // The client is released before `settle` returns: `close()` must hold the last reference,
      // or librdkafka's destroy would run here, after close() resolved.
      drop(consumer);
      let _ = done.send(());
    });
  }

  /// No more background drains; waits for the one running. Its rows are dropped unhandled.
  pub(crate) async fn close(&self, wake: &tokio::sync::Notify) {
    self.state.lock().unwrap().closed = true;
    wake.notify_waiters();
    self.settle().await;
    self.take();
  }

  /// Drains into the rows until `max` are held or nothing more is queued; waits up to `wait` for
  /// the first message (or an event, a wake-up). Messages come from the fetch queue in runs
  /// (consumer_queue.rs), events from the consumer's own queue; each run is taken, and each
  /// event served, under the state lock.
  pub(crate) async fn drain(&self, consumer: &RawConsumer, holds: &Holds, max: usize, wait: Duration) {
    if self.state.lock().unwrap().rows.count >= max {
      return;
    }
    let mut stream = consumer.stream();
    let ctx = consumer.context();
    // One lock at a time (the drain takes `holds` under `state` below).
    let moves = self.state.lock().unwrap().moves;
    let held = holds.lock().unwrap().clone();
    let mut step = Step { holds, held, moves };
    let poller = ReadyPoller::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !self.take_queued(consumer, &mut stream, &poller, &mut step, max) {
      let first = std::future::poll_fn(|cx| {
        let mut state = self.state.lock().unwrap();
        match std::pin::Pin::new(&mut stream).poll_next(cx) {
          Poll::Ready(Some(item)) => {
            self.accept(&mut state, &mut step, consumer, item);
            Poll::Ready(true)
          }
          Poll::Ready(None) => Poll::Ready(false),
          Poll::Pending => Poll::Pending,
        }
      });
      // Biased: a message already queued wins over a wake-up permit left by an earlier event (a
      // commit's), which otherwise ended more than half the read-aheads before their first message.
      let woken = tokio::select! {
        biased;
        got = first => got,
        _ = ctx.fetch_queue.ready.notified() => true,
        _ = tokio::time::sleep_until(deadline) => false,
        _ = ctx.wake.notified() => false,
      };
      if !woken {
        return;
      }
    }
    while self.state.lock().unwrap().rows.count < max
      && self.take_queued(consumer, &mut stream, &poller, &mut step, max)
    {}
  }

  /// Takes what is queued now, up to `max` rows: the consumer's queue first (events are served
  /// there, and a partition that could not be forwarded delivers there), then a run of the fetch
  /// queue. Returns whether anything was taken.
  fn take_queued<'m, S: Stream<Item = KafkaResult<BorrowedMessage<'m>>> + Unpin>(
    &self,
    consumer: &RawConsumer,
    stream: &mut S,
    poller: &ReadyPoller,
    step: &mut Step<'_>,
    max: usize,
  ) -> bool {
    let mut state = self.state.lock().unwrap();
    let mut took = false;
    while state.rows.count < max {
      let Some(item) = poller.next(stream) else { break };
      self.accept(&mut state, step, consumer, item);
      took = true;
    }
    if state.rows.count < max {
      self.admit(&mut state, step);
      // A run at a time: a seek or pause waits for the run in hand (it takes this lock), so a
      // run whose envelopes are checked is shorter.
      let run = (max - state.rows.count).min(if state.rows.mode.check_envelopes { CHECKED_RUN } else { RUN });
      let taken = consumer.context().fetch_queue.take(run, |m| self.accept_raw(&mut state, step, consumer, m));
      took |= taken > 0;
    }
    took
  }

  /// Applies what happened since the last message: rows of revoked partitions go, and a move
  /// makes the retry holds be read again.
  fn admit(&self, state: &mut AheadState, step: &mut Step<'_>) {
    self.drop_revoked(state);
    if state.moves != step.moves {
      step.moves = state.moves;
      step.held = step.holds.lock().unwrap().clone();
    }
  }

  fn accept(
    &self,
    state: &mut AheadState,
    step: &mut Step<'_>,
    consumer: &RawConsumer,
    item: KafkaResult<BorrowedMessage<'_>>,
  ) {
    self.admit(state, step);
    match item {
      Ok(m) => self.accept_raw(state, step, consumer, unsafe { &*m.ptr() }),
      Err(e) => report_fetch_error(consumer, FerroError::kafka("fetch", &e)),
    }
  }

  /// One message (or a partition's error) into the rows; a held partition's are dropped.
  fn accept_raw(&self, state: &mut AheadState, step: &Step<'_>, consumer: &RawConsumer, m: &rd::rd_kafka_message_t) {
    use rd::rd_kafka_resp_err_t::{RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__PARTITION_EOF};
    match m.err {
      RD_KAFKA_RESP_ERR_NO_ERROR => {}
      RD_KAFKA_RESP_ERR__PARTITION_EOF => {
        return report_fetch_error(consumer, FerroError::kafka("fetch", &KafkaError::PartitionEOF(m.partition)))
      }
      _ => return report_fetch_error(consumer, partition_error(m)),
    }
    let name = unsafe { rd::rd_kafka_topic_name(m.rkt) };
    if step.held.keys().any(|(t, p)| *p == m.partition && unsafe { names_equal(name, t) }) {
      return;
    }
    state.rows.push(m);
  }
}

/// A partition's fetch error (an element of the batch call), naming the partition and carrying
/// librdkafka's own text, which says which broker failed and why where the code alone does not.
fn partition_error(m: &rd::rd_kafka_message_t) -> FerroError {
  let text = |p: *const std::ffi::c_char| match p.is_null() {
    true => String::new(),
    false => unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned(),
  };
  let topic = text(unsafe { rd::rd_kafka_topic_name(m.rkt) });
  let operation = format!("fetch {}[{}]", topic, m.partition);
  let mut error = FerroError::kafka(&operation, &KafkaError::MessageConsumption(m.err.into()));
  let detail = text(unsafe { rd::rd_kafka_message_errstr(m) });
  if !detail.is_empty() && !error.message.contains(&detail) {
    error.message = format!("{}: {}", error.message, detail);
  }
  error
}

/// Messages taken from the fetch queue under one hold of the state lock.
const RUN: usize = 512;
/// A run's length when each value's envelope is checked under the lock (envelope_check.rs).
const CHECKED_RUN: usize = 64;

/// What a drain knows of the retry holds, re-read after each move.
struct Step<'a> {
  holds: &'a Holds,
  held: HashMap<Tp, Instant>,
  moves: u64,
}

/// Seeks partitions, dropping their rows read ahead. `timeout` zero: asynchronous. A seek that
/// fails puts its partition back at the first dropped row, so no row is skipped.
pub(crate) fn seek(consumer: &RawConsumer, targets: &[(Tp, Offset)], timeout: Duration) -> KafkaResult<()> {
  let tps: Vec<Tp> = targets.iter().map(|(tp, _)| tp.clone()).collect();
  consumer.context().ahead.moving(&tps, |dropped| {
    let mut result = Ok(());
    for (tp, offset) in targets {
      if let Err(e) = consumer.seek(&tp.0, tp.1, *offset, timeout) {
        if let Some((_, first)) = dropped.iter().find(|(d, _)| d == tp) {
          let _ = consumer.seek(&tp.0, tp.1, Offset::Offset(*first), Duration::ZERO);
        }
        result = result.and(Err(e));
      }
    }
    result
  })
}

/// Pauses partitions. Rows read ahead for them are dropped, and each is sought back to the first
/// of them, else to `next[i]` (the facade's next record in `tps[i]`): never left to librdkafka's position, which
/// its batch call sets past every element it returns, a partition's end or fetch error included.
pub(crate) fn pause(consumer: &RawConsumer, tps: &[Tp], next: &[Option<i64>]) {
  let tpl = crate::consumer::partitions_tpl(tps);
  consumer.context().ahead.moving(tps, |dropped| {
    // A partition not (yet) assigned cannot be paused in librdkafka; the facade remembers it.
    let _ = consumer.pause(&tpl);
    for (tp, next) in tps.iter().zip(next) {
      let first = dropped.iter().find(|(d, _)| d == tp).map(|(_, first)| *first);
      if let Some(offset) = first.or(*next) {
        let _ = consumer.seek(&tp.0, tp.1, Offset::Offset(offset), Duration::ZERO);
      }
    }
  });
}
