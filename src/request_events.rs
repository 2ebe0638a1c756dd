//! kafkajs's REQUEST and REQUEST_TIMEOUT events: what the interceptors (src/interceptor.rs) see
//! of a watched client's requests, handed to the facade (js/request-events.ts).
//!
//! A client is watched only while someone listens; the others pay one atomic load per request.
//! librdkafka does not pass a request's correlation id to the response interceptor, but a
//! connection answers in order and each broker thread serves one connection: so the broker
//! thread remembers what it sent, and a response (or timeout) takes the oldest request of its API.

use crate::admin::NativeAdmin;
use crate::consumer::NativeConsumer;
use crate::producer::NativeProducer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use once_cell::sync::Lazy;
use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;
use rdkafka::producer::Producer;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK as CONF_OK;

/// What kafkajs's REQUEST (or, `timedOut`, REQUEST_TIMEOUT) payload needs from one request.
#[napi(object)]
pub struct RequestRecord {
  /// `host:port` of the broker.
  pub broker: String,
  /// The client's `client.id`, as librdkafka announces it (config.rs's default included).
  pub client_id: String,
  pub correlation_id: i32,
  /// The response's size in bytes, as kafkajs reports it (0 on a timeout).
  pub size: f64,
  /// From the request's send to its response or timeout.
  pub duration_ms: f64,
  pub api_name: String,
  pub api_key: i32,
  pub api_version: i32,
  pub timed_out: bool,
}

/// The facade's receiver of a watched client's request records.
pub type RequestListener = ThreadsafeFunction<RequestRecord, (), RequestRecord, Status, false, true>;

static WATCHED: Lazy<RwLock<HashMap<usize, Arc<RequestListener>>>> = Lazy::new(Default::default);
static WATCHED_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Requests remembered per broker thread at most (a response frees one; this bounds the rest).
const MAX_IN_FLIGHT: usize = 4096;

thread_local! {
  /// This broker thread's requests awaiting an answer: API key, correlation id, send time.
  static IN_FLIGHT: RefCell<VecDeque<(i16, i32, Instant)>> = const { RefCell::new(VecDeque::new()) };
}

fn listener(rk: *mut rd::rd_kafka_t) -> Option<Arc<RequestListener>> {
  if WATCHED_COUNT.load(Ordering::Relaxed) == 0 {
    return None;
  }
  WATCHED.read().unwrap().get(&(rk as usize)).cloned()
}

fn watch(handle: usize, listener: Option<Arc<RequestListener>>) {
  let mut watched = WATCHED.write().unwrap();
  match listener {
    Some(l) => watched.insert(handle, l),
    None => watched.remove(&handle),
  };
  WATCHED_COUNT.store(watched.len(), Ordering::Relaxed);
}

/// A client going away stops being watched (its address may be reused by the next one).
pub(crate) fn forget(rk: *mut rd::rd_kafka_t) {
  watch(rk as usize, None);
}

/// A request left on this broker thread.
pub(crate) fn sent(rk: *mut rd::rd_kafka_t, api_key: i16, correlation_id: i32) {
  if listener(rk).is_none() {
    return;
  }
  IN_FLIGHT.with(|q| {
    let mut q = q.borrow_mut();
    if q.len() == MAX_IN_FLIGHT {
      q.pop_front();
    }
    q.push_back((api_key, correlation_id, Instant::now()));
  });
}

/// A request was answered (`err` 0, whatever the error code inside), timed out, or failed.
pub(crate) unsafe fn answered(
  rk: *mut rd::rd_kafka_t,
  broker: *const c_char,
  api_key: i16,
  api_version: i16,
  size: usize,
  rtt_us: i64,
  err: rd::rd_kafka_resp_err_t,
) {
  let Some(listener) = listener(rk) else { return };
  let rtt = Duration::from_micros(rtt_us.max(0) as u64);
  let timed_out = err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT;
  // The oldest request of this API, unless it left after this one did (a request sent before
  // the client was watched has no entry).
  let request = IN_FLIGHT.with(|q| {
    let mut q = q.borrow_mut();
    let at = q
      .iter()
      .position(|(key, _, sent)| *key == api_key && (timed_out || sent.elapsed() + Duration::from_millis(1) >= rtt))?;
    q.remove(at)
  });
  // A failed transport answers nothing (kafkajs rejects such a request without an event).
  if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && !timed_out {
    return;
  }
  let duration = match (timed_out, &request) {
    (true, Some((_, _, sent))) => sent.elapsed(),
    _ => rtt,
  };
  let record = RequestRecord {
    broker: broker_address(broker),
    client_id: client_id(rk),
    correlation_id: request.map_or(0, |(_, id, _)| id),
    size: if timed_out { 0.0 } else { size as f64 },
    duration_ms: duration.as_secs_f64() * 1000.0,
    api_name: crate::api_keys::name_of(api_key),
    api_key: api_key as i32,
    api_version: api_version as i32,
    timed_out,
  };
  listener.call(record, ThreadsafeFunctionCallMode::NonBlocking);
}

/// Sends the request records of the client `handle` (its `handle()`) to `listener`, or stops
/// (`null`). The handle only identifies a client in the watch list; it is never dereferenced.
#[napi]
pub fn watch_requests(
  handle: f64,
  #[napi(ts_arg_type = "((record: RequestRecord) => void) | undefined | null")] listener: Option<RequestListener>,
) {
  watch(handle as usize, listener.map(Arc::new));
}

/// A client's identity for [`watch_requests`].
fn handle_of(rk: *mut rd::rd_kafka_t) -> f64 {
  rk as usize as f64
}

#[napi]
impl NativeProducer {
  /// The client's identity for `watchRequests` (null once disconnected).
  #[napi]
  pub fn handle(&self) -> Option<f64> {
    self.inner.main.read().unwrap().as_ref().map(|p| handle_of(p.client().native_ptr()))
  }
}

#[napi]
impl NativeConsumer {
  /// The client's identity for `watchRequests` (null before `start` and after `close`).
  #[napi]
  pub fn handle(&self) -> Option<f64> {
    self.inner.client().ok().map(|c| handle_of(c.client().native_ptr()))
  }
}

#[napi]
impl NativeAdmin {
  /// The client's identity for `watchRequests` (null when not connected).
  #[napi]
  pub fn handle(&self) -> Option<f64> {
    self.client.read().unwrap().as_ref().map(|c| handle_of(c.inner().native_ptr()))
  }
}

/// The `client.id` of a live client (asked on its own thread, while it runs).
unsafe fn client_id(rk: *mut rd::rd_kafka_t) -> String {
  let conf = rd::rd_kafka_conf(rk);
  let mut size = 0usize;
  if rd::rd_kafka_conf_get(conf, c"client.id".as_ptr(), std::ptr::null_mut(), &mut size) != CONF_OK || size == 0 {
    return String::new();
  }
  let mut text = vec![0 as c_char; size];
  if rd::rd_kafka_conf_get(conf, c"client.id".as_ptr(), text.as_mut_ptr(), &mut size) != CONF_OK {
    return String::new();
  }
  CStr::from_ptr(text.as_ptr()).to_string_lossy().into_owned()
}

/// librdkafka names a broker `[proto://]host:port/id`; kafkajs says `host:port`.
unsafe fn broker_address(name: *const c_char) -> String {
  if name.is_null() {
    return String::new();
  }
  let name = CStr::from_ptr(name).to_string_lossy();
  let name = name.split_once("://").map_or(&*name, |(_, rest)| rest);
  name.rsplit_once('/').map_or(name, |(address, _)| address).to_string()
}
