//! Writing dead letters without holding up the run loop, and the store barrier they set.
//!
//! `fail()` runs on the JavaScript thread. Handing each record to librdkafka there and spawning
//! its acknowledgement task woke two other threads per failure, and on two cores the woken
//! threads took the CPU from the run loop: 50-90 us of the JavaScript thread per dead letter,
//! a quarter of a run where 1% of events fail. So `fail()` only queues the record; a sender task,
//! started by the first of a burst, hands what queued to the DLQ producer every few milliseconds,
//! in failure order (the DLQ keeps the source order, unless a failed write is retried: later
//! records may then land before it).
//!
//! Nothing is lost meanwhile: from the moment a record is queued, no store of its partition
//! passes it (`store_gated`) until the broker acknowledged it; a failed write is retried with
//! backoff, and a crash before the ack redelivers from the message.

use crate::consumer::{tokio_spawn, ConsumerInner, RawConsumer, Tp};
use crate::consumer_commit::store_next;
use crate::delivery::send_one;
use crate::dlq::RetryPolicy;
use crate::error::Result;
use crate::producer::RawProducer;
use rdkafka::message::OwnedHeaders;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How long the sender gathers dead letters before handing them over.
const BURST_MS: u64 = 5;

/// One record bound for a dead-letter topic.
pub(crate) struct DeadLetter {
  pub partition: Tp,
  pub offset: i64,
  pub topic: String,
  pub key: Option<Vec<u8>>,
  pub value: Option<Vec<u8>>,
  pub headers: OwnedHeaders,
  pub retry: RetryPolicy,
}

/// Per partition, the dead letters not yet acknowledged: no store passes the first of them.
#[derive(Default)]
pub(crate) struct StoreBarriers(HashMap<Tp, Barrier>);

struct Barrier {
  /// Offsets of unacknowledged dead letters.
  pending: BTreeSet<i64>,
  /// The furthest next offset handlers reached meanwhile: stored once the last ack arrives.
  handled: i64,
}

impl StoreBarriers {
  /// Holds stores of `tp` before `offset` until `release(tp, offset)`.
  fn hold(&mut self, tp: Tp, offset: i64) {
    let barrier = self.0.entry(tp).or_insert_with(|| Barrier { pending: BTreeSet::new(), handled: offset + 1 });
    barrier.pending.insert(offset);
  }

  /// `offset`'s dead letter was acknowledged: the next offset `tp` may now be stored at.
  fn release(&mut self, tp: &Tp, offset: i64) -> i64 {
    let Some(barrier) = self.0.get_mut(tp) else { return offset + 1 };
    barrier.pending.remove(&offset);
    match barrier.pending.first() {
      Some(&first) => first,
      None => {
        let next = barrier.handled.max(offset + 1);
        self.0.remove(tp);
        next
      }
    }
  }

  /// Where a store of `next` for `tp` may go: `next`, or the first unacknowledged dead letter
  /// before it (then `next` is remembered for its release).
  fn gate(&mut self, tp: &Tp, next: i64) -> i64 {
    match self.0.get_mut(tp) {
      Some(barrier) if !barrier.pending.is_empty() => {
        barrier.handled = barrier.handled.max(next);
        barrier.pending.first().copied().unwrap_or(next)
      }
      _ => next,
    }
  }

  pub(crate) fn is_empty(&self) -> bool {
    self.0.is_empty()
  }
}

/// Dead letters queued by `fail()`, and whether a sender task is running.
#[derive(Default)]
pub(crate) struct DeadLetterQueue {
  queued: Vec<DeadLetter>,
  sending: bool,
}

impl ConsumerInner {
  /// Queues `letter`: its partition's stores stop before it until the broker acknowledges it.
  /// The DLQ producer must exist (`dlq_producer()`), so a bad configuration fails the call.
  pub(crate) fn queue_dead_letter(self: &Arc<Self>, letter: DeadLetter) {
    self.barriers.lock().unwrap().hold(letter.partition.clone(), letter.offset);
    let mut queue = self.dead_letters.lock().unwrap();
    queue.queued.push(letter);
    if !queue.sending {
      queue.sending = true;
      let inner = self.clone();
      tokio_spawn(async move {
        loop {
          tokio::time::sleep(Duration::from_millis(BURST_MS)).await;
          if !inner.send_dead_letters() {
            return;
          }
        }
      });
    }
  }

  /// Hands every queued dead letter to the DLQ producer, in order. False when none was queued
  /// (the sender then stops; the next failure starts another).
  pub(crate) fn send_dead_letters(self: &Arc<Self>) -> bool {
    // Under the queue's lock until all are enqueued: `close()` takes the producer only after it
    // called this, and two callers (a sender, `close()`) enqueue in failure order.
    let mut queue = self.dead_letters.lock().unwrap();
    if queue.queued.is_empty() {
      queue.sending = false;
      return false;
    }
    let Some(producer) = self.dlq_producer.lock().unwrap().clone() else {
      // Closed: no store passed them (their barriers), so they come back on the next run.
      let dropped = std::mem::take(&mut queue.queued).len();
      if let Some(log) = self.log.lock().unwrap().clone() {
        let sink = crate::logging::LogSink::new(Some(log), self.log_level);
        sink.emit(
          2,
          "DLQ",
          &format!("{dropped} dead letter(s) not written: the consumer closed first; redelivered next run"),
        );
      }
      return true;
    };
    let sends: Vec<_> = std::mem::take(&mut queue.queued)
      .into_iter()
      .map(|l| {
        let first = send_one(&producer, &l.topic, l.key.as_deref(), l.value.as_deref(), l.headers.clone());
        (l, first)
      })
      .collect();
    drop(queue);
    let inner = self.clone();
    tokio_spawn(async move {
      let acks = sends.into_iter().map(|(l, first)| inner.clone().acknowledge(producer.clone(), l, first));
      futures::future::join_all(acks).await;
    });
    true
  }

  /// Waits for `letter`'s ack (writing it again after a failure), then lifts its barrier.
  async fn acknowledge(
    self: Arc<Self>,
    producer: Arc<RawProducer>,
    letter: DeadLetter,
    first: impl std::future::Future<Output = Result<Vec<crate::producer::RecordMetadata>>>,
  ) {
    let DeadLetter { partition, offset, topic, key, value, headers, retry } = letter;
    let mut tries = 0u32;
    let mut written = first.await;
    while let Err(e) = written {
      tries += 1;
      if let Some(log) = self.log.lock().unwrap().clone() {
        let sink = crate::logging::LogSink::new(Some(log), self.log_level);
        sink.emit(1, "DLQ", &format!("dead-letter write to \"{}\" failed ({}); retrying", topic, e.message));
      }
      tokio::time::sleep(Duration::from_millis(retry.delay(tries.min(retry.retries.max(1))) as u64)).await;
      if self.client().is_err() {
        return; // closed: nothing was stored past the message, so it comes back next run
      }
      written = send_one(&producer, &topic, key.as_deref(), value.as_deref(), headers.clone()).await;
    }
    let next = self.barriers.lock().unwrap().release(&partition, offset);
    if let Ok(c) = self.client() {
      let _ = store_next(&c, &partition.0, partition.1, next);
    }
  }

  /// Stores `next` for `tp`, unless a dead letter before it is still unacknowledged: then the
  /// store stops at that message, and `next` is remembered for when the ack arrives.
  pub(crate) fn store_gated(&self, consumer: &RawConsumer, tp: Tp, next: i64) {
    let target = self.barriers.lock().unwrap().gate(&tp, next);
    let _ = store_next(consumer, &tp.0, tp.1, target);
  }
}
