//! kafkajs's `HEARTBEAT` and `REQUEST`/`REQUEST_TIMEOUT` events, which librdkafka has no
//! callbacks for.
//!
//! librdkafka's interceptors see every response a client reads, but they can only be installed
//! on a configuration object, which rdkafka builds and consumes inside its constructors. A
//! librdkafka plugin gets that object: so this library names itself in a client's
//! `plugin.library.paths`, librdkafka opens it (already loaded: the same handle) and calls its
//! `conf_init`, which registers the interceptors. Where the plugin cannot be loaded the client is
//! created without it and these events are not emitted; nothing else depends on them.
//!
//! Request events cross to JavaScript only for clients the facade watches (someone listens):
//! a response costs the others one atomic load.

use crate::admin::NativeAdmin;
use crate::consumer::NativeConsumer;
use crate::consumer_context::ConsumerCtx;
use crate::producer::NativeProducer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use once_cell::sync::Lazy;
use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::producer::Producer;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

const NAME: &CStr = c"ferrokafka";
const PLUGIN_PATHS: &str = "plugin.library.paths";
/// Heartbeat (the classic group protocol) and ConsumerGroupHeartbeat (KIP-848).
const HEARTBEAT_API_KEYS: [i16; 2] = [12, 68];

use rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR as NO_ERROR;

/// This library's path, when librdkafka accepts it as a plugin (checked once on a scratch config).
static PLUGIN: Lazy<Option<String>> = Lazy::new(|| {
  let path = own_path()?;
  let value = CString::new(path.as_str()).ok()?;
  let mut errstr = [0 as c_char; 256];
  unsafe {
    let conf = rd::rd_kafka_conf_new();
    let result =
      rd::rd_kafka_conf_set(conf, c"plugin.library.paths".as_ptr(), value.as_ptr(), errstr.as_mut_ptr(), 256);
    rd::rd_kafka_conf_destroy(conf);
    (result == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK).then_some(path)
  }
});

/// Adds the plugin to a client's configuration. A consumer's context must be a [`ConsumerCtx`]:
/// the heartbeat interceptor reads it through the client's opaque pointer.
pub fn enable(cfg: &mut ClientConfig) {
  let Some(path) = PLUGIN.as_ref() else { return };
  let paths = match cfg.get(PLUGIN_PATHS) {
    Some(user) if !user.is_empty() => format!("{};{}", user, path),
    _ => path.clone(),
  };
  cfg.set(PLUGIN_PATHS, paths);
}

#[cfg(unix)]
fn own_path() -> Option<String> {
  let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
  let found = unsafe { libc::dladdr(conf_init as *const c_void, &mut info) };
  if found == 0 || info.dli_fname.is_null() {
    return None;
  }
  let path = unsafe { CStr::from_ptr(info.dli_fname) }.to_str().ok()?;
  // `;` separates plugin paths.
  (!path.contains(';')).then(|| path.to_string())
}

#[cfg(not(unix))]
fn own_path() -> Option<String> {
  None
}

/// The entry point librdkafka looks up in a plugin library.
///
/// # Safety
/// Called by librdkafka with a live configuration object.
#[no_mangle]
pub unsafe extern "C" fn conf_init(
  conf: *mut rd::rd_kafka_conf_t,
  _plugin_opaque: *mut *mut c_void,
  _errstr: *mut c_char,
  _errstr_size: usize,
) -> rd::rd_kafka_resp_err_t {
  rd::rd_kafka_conf_interceptor_add_on_new(conf, NAME.as_ptr(), Some(on_new), std::ptr::null_mut())
}

unsafe extern "C" fn on_new(
  rk: *mut rd::rd_kafka_t,
  _conf: *const rd::rd_kafka_conf_t,
  _opaque: *mut c_void,
  _errstr: *mut c_char,
  _errstr_size: usize,
) -> rd::rd_kafka_resp_err_t {
  let err = rd::rd_kafka_interceptor_add_on_destroy(rk, NAME.as_ptr(), Some(on_destroy), std::ptr::null_mut());
  if err != NO_ERROR {
    return err;
  }
  rd::rd_kafka_interceptor_add_on_response_received(rk, NAME.as_ptr(), Some(on_response), std::ptr::null_mut())
}

/// A client going away stops being watched (its address may be reused by the next one).
unsafe extern "C" fn on_destroy(rk: *mut rd::rd_kafka_t, _opaque: *mut c_void) -> rd::rd_kafka_resp_err_t {
  watch(rk as usize, None);
  NO_ERROR
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_response(
  rk: *mut rd::rd_kafka_t,
  _sockfd: c_int,
  broker: *const c_char,
  _broker_id: i32,
  api_key: i16,
  api_version: i16,
  correlation_id: i32,
  size: usize,
  rtt_us: i64,
  err: rd::rd_kafka_resp_err_t,
  _opaque: *mut c_void,
) -> rd::rd_kafka_resp_err_t {
  // A request answered (whatever the error code inside) or timed out; a transport failure or a
  // client going away answers nothing, and a late response to a timed-out request (key -1) was
  // reported when it timed out.
  let timed_out = err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (err == NO_ERROR || timed_out) && api_key >= 0 && WATCHED_COUNT.load(Ordering::Relaxed) > 0 {
    if let Some(listener) = WATCHED.read().unwrap().get(&(rk as usize)) {
      let record = RequestRecord {
        broker: broker_address(broker),
        correlation_id,
        size: size as f64,
        duration_ms: rtt_us.max(0) as f64 / 1000.0,
        api_name: crate::api_keys::name_of(api_key),
        api_key: api_key as i32,
        api_version: api_version as i32,
        timed_out,
      };
      listener.call(record, ThreadsafeFunctionCallMode::NonBlocking);
    }
  }
  if err == NO_ERROR
    && HEARTBEAT_API_KEYS.contains(&api_key)
    && rd::rd_kafka_type(rk) == rd::rd_kafka_type_t::RD_KAFKA_CONSUMER
  {
    // rdkafka sets a client's opaque to its context; `enable` is only called for consumers
    // created with a ConsumerCtx, and the context outlives the client's threads.
    // Heartbeats answered while the member (re)joins are not reported, as kafkajs sends none then.
    let ctx = (rd::rd_kafka_opaque(rk) as *const ConsumerCtx).as_ref();
    if let Some(ctx) = ctx.filter(|c| c.joined.load(Ordering::SeqCst)) {
      ctx.push("HEARTBEAT", serde_json::json!({}));
    }
  }
  NO_ERROR
}

/// What kafkajs's REQUEST (or, `timedOut`, REQUEST_TIMEOUT) payload needs from one response.
#[napi(object)]
pub struct RequestRecord {
  /// `host:port` of the broker that answered.
  pub broker: String,
  pub correlation_id: i32,
  /// The response's size in bytes, as kafkajs reports it.
  pub size: f64,
  /// From the request's send to its response (librdkafka's round-trip time).
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

fn watch(handle: usize, listener: Option<Arc<RequestListener>>) {
  let mut watched = WATCHED.write().unwrap();
  match listener {
    Some(l) => watched.insert(handle, l),
    None => watched.remove(&handle),
  };
  WATCHED_COUNT.store(watched.len(), Ordering::Relaxed);
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

/// librdkafka names a broker `[proto://]host:port/id`; kafkajs says `host:port`.
unsafe fn broker_address(name: *const c_char) -> String {
  if name.is_null() {
    return String::new();
  }
  let name = CStr::from_ptr(name).to_string_lossy();
  let name = name.split_once("://").map_or(&*name, |(_, rest)| rest);
  name.rsplit_once('/').map_or(name, |(address, _)| address).to_string()
}
