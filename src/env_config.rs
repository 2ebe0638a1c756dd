//! `KAFKA_*` environment variables to a kafkajs-shaped client config, in one place.
//!
//! Errors name the variable and what it allows; a secret's value is never echoed.

use crate::error::FerroError;
use napi_derive::napi;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn flag(env: &HashMap<String, String>, name: &str) -> Result<Option<bool>, FerroError> {
  match env.get(name).map(|v| v.trim().to_ascii_lowercase()) {
    None => Ok(None),
    Some(v) if v.is_empty() => Ok(None),
    Some(v) => match v.as_str() {
      "true" | "1" | "yes" | "on" => Ok(Some(true)),
      "false" | "0" | "no" | "off" => Ok(Some(false)),
      _ => Err(FerroError::config(name, "must be true or false (also yes/no, on/off, 1/0)")),
    },
  }
}

/// Reads `KAFKA_BROKERS`, `KAFKA_CLIENT_ID`, `KAFKA_SSL` / `KAFKA_SSL_ENABLED`,
/// `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
/// `KAFKA_SASL_PASSWORD`, `KAFKA_ENABLED` and `KAFKA_DLQ_TOPIC` from `env`.
#[napi(
  ts_return_type = "{ brokers: string[]; clientId: string; ssl?: boolean; sasl?: { mechanism: string; username: string; password: string }; enabled: boolean; dlqTopic?: string }"
)]
pub fn config_from_env(env: HashMap<String, String>, default_client_id: Option<String>) -> napi::Result<Value> {
  Ok(parse_env(&env, default_client_id)?)
}

/// The translation itself, free of N-API so it can be unit-tested.
pub fn parse_env(env: &HashMap<String, String>, default_client_id: Option<String>) -> Result<Value, FerroError> {
  let brokers: Vec<String> = env
    .get("KAFKA_BROKERS")
    .map(|b| b.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    .unwrap_or_else(|| vec!["localhost:9092".to_string()]);
  if brokers.is_empty() {
    return Err(FerroError::config("KAFKA_BROKERS", "must list at least one host:port"));
  }
  for b in &brokers {
    if !b.rsplit_once(':').map(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()).unwrap_or(false) {
      return Err(FerroError::config("KAFKA_BROKERS", format!("entry `{}` is not host:port", b)));
    }
  }
  let protocol = env.get("KAFKA_SECURITY_PROTOCOL").map(|p| p.trim().to_ascii_uppercase()).filter(|p| !p.is_empty());
  let (proto_ssl, proto_sasl) = match protocol.as_deref() {
    None => (None, None),
    Some("PLAINTEXT") => (Some(false), Some(false)),
    Some("SSL") => (Some(true), Some(false)),
    Some("SASL_PLAINTEXT") => (Some(false), Some(true)),
    Some("SASL_SSL") => (Some(true), Some(true)),
    Some(_) => {
      return Err(FerroError::config("KAFKA_SECURITY_PROTOCOL", "must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"))
    }
  };
  let ssl = proto_ssl.or(flag(env, "KAFKA_SSL")?).or(flag(env, "KAFKA_SSL_ENABLED")?).unwrap_or(false);
  // Parsed before SASL's checks: a bad value here is named even when a credential is incomplete.
  let enabled = flag(env, "KAFKA_ENABLED")?.unwrap_or(true);
  let mechanism = env.get("KAFKA_SASL_MECHANISM").map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty());
  // Seed 003 documents `plain` as the mechanism's default: credentials alone turn SASL on (dropping
  // them silently would connect without authentication and fail at the broker, far from the cause).
  let credentials =
    ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"].iter().any(|k| env.get(*k).is_some_and(|v| !v.is_empty()));
  let mut out = Map::new();
  out.insert("brokers".into(), json!(brokers));
  out.insert(
    "clientId".into(),
    json!(env.get("KAFKA_CLIENT_ID").cloned().or(default_client_id).unwrap_or_else(|| "ferrokafka".into())),
  );
  out.insert("ssl".into(), json!(ssl));
  if let (Some(false), Some(_)) = (proto_sasl, &mechanism) {
    // A broker listener without SASL rejects the handshake: fail here, where the cause is named.
    return Err(FerroError::config(
      "KAFKA_SASL_MECHANISM",
      format!(
        "is set but KAFKA_SECURITY_PROTOCOL={} has no SASL: use SASL_PLAINTEXT or SASL_SSL, or unset the mechanism",
        protocol.as_deref().unwrap_or_default()
      ),
    ));
  }
  // What turned SASL on, for the error when a credential is missing.
  let because = if mechanism.is_some() {
    "KAFKA_SASL_MECHANISM is set".to_string()
  } else if proto_sasl == Some(true) {
    format!("KAFKA_SECURITY_PROTOCOL is {}", protocol.as_deref().unwrap_or_default())
  } else {
    "a SASL credential is set".to_string()
  };
  // A disabled service connects nowhere: a leftover credential must not stop it.
  let sasl_by_default = proto_sasl == Some(true) || (proto_sasl.is_none() && credentials && enabled);
  if let Some(m) = mechanism.or_else(|| sasl_by_default.then(|| "plain".to_string())) {
    if !["plain", "scram-sha-256", "scram-sha-512", "oauthbearer"].contains(&m.as_str()) {
      return Err(FerroError::config(
        "KAFKA_SASL_MECHANISM",
        "must be plain, scram-sha-256, scram-sha-512 or oauthbearer",
      ));
    }
    let user = env.get("KAFKA_SASL_USERNAME").filter(|u| !u.is_empty());
    let pass = env.get("KAFKA_SASL_PASSWORD").filter(|p| !p.is_empty());
    if m != "oauthbearer" && (user.is_none() || pass.is_none()) {
      let missing = if user.is_none() { "KAFKA_SASL_USERNAME" } else { "KAFKA_SASL_PASSWORD" };
      return Err(FerroError::config(missing, format!("is required when {} (mechanism {})", because, m)));
    }
    out.insert("sasl".into(), json!({ "mechanism": m, "username": user, "password": pass }));
  }
  out.insert("enabled".into(), json!(enabled));
  if let Some(t) = env.get("KAFKA_DLQ_TOPIC").map(|t| t.trim()).filter(|t| !t.is_empty()) {
    out.insert("dlqTopic".into(), json!(t));
  }
  Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
  use super::parse_env;
  use std::collections::HashMap;

  fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
  }

  #[test]
  fn defaults_to_localhost() {
    let c = parse_env(&env(&[]), None).unwrap();
    assert_eq!(c["brokers"][0], "localhost:9092");
    assert_eq!(c["enabled"], true);
  }

  #[test]
  fn bad_values_name_the_variable_and_never_the_secret() {
    let e = parse_env(&env(&[("KAFKA_SECURITY_PROTOCOL", "TLS")]), None).unwrap_err();
    assert!(e.message.contains("KAFKA_SECURITY_PROTOCOL"));
    let e = parse_env(&env(&[("KAFKA_SASL_MECHANISM", "plain"), ("KAFKA_SASL_PASSWORD", "s3cret-canary")]), None)
      .unwrap_err();
    assert!(e.message.contains("KAFKA_SASL_USERNAME") && !e.message.contains("s3cret-canary"));
    let e = parse_env(&env(&[("KAFKA_ENABLED", "maybe")]), None).unwrap_err();
    assert!(e.message.contains("KAFKA_ENABLED"));
  }

  #[test]
  fn security_protocol_implies_tls_and_sasl() {
    let c = parse_env(
      &env(&[
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        ("KAFKA_SASL_USERNAME", "$ConnectionString"),
        ("KAFKA_SASL_PASSWORD", "Endpoint=sb://x"),
      ]),
      None,
    )
    .unwrap();
    assert_eq!(c["ssl"], true);
    assert_eq!(c["sasl"]["mechanism"], "plain");
  }

  #[test]
  fn a_mechanism_under_a_protocol_without_sasl_is_refused() {
    for protocol in ["PLAINTEXT", "ssl"] {
      let e =
        parse_env(&env(&[("KAFKA_SECURITY_PROTOCOL", protocol), ("KAFKA_SASL_MECHANISM", "plain")]), None).unwrap_err();
      assert!(e.message.contains("KAFKA_SASL_MECHANISM") && e.message.contains("SASL_SSL"), "{}", e.message);
    }
  }

  #[test]
  fn credentials_alone_mean_sasl_plain() {
    let c = parse_env(&env(&[("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")]), None).unwrap();
    assert_eq!(c["sasl"]["mechanism"], "plain");
    let plaintext =
      [("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"), ("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")];
    assert!(parse_env(&env(&plaintext), None).unwrap().get("sasl").is_none());
    let disabled = parse_env(&env(&[("KAFKA_ENABLED", "false"), ("KAFKA_SASL_USERNAME", "u")]), None).unwrap();
    assert!(disabled.get("sasl").is_none());
  }

  #[test]
  fn a_missing_credential_says_what_turned_sasl_on() {
    let e =
      parse_env(&env(&[("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"), ("KAFKA_SASL_USERNAME", "u")]), None).unwrap_err();
    assert!(e.message.contains("KAFKA_SASL_PASSWORD") && e.message.contains("KAFKA_SECURITY_PROTOCOL is SASL_SSL"));
  }
}
