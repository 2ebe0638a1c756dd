//! The librdkafka interceptors behind kafkajs's `HEARTBEAT` and `REQUEST`/`REQUEST_TIMEOUT`
//! events, which librdkafka has no callbacks for.
//!
//! Interceptors see every request a client sends and every response it reads, but they can only
//! be installed on a configuration object, which rdkafka builds and consumes inside its
//! constructors. A librdkafka plugin gets that object: so this library names itself in a
//! client's `plugin.library.paths`, librdkafka opens it (already loaded: the same handle) and
//! calls its `conf_init`, which registers the interceptors. Where the plugin cannot be loaded
//! the client is created without it and these events are not emitted; nothing else needs them.
//!
//! librdkafka calls the response interceptor twice for a request answered through a reply
//! queue (on the broker thread, then where the queue is served), so only broker threads count.

use crate::consumer_context::ConsumerCtx;
use once_cell::sync::Lazy;
use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::Ordering;

const NAME: &CStr = c"ferrokafka";
const PLUGIN_PATHS: &str = "plugin.library.paths";
/// Heartbeat (the classic group protocol) and ConsumerGroupHeartbeat (KIP-848).
const HEARTBEAT_API_KEYS: [i16; 2] = [12, 68];
/// The response interceptor's opaque for a consumer whose context is a [`ConsumerCtx`]: a
/// marker, never dereferenced.
const CONSUMER_CTX: *mut c_void = std::ptr::dangling_mut();

use rd::rd_kafka_resp_err_t::{RD_KAFKA_RESP_ERR_NO_ERROR as NO_ERROR, RD_KAFKA_RESP_ERR__CONFLICT as CONFLICT};

thread_local! {
  /// Set while `NativeConsumer` creates its client: `on_new` runs inside `rd_kafka_new` on the
  /// creating thread, so it learns the new client's context is a [`ConsumerCtx`].
  static CREATING_CONSUMER_CTX: Cell<bool> = const { Cell::new(false) };
  /// Set on librdkafka's broker threads (`on_thread_start`).
  static BROKER_THREAD: Cell<bool> = const { Cell::new(false) };
}

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
    if result != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
      let why = CStr::from_ptr(errstr.as_ptr()).to_string_lossy();
      tracing::warn!("librdkafka cannot load ferrokafka as a plugin ({}): HEARTBEAT and REQUEST events are off", why);
      return None;
    }
  }
  Some(path)
});

/// Adds the plugin to a client's configuration.
pub fn enable(cfg: &mut ClientConfig) {
  let Some(path) = PLUGIN.as_ref() else { return };
  let paths = match cfg.get(PLUGIN_PATHS).map(|p| p.trim_end_matches(';')) {
    Some(user) if !user.is_empty() => format!("{};{}", user, path),
    _ => path.clone(),
  };
  cfg.set(PLUGIN_PATHS, paths);
}

/// Creates a consumer whose context is a [`ConsumerCtx`] (enabling the plugin on `cfg`): its
/// answered heartbeats become HEARTBEAT events.
pub fn create_consumer<T>(cfg: &mut ClientConfig, create: impl FnOnce(&ClientConfig) -> T) -> T {
  enable(cfg);
  CREATING_CONSUMER_CTX.with(|c| c.set(true));
  let created = create(cfg);
  CREATING_CONSUMER_CTX.with(|c| c.set(false));
  created
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
  // Already registered (the same library named twice, under two spellings of its path): fine.
  match rd::rd_kafka_conf_interceptor_add_on_new(conf, NAME.as_ptr(), Some(on_new), std::ptr::null_mut()) {
    CONFLICT => NO_ERROR,
    err => err,
  }
}

unsafe extern "C" fn on_new(
  rk: *mut rd::rd_kafka_t,
  _conf: *const rd::rd_kafka_conf_t,
  _opaque: *mut c_void,
  _errstr: *mut c_char,
  _errstr_size: usize,
) -> rd::rd_kafka_resp_err_t {
  let consumer_ctx = if CREATING_CONSUMER_CTX.with(Cell::get) { CONSUMER_CTX } else { std::ptr::null_mut() };
  let name = NAME.as_ptr();
  for err in [
    rd::rd_kafka_interceptor_add_on_thread_start(rk, name, Some(on_thread_start), std::ptr::null_mut()),
    rd::rd_kafka_interceptor_add_on_destroy(rk, name, Some(on_destroy), std::ptr::null_mut()),
    rd::rd_kafka_interceptor_add_on_request_sent(rk, name, Some(on_request_sent), std::ptr::null_mut()),
    rd::rd_kafka_interceptor_add_on_response_received(rk, name, Some(on_response), consumer_ctx),
  ] {
    if err != NO_ERROR {
      return err;
    }
  }
  NO_ERROR
}

unsafe extern "C" fn on_thread_start(
  _rk: *mut rd::rd_kafka_t,
  kind: rd::rd_kafka_thread_type_t,
  _name: *const c_char,
  _opaque: *mut c_void,
) -> rd::rd_kafka_resp_err_t {
  BROKER_THREAD.with(|b| b.set(kind == rd::rd_kafka_thread_type_t::RD_KAFKA_THREAD_BROKER));
  NO_ERROR
}

unsafe extern "C" fn on_destroy(rk: *mut rd::rd_kafka_t, _opaque: *mut c_void) -> rd::rd_kafka_resp_err_t {
  crate::request_events::forget(rk);
  NO_ERROR
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_request_sent(
  rk: *mut rd::rd_kafka_t,
  _sockfd: c_int,
  _broker: *const c_char,
  _broker_id: i32,
  api_key: i16,
  _api_version: i16,
  correlation_id: i32,
  _size: usize,
  _opaque: *mut c_void,
) -> rd::rd_kafka_resp_err_t {
  crate::request_events::sent(rk, api_key, correlation_id);
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
  _correlation_id: i32,
  size: usize,
  rtt_us: i64,
  err: rd::rd_kafka_resp_err_t,
  opaque: *mut c_void,
) -> rd::rd_kafka_resp_err_t {
  if !BROKER_THREAD.with(Cell::get) || api_key < 0 {
    return NO_ERROR;
  }
  crate::request_events::answered(rk, broker, api_key, api_version, size, rtt_us, err);
  if err == NO_ERROR && opaque == CONSUMER_CTX && HEARTBEAT_API_KEYS.contains(&api_key) {
    // rdkafka sets a client's opaque to its context, a ConsumerCtx here (`create_consumer`);
    // the context outlives the client's threads. Heartbeats answered while the member
    // (re)joins are not reported, as kafkajs sends none then.
    let ctx = (rd::rd_kafka_opaque(rk) as *const ConsumerCtx).as_ref();
    if let Some(ctx) = ctx.filter(|c| c.joined.load(Ordering::SeqCst)) {
      ctx.heartbeat_answered();
    }
  }
  NO_ERROR
}
