//! kafkajs `describeConfigs` and `alterConfigs`, over librdkafka's DescribeConfigs and
//! AlterConfigs: a topic's or a broker's configuration, in kafkajs's shapes.

use crate::admin::{NativeAdmin, TIMEOUT};
use crate::error::{Context, FerroError, Result};
use napi_derive::napi;
use rdkafka::admin::{AdminOptions, AlterConfig, ConfigSource, ResourceSpecifier};
use serde_json::{json, Value};

/// kafkajs's `ConfigResourceTypes` that librdkafka's admin API can name.
const TOPIC: i64 = 2;
const BROKER: i64 = 4;

/// One entry of a request's `resources`.
struct Resource {
  kind: i64,
  name: String,
  /// describeConfigs: only these entries (all when absent).
  config_names: Option<Vec<String>>,
  /// alterConfigs: the entries to set.
  entries: Vec<(String, String)>,
}

impl Resource {
  fn specifier(&self, field: &str) -> Result<ResourceSpecifier<'_>> {
    match self.kind {
      TOPIC => Ok(ResourceSpecifier::Topic(&self.name)),
      BROKER => self
        .name
        .parse()
        .map(ResourceSpecifier::Broker)
        .map_err(|_| FerroError::config(format!("{}.name", field), "must be the broker's node id for type BROKER")),
      _ => Err(FerroError::config(format!("{}.type", field), "must be ConfigResourceTypes.TOPIC (2) or BROKER (4)")),
    }
  }
}

fn strings(v: Option<&Value>, field: &str) -> Result<Option<Vec<String>>> {
  match v {
    None | Some(Value::Null) => Ok(None),
    Some(Value::Array(items)) => items
      .iter()
      .map(|i| i.as_str().map(str::to_string).ok_or_else(|| FerroError::config(field, "must be an array of strings")))
      .collect::<Result<_>>()
      .map(Some),
    Some(_) => Err(FerroError::config(field, "must be an array of strings")),
  }
}

/// `resources: [{ type, name, configNames?, configEntries? }]`, each field checked and named;
/// `with_entries`: `configEntries` must be an array (AlterConfigs replaces the whole dynamic
/// configuration: a missing list would silently reset it).
fn resources(v: &Value, with_entries: bool) -> Result<Vec<Resource>> {
  let list = v
    .as_array()
    .filter(|l| !l.is_empty())
    .ok_or_else(|| FerroError::config("resources", "must be a non-empty array"))?;
  list
    .iter()
    .enumerate()
    .map(|(i, r)| {
      let field = format!("resources[{}]", i);
      let kind = r
        .get("type")
        .and_then(Value::as_i64)
        .ok_or_else(|| FerroError::config(format!("{}.type", field), "is required"))?;
      let name = r.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
      let name =
        name.ok_or_else(|| FerroError::config(format!("{}.name", field), "must be a non-empty string"))?.to_string();
      let config_names = strings(r.get("configNames"), &format!("{}.configNames", field))?;
      let mut entries = Vec::new();
      let given = r.get("configEntries").and_then(Value::as_array);
      if with_entries && given.is_none() {
        return Err(FerroError::config(format!("{}.configEntries", field), "must be an array of { name, value }"));
      }
      for (j, e) in given.into_iter().flatten().enumerate() {
        let (Some(n), Some(value)) = (e.get("name").and_then(Value::as_str), e.get("value").and_then(Value::as_str))
        else {
          return Err(FerroError::config(format!("{}.configEntries[{}]", field, j), "must be { name, value } strings"));
        };
        entries.push((n.to_string(), value.to_string()));
      }
      Ok(Resource { kind, name, config_names, entries })
    })
    .collect()
}

/// The Kafka protocol's number for a config source (kafkajs's `configSource`).
fn source_number(source: &ConfigSource) -> i32 {
  match source {
    ConfigSource::Unknown => 0,
    ConfigSource::DynamicTopic => 1,
    ConfigSource::DynamicBroker => 2,
    ConfigSource::DynamicDefaultBroker => 3,
    ConfigSource::StaticBroker => 4,
    ConfigSource::Default => 5,
  }
}

/// As kafkajs: a resource the broker refused fails the whole call with its error.
fn first_failure(
  operation: &str,
  list: &[Resource],
  codes: impl Iterator<Item = Option<rdkafka::error::RDKafkaErrorCode>>,
) -> Result<()> {
  match list.iter().zip(codes).find_map(|(r, c)| c.map(|c| (r, c))) {
    Some((r, code)) => Err(FerroError::from_code(&format!("{} \"{}\"", operation, r.name), code)),
    None => Ok(()),
  }
}

fn options() -> AdminOptions {
  AdminOptions::new().request_timeout(Some(TIMEOUT))
}

#[napi]
impl NativeAdmin {
  /// kafkajs `describeConfigs({ resources })`: `{ resources: [{ errorCode, errorMessage,
  /// resourceType, resourceName, configEntries }], throttleTime }`.
  #[napi(ts_args_type = "resources: Array<{ type: number; name: string; configNames?: string[] }>")]
  pub async fn describe_configs(&self, resources_value: Value) -> napi::Result<Value> {
    let list = resources(&resources_value, false)?;
    self.refuse_on_mock("describeConfigs", "DescribeConfigs")?;
    let client = self.client()?;
    let specs =
      list.iter().enumerate().map(|(i, r)| r.specifier(&format!("resources[{}]", i))).collect::<Result<Vec<_>>>()?;
    let results = client.describe_configs(&specs, &options()).await.during("describeConfigs")?;
    first_failure("describeConfigs", &list, results.iter().map(|r| r.as_ref().err().copied()))?;
    let out: Vec<Value> = list
      .iter()
      .zip(results)
      .map(|(r, result)| {
        // Every resource succeeded here: first_failure threw for any other.
        let entries = result.map(|described| described.entries).unwrap_or_default();
        let entries: Vec<Value> = entries
          .iter()
          .filter(|e| r.config_names.as_ref().is_none_or(|names| names.contains(&e.name)))
          .map(|e| {
            json!({
              "configName": e.name, "configValue": e.value, "readOnly": e.is_read_only, "isDefault": e.is_default,
              "configSource": source_number(&e.source), "isSensitive": e.is_sensitive, "configSynonyms": [],
            })
          })
          .collect();
        json!({
          "errorCode": 0, "errorMessage": null, "resourceType": r.kind, "resourceName": r.name, "configEntries": entries,
        })
      })
      .collect();
    Ok(json!({ "resources": out, "throttleTime": 0 }))
  }

  /// kafkajs `alterConfigs({ validateOnly, resources })`: `{ resources: [{ errorCode,
  /// errorMessage, resourceType, resourceName }], throttleTime }`. AlterConfigs replaces a
  /// resource's whole dynamic configuration with the entries given, as in kafkajs.
  #[napi(
    ts_args_type = "resources: Array<{ type: number; name: string; configEntries: Array<{ name: string; value: string }> }>, validateOnly: boolean"
  )]
  pub async fn alter_configs(&self, resources_value: Value, validate_only: bool) -> napi::Result<Value> {
    let list = resources(&resources_value, true)?;
    self.refuse_on_mock("alterConfigs", "AlterConfigs")?;
    let client = self.client()?;
    let mut changes = Vec::new();
    for (i, r) in list.iter().enumerate() {
      let mut change = AlterConfig::new(r.specifier(&format!("resources[{}]", i))?);
      for (name, value) in &r.entries {
        change = change.set(name, value);
      }
      changes.push(change);
    }
    let results =
      client.alter_configs(&changes, &options().validate_only(validate_only)).await.during("alterConfigs")?;
    first_failure("alterConfigs", &list, results.iter().map(|r| r.as_ref().err().map(|(_, code)| *code)))?;
    let out: Vec<Value> = list
      .iter()
      .map(|r| json!({ "errorCode": 0, "errorMessage": null, "resourceType": r.kind, "resourceName": r.name }))
      .collect();
    Ok(json!({ "resources": out, "throttleTime": 0 }))
  }
}
