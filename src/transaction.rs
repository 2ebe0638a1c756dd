//! Transactions on a producer with a `transactionalId` (kafkajs `producer.transaction()`).
//!
//! librdkafka's transactional calls block, so each runs on tokio's blocking pool, never on
//! libuv's. `initTransactions` runs once per producer, on its first transaction.

use crate::delivery::produce;
use crate::error::{blocking, Context, FerroError};
use crate::producer::{NativeProducer, RecordMetadata};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// An offset to commit inside a transaction (kafkajs `sendOffsets` entries, flattened).
#[napi(object)]
pub struct TransactionOffset {
  pub topic: String,
  pub partition: i32,
  /// The next offset to consume, as a decimal string.
  pub offset: String,
}

const TXN_TIMEOUT: Duration = Duration::from_secs(60);

#[napi]
impl NativeProducer {
  /// Initialises transactions on first use, then begins one.
  #[napi]
  pub async fn begin_transaction(&self) -> napi::Result<()> {
    if !self.inner.transactional {
      return Err(FerroError::config("transactionalId", "is required on the producer to use transactions").into());
    }
    let producer = self.inner.client()?;
    let init_needed = !self.inner.txn_ready.swap(true, Ordering::SeqCst);
    blocking(move || {
      if init_needed {
        producer.init_transactions(TXN_TIMEOUT).during("initTransactions")?;
      }
      producer.begin_transaction().during("beginTransaction")
    })
    .await
  }

  /// Sends inside the open transaction; same shape as `send`.
  #[napi(ts_return_type = "Promise<RecordMetadata[]>")]
  pub fn transaction_send<'e>(
    &self,
    env: &'e Env,
    topics: Vec<String>,
    counts: Vec<u32>,
    data: BufferSlice<'_>,
  ) -> napi::Result<PromiseRaw<'e, Vec<RecordMetadata>>> {
    produce(env, self.inner.client()?, topics, counts, data)
  }

  /// Adds consumed offsets of `consumerGroupId` to the open transaction.
  #[napi]
  pub async fn send_offsets_to_transaction(
    &self,
    consumer_group_id: String,
    offsets: Vec<TransactionOffset>,
  ) -> napi::Result<()> {
    let producer = self.inner.client()?;
    let mut tpl = TopicPartitionList::new();
    for o in &offsets {
      let off: i64 = o.offset.parse().map_err(|_| FerroError::config("offset", "must be a decimal string"))?;
      tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(off)).during("sendOffsets")?;
    }
    let group =
      CString::new(consumer_group_id).map_err(|_| FerroError::config("consumerGroupId", "must not contain NUL"))?;
    blocking(move || unsafe {
      let meta = rdkafka::bindings::rd_kafka_consumer_group_metadata_new(group.as_ptr());
      let err = rdkafka::bindings::rd_kafka_send_offsets_to_transaction(
        producer.client().native_ptr(),
        tpl.ptr(),
        meta,
        TXN_TIMEOUT.as_millis() as i32,
      );
      rdkafka::bindings::rd_kafka_consumer_group_metadata_destroy(meta);
      if err.is_null() {
        Ok(())
      } else {
        let code = rdkafka::bindings::rd_kafka_error_code(err);
        rdkafka::bindings::rd_kafka_error_destroy(err);
        Err(FerroError::from_code("sendOffsets", code.into()))
      }
    })
    .await
  }

  /// Commits the open transaction (flushing its records first).
  #[napi]
  pub async fn commit_transaction(&self) -> napi::Result<()> {
    let producer = self.inner.client()?;
    blocking(move || producer.commit_transaction(TXN_TIMEOUT).during("commitTransaction")).await
  }

  /// Aborts the open transaction; its records are never visible to read_committed consumers.
  #[napi]
  pub async fn abort_transaction(&self) -> napi::Result<()> {
    let producer = self.inner.client()?;
    blocking(move || producer.abort_transaction(TXN_TIMEOUT).during("abortTransaction")).await
  }
}
