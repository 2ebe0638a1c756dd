//! Whether a fetched record is a domain event the event bus may hand to its handler unparsed.
//!
//! `JSON.parse` of each envelope cost the bus more JavaScript time than all the rest of a batch's
//! work, so the bus parses an event only when its handler first reads it
//! (`js/events/lazy-event.ts`). That is safe only when the parse cannot fail and when what the bus
//! reads before it, the `event-type` and `correlation-id` headers, is what the body says. This
//! check runs on the drain's thread, off the event loop, while the handlers run the batch before,
//! and answers yes only when both hold: a JSON object with non-empty string `id` and `type`, a
//! `data` key, `type` equal to the `event-type` header, a `metadata` that is absent, null or an
//! object, and no `metadata.correlationId` unless a `correlation-id` header is there. Any doubt
//! answers no, and the bus parses that event at once and reports what is wrong, as before.

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// The headers of a record that the bus routes by.
#[derive(Default, Clone, Copy)]
pub struct RoutingHeaders<'a> {
  /// The last `event-type` header's value.
  pub event_type: Option<&'a [u8]>,
  pub has_correlation_id: bool,
}

impl<'a> RoutingHeaders<'a> {
  /// Notes one header (a repeated name keeps its last value, as the facade reads headers).
  pub fn note(&mut self, name: &[u8], value: Option<&'a [u8]>) {
    match name {
      b"event-type" => self.event_type = value,
      b"correlation-id" => self.has_correlation_id = true,
      _ => {}
    }
  }
}

/// True when the bus may defer parsing `value` (see the module docs).
pub fn defer_parse(value: &[u8], headers: &RoutingHeaders) -> bool {
  let Some(event_type) = headers.event_type else { return false };
  let mut de = serde_json::Deserializer::from_slice(value);
  let probe = Envelope { event_type, has_correlation_header: headers.has_correlation_id };
  matches!(de.deserialize_map(probe), Ok(true)) && de.end().is_ok()
}

/// Fails the check (the error's text is never shown: any error answers no).
fn no<E: Error>() -> E {
  E::custom("")
}

struct Envelope<'h> {
  event_type: &'h [u8],
  has_correlation_header: bool,
}

impl<'de> Visitor<'de> for Envelope<'_> {
  type Value = bool;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a domain event")
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
    let (mut id, mut kind, mut data) = (false, false, false);
    // A repeated key keeps its last value in `JSON.parse`: every occurrence must pass.
    while let Some(key) = map.next_key_seed(KeyName)? {
      match key {
        Key::Id => id = map.next_value_seed(StringWhere(|s: &str| !s.is_empty()))?,
        Key::Type => {
          kind = map.next_value_seed(StringWhere(|s: &str| !s.is_empty() && s.as_bytes() == self.event_type))?
        }
        Key::Data => data = map.next_value::<IgnoredAny>().map(|_| true)?,
        Key::Metadata => map.next_value_seed(Metadata { has_correlation_header: self.has_correlation_header })?,
        // An own `__proto__` would be copied as a prototype by the facade's fill: parse at once.
        Key::Proto => return Err(no()),
        Key::CorrelationId | Key::Other => {
          map.next_value::<IgnoredAny>()?;
        }
      }
    }
    Ok(id && kind && data)
  }
}

#[derive(Clone, Copy, PartialEq)]
enum Key {
  Id,
  Type,
  Data,
  Metadata,
  Proto,
  CorrelationId,
  Other,
}

/// Reads an object key without allocating it.
struct KeyName;

impl<'de> DeserializeSeed<'de> for KeyName {
  type Value = Key;
  fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
    d.deserialize_str(self)
  }
}

impl<'de> Visitor<'de> for KeyName {
  type Value = Key;
  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a key")
  }
  fn visit_str<E: Error>(self, s: &str) -> Result<Key, E> {
    Ok(match s {
      "id" => Key::Id,
      "type" => Key::Type,
      "data" => Key::Data,
      "metadata" => Key::Metadata,
      "__proto__" => Key::Proto,
      "correlationId" => Key::CorrelationId,
      _ => Key::Other,
    })
  }
}

/// A string value passing a test (true); anything else fails the check.
struct StringWhere<F>(F);

impl<'de, F: FnOnce(&str) -> bool> DeserializeSeed<'de> for StringWhere<F> {
  type Value = bool;
  fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
    d.deserialize_str(self)
  }
}

impl<'de, F: FnOnce(&str) -> bool> Visitor<'de> for StringWhere<F> {
  type Value = bool;
  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a string")
  }
  fn visit_str<E: Error>(self, s: &str) -> Result<bool, E> {
    if (self.0)(s) {
      Ok(true)
    } else {
      Err(no())
    }
  }
}

/// `metadata`: null or an object, with a `correlationId` only if a header carries one (the bus
/// reads the header first, and would otherwise have to read the body).
struct Metadata {
  has_correlation_header: bool,
}

impl<'de> DeserializeSeed<'de> for Metadata {
  type Value = ();
  fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
    d.deserialize_option(self)
  }
}

impl<'de> Visitor<'de> for Metadata {
  type Value = ();
  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("null or an object")
  }
  fn visit_none<E: Error>(self) -> Result<(), E> {
    Ok(())
  }
  fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
    d.deserialize_map(self)
  }
  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(KeyName)? {
      if key == Key::CorrelationId && !self.has_correlation_header {
        return Err(no());
      }
      map.next_value::<IgnoredAny>()?;
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn check(body: &str, event_type: Option<&str>, correlation: bool) -> bool {
    let headers = RoutingHeaders { event_type: event_type.map(str::as_bytes), has_correlation_id: correlation };
    defer_parse(body.as_bytes(), &headers)
  }

  #[test]
  fn a_well_formed_envelope_is_deferred() {
    let body =
      r#"{"id":"e1","type":"order.created","aggregateId":"o1","version":1,"data":{"a":[1,{"b":null}]},"metadata":{}}"#;
    assert!(check(body, Some("order.created"), false));
    assert!(check(r#"{"id":"e1","type":"a.b","data":null}"#, Some("a.b"), false));
    assert!(check(r#" {"id":"e\u0031","type":"a\u002eb","data":1,"metadata":null} "#, Some("a.b"), false));
    assert!(check(r#"{"id":"e1","type":"a.b","data":1,"metadata":{"correlationId":"c"}}"#, Some("a.b"), true));
  }

  #[test]
  fn anything_the_bus_must_look_at_is_parsed_at_once() {
    let t = Some("a.b");
    for body in [
      r#"{"id":"e1","type":"a.b"}"#,                                           // no data
      r#"{"id":"","type":"a.b","data":1}"#,                                    // empty id
      r#"{"id":1,"type":"a.b","data":1}"#,                                     // id not a string
      r#"{"id":"e1","type":"a.c","data":1}"#,                                  // type differs from the header
      r#"{"id":"e1","type":"a.b","data":1,"metadata":"x"}"#,                   // metadata not an object
      r#"{"id":"e1","type":"a.b","data":1,"metadata":{"correlationId":"c"}}"#, // correlation only in the body
      r#"{"id":"e1","type":"a.b","data":1,"id":""}"#,                          // the last id is empty
      r#"{"id":"e1","type":"a.b","data":1,"__proto__":{}}"#,
      r#"["e1","a.b",1]"#,
      r#"{"id":"e1","type":"a.b","data":1} x"#,
      "{\"id\":\"e1\",\"type\":\"a.b\",\"data\":\"\u{1}\"}",
      "",
    ] {
      assert!(!check(body, t, false), "{body}");
    }
    assert!(!check(r#"{"id":"e1","type":"a.b","data":1}"#, None, false));
    assert!(!defer_parse(
      b"{\"id\":\"e\xff\",\"type\":\"a.b\",\"data\":1}",
      &RoutingHeaders { event_type: t.map(str::as_bytes), has_correlation_id: false }
    ));
  }
}
