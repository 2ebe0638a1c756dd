//! The admin client's questions about the cluster itself and about offsets by time (kafkajs
//! `describeCluster`, `fetchTopicOffsetsByTimestamp`): the rest of `NativeAdmin` is in admin.rs.

use crate::admin::{NativeAdmin, TIMEOUT};
use crate::error::{blocking, Context, FerroError};
use napi_derive::napi;
use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};

/// Each partition of `topic` with its low and high watermarks.
pub(crate) fn watermarks(
  client: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
  topic: &str,
) -> crate::error::Result<Vec<(i32, i64, i64)>> {
  let meta = client.inner().fetch_metadata(Some(topic), TIMEOUT).during("fetchTopicOffsets")?;
  let t = meta.topics().first().ok_or_else(|| FerroError::config("topic", "not found"))?;
  if let Some(err) = t.error() {
    return Err(FerroError::from_code(
      &format!("fetchTopicOffsets \"{}\"", topic),
      rdkafka::error::RDKafkaErrorCode::from(err),
    ));
  }
  t.partitions()
    .iter()
    .map(|p| {
      let (low, high) = client.inner().fetch_watermarks(topic, p.id(), TIMEOUT).during("fetchTopicOffsets")?;
      Ok((p.id(), low, high))
    })
    .collect()
}

impl NativeAdmin {
  /// Whether the cluster has `topic` (the admin client never creates what it asks about).
  pub(crate) async fn topic_exists(&self, topic: &str) -> napi::Result<bool> {
    let client = self.client()?;
    let name = topic.to_string();
    blocking(move || {
      let meta = client.inner().fetch_metadata(Some(&name), TIMEOUT).during("createTopics")?;
      Ok(meta.topics().first().is_some_and(|t| t.error().is_none()))
    })
    .await
  }
}

#[napi]
impl NativeAdmin {
  /// kafkajs `describeCluster()`: `{ brokers: [{ nodeId, host, port }], controller, clusterId }`.
  #[napi]
  pub async fn describe_cluster(&self) -> napi::Result<Value> {
    let client = self.client()?;
    blocking(move || {
      let meta = client.inner().fetch_metadata(None, TIMEOUT).during("describeCluster")?;
      let brokers: Vec<Value> =
        meta.brokers().iter().map(|b| json!({ "nodeId": b.id(), "host": b.host(), "port": b.port() })).collect();
      let rk = client.inner().native_ptr();
      let wait = TIMEOUT.as_millis() as i32;
      // Both come with the metadata just fetched: librdkafka answers from its cache.
      let controller = unsafe { rd::rd_kafka_controllerid(rk, wait) };
      let id = unsafe { rd::rd_kafka_clusterid(rk, wait) };
      let cluster_id = if id.is_null() {
        Value::Null
      } else {
        let text = unsafe { std::ffi::CStr::from_ptr(id) }.to_string_lossy().into_owned();
        unsafe { rd::rd_kafka_mem_free(rk, id as *mut std::ffi::c_void) };
        Value::String(text)
      };
      Ok(json!({ "brokers": brokers, "controller": if controller < 0 { Value::Null } else { json!(controller) }, "clusterId": cluster_id }))
    })
    .await
  }

  /// kafkajs `fetchTopicOffsetsByTimestamp(topic, timestamp?)`: per partition, the first offset
  /// whose record's timestamp is at or after `timestamp`; the high watermark where none is (and
  /// for every partition when no timestamp is given).
  #[napi]
  pub async fn fetch_topic_offsets_by_timestamp(&self, topic: String, timestamp: Option<f64>) -> napi::Result<Value> {
    let client = self.client()?;
    if timestamp.is_some_and(|t| !t.is_finite() || t < 0.0) {
      return Err(FerroError::config("timestamp", "must be a non-negative number of milliseconds").into());
    }
    // Only a lookup by time needs a (group-less) consumer client.
    let reader = timestamp.map(|_| self.group_consumer(None)).transpose()?;
    blocking(move || {
      let marks = watermarks(&client, &topic)?;
      let by_time = match (timestamp, reader) {
        (Some(ts), Some(reader)) => {
          let mut tpl = TopicPartitionList::new();
          for (p, _, _) in &marks {
            tpl.add_partition_offset(&topic, *p, Offset::Offset(ts as i64)).during("fetchTopicOffsetsByTimestamp")?;
          }
          Some(reader.offsets_for_times(tpl, TIMEOUT).during("fetchTopicOffsetsByTimestamp")?)
        }
        _ => None,
      };
      let out = marks
        .iter()
        .map(|(p, _, high)| {
          let entry = by_time.as_ref().and_then(|t| t.find_partition(&topic, *p));
          // A partition the lookup failed for is an error, not its end: seeking there would skip it.
          if let Some(Err(e)) = entry.as_ref().map(|e| e.error()) {
            return Err(FerroError::kafka(&format!("fetchTopicOffsetsByTimestamp \"{}\"[{}]", topic, p), &e));
          }
          let found = entry.and_then(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
          });
          Ok(json!({ "partition": p, "offset": found.unwrap_or(*high).to_string() }))
        })
        .collect::<crate::error::Result<Vec<_>>>()?;
      Ok(Value::Array(out))
    })
    .await
  }
}
