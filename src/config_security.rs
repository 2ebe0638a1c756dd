//! kafkajs's `ssl` and `sasl` options to librdkafka's security settings.
//!
//! PEM content is passed inline (librdkafka's `*.pem` properties), never through files, and no
//! error here echoes a value: certificates, keys and passwords are secrets.

use crate::config::Options;
use crate::error::{FerroError, Result};
use rdkafka::ClientConfig;
use serde_json::Value;

fn pem(opts: &Options, key: &str) -> Result<Option<String>> {
  let field = format!("ssl.{}", key);
  let text = match opts.raw(key) {
    None => return Ok(None),
    Some(Value::String(s)) => s.clone(),
    Some(Value::Array(parts)) => parts
      .iter()
      .map(|p| p.as_str().map(str::to_string))
      .collect::<Option<Vec<_>>>()
      .ok_or_else(|| FerroError::config(&field, "must be PEM text, a Buffer, or an array of them"))?
      .join("\n"),
    Some(_) => return Err(FerroError::config(&field, "must be PEM text, a Buffer, or an array of them")),
  };
  if !text.contains("-----BEGIN") {
    return Err(FerroError::config(
      &field,
      "must hold PEM content (read the file with fs.readFileSync), not a file path",
    ));
  }
  Ok(Some(text))
}

/// kafkajs `ssl` (true, or `{ ca, cert, key, passphrase, rejectUnauthorized }`); true when TLS is on.
pub fn apply_ssl(opts: &Options, cfg: &mut ClientConfig) -> Result<bool> {
  match opts.raw("ssl") {
    None | Some(Value::Bool(false)) => Ok(false),
    Some(Value::Bool(true)) => {
      cfg.set("ssl.ca.location", "probe");
      Ok(true)
    }
    Some(Value::Object(_)) => {
      let ssl = opts.child("ssl")?;
      match pem(&ssl, "ca")? {
        Some(ca) => cfg.set("ssl.ca.pem", ca),
        None => cfg.set("ssl.ca.location", "probe"),
      };
      if let Some(cert) = pem(&ssl, "cert")? {
        cfg.set("ssl.certificate.pem", cert);
      }
      if let Some(key) = pem(&ssl, "key")? {
        cfg.set("ssl.key.pem", key);
      }
      if let Some(pass) = ssl.string("passphrase")? {
        cfg.set("ssl.key.password", pass);
      }
      if ssl.boolean("rejectUnauthorized")? == Some(false) {
        cfg.set("enable.ssl.certificate.verification", "false");
        cfg.set("ssl.endpoint.identification.algorithm", "none");
      }
      Ok(true)
    }
    Some(_) => Err(FerroError::config("ssl", "must be a boolean or an object of TLS options")),
  }
}

/// kafkajs `sasl` (plain, scram-sha-256/512, oauthbearer); true when SASL is on.
pub fn apply_sasl(opts: &Options, cfg: &mut ClientConfig) -> Result<bool> {
  if opts.raw("sasl").is_none() {
    return Ok(false);
  }
  let sasl = opts.child("sasl")?;
  let mechanism = sasl.string("mechanism")?.ok_or_else(|| FerroError::config("sasl.mechanism", "is required"))?;
  let name = match mechanism.to_ascii_lowercase().as_str() {
    "plain" => "PLAIN",
    "scram-sha-256" => "SCRAM-SHA-256",
    "scram-sha-512" => "SCRAM-SHA-512",
    "oauthbearer" => "OAUTHBEARER",
    _ => {
      return Err(FerroError::config(
        "sasl.mechanism",
        "must be one of plain, scram-sha-256, scram-sha-512, oauthbearer",
      ))
    }
  };
  cfg.set("sasl.mechanisms", name);
  if name == "OAUTHBEARER" {
    if let Some(conf) = sasl.string("oauthbearerConfig")? {
      cfg.set("sasl.oauthbearer.config", conf);
    }
    return Ok(true);
  }
  let user =
    sasl.string("username")?.ok_or_else(|| FerroError::config("sasl.username", "is required for this mechanism"))?;
  let pass =
    sasl.string("password")?.ok_or_else(|| FerroError::config("sasl.password", "is required for this mechanism"))?;
  cfg.set("sasl.username", user);
  cfg.set("sasl.password", pass);
  Ok(true)
}
