//! Version facts users need when they report a problem.

use napi_derive::napi;

/// The librdkafka version linked into this binary, e.g. `2.12.1`.
#[napi]
pub fn librdkafka_version() -> String {
  rdkafka::util::get_rdkafka_version().1
}
