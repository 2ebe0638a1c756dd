//! The consumer's fetch queue: every assigned partition's messages are forwarded to one queue of
//! ours and drained with librdkafka's batch call.
//!
//! Polling rdkafka's stream costs, per message, a queue lock, three clock reads, an event and
//! rdkafka's wrappers around it; the batch call takes a whole run of messages under one lock.
//! It cannot be used on the consumer's own queue: a rebalance met there would be applied by
//! librdkafka itself (rdkafka asks for rebalances as events, not through a callback), bypassing
//! `ConsumerCtx::rebalance`. So messages come here, and rebalance, commit and error events stay
//! on the consumer's queue, which the drain still polls.
//!
//! librdkafka drops a partition's forwarding when its fetch stops (a revocation) and keeps
//! messages in the partition's own queue when the application forwarded it once: the rebalance
//! callback therefore forwards each partition it assigns, every time, before assigning it.

use crate::consumer_context::ConsumerCtx;
use rdkafka::bindings as rd;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::TopicPartitionList;
use std::ffi::{c_void, CString};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// librdkafka's consumer with its fetch queue: opened with it, destroyed before it (the messages
/// still queued there hold the client's partitions).
pub(crate) struct RawConsumer(StreamConsumer<ConsumerCtx>);

impl RawConsumer {
  pub(crate) fn new(consumer: StreamConsumer<ConsumerCtx>) -> Self {
    consumer.context().fetch_queue.open(consumer.client().native_ptr());
    RawConsumer(consumer)
  }
}

impl std::ops::Deref for RawConsumer {
  type Target = StreamConsumer<ConsumerCtx>;
  fn deref(&self) -> &Self::Target {
    &self.0
  }
}

impl Drop for RawConsumer {
  fn drop(&mut self) {
    self.0.context().fetch_queue.close();
  }
}

struct QueueHandle(*mut rd::rd_kafka_queue_t);

// The handle is only used under `FetchQueue::queue`'s lock; librdkafka's queues are thread-safe.
unsafe impl Send for QueueHandle {}

/// Our queue, from `open` (once the client exists) until `close` (before the client goes).
#[derive(Default)]
pub struct FetchQueue {
  queue: Mutex<Option<QueueHandle>>,
  /// Notified by librdkafka when the queue goes from empty to holding a message.
  pub(crate) ready: Arc<Notify>,
}

unsafe extern "C" fn notify_ready(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
  // Runs on a librdkafka thread under the queue's lock: a permit, nothing more.
  (*(opaque as *const Notify)).notify_one();
}

impl FetchQueue {
  /// Creates the queue of client `rk`.
  pub(crate) fn open(&self, rk: *mut rd::rd_kafka_t) {
    let mut queue = self.queue.lock().unwrap();
    if queue.is_some() {
      return;
    }
    let q = unsafe { rd::rd_kafka_queue_new(rk) };
    // `ready` lives as long as `self`, which outlives the queue (closed first, see `close`).
    unsafe { rd::rd_kafka_queue_cb_event_enable(q, Some(notify_ready), Arc::as_ptr(&self.ready) as *mut c_void) };
    *queue = Some(QueueHandle(q));
  }

  /// Forwards the partitions of `tpl` here, before their fetch starts.
  pub(crate) fn forward(&self, rk: *mut rd::rd_kafka_t, tpl: &TopicPartitionList) {
    let queue = self.queue.lock().unwrap();
    let Some(ours) = queue.as_ref() else { return };
    for e in tpl.elements() {
      let Ok(topic) = CString::new(e.topic()) else { continue };
      unsafe {
        let partition_queue = rd::rd_kafka_queue_get_partition(rk, topic.as_ptr(), e.partition());
        // Null only for a handle that is not a consumer; then messages stay on the consumer's queue.
        if !partition_queue.is_null() {
          rd::rd_kafka_queue_forward(partition_queue, ours.0);
          rd::rd_kafka_queue_destroy(partition_queue);
        }
      }
    }
  }

  /// Takes up to `max` queued messages without waiting and hands each to `each` (valid only
  /// during the call); returns how many were taken. librdkafka drops outdated ones (a seek's).
  pub(crate) fn take(&self, max: usize, mut each: impl FnMut(&rd::rd_kafka_message_t)) -> usize {
    let queue = self.queue.lock().unwrap();
    let Some(ours) = queue.as_ref() else { return 0 };
    let mut batch: Vec<*mut rd::rd_kafka_message_t> = Vec::with_capacity(max);
    let got = unsafe { rd::rd_kafka_consume_batch_queue(ours.0, 0, batch.as_mut_ptr(), max) };
    if got <= 0 {
      return 0;
    }
    unsafe { batch.set_len(got as usize) };
    for m in batch {
      unsafe {
        each(&*m);
        rd::rd_kafka_message_destroy(m);
      }
    }
    got as usize
  }

  /// Destroys the queue (and the messages still in it); later calls find none. Must run before
  /// the client is destroyed: queued messages hold its partitions.
  pub(crate) fn close(&self) {
    if let Some(q) = self.queue.lock().unwrap().take() {
      unsafe {
        rd::rd_kafka_queue_cb_event_enable(q.0, None, std::ptr::null_mut());
        rd::rd_kafka_queue_destroy(q.0);
      }
    }
  }
}
