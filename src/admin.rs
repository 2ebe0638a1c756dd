//! The admin client (kafkajs `kafka.admin()`): topics, metadata, group offsets.
//!
//! Results are returned in kafkajs's shapes as JSON values. Every blocking librdkafka call runs
//! on tokio's blocking pool so the libuv threadpool stays free for the user's `fs` and `dns`.

use crate::admin_cluster::watermarks;
use crate::config;
use crate::error::{blocking, Context, FerroError, Result};
use napi_derive::napi;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// The native half of a kafkajs `Admin`.
#[napi]
pub struct NativeAdmin {
  common: Value,
  bootstrap: String,
  pub(crate) client: RwLock<Option<Arc<AdminClient<DefaultClientContext>>>>,
  /// The provider's token cell: an admin client's main queue is never polled, so librdkafka
  /// cannot ask it for tokens; each new token is handed over on the next call instead.
  oauth: Option<Arc<crate::oauth::TokenCell>>,
  seeded: std::sync::atomic::AtomicU64,
}

fn num(v: &Value, key: &str, default: i64) -> i64 {
  v.get(key).and_then(Value::as_i64).unwrap_or(default)
}

impl NativeAdmin {
  /// librdkafka's MockCluster answers these APIs with nothing (the call would only time out).
  pub(crate) fn refuse_on_mock(&self, operation: &str, api: &str) -> Result<()> {
    if crate::mock::is_in_process(&self.bootstrap) {
      return Err(FerroError::unsupported(operation, &format!("librdkafka's MockCluster has no {} API", api)));
    }
    Ok(())
  }

  pub(crate) fn client(&self) -> Result<Arc<AdminClient<DefaultClientContext>>> {
    let client = self
      .client
      .read()
      .unwrap()
      .clone()
      .ok_or_else(|| FerroError::state("The admin client is not connected (call connect() first)"))?;
    self.seed(&client)?;
    Ok(client)
  }

  /// Hands the admin client the provider's token when a newer one arrived since the last call.
  fn seed(&self, client: &AdminClient<DefaultClientContext>) -> Result<()> {
    use std::sync::atomic::Ordering;
    let Some(cell) = &self.oauth else { return Ok(()) };
    let generation = cell.generation.load(Ordering::SeqCst);
    if self.seeded.swap(generation, Ordering::SeqCst) != generation {
      cell.seed(client.inner().native_ptr())?;
    }
    Ok(())
  }

  /// A consumer that never joins: bound to `group_id` to read and write its committed offsets, or
  /// without a group for offset lookups (ListOffsets by time is a consumer call in librdkafka).
  pub(crate) fn group_consumer(&self, group_id: Option<&str>) -> Result<BaseConsumer> {
    let mut cfg: ClientConfig = config::client_config(&self.common)?;
    if let Some(group) = group_id {
      cfg.set("group.id", group).set("enable.auto.commit", "false");
    }
    let consumer: BaseConsumer = cfg.create().map_err(|e| FerroError::creation("group client", e))?;
    crate::oauth::seed_client(&self.oauth, consumer.client().native_ptr())?;
    Ok(consumer)
  }
}

#[napi]
impl NativeAdmin {
  #[napi(constructor)]
  pub fn new(common: Value) -> napi::Result<Self> {
    let cfg = config::client_config(&common)?;
    let bootstrap = cfg.get("bootstrap.servers").unwrap_or_default().to_string();
    let oauth = crate::oauth::cell_for(&common);
    Ok(NativeAdmin { common, bootstrap, client: RwLock::new(None), oauth, seeded: Default::default() })
  }

  #[napi]
  pub async fn connect(&self, timeout_ms: u32) -> napi::Result<()> {
    let mut cfg = config::client_config(&self.common)?;
    // librdkafka's admin client is a producer underneath, whose metadata requests ask the broker
    // to create the topics they name: fetchTopicMetadata({ topics: ['typo'] }) would create 'typo'.
    // (The metadata client of a producer's partitioner sets it as the producer's allowAutoTopicCreation.)
    if cfg.get("allow.auto.create.topics").is_none() {
      cfg.set("allow.auto.create.topics", "false");
    }
    crate::interceptor::enable(&mut cfg);
    let client: AdminClient<DefaultClientContext> =
      cfg.create().map_err(|e| FerroError::creation("admin client", e))?;
    self.seeded.store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
    self.seed(&client)?;
    let client = Arc::new(client);
    let probe = client.clone();
    blocking(move || {
      let timeout = Duration::from_millis(timeout_ms as u64);
      crate::handshake::connect(probe.inner(), &Default::default(), timeout, true)
    })
    .await?;
    *self.client.write().unwrap() = Some(client);
    Ok(())
  }

  #[napi]
  pub async fn disconnect(&self) -> napi::Result<()> {
    let client = self.client.write().unwrap().take();
    blocking(move || {
      drop(client);
      Ok(())
    })
    .await
  }

  /// kafkajs `createTopics`: resolves `true` when every topic was created, `false` if one existed.
  #[napi(
    ts_args_type = "topics: Array<{ topic: string; numPartitions?: number; replicationFactor?: number; configEntries?: Array<{ name: string; value: string }> }>, validateOnly: boolean"
  )]
  pub async fn create_topics(&self, topics: Value, validate_only: bool) -> napi::Result<bool> {
    let list = topics.as_array().cloned().ok_or_else(|| FerroError::config("topics", "must be an array"))?;
    let mut created = true;
    let mut remote = Vec::new();
    for t in &list {
      let name = t
        .get("topic")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FerroError::config("topics[].topic", "must be a non-empty string"))?;
      crate::config::topic_name("topics[].topic", name)?;
      let partitions = num(t, "numPartitions", 1).max(1) as i32;
      let replication = num(t, "replicationFactor", 1).max(1) as i32;
      if validate_only && crate::mock::is_in_process(&self.bootstrap) {
        // The mock has no CreateTopics to validate with: nothing is created, and an existing
        // topic answers `false`, as a broker's TOPIC_ALREADY_EXISTS does.
        created &= !self.topic_exists(name).await?;
        continue;
      }
      match crate::mock::create_topic_if_mock(&self.bootstrap, name, partitions, replication) {
        Some(Ok(())) if !validate_only => {}
        Some(Err(e)) if e.code == "TOPIC_ALREADY_EXISTS" => created = false,
        Some(Err(e)) => return Err(e.into()),
        _ => remote.push((name.to_string(), partitions, replication, t.get("configEntries").cloned())),
      }
    }
    if remote.is_empty() {
      return Ok(created);
    }
    let client = self.client()?;
    let opts = AdminOptions::new().validate_only(validate_only).operation_timeout(Some(TIMEOUT));
    let configs: Vec<Vec<(String, String)>> = remote
      .iter()
      .map(|r| {
        r.3
          .as_ref()
          .and_then(Value::as_array)
          .map(|a| {
            a.iter()
              .filter_map(|e| Some((e.get("name")?.as_str()?.to_string(), e.get("value")?.as_str()?.to_string())))
              .collect()
          })
          .unwrap_or_default()
      })
      .collect();
    let new_topics: Vec<NewTopic> = remote
      .iter()
      .zip(&configs)
      .map(|(r, c)| c.iter().fold(NewTopic::new(&r.0, r.1, TopicReplication::Fixed(r.2)), |nt, (k, v)| nt.set(k, v)))
      .collect();
    let results = client.create_topics(new_topics.iter(), &opts).await.during("createTopics")?;
    for r in results {
      match r {
        Ok(_) => {}
        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => created = false,
        Err((topic, RDKafkaErrorCode::UnsupportedVersion)) | Err((topic, RDKafkaErrorCode::InvalidRequest)) => {
          return Err(FerroError::state(format!(
            "createTopics \"{}\": the broker does not support CreateTopics (librdkafka's MockCluster has none: use MockCluster.createTopic)",
            topic
          )).into())
        }
        Err((topic, code)) => return Err(FerroError::from_code(&format!("createTopics \"{}\"", topic), code).into()),
      }
    }
    Ok(created)
  }

  #[napi]
  pub async fn delete_topics(&self, topics: Vec<String>) -> napi::Result<()> {
    self.refuse_on_mock("deleteTopics", "DeleteTopics")?;
    let client = self.client()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let results = client
      .delete_topics(&names, &AdminOptions::new().operation_timeout(Some(TIMEOUT)))
      .await
      .during("deleteTopics")?;
    for r in results {
      if let Err((topic, code)) = r {
        return Err(FerroError::from_code(&format!("deleteTopics \"{}\"", topic), code).into());
      }
    }
    Ok(())
  }

  /// kafkajs `createPartitions({ topicPartitions: [{ topic, count }] })`.
  #[napi]
  pub async fn create_partitions(&self, topic_partitions: Value) -> napi::Result<bool> {
    self.refuse_on_mock("createPartitions", "CreatePartitions")?;
    let client = self.client()?;
    let list = topic_partitions.as_array().cloned().unwrap_or_default();
    let parts: Vec<(String, usize)> = list
      .iter()
      .map(|t| {
        Ok((
          t.get("topic")
            .and_then(Value::as_str)
            .ok_or_else(|| FerroError::config("topicPartitions[].topic", "is required"))?
            .to_string(),
          num(t, "count", 0) as usize,
        ))
      })
      .collect::<Result<_>>()?;
    let new_parts: Vec<NewPartitions> = parts.iter().map(|(t, c)| NewPartitions::new(t, *c)).collect();
    let results = client
      .create_partitions(new_parts.iter(), &AdminOptions::new().operation_timeout(Some(TIMEOUT)))
      .await
      .during("createPartitions")?;
    for r in results {
      if let Err((topic, code)) = r {
        return Err(FerroError::from_code(&format!("createPartitions \"{}\"", topic), code).into());
      }
    }
    Ok(true)
  }

  /// kafkajs `fetchTopicMetadata({ topics })` (all topics when none are named).
  #[napi]
  pub async fn fetch_topic_metadata(&self, topics: Option<Vec<String>>) -> napi::Result<Value> {
    let client = self.client()?;
    blocking(move || {
      let names = topics.unwrap_or_default();
      let metas = if names.is_empty() {
        vec![client.inner().fetch_metadata(None, TIMEOUT).during("fetchTopicMetadata")?]
      } else {
        names.iter().map(|n| client.inner().fetch_metadata(Some(n), TIMEOUT).during("fetchTopicMetadata")).collect::<Result<_>>()?
      };
      let mut out = Vec::new();
      for m in &metas {
        for t in m.topics() {
          if t.name().starts_with("__") && names.is_empty() {
            continue;
          }
          if let Some(err) = t.error() {
            return Err(FerroError::from_code(&format!("fetchTopicMetadata \"{}\"", t.name()), RDKafkaErrorCode::from(err)));
          }
          let partitions: Vec<Value> = t.partitions().iter().map(|p| json!({
            "partitionErrorCode": p.error().map(|e| e as i32).unwrap_or(0),
            "partitionId": p.id(), "leader": p.leader(), "replicas": p.replicas(), "isr": p.isr(), "offlineReplicas": [],
          })).collect();
          out.push(json!({ "name": t.name(), "partitions": partitions }));
        }
      }
      Ok(json!({ "topics": out }))
    })
    .await
  }

  /// kafkajs `fetchTopicOffsets(topic)`: `[{ partition, offset, high, low }]`.
  #[napi]
  pub async fn fetch_topic_offsets(&self, topic: String) -> napi::Result<Value> {
    let client = self.client()?;
    blocking(move || {
      let marks = watermarks(&client, &topic)?;
      Ok(Value::Array(marks.into_iter().map(|(p, low, high)| json!({ "partition": p, "offset": high.to_string(), "high": high.to_string(), "low": low.to_string() })).collect()))
    })
    .await
  }

  /// Committed offsets of a group: `[{ topic, partitions: [{ partition, offset, metadata }] }]`.
  #[napi]
  pub async fn fetch_offsets(&self, group_id: String, topics: Vec<String>) -> napi::Result<Value> {
    let client = self.client()?;
    let consumer = self.group_consumer(Some(&group_id))?;
    blocking(move || {
      let mut out = Vec::new();
      for topic in &topics {
        let mut tpl = TopicPartitionList::new();
        for (p, _, _) in watermarks(&client, topic)? {
          tpl.add_partition(topic, p);
        }
        let committed = consumer.committed_offsets(tpl, TIMEOUT).during("fetchOffsets")?;
        let partitions: Vec<Value> = committed
          .elements()
          .iter()
          .map(|e| {
            let off = match e.offset() {
              Offset::Offset(o) => o,
              _ => -1,
            };
            json!({ "partition": e.partition(), "offset": off.to_string(), "metadata": null })
          })
          .collect();
        out.push(json!({ "topic": topic, "partitions": partitions }));
      }
      Ok(Value::Array(out))
    })
    .await
  }

  /// Commits `partitions` (`[{ partition, offset }]`) for a group with no active members.
  #[napi]
  pub async fn set_offsets(&self, group_id: String, topic: String, partitions: Value) -> napi::Result<()> {
    let consumer = self.group_consumer(Some(&group_id))?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions.as_array().cloned().unwrap_or_default() {
      let off: i64 = p
        .get("offset")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FerroError::config("partitions[].offset", "must be a decimal string"))?;
      tpl.add_partition_offset(&topic, num(&p, "partition", 0) as i32, Offset::Offset(off)).during("setOffsets")?;
    }
    blocking(move || consumer.commit(&tpl, CommitMode::Sync).during("setOffsets")).await
  }

  /// Moves a group's committed offsets of `topic` to its earliest or latest records.
  #[napi]
  pub async fn reset_offsets(&self, group_id: String, topic: String, earliest: bool) -> napi::Result<()> {
    let client = self.client()?;
    let consumer = self.group_consumer(Some(&group_id))?;
    blocking(move || {
      let mut tpl = TopicPartitionList::new();
      for (p, low, high) in watermarks(&client, &topic)? {
        tpl
          .add_partition_offset(&topic, p, Offset::Offset(if earliest { low } else { high }))
          .during("resetOffsets")?;
      }
      consumer.commit(&tpl, CommitMode::Sync).during("resetOffsets")
    })
    .await
  }

  /// kafkajs `listGroups()` / `describeGroups(ids)` share librdkafka's group list.
  #[napi]
  pub async fn describe_groups(&self, group_ids: Option<Vec<String>>) -> napi::Result<Value> {
    let client = self.client()?;
    let operation = if group_ids.is_some() { "describeGroups" } else { "listGroups" };
    blocking(move || {
      let mut groups = Vec::new();
      let ids: Vec<Option<String>> = match group_ids {
        Some(ids) => ids.into_iter().map(Some).collect(),
        None => vec![None],
      };
      for id in ids {
        let list = client.inner().fetch_group_list(id.as_deref(), TIMEOUT).during(operation)?;
        for g in list.groups() {
          let members: Vec<Value> = g.members().iter().map(|m| json!({
            "memberId": m.id(), "clientId": m.client_id(), "clientHost": m.client_host(),
            "memberMetadata": m.metadata().unwrap_or_default(), "memberAssignment": m.assignment().unwrap_or_default(),
          })).collect();
          groups.push(json!({
            "groupId": g.name(), "protocolType": g.protocol_type(), "protocol": g.protocol(), "state": g.state(),
            "errorCode": 0, "members": members,
          }));
        }
      }
      Ok(json!({ "groups": groups }))
    })
    .await
  }

  /// kafkajs `deleteGroups(ids)`: `[{ groupId, errorCode }]`; rejects if any failed.
  #[napi]
  pub async fn delete_groups(&self, group_ids: Vec<String>) -> napi::Result<Value> {
    // The mock answers UNSUPPORTED_FEATURE, after which dropping rdkafka's admin client aborts
    // in librdkafka (a queue refcount assert): refuse up front instead.
    self.refuse_on_mock("deleteGroups", "DeleteGroups")?;
    let client = self.client()?;
    let names: Vec<&str> = group_ids.iter().map(String::as_str).collect();
    let results = client
      .delete_groups(&names, &AdminOptions::new().operation_timeout(Some(TIMEOUT)))
      .await
      .during("deleteGroups")?;
    let mut out = Vec::new();
    for r in results {
      match r {
        Ok(g) => out.push(json!({ "groupId": g, "errorCode": 0 })),
        Err((g, code)) => return Err(FerroError::from_code(&format!("deleteGroups \"{}\"", g), code).into()),
      }
    }
    Ok(Value::Array(out))
  }
}
