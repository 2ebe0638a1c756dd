//! librdkafka's log lines and client errors, forwarded to the JavaScript `logCreator`.
//!
//! The forwarding function is a weak threadsafe function: it never keeps Node's event loop
//! alive, so a process whose clients disconnected exits even if librdkafka logs late.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use rdkafka::config::RDKafkaLogLevel;

/// One log line from the native side.
#[napi(object)]
#[derive(Clone)]
pub struct LogRecord {
  /// kafkajs level: 1 ERROR, 2 WARN, 4 INFO, 5 DEBUG.
  pub level: u32,
  /// librdkafka facility (e.g. `FAIL`, `REQTMOUT`), or the Rust module of a `tracing` event
  /// (e.g. `rdkafka::client`).
  pub facility: String,
  pub message: String,
}

/// The JavaScript callback that receives log records.
pub type RawLogFn = ThreadsafeFunction<LogRecord, (), LogRecord, Status, false, true>;
/// Shared by a client and the sibling clients it creates.
pub type LogFn = std::sync::Arc<RawLogFn>;

/// Per-client forwarding of log records, filtered by the client's kafkajs log level.
pub struct LogSink {
  target: Option<LogFn>,
  max_level: u32,
  /// Client errors logged lately, by kind: when, and how many like it were held back since.
  recent_errors: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u32)>>,
}

/// How long a client error of one kind is logged once: librdkafka reports an unreachable
/// cluster on every reconnect attempt of every broker thread (hundreds of lines a minute).
const REPEAT_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

impl LogSink {
  pub fn new(target: Option<LogFn>, max_level: u32) -> Self {
    if let Some(t) = &target {
      crate::tracing_forward::register(t, max_level);
    }
    LogSink { target, max_level, recent_errors: Default::default() }
  }

  /// A client error (librdkafka's error callback) at ERROR, once per kind within
  /// [`REPEAT_WINDOW`]; the next line of that kind says how many were held back. False when
  /// this one was held back (the caller then reports it nowhere else either).
  pub fn client_error(&self, error: &rdkafka::error::KafkaError, reason: &str) -> bool {
    let kind = format!("{:?}", error.rdkafka_error_code());
    let now = std::time::Instant::now();
    let held_back = {
      let mut recent = self.recent_errors.lock().unwrap();
      match recent.get_mut(&kind) {
        Some((since, held)) if now.duration_since(*since) < REPEAT_WINDOW => {
          *held += 1;
          return false;
        }
        Some((since, held)) => {
          *since = now;
          std::mem::take(held)
        }
        None => {
          recent.insert(kind, (now, 0));
          0
        }
      }
    };
    let suffix =
      if held_back > 0 { format!(" ({} more like it since the last such line)", held_back) } else { String::new() };
    self.emit(1, "ERROR", &format!("{}: {}{}", error, reason, suffix));
    true
  }

  pub fn emit(&self, level: u32, facility: &str, message: &str) {
    if level == 0 || level > self.max_level {
      return;
    }
    if let Some(f) = &self.target {
      let record = LogRecord { level, facility: facility.to_string(), message: message.to_string() };
      f.call(record, ThreadsafeFunctionCallMode::NonBlocking);
    }
  }

  pub fn rdkafka(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
    self.emit(kafkajs_level(level), facility, message);
  }
}

/// librdkafka (syslog) severities to kafkajs levels.
pub fn kafkajs_level(level: RDKafkaLogLevel) -> u32 {
  match level {
    RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => 1,
    RDKafkaLogLevel::Warning => 2,
    RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => 4,
    RDKafkaLogLevel::Debug => 5,
  }
}

/// A client's kafkajs `logLevel` (INFO when unset). The value was validated with the rest of the
/// client's configuration (config.rs) before any client reads it here.
pub fn client_log_level(common: &serde_json::Value) -> u32 {
  common.get("logLevel").and_then(serde_json::Value::as_u64).unwrap_or(4) as u32
}

/// The inverse: a kafkajs level to the librdkafka severity that lets exactly its lines through.
pub fn rdkafka_level(kafkajs_level: u64) -> RDKafkaLogLevel {
  match kafkajs_level {
    0 => RDKafkaLogLevel::Emerg,
    1 => RDKafkaLogLevel::Error,
    2 | 3 => RDKafkaLogLevel::Warning,
    4 => RDKafkaLogLevel::Info,
    _ => RDKafkaLogLevel::Debug,
  }
}

/// The latest librdkafka statistics JSON of a client (`statistics.interval.ms`), kept as text:
/// it is only parsed when someone reads the metrics.
#[derive(Default)]
pub struct LatestStats(std::sync::Mutex<Option<String>>);

impl LatestStats {
  pub fn set(&self, raw: &[u8]) {
    *self.0.lock().unwrap() = Some(String::from_utf8_lossy(raw).into_owned());
  }

  pub fn get(&self) -> Option<String> {
    self.0.lock().unwrap().clone()
  }
}
