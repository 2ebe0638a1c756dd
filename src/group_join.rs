//! The group's leader and chosen protocol, for kafkajs's `GROUP_JOIN` payload.
//!
//! librdkafka keeps both to itself: no API returns them, and an interceptor sees a response's size,
//! not its body. Its JoinGroup debug line (context `cgrp`) states them, so a classic-protocol
//! consumer is created with that context on and its log callback reads the line; the line is then
//! forwarded like any other, filtered by the client's `logLevel`.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;
use std::sync::Mutex;
use std::time::Instant;

/// What the last successful JoinGroup answered this member.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinedAs {
  pub leader_id: String,
  pub is_leader: bool,
  /// The assignor the group chose, under kafkajs's name where kafkajs has one.
  pub protocol: String,
}

#[derive(Default)]
struct JoinState {
  last: Option<JoinedAs>,
  /// When the member first asked to join since its last assignment: GROUP_JOIN's `duration`.
  started: Option<Instant>,
}

/// The latest JoinGroup answer, written by the log callback, read when the assignment arrives.
#[derive(Default)]
pub struct LastJoin(Mutex<JoinState>);

impl LastJoin {
  /// Reads `message` if it is librdkafka's JoinGroup response line or its move to `wait-join`.
  pub fn observe(&self, facility: &str, message: &str) {
    match facility {
      "JOINGROUP" => {
        if let Some(joined) = parse(message) {
          self.0.lock().unwrap().last = Some(joined);
        }
      }
      "CGRPJOINSTATE" if message.contains(" -> wait-join ") => {
        self.0.lock().unwrap().started.get_or_insert_with(Instant::now);
      }
      _ => {}
    }
  }

  /// The last JoinGroup answer, and how long ago this join began (the timer restarts).
  pub fn take(&self) -> (Option<JoinedAs>, Option<std::time::Duration>) {
    let mut state = self.0.lock().unwrap();
    (state.last.clone(), state.started.take().map(|s| s.elapsed()))
  }
}

/// Turns on the `cgrp` debug context (keeping the user's own `debug` contexts) and lets debug
/// lines reach the log callback, whose sink still drops what the client's `logLevel` excludes.
pub fn enable(cfg: &mut ClientConfig) {
  let debug = cfg.get("debug").map(str::to_string).filter(|d| !d.trim().is_empty());
  let covered = debug.as_deref().is_some_and(|d| d.split(',').any(|c| matches!(c.trim(), "cgrp" | "consumer" | "all")));
  if !covered {
    cfg.set("debug", debug.as_ref().map_or_else(|| "cgrp".to_string(), |d| format!("{},cgrp", d)));
  }
  // Only for our context alone: with the user's own (fetch, msg, all...) every such line would be
  // formatted and then dropped at a lower logLevel. Theirs come at their logLevel, as before.
  if debug.is_none() {
    cfg.set_log_level(RDKafkaLogLevel::Debug);
  }
}

/// `[thrd:main]: JoinGroup response: GenerationId 3, Protocol range, LeaderId m-1 (me), my MemberId
/// m-1, member metadata count 2: (no error)` (rdkafka_cgrp.c); None for a failed join or another line.
fn parse(message: &str) -> Option<JoinedAs> {
  const START: &str = "JoinGroup response: ";
  let rest = &message[message.find(START)? + START.len()..];
  if !rest.ends_with(": (no error)") {
    return None;
  }
  let protocol = between(rest, ", Protocol ", ", LeaderId ")?;
  let leader = between(rest, ", LeaderId ", ", my MemberId ")?;
  let (leader_id, is_leader) = match leader.strip_suffix(" (me)") {
    Some(id) => (id, true),
    None => (leader, false),
  };
  if leader_id.is_empty() {
    return None;
  }
  let protocol = if protocol == "roundrobin" { "RoundRobinAssigner" } else { protocol };
  Some(JoinedAs { leader_id: leader_id.to_string(), is_leader, protocol: protocol.to_string() })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
  let from = text.find(start)? + start.len();
  let len = text[from..].find(end)?;
  Some(&text[from..from + len])
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_the_leader_and_protocol() {
    let me = parse("[thrd:main]: JoinGroup response: GenerationId 3, Protocol roundrobin, LeaderId rdkafka-a (me), my MemberId rdkafka-a, member metadata count 2: (no error)");
    assert_eq!(
      me,
      Some(JoinedAs { leader_id: "rdkafka-a".into(), is_leader: true, protocol: "RoundRobinAssigner".into() })
    );
    let other = parse("JoinGroup response: GenerationId 3, Protocol range, LeaderId rdkafka-a, my MemberId rdkafka-b, member metadata count 0: (no error)");
    assert_eq!(other, Some(JoinedAs { leader_id: "rdkafka-a".into(), is_leader: false, protocol: "range".into() }));
  }

  #[test]
  fn ignores_failed_joins_and_other_lines() {
    assert_eq!(parse("JoinGroup response: GenerationId -1, Protocol , LeaderId , my MemberId x, member metadata count 0: Broker: Unknown member"), None);
    assert_eq!(parse("I am elected leader for group \"g\" with 1 member(s)"), None);
  }

  #[test]
  fn keeps_the_users_debug_contexts() {
    let mut cfg = ClientConfig::new();
    enable(&mut cfg);
    assert_eq!(cfg.get("debug"), Some("cgrp"));
    let mut cfg = ClientConfig::new();
    cfg.set("debug", "broker,fetch");
    enable(&mut cfg);
    assert_eq!(cfg.get("debug"), Some("broker,fetch,cgrp"));
    let mut cfg = ClientConfig::new();
    cfg.set("debug", "all");
    enable(&mut cfg);
    assert_eq!(cfg.get("debug"), Some("all"));
  }
}
