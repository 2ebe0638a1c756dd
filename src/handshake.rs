//! A refused TLS or SASL handshake, remembered so `connect()` fails at once with its reason.
//!
//! librdkafka retries a refused connection forever and says why only through a client's error
//! callback; a metadata request just times out. kafkajs rejects `connect()` at once with
//! `KafkaJSSASLAuthenticationError` (or a connection error for TLS), so clients keep the reason
//! here and `connect` checks it between short metadata attempts.

use crate::error::{Context, FerroError, Result};
use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The latest handshake refusal a client saw, if any.
#[derive(Default)]
pub struct HandshakeFailure(Mutex<Option<FerroError>>);

impl HandshakeFailure {
  /// Keeps authentication and TLS failures from a client's error callback; ignores the rest.
  pub fn record(&self, error: &KafkaError, reason: &str) {
    if !matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)) {
      return;
    }
    // Class and retriability from the one mapping (error.rs); the message is librdkafka's
    // reason, which names the mechanism, the broker and its verdict, never a password.
    let mut refused = FerroError::kafka("connect", error);
    refused.message = format!("connect: {}", reason.trim());
    *self.0.lock().unwrap() = Some(refused);
  }

  fn get(&self) -> Option<FerroError> {
    self.0.lock().unwrap().clone()
  }
}

/// Resolves once a broker answers a metadata request within `timeout`; fails as soon as a
/// handshake was refused, with that reason. `serve_main_queue`: nothing else polls the client's
/// main queue (the admin client's), so its error events are read here.
pub fn connect<C: ClientContext>(
  client: &Client<C>,
  failure: &HandshakeFailure,
  timeout: Duration,
  serve_main_queue: bool,
) -> Result<()> {
  let deadline = Instant::now() + timeout;
  loop {
    let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(250));
    let attempt = client.fetch_metadata(None, slice).map(|_| ());
    if attempt.is_ok() {
      return Ok(());
    }
    if serve_main_queue {
      record_queued_errors(client.native_ptr(), failure);
    }
    if let Some(refused) = failure.get() {
      return Err(refused);
    }
    if Instant::now() >= deadline {
      return attempt.during("connect");
    }
  }
}

/// Connects a short-lived client made from the clients' common options (brokers, TLS, SASL):
/// kafkajs's `consumer.connect()` reaches the cluster, while a consumer's own client is made
/// only when it starts, with its subscription.
pub fn probe(common: &serde_json::Value, timeout: Duration) -> Result<()> {
  let cfg = crate::config::client_config(common)?;
  let native = cfg.create_native_config().map_err(|e| FerroError::creation("client", e))?;
  // A producer-type handle starts no group or poll thread; its main queue is read here.
  let client = Client::new(&cfg, native, rd::rd_kafka_type_t::RD_KAFKA_PRODUCER, rdkafka::client::DefaultClientContext)
    .map_err(|e| FerroError::creation("client", e))?;
  crate::oauth::seed_client(&crate::oauth::cell_for(common), client.native_ptr())?;
  connect(&client, &HandshakeFailure::default(), timeout, true)
}

/// Reads the error events waiting on a client's main queue into `failure` (other events there,
/// log lines of a client nobody polls, are let go as before).
fn record_queued_errors(rk: *mut rd::rd_kafka_t, failure: &HandshakeFailure) {
  unsafe {
    let queue = rd::rd_kafka_queue_get_main(rk);
    if queue.is_null() {
      return;
    }
    loop {
      let event = rd::rd_kafka_queue_poll(queue, 0);
      if event.is_null() {
        break;
      }
      if rd::rd_kafka_event_type(event) == rd::RD_KAFKA_EVENT_ERROR {
        let reason = std::ffi::CStr::from_ptr(rd::rd_kafka_event_error_string(event)).to_string_lossy();
        failure.record(&KafkaError::Global(rd::rd_kafka_event_error(event).into()), &reason);
      }
      rd::rd_kafka_event_destroy(event);
    }
    rd::rd_kafka_queue_destroy(queue);
  }
}
