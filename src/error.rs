//! The one mapping from every failure in the crate to the JavaScript error the facade throws.
//!
//! A native error crosses N-API as a `napi::Error` whose reason is a JSON object prefixed with
//! [`MARKER`]; `js/errors.ts` turns it into the kafkajs error class named by `name`. Keeping the
//! class choice here means JavaScript never re-derives policy from librdkafka codes.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde_json::json;

/// Prefix that tells the facade a native error carries structured fields.
pub const MARKER: &str = "@@ferrokafka@@";

/// A failure with everything the JavaScript error needs.
#[derive(Debug, Clone)]
pub struct FerroError {
  /// kafkajs class name, e.g. `KafkaJSProtocolError`.
  pub name: &'static str,
  pub message: String,
  /// librdkafka's error name (`MSG_SIZE_TOO_LARGE`), or a ferrokafka code (`ERR_CONFIG`).
  pub code: String,
  pub retriable: bool,
  /// The option or argument at fault, for validation errors.
  pub field: Option<String>,
  /// The Kafka protocol's error code for an error a broker returned (kafkajs's numeric `code` of
  /// a `KafkaJSProtocolError`); 0 for the others.
  pub kafka_code: i32,
}

pub type Result<T> = std::result::Result<T, FerroError>;

impl FerroError {
  /// Bad input: names the field, never its value (it may be a secret).
  pub fn config(field: impl Into<String>, problem: impl AsRef<str>) -> Self {
    let field = field.into();
    FerroError {
      name: "KafkaJSNonRetriableError",
      message: format!("Invalid option `{}`: {}", field, problem.as_ref()),
      code: "ERR_CONFIG".into(),
      retriable: false,
      field: Some(field),
      kafka_code: 0,
    }
  }

  /// A call made in the wrong state (e.g. send before connect).
  pub fn state(message: impl Into<String>) -> Self {
    FerroError {
      name: "KafkaJSError",
      message: message.into(),
      code: "ERR_STATE".into(),
      retriable: false,
      field: None,
      kafka_code: 0,
    }
  }

  /// An operation the broker cannot serve (e.g. librdkafka's MockCluster lacks the Kafka API).
  pub fn unsupported(operation: &str, why: &str) -> Self {
    FerroError {
      name: "KafkaJSNonRetriableError",
      message: format!("{}: not supported: {}", operation, why),
      code: "ERR_UNSUPPORTED".into(),
      retriable: false,
      field: None,
      kafka_code: 0,
    }
  }

  /// Wraps a librdkafka failure with the operation that hit it.
  pub fn kafka(operation: &str, err: &KafkaError) -> Self {
    let code = err.rdkafka_error_code();
    let (name, retriable) = match code {
      Some(c) => classify(c),
      None => ("KafkaJSError", false),
    };
    FerroError {
      name,
      message: format!("{}: {}", operation, describe(err)),
      code: code.map(code_name).unwrap_or_else(|| "ERR_UNKNOWN".into()),
      retriable,
      field: None,
      kafka_code: code.map_or(0, kafka_code),
    }
  }

  /// A client that librdkafka refused to create: a bad property is named, its value never shown.
  pub fn creation(kind: &str, err: KafkaError) -> Self {
    match err {
      KafkaError::ClientConfig(_, description, key, _value) => {
        let mut e = FerroError::config(format!("rdkafka.{}", key), description);
        e.message = e.message.replace("Invalid option `rdkafka.", "Invalid librdkafka property `");
        e
      }
      KafkaError::ClientCreation(msg) => {
        // librdkafka names its own property; the user set the kafkajs `ssl` option it came from.
        let field = [("ssl.ca.pem", "ssl.ca"), ("ssl.certificate.pem", "ssl.cert"), ("ssl.key.pem", "ssl.key")]
          .iter()
          .find(|(prop, _)| msg.contains(prop))
          .map(|(_, field)| *field)
          .unwrap_or("rdkafka");
        FerroError::config(field, msg)
      }
      other => FerroError::kafka(&format!("create {}", kind), &other),
    }
  }

  pub fn from_code(operation: &str, code: RDKafkaErrorCode) -> Self {
    let (name, retriable) = classify(code);
    FerroError {
      name,
      message: format!("{}: {}", operation, code),
      code: code_name(code),
      retriable,
      field: None,
      kafka_code: kafka_code(code),
    }
  }

  pub fn to_json(&self) -> serde_json::Value {
    json!({
      "name": self.name,
      "message": self.message,
      "code": self.code,
      "retriable": self.retriable,
      "field": self.field,
      "kafkaCode": self.kafka_code,
    })
  }
}

/// Display without the raw librdkafka `Debug` noise; librdkafka never puts credentials here.
fn describe(err: &KafkaError) -> String {
  err.to_string()
}

/// A broker's error code as the Kafka protocol numbers it (librdkafka keeps those codes as they
/// are, -1 UNKNOWN_SERVER_ERROR included; its own errors are below -1); 0 for librdkafka's own.
fn kafka_code(code: RDKafkaErrorCode) -> i32 {
  match code as i32 {
    c if c >= -1 => c,
    _ => 0,
  }
}

/// librdkafka's own symbolic name for a code (`rd_kafka_err2name`), as users see it in its docs.
pub fn code_name(code: RDKafkaErrorCode) -> String {
  let ptr = unsafe {
    rdkafka::bindings::rd_kafka_err2name(std::mem::transmute::<i32, rdkafka::types::RDKafkaRespErr>(code as i32))
  };
  if ptr.is_null() {
    return format!("{:?}", code);
  }
  unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

/// Looks a librdkafka/Kafka error up by name (`NOT_LEADER_FOR_PARTITION`) or number, among the
/// codes librdkafka itself lists (never fabricating an enum value it does not know).
pub fn code_by_name(name: &str) -> Option<rdkafka::types::RDKafkaRespErr> {
  let wanted = name.trim().trim_start_matches("RD_KAFKA_RESP_ERR_");
  let number = wanted.parse::<i32>().ok();
  let mut descs: *const rdkafka::bindings::rd_kafka_err_desc = std::ptr::null();
  let mut count = 0usize;
  unsafe { rdkafka::bindings::rd_kafka_get_err_descs(&mut descs, &mut count) };
  let table = unsafe { std::slice::from_raw_parts(descs, count) };
  table.iter().filter(|d| !d.name.is_null()).find_map(|d| {
    let n = unsafe { std::ffi::CStr::from_ptr(d.name) }.to_str().ok()?;
    let hit = match number {
      Some(x) => d.code as i32 == x,
      None => n.eq_ignore_ascii_case(wanted),
    };
    hit.then_some(d.code)
  })
}

/// Chooses the kafkajs class and retriability of a librdkafka code.
fn classify(code: RDKafkaErrorCode) -> (&'static str, bool) {
  use RDKafkaErrorCode::*;
  match code {
    BrokerTransportFailure | AllBrokersDown | Resolve => ("KafkaJSConnectionError", true),
    Authentication => ("KafkaJSSASLAuthenticationError", false),
    SSL => ("KafkaJSConnectionError", false),
    MessageTimedOut | OperationTimedOut | RequestTimedOut | TimedOutQueue => ("KafkaJSRequestTimeoutError", true),
    // librdkafka's own queue, not a broker's answer: no protocol error.
    QueueFull => ("KafkaJSError", true),
    LeaderNotAvailable
    | NotLeaderForPartition
    | NetworkException
    | CoordinatorLoadInProgress
    | CoordinatorNotAvailable
    | NotCoordinator
    | NotEnoughReplicas
    | NotEnoughReplicasAfterAppend
    | RebalanceInProgress
    | UnknownTopicOrPartition
    | KafkaStorageError
    | FencedLeaderEpoch
    | UnknownLeaderEpoch
    | OffsetNotAvailable
    | PreferredLeaderNotAvailable
    | ConcurrentTransactions => ("KafkaJSProtocolError", true),
    InvalidArgument
    | InvalidConfig
    | UnknownTopic
    | UnknownPartition
    | Conflict
    | State
    | NotImplemented
    | UnsupportedFeature
    | Fatal
    | Fenced
    | InvalidProducerEpoch
    | ProducerFenced
    | TransactionalIdAuthorizationFailed => ("KafkaJSNonRetriableError", false),
    // -1 is the broker's UNKNOWN_SERVER_ERROR (kafkajs's type `UNKNOWN`), not retriable there either.
    c if (c as i32) > 0 || c == Unknown => ("KafkaJSProtocolError", false),
    _ => ("KafkaJSError", false),
  }
}

impl From<FerroError> for napi::Error {
  fn from(err: FerroError) -> Self {
    napi::Error::new(napi::Status::GenericFailure, format!("{}{}", MARKER, err.to_json()))
  }
}

/// Runs blocking librdkafka work on tokio's blocking pool (never on libuv's threadpool), with its
/// failure mapped to JavaScript like every other error.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> napi::Result<T> {
  Ok(tokio::task::spawn_blocking(f).await.map_err(|e| napi::Error::from_reason(e.to_string()))??)
}

/// Maps any librdkafka result into the crate's error, naming the operation.
pub trait Context<T> {
  fn during(self, operation: &str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, KafkaError> {
  fn during(self, operation: &str) -> Result<T> {
    self.map_err(|e| FerroError::kafka(operation, &e))
  }
}
