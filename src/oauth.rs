//! kafkajs's `sasl.oauthBearerProvider`: the token a JavaScript provider returned, kept where
//! every client of one `Kafka` finds it.
//!
//! librdkafka asks for a token when a client starts and again at 80% of the token's lifetime.
//! Asking JavaScript and waiting would block one of librdkafka's threads on Node's, so the
//! facade puts the provider's token in a [`TokenCell`] before any client is created and
//! librdkafka is answered from the cell; when the cell's token is past three quarters of its
//! life, the cell asks the facade (without waiting) to call the provider again.

use crate::error::{FerroError, Result};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use once_cell::sync::Lazy;
use rdkafka::client::OAuthToken;
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// A token as the facade hands it over (from the provider's `{ value }`, its JWT claims or defaults).
#[napi(object)]
#[derive(Clone)]
pub struct OauthBearerToken {
  pub value: String,
  /// When the token expires, in milliseconds since the epoch.
  pub expires_at_ms: f64,
  pub principal: String,
}

/// Called (weakly, never keeping Node alive) when the cell wants a fresh token.
pub type RefreshFn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// The latest token of one `Kafka` instance's provider.
#[derive(Default)]
pub struct TokenCell {
  token: RwLock<Option<(OauthBearerToken, f64)>>,
  refresh: Mutex<Option<RefreshFn>>,
  refresh_asked: AtomicBool,
  /// Bumped on every new token, so clients that cannot be asked (admin) know to take it.
  pub generation: AtomicU64,
}

static CELLS: Lazy<Mutex<HashMap<String, Arc<TokenCell>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn now_ms() -> f64 {
  SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as f64).unwrap_or(0.0)
}

/// The cell named by `sasl.oauthBearerProviderId` in a client config, if the config has one.
pub fn cell_for(common: &Value) -> Option<Arc<TokenCell>> {
  let id = common.get("sasl")?.get("oauthBearerProviderId")?.as_str()?;
  CELLS.lock().unwrap().get(id).cloned()
}

impl TokenCell {
  /// The current token for librdkafka; asks for a new one once it is three quarters through its life.
  pub fn token(&self) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
    let guard = self.token.read().unwrap();
    let Some((token, received_at)) = guard.as_ref() else {
      return Err("oauthBearerProvider has not returned a token yet".into());
    };
    let now = now_ms();
    if now >= received_at + (token.expires_at_ms - received_at) * 0.75 {
      self.ask_refresh();
    }
    if now >= token.expires_at_ms {
      return Err("the token of oauthBearerProvider expired and no new one has arrived yet".into());
    }
    Ok(OAuthToken {
      token: token.value.clone(),
      principal_name: token.principal.clone(),
      lifetime_ms: token.expires_at_ms as i64,
    })
  }

  fn ask_refresh(&self) {
    if self.refresh_asked.swap(true, Ordering::SeqCst) {
      return;
    }
    if let Some(f) = self.refresh.lock().unwrap().as_ref() {
      f.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
  }

  /// Hands the cell's token to a librdkafka client directly (clients whose main queue nobody
  /// polls never ask for it). Errors name the provider, never the token.
  pub(crate) fn seed(&self, rk: *mut rdkafka::bindings::rd_kafka_t) -> Result<()> {
    let token = self.token().map_err(|e| FerroError::config("sasl.oauthBearerProvider", e.to_string()))?;
    set_token(rk, &token)
  }
}

/// librdkafka's token request of a client whose config names `cell` (none: no provider configured).
pub fn answer(cell: &Option<Arc<TokenCell>>) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
  match cell {
    Some(c) => c.token(),
    None => Err("SASL/OAUTHBEARER needs sasl.oauthBearerProvider (a function resolving to { value })".into()),
  }
}

/// Gives a just-created client the current token, before it opens a connection.
pub(crate) fn seed_client(cell: &Option<Arc<TokenCell>>, rk: *mut rdkafka::bindings::rd_kafka_t) -> Result<()> {
  match cell {
    Some(c) => c.seed(rk),
    None => Ok(()),
  }
}

fn set_token(rk: *mut rdkafka::bindings::rd_kafka_t, token: &OAuthToken) -> Result<()> {
  let bad = |what: &str| {
    FerroError::config("sasl.oauthBearerProvider", format!("returned a token whose {} contains a NUL character", what))
  };
  let value = CString::new(token.token.as_str()).map_err(|_| bad("value"))?;
  let principal = CString::new(token.principal_name.as_str()).map_err(|_| bad("principal"))?;
  let mut errstr = [0 as std::os::raw::c_char; 512];
  let code = unsafe {
    rdkafka::bindings::rd_kafka_oauthbearer_set_token(
      rk,
      value.as_ptr(),
      token.lifetime_ms,
      principal.as_ptr(),
      std::ptr::null_mut(),
      0,
      errstr.as_mut_ptr(),
      errstr.len(),
    )
  };
  if code == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
    return Ok(());
  }
  // librdkafka's reason names the rule broken; it may quote the token, so it is not passed on.
  Err(FerroError::config(
    "sasl.oauthBearerProvider",
    format!("returned a token librdkafka refused ({:?}: SASL/OAUTHBEARER is not configured, or the value or principal is malformed)", code),
  ))
}

/// Stores the provider's latest token under `id` (the facade's per-`Kafka` handle) and, the
/// first time, the function that calls the provider again.
#[napi]
pub fn set_oauthbearer_token(
  id: String,
  token: OauthBearerToken,
  #[napi(ts_arg_type = "(() => void) | undefined | null")] refresh: Option<RefreshFn>,
) -> napi::Result<()> {
  if token.value.is_empty() {
    return Err(
      FerroError::config("sasl.oauthBearerProvider", "must resolve to { value } with a non-empty token").into(),
    );
  }
  if token.principal.is_empty() {
    return Err(FerroError::config("sasl.oauthBearerProvider", "returned a token without a principal").into());
  }
  let now = now_ms();
  if !token.expires_at_ms.is_finite() || token.expires_at_ms <= now {
    return Err(FerroError::config("sasl.oauthBearerProvider", "returned a token that has already expired").into());
  }
  let cell = CELLS.lock().unwrap().entry(id).or_default().clone();
  if let Some(f) = refresh {
    cell.refresh.lock().unwrap().get_or_insert(f);
  }
  *cell.token.write().unwrap() = Some((token, now));
  cell.refresh_asked.store(false, Ordering::SeqCst);
  cell.generation.fetch_add(1, Ordering::SeqCst);
  Ok(())
}

/// Forgets the token of `id` (its `Kafka` was garbage-collected).
#[napi]
pub fn drop_oauthbearer_token(id: String) {
  CELLS.lock().unwrap().remove(&id);
}
