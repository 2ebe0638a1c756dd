//! Commits the run loop asks for, reported as COMMIT_OFFSETS.
//!
//! librdkafka reports its own interval commits through the commit event, but not the commits an
//! application requests (an asynchronous `rd_kafka_commit` has no reply on the event API). So a
//! requested commit runs synchronously on a blocking thread, one at a time: a request arriving
//! while one is in flight is folded into one more commit afterwards, never queued per batch.

use crate::consumer::{ConsumerInner, RawConsumer};
use crate::consumer_context::ConsumerCtx;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;

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

/// Commits the assignment's stored offsets and waits for the broker; reports what it committed.
/// Nothing stored since the last commit is not a failure.
pub(crate) fn commit_stored(consumer: &RawConsumer) -> rdkafka::error::KafkaResult<()> {
  let reported = stored_in_assignment(consumer);
  match consumer.commit_consumer_state(CommitMode::Sync) {
    Ok(()) => {
      report(consumer.context(), &reported);
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

/// COMMIT_OFFSETS for an explicit list (kafkajs's `commitOffsets`).
pub(crate) fn report(ctx: &ConsumerCtx, offsets: &TopicPartitionList) {
  if offsets.count() > 0 {
    ctx.push(
      "COMMIT_OFFSETS",
      json!({ "groupId": ctx.group_id, "topics": crate::consumer_context::offsets_list(offsets) }),
    );
  }
}

/// What a commit of the stored offsets sends: the last stored offset of each assigned partition.
fn stored_in_assignment(consumer: &RawConsumer) -> TopicPartitionList {
  let assigned = consumer.assignment().unwrap_or_default();
  let stored = consumer.context().last_stored.lock().unwrap();
  let mut tpl = TopicPartitionList::new();
  for e in assigned.elements() {
    if let Some(&next) = stored.get(&(e.topic().to_string(), e.partition())) {
      let _ = tpl.add_partition_offset(e.topic(), e.partition(), Offset::Offset(next));
    }
  }
  tpl
}
