//! Flow control of a running consumer: kafkajs's `pause`, `resume`, `paused`, plus `assignment`.
//!
//! Paused partitions are remembered here (not only in librdkafka) so that a retry backoff or a
//! circuit breaker never resumes a partition the user paused.

use crate::consumer::{ConsumerInner, NativeConsumer, RawConsumer, TopicPartitions, Tp};
use crate::error::Result;
use napi_derive::napi;
use rdkafka::consumer::Consumer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

impl ConsumerInner {
  /// The partitions named by kafkajs's `{ topic, partitions? }` (all assigned ones when omitted).
  fn partitions_of(&self, list: &[TopicPartitions]) -> Result<Vec<Tp>> {
    let assigned = self.client().ok().and_then(|c| c.assignment().ok()).unwrap_or_default();
    let mut out = Vec::new();
    for tp in list {
      match &tp.partitions {
        Some(ps) => out.extend(ps.iter().map(|p| (tp.topic.clone(), *p))),
        None => out.extend(assigned.elements_for_topic(&tp.topic).iter().map(|e| (tp.topic.clone(), e.partition()))),
      }
    }
    Ok(out)
  }
}

#[napi]
impl NativeConsumer {
  /// Replaces the running consumer's subscription (same member: a rebalance, not a rejoin).
  /// The added topics start at their current end, fixed now, so records produced after this
  /// call resolves are delivered although the assignment arrives later.
  #[napi]
  pub async fn resubscribe(&self, topics: Vec<String>, added: Vec<String>) -> napi::Result<()> {
    use crate::error::Context;
    // As start() does: a name Kafka cannot hold is refused here, not subscribed and left pending.
    for topic in added.iter().filter(|t| !t.starts_with('^')) {
      crate::config::topic_name("topics", topic)?;
    }
    let consumer = self.inner.client()?;
    crate::error::blocking(move || {
      let timeout = std::time::Duration::from_secs(10);
      let mut ends = Vec::new();
      for topic in &added {
        let meta = consumer.fetch_metadata(Some(topic), timeout).during("subscribe")?;
        for t in meta.topics() {
          for p in t.partitions() {
            let (_, high) = consumer.fetch_watermarks(topic, p.id(), timeout).during("subscribe")?;
            ends.push(((topic.clone(), p.id()), high));
          }
        }
      }
      consumer.context().pinned.lock().unwrap().extend(ends);
      let names: Vec<&str> = topics.iter().map(String::as_str).collect();
      consumer.subscribe(&names).during("subscribe")
    })
    .await
  }

  #[napi]
  pub fn pause(&self, list: Vec<TopicPartitions>) -> napi::Result<()> {
    let tps = self.inner.partitions_of(&list)?;
    self.inner.user_paused.lock().unwrap().extend(tps.iter().cloned());
    if let Ok(c) = self.inner.client() {
      self.inner.set_paused(&c, &tps, true);
    }
    Ok(())
  }

  #[napi]
  pub fn resume(&self, list: Vec<TopicPartitions>) -> napi::Result<()> {
    let tps = self.inner.partitions_of(&list)?;
    let mut paused = self.inner.user_paused.lock().unwrap();
    for tp in &tps {
      paused.remove(tp);
    }
    if let Ok(c) = self.inner.client() {
      self.inner.resume_at_next(&c, &tps);
    }
    Ok(())
  }

  /// Partitions paused by the user, as `{ topic, partitions }`.
  #[napi]
  pub fn paused(&self) -> Vec<TopicPartitions> {
    let mut by_topic: HashMap<String, Vec<i32>> = HashMap::new();
    for (t, p) in self.inner.user_paused.lock().unwrap().iter() {
      by_topic.entry(t.clone()).or_default().push(*p);
    }
    by_topic
      .into_iter()
      .map(|(topic, mut ps)| {
        ps.sort();
        TopicPartitions { topic, partitions: Some(ps) }
      })
      .collect()
  }

  /// The current assignment, `{ topic, partitions }` per topic.
  #[napi]
  pub fn assignment(&self) -> Vec<TopicPartitions> {
    let Ok(c) = self.inner.client() else { return vec![] };
    let mut by_topic: HashMap<String, Vec<i32>> = HashMap::new();
    for e in c.assignment().unwrap_or_default().elements() {
      by_topic.entry(e.topic().to_string()).or_default().push(e.partition());
    }
    by_topic.into_iter().map(|(topic, ps)| TopicPartitions { topic, partitions: Some(ps) }).collect()
  }
}

/// kafkajs's consumers ask the brokers to create a subscribed topic that is missing; librdkafka's
/// own subscription metadata requests never ask (rdkafka_metadata.c turns auto-creation off when
/// the client knows no topic yet). One metadata request per named topic, off the JS thread, asks
/// as kafkajs does; a broker with auto.create.topics.enable=false still refuses.
pub(crate) fn request_creation(consumer: &Arc<RawConsumer>, topics: &[String]) {
  let named: Vec<String> = topics.iter().filter(|t| !t.starts_with('^')).cloned().collect();
  // Weak, upgraded for one request at a time (a second at most): a disconnect meanwhile puts off
  // the client's close, and the group's LeaveGroup, by no more than that.
  let consumer = Arc::downgrade(consumer);
  crate::consumer::tokio_spawn(async move {
    let _ = tokio::task::spawn_blocking(move || {
      for topic in named {
        let Some(c) = consumer.upgrade() else { return };
        let _ = c.client().fetch_metadata(Some(&topic), Duration::from_secs(1));
      }
    })
    .await;
  });
}
