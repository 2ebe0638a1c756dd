//! Commits: the ones the run loop asks for, reported as COMMIT_OFFSETS, `commitOffsets`, and the
//! final commit of `close`.
//!
//! librdkafka reports its own interval commits through the commit event, but not the commits an
//! application requests (an asynchronous `rd_kafka_commit` has no reply on the event API). So a
//! requested commit runs synchronously on a blocking thread, one at a time: a request arriving
//! while one is in flight is folded into one more commit afterwards, never queued per batch.

use crate::consumer::{tpl_of, ConsumerInner, NativeConsumer, RawConsumer, TopicPartitionOffset};
use crate::consumer_context::ConsumerCtx;
use crate::error::{blocking, Context};
use napi_derive::napi;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl ConsumerInner {
  /// Commits the stored offsets soon, without waiting; coalesces requests made meanwhile.
  pub(crate) fn commit_soon(self: &Arc<Self>, consumer: Arc<RawConsumer>) {
    self.commit_again.store(true, Ordering::SeqCst);
    if self.committing.swap(true, Ordering::SeqCst) {
      return;
    }
    let inner = self.clone();
    crate::consumer::tokio_spawn(async move {
      loop {
        while inner.commit_again.swap(false, Ordering::SeqCst) {
          let c = consumer.clone();
          let _ = tokio::task::spawn_blocking(move || commit_stored_logged(&c)).await;
        }
        inner.committing.store(false, Ordering::SeqCst);
        // A request that arrived between the last check and the release above is served here.
        if !inner.commit_again.load(Ordering::SeqCst) || inner.committing.swap(true, Ordering::SeqCst) {
          break;
        }
      }
      // If close() ran meanwhile this is the last handle: librdkafka's destroy blocks.
      let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
    });
  }
}

/// Commits the assignment's stored offsets that the broker does not have yet, and waits for it;
/// reports what it committed. Nothing to commit is not a failure.
///
/// The offsets are named, not left to librdkafka's own store: an assignment clears that store,
/// and a commit of it would then leave out a partition whose work was done before the
/// rebalance, while COMMIT_OFFSETS reported it (the group's offset stayed behind for good).
pub(crate) fn commit_stored(consumer: &RawConsumer) -> rdkafka::error::KafkaResult<()> {
  let _one_at_a_time = consumer.context().commit_lock.lock().unwrap();
  let offsets = uncommitted_in_assignment(consumer);
  if offsets.count() == 0 {
    return Ok(());
  }
  match consumer.commit(&offsets, CommitMode::Sync) {
    Ok(()) => {
      report(consumer.context(), &offsets, true);
      Ok(())
    }
    Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => Ok(()),
    Err(e) => Err(e),
  }
}

/// [`commit_stored`] where nobody awaits the outcome: a failure is logged (the next commit
/// carries the same offsets).
fn commit_stored_logged(consumer: &RawConsumer) {
  if let Err(e) = commit_stored(consumer) {
    consumer.context().log.emit(2, "COMMIT", &format!("offset commit failed: {}", e));
  }
}

/// COMMIT_OFFSETS for what a commit sent (`resolved`: see `offsets_list`).
pub(crate) fn report(ctx: &ConsumerCtx, offsets: &TopicPartitionList, resolved: bool) {
  ctx.committed(offsets);
  if offsets.count() > 0 {
    ctx.push(
      "COMMIT_OFFSETS",
      json!({ "groupId": ctx.group_id, "topics": crate::consumer_context::offsets_list(offsets, resolved) }),
    );
  }
}

/// What a commit of the stored offsets sends: the last stored offset of each assigned partition
/// where the broker's acknowledged one differs.
fn uncommitted_in_assignment(consumer: &RawConsumer) -> TopicPartitionList {
  let assigned = consumer.assignment().unwrap_or_default();
  let stored = consumer.context().last_stored.lock().unwrap();
  let acked = consumer.context().acked.lock().unwrap();
  let mut tpl = TopicPartitionList::new();
  for e in assigned.elements() {
    let key = (e.topic().to_string(), e.partition());
    if let Some(&next) = stored.get(&key) {
      if acked.get(&key) != Some(&next) {
        let _ = tpl.add_partition_offset(e.topic(), e.partition(), Offset::Offset(next));
      }
    }
  }
  tpl
}

#[napi]
impl NativeConsumer {
  /// Commits `offsets` (or, with none given, every stored offset) and waits for the broker.
  /// `resolved`: the offsets are the run loop's resolved ones (COMMIT_OFFSETS's partition keys).
  #[napi]
  pub async fn commit(&self, offsets: Option<Vec<TopicPartitionOffset>>, resolved: Option<bool>) -> napi::Result<()> {
    let consumer = self.inner.client()?;
    let tpl = offsets.map(|o| tpl_of(&o, "commitOffsets")).transpose()?;
    self.inner.resolved_since_commit.store(0, Ordering::SeqCst);
    blocking(move || match tpl {
      Some(tpl) => {
        consumer.commit(&tpl, CommitMode::Sync).during("commitOffsets")?;
        crate::consumer_commit::report(consumer.context(), &tpl, resolved == Some(true));
        Ok(())
      }
      None => crate::consumer_commit::commit_stored(&consumer).during("commitOffsets"),
    })
    .await
  }

  /// Leaves the group (committing stored offsets when autoCommit is on) and frees the client.
  #[napi]
  /// Returns the events not yet delivered, among them the COMMIT_OFFSETS of the final commit.
  pub async fn close(&self) -> napi::Result<Vec<crate::consumer_context::ConsumerEvent>> {
    // Dead-letter records in flight first: their acks move stored offsets, which close commits.
    self.inner.send_dead_letters();
    let dlq_producer = self.inner.dlq_producer.lock().unwrap().take();
    if let Some(p) = dlq_producer {
      blocking(move || {
        let _ = rdkafka::producer::Producer::flush(&*p, Duration::from_secs(10));
        Ok(())
      })
      .await?;
      let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
      while !self.inner.barriers.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
      }
    }
    let consumer = self.inner.consumer.write().unwrap().take();
    self.inner.log.lock().unwrap().take();
    if let Some(c) = consumer {
      // The batch read ahead is dropped unhandled: nothing of it was stored.
      c.context().ahead.close(&c.context().wake).await;
      if c.client().fatal_error().is_some() {
        // librdkafka's destroy of a client that hit a fatal error can block for good waiting on
        // its group handler; nothing is left to commit, so it is let go on a thread of its own.
        let _ = std::thread::Builder::new().name("ferrokafka-fatal-drop".into()).spawn(move || drop(c));
        return Ok(Vec::new());
      }
      let auto_commit = self.inner.commit.read().unwrap().auto_commit;
      return blocking(move || {
        if auto_commit {
          let _ = crate::consumer_commit::commit_stored(&c);
        }
        // Serves pending commit callbacks now (the final commit's too), so they are reported.
        let mut stream = c.stream();
        let poller = crate::consumer_batch::ReadyPoller::new();
        while poller.next(&mut stream).is_some() {}
        drop(stream);
        let events = c.context().take_events();
        c.unsubscribe();
        drop(c);
        Ok(events)
      })
      .await;
    }
    Ok(Vec::new())
  }
}

/// Stores `next` (the offset to resume from) as the partition's commit position. Not
/// `store_offset`: librdkafka's `rd_kafka_offset_store` adds one to what it is given.
///
/// Never below what this member stored before (a seek clears that): a batch fetched before a
/// rebalance and handled after the partition came back would otherwise move the position back
/// below the catch-up store, and with nothing left to fetch the commit would stay there.
pub(crate) fn store_next(
  consumer: &RawConsumer,
  topic: &str,
  partition: i32,
  next: i64,
) -> rdkafka::error::KafkaResult<()> {
  let key = (topic.to_string(), partition);
  let mut last = consumer.context().last_stored.lock().unwrap();
  if last.get(&key).is_some_and(|&prev| next < prev) {
    return Ok(());
  }
  let mut tpl = TopicPartitionList::with_capacity(1);
  tpl.add_partition_offset(topic, partition, Offset::Offset(next))?;
  consumer.store_offsets(&tpl)?;
  last.insert(key, next);
  Ok(())
}
