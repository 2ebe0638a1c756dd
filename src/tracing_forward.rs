//! `tracing` events of the native code (rdkafka's own, and this crate's) forwarded to the
//! `logCreator` of every live client whose kafkajs `logLevel` admits them.
//!
//! Such events belong to no one client (rdkafka logs from its own threads), so each registered
//! logger receives them, under the event's module path as facility. TRACE is never forwarded: it
//! is per-poll noise. A logger is held weakly: a client that is gone is dropped from the list.

use crate::logging::{LogFn, LogRecord, RawLogFn};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use once_cell::sync::Lazy;
use std::fmt::Write;
use std::sync::{Arc, Mutex, Weak};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Each live client's logger, held weakly, with its kafkajs level.
type Loggers = Vec<(Weak<RawLogFn>, u32)>;

static LOGGERS: Lazy<Mutex<Loggers>> = Lazy::new(|| {
  // The first client with a logger installs the forwarder; a host that already set its own
  // global subscriber keeps it.
  let _ = tracing::subscriber::set_global_default(Forward);
  Mutex::new(Vec::new())
});

/// Adds a client's logger (kept weakly) with its kafkajs level.
pub fn register(logger: &LogFn, max_level: u32) {
  let mut loggers = LOGGERS.lock().unwrap();
  loggers.retain(|(w, _)| w.strong_count() > 0);
  match loggers.iter_mut().find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(logger))) {
    Some(entry) => entry.1 = entry.1.max(max_level),
    None => loggers.push((Arc::downgrade(logger), max_level)),
  }
}

/// kafkajs's level of a `tracing` level; `None` for TRACE.
fn kafkajs_level(level: &Level) -> Option<u32> {
  match *level {
    Level::ERROR => Some(1),
    Level::WARN => Some(2),
    Level::INFO => Some(4),
    Level::DEBUG => Some(5),
    _ => None,
  }
}

fn wanted(level: u32) -> bool {
  LOGGERS.lock().unwrap().iter().any(|(w, max)| level <= *max && w.strong_count() > 0)
}

/// The event's message, then its other fields as `name=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
  fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
    let sep = if self.0.is_empty() { "" } else { " " };
    if field.name() == "message" {
      let _ = write!(self.0, "{}{:?}", sep, value);
    } else {
      let _ = write!(self.0, "{}{}={:?}", sep, field.name(), value);
    }
  }
  fn record_str(&mut self, field: &Field, value: &str) {
    let sep = if self.0.is_empty() { "" } else { " " };
    if field.name() == "message" {
      let _ = write!(self.0, "{}{}", sep, value);
    } else {
      let _ = write!(self.0, "{}{}={}", sep, field.name(), value);
    }
  }
}

struct Forward;

impl Subscriber for Forward {
  // Asked at every event: loggers come and go, so no callsite is ever ruled out for good.
  fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
    if kafkajs_level(metadata.level()).is_none() {
      return Interest::never();
    }
    Interest::sometimes()
  }
  // rdkafka traces every handle it drops (one per message polled): without this hint each of
  // those asks `enabled`, about 3% of a consumer's drain.
  fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
    Some(tracing::level_filters::LevelFilter::DEBUG)
  }
  fn enabled(&self, metadata: &Metadata<'_>) -> bool {
    kafkajs_level(metadata.level()).is_some_and(wanted)
  }
  fn new_span(&self, _: &Attributes<'_>) -> Id {
    Id::from_u64(1)
  }
  fn record(&self, _: &Id, _: &Record<'_>) {}
  fn record_follows_from(&self, _: &Id, _: &Id) {}
  fn event(&self, event: &Event<'_>) {
    let Some(level) = kafkajs_level(event.metadata().level()) else { return };
    let mut text = Text::default();
    event.record(&mut text);
    let loggers: Vec<LogFn> =
      LOGGERS.lock().unwrap().iter().filter(|(_, max)| level <= *max).filter_map(|(w, _)| w.upgrade()).collect();
    for logger in loggers {
      let record = LogRecord { level, facility: event.metadata().target().to_string(), message: text.0.clone() };
      logger.call(record, ThreadsafeFunctionCallMode::NonBlocking);
    }
  }
  fn enter(&self, _: &Id) {}
  fn exit(&self, _: &Id) {}
}
