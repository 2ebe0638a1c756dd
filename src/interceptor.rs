//! kafkajs's `HEARTBEAT` event, which librdkafka has no callback for.
//!
//! librdkafka's interceptors see every response a client reads, but they can only be installed
//! on a configuration object, which rdkafka builds and consumes inside its constructors. A
//! librdkafka plugin gets that object: so this library names itself in the consumer's
//! `plugin.library.paths`, librdkafka opens it (already loaded: the same handle) and calls its
//! `conf_init`, which registers the interceptor. Where the plugin cannot be loaded the consumer
//! is created without it and no HEARTBEAT is emitted; nothing else depends on it.

use crate::consumer_context::ConsumerCtx;
use once_cell::sync::Lazy;
use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::Ordering;

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

/// Adds the plugin to a consumer's configuration. Only for clients whose context is
/// [`ConsumerCtx`]: the interceptor reads the context through the client's opaque pointer.
pub fn enable_heartbeats(cfg: &mut ClientConfig) {
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
  if rd::rd_kafka_type(rk) != rd::rd_kafka_type_t::RD_KAFKA_CONSUMER {
    return NO_ERROR;
  }
  rd::rd_kafka_interceptor_add_on_response_received(rk, NAME.as_ptr(), Some(on_response), std::ptr::null_mut())
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_response(
  rk: *mut rd::rd_kafka_t,
  _sockfd: c_int,
  _broker: *const c_char,
  _broker_id: i32,
  api_key: i16,
  _api_version: i16,
  _correlation_id: i32,
  _size: usize,
  _rtt_us: i64,
  err: rd::rd_kafka_resp_err_t,
  _opaque: *mut c_void,
) -> rd::rd_kafka_resp_err_t {
  if err == NO_ERROR && HEARTBEAT_API_KEYS.contains(&api_key) {
    // rdkafka sets a client's opaque to its context; `enable_heartbeats` is only called for
    // consumers created with a ConsumerCtx, and the context outlives the client's threads.
    // Heartbeats answered while the member (re)joins are not reported, as kafkajs sends none then.
    let ctx = (rd::rd_kafka_opaque(rk) as *const ConsumerCtx).as_ref();
    if let Some(ctx) = ctx.filter(|c| c.joined.load(Ordering::SeqCst)) {
      ctx.push("HEARTBEAT", serde_json::json!({}));
    }
  }
  NO_ERROR
}
