//! Event routing: which topic an event type goes to, and which handlers an event type wakes.
//!
//! Topic = the event type, unless its domain (the part before the first `.`) is in the domain
//! map (`projects.*` -> `fsm.projects`), which `KAFKA_<DOMAIN>_TOPIC` overrides. Patterns are
//! event names where `*` stands for any run of characters: `order.*`, `*.status_changed`, `*`.

use crate::error::FerroError;
use napi_derive::napi;
use std::collections::HashMap;

/// Seed 001's domain map: each domain's events share one topic.
const DEFAULT_DOMAINS: [(&str, &str); 5] = [
  ("projects", "fsm.projects"),
  ("assignments", "fsm.assignments"),
  ("scheduling", "fsm.scheduling"),
  ("execution", "fsm.execution"),
  ("contracts", "fsm.contracts"),
];

/// Options of `new EventRouter(...)`.
#[napi(object)]
pub struct EventRouterOptions {
  /// Domain -> topic, added to (and overriding) the defaults.
  pub domain_topics: Option<HashMap<String, String>>,
  /// The environment to read `KAFKA_<DOMAIN>_TOPIC` from (the facade passes `process.env`).
  pub env: Option<HashMap<String, String>>,
}

/// Routes event types to topics and matches them against handler patterns.
#[napi]
pub struct EventRouter {
  domains: HashMap<String, String>,
}

/// True when `event_type` matches `pattern` (`*` = any characters, including none and dots).
#[napi]
pub fn event_matches(pattern: String, event_type: String) -> bool {
  matches(&pattern, &event_type)
}

pub fn matches(pattern: &str, text: &str) -> bool {
  let parts: Vec<&str> = pattern.split('*').collect();
  if parts.len() == 1 {
    return pattern == text;
  }
  let (first, last) = (parts[0], parts[parts.len() - 1]);
  if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
    return false;
  }
  let mut rest = &text[first.len()..text.len() - last.len()];
  for middle in &parts[1..parts.len() - 1] {
    match rest.find(middle) {
      Some(i) => rest = &rest[i + middle.len()..],
      None => return false,
    }
  }
  true
}

#[napi]
impl EventRouter {
  #[napi(constructor)]
  pub fn new(options: Option<EventRouterOptions>) -> napi::Result<Self> {
    let mut domains: HashMap<String, String> =
      DEFAULT_DOMAINS.iter().map(|(d, t)| (d.to_string(), t.to_string())).collect();
    let (extra, env) = options.map(|o| (o.domain_topics, o.env)).unwrap_or((None, None));
    for (d, t) in extra.unwrap_or_default() {
      if t.is_empty() {
        return Err(FerroError::config(format!("domainTopics.{}", d), "must be a non-empty topic name").into());
      }
      domains.insert(d, t);
    }
    for (key, value) in env.unwrap_or_default() {
      let Some(domain) = key.strip_prefix("KAFKA_").and_then(|k| k.strip_suffix("_TOPIC")) else {
        continue;
      };
      if domain.is_empty() || domain == "DLQ" || value.trim().is_empty() {
        continue;
      }
      domains.insert(domain.to_ascii_lowercase(), value.trim().to_string());
    }
    Ok(EventRouter { domains })
  }

  /// The topic an event type is published to.
  #[napi]
  pub fn topic_for(&self, event_type: String) -> String {
    let domain = event_type.split('.').next().unwrap_or_default();
    self.domains.get(domain).cloned().unwrap_or(event_type)
  }

  /// The topics that can carry events matching `pattern` (for subscribing by event name).
  #[napi]
  pub fn topics_for_pattern(&self, pattern: String) -> Vec<String> {
    let domain = pattern.split('.').next().unwrap_or_default();
    if !domain.contains('*') {
      if let Some(t) = self.domains.get(domain) {
        return vec![t.clone()];
      }
      if !pattern.contains('*') {
        return vec![pattern];
      }
    }
    // A wildcard across domains: every mapped domain topic (unmapped types need explicit topics).
    let mut all: Vec<String> =
      self.domains.iter().filter(|(d, _)| matches(domain, d)).map(|(_, t)| t.clone()).collect();
    all.sort();
    all.dedup();
    all
  }

  /// For each event type of a batch, the indexes of the patterns it matches: one crossing per batch.
  #[napi]
  pub fn match_batch(&self, patterns: Vec<String>, event_types: Vec<String>) -> Vec<Vec<u32>> {
    event_types
      .iter()
      .map(|t| patterns.iter().enumerate().filter(|(_, p)| matches(p, t)).map(|(i, _)| i as u32).collect())
      .collect()
  }
}

#[cfg(test)]
mod tests {
  use super::matches;

  #[test]
  fn wildcards() {
    assert!(matches("order.created", "order.created"));
    assert!(!matches("order.created", "order.updated"));
    assert!(matches("order.*", "order.created"));
    assert!(!matches("order.*", "orders.created"));
    assert!(matches("*.status_changed", "order.status_changed"));
    assert!(!matches("*.status_changed", "order.created"));
    assert!(matches("*", "anything.at.all"));
    assert!(matches("a.*.c", "a.b.c"));
  }
}
