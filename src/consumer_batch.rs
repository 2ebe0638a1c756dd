//! One fetch's messages packed for a single crossing into JavaScript.
//!
//! All keys, values and header bytes go into one Buffer; a Float64Array of fixed-width rows
//! says where each lies. The facade builds kafkajs message objects with `subarray` views, which
//! measured far cheaper than building each object through N-API calls (FACTS.md).

use crate::envelope_check::{defer_parse, RoutingHeaders};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use rdkafka::bindings as rd;
use std::ffi::CString;

/// Numbers per message row in `meta`.
pub const ROW: usize = 9;
// Row layout: offset, timestamp (-1 if none), keyStart, keyLen (-1 null), valueStart,
// valueLen (-1 null), headerCount, headerStart (row index into `headers`, 4 numbers per header),
// deferParse (1: an event the bus may parse when its handler reads it, envelope_check.rs).

/// The messages of one topic-partition inside a fetched batch, in offset order.
#[napi(object)]
pub struct PartitionBatch {
  pub topic: String,
  pub partition: i32,
  /// librdkafka's last known high watermark for the partition, as kafkajs's string.
  pub high_watermark: String,
  /// Index of the partition's first row in `meta`.
  pub start: u32,
  pub count: u32,
}

/// What one `fetch` returns: packed messages plus the events that happened meanwhile.
#[napi(object)]
pub struct FetchedBatch {
  pub data: Buffer,
  pub meta: Float64Array,
  pub headers: Float64Array,
  pub partitions: Vec<PartitionBatch>,
  pub events: Vec<crate::consumer_context::ConsumerEvent>,
}

#[derive(Default)]
pub struct BatchBuilder {
  data: Vec<u8>,
  headers: Vec<f64>,
  groups: Vec<(String, i32, Vec<f64>)>,
  last: Option<usize>,
  pub count: usize,
  /// What the rows are for (set per run by the facade).
  pub mode: RowsMode,
  /// Where the last few distinct header strings lie in `data` (the event bus's rows).
  recent: [(usize, usize); RECENT],
  recent_next: usize,
}

/// Header strings remembered per batch: a producer's names and constant values repeat per record.
const RECENT: usize = 8;

/// What a run's rows are for; kafkajs's consumers use the default.
#[derive(Default, Clone, Copy)]
pub struct RowsMode {
  /// A header string repeated across records is stored once, so a reader of headers as strings
  /// (the event layer) decodes it once. kafkajs's consumers get each header's own bytes.
  pub share_headers: bool,
  /// Each value is checked for the event bus's deferred parse (envelope_check.rs).
  pub check_envelopes: bool,
}

impl BatchBuilder {
  pub fn with_capacity(bytes: usize) -> Self {
    BatchBuilder { data: Vec::with_capacity(bytes), ..Default::default() }
  }

  fn bytes(&mut self, b: Option<&[u8]>) -> (f64, f64) {
    match b {
      None => (self.data.len() as f64, -1.0),
      Some(b) => {
        let start = self.data.len();
        self.data.extend_from_slice(b);
        (start as f64, b.len() as f64)
      }
    }
  }

  /// A header string, stored once per batch when the same bytes came in a recent record.
  fn header_bytes(&mut self, b: Option<&[u8]>) -> (f64, f64) {
    let Some(b) = b.filter(|_| self.mode.share_headers) else { return self.bytes(b) };
    if let Some(&(start, len)) =
      self.recent.iter().find(|&&(start, len)| len == b.len() && &self.data[start..start + len] == b)
    {
      return (start as f64, len as f64);
    }
    let at = self.bytes(Some(b));
    self.recent[self.recent_next] = (at.0 as usize, b.len());
    self.recent_next = (self.recent_next + 1) % RECENT;
    at
  }

  /// Copies one message (a polled one, or one of the fetch queue's batch) into the rows.
  pub fn push(&mut self, m: &rd::rd_kafka_message_t) {
    let (ks, kl) = self.bytes(unsafe { raw_bytes(m.key, m.key_len) });
    let value = unsafe { raw_bytes(m.payload, m.len) };
    let (vs, vl) = self.bytes(value);
    let mut routing = RoutingHeaders::default();
    let header_start = (self.headers.len() / 4) as f64;
    let mut header_count = 0.0;
    let mut hdrs = std::ptr::null_mut();
    if unsafe { rd::rd_kafka_message_headers(m, &mut hdrs) } == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
      for idx in 0.. {
        let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0usize);
        if unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) }
          != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
        {
          break;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes();
        let header_value = unsafe { raw_bytes(value, size) };
        if self.mode.check_envelopes {
          routing.note(name, header_value);
        }
        let (ns, nl) = self.header_bytes(Some(name));
        let (hvs, hvl) = self.header_bytes(header_value);
        self.headers.extend_from_slice(&[ns, nl, hvs, hvl]);
        header_count += 1.0;
      }
    }
    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    let ts = unsafe { rd::rd_kafka_message_timestamp(m, &mut kind) };
    let ts = if kind == rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE { -1.0 } else { ts as f64 };
    // Messages come in runs of one partition: check the last slot before searching. The name is
    // compared in place (no length scan, no UTF-8 check) until a new partition shows up.
    let (name, partition) = (unsafe { rd::rd_kafka_topic_name(m.rkt) }, m.partition);
    let same = |g: &(String, i32, Vec<f64>)| g.1 == partition && unsafe { names_equal(name, &g.0) };
    let slot = match self.last.filter(|&i| same(&self.groups[i])).or_else(|| self.groups.iter().position(same)) {
      Some(i) => i,
      None => {
        let topic = unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned();
        self.groups.push((topic, partition, Vec::with_capacity(ROW * 64)));
        self.groups.len() - 1
      }
    };
    self.last = Some(slot);
    let defer = self.mode.check_envelopes && value.is_some_and(|v| defer_parse(v, &routing));
    let row = [m.offset as f64, ts, ks, kl, vs, vl, header_count, header_start, defer as u8 as f64];
    self.groups[slot].2.extend_from_slice(&row);
    self.count += 1;
  }

  /// Drops the rows of one partition; returns the offset of its first row, if it had any. Their
  /// bytes stay in `data` unreferenced until the batch is handed over.
  pub fn purge(&mut self, tp: &crate::consumer::Tp) -> Option<i64> {
    let i = self.groups.iter().position(|g| g.1 == tp.1 && g.0 == tp.0)?;
    let (_, _, rows) = self.groups.remove(i);
    self.last = None;
    self.count -= rows.len() / ROW;
    rows.first().map(|&offset| offset as i64)
  }

  /// Flattens the per-partition rows; `high_watermark` reads librdkafka's cached watermark.
  pub fn finish(
    self,
    high_watermark: impl Fn(&str, i32) -> i64,
    events: Vec<crate::consumer_context::ConsumerEvent>,
  ) -> FetchedBatch {
    let mut meta = Vec::with_capacity(self.count * ROW);
    let mut partitions = Vec::with_capacity(self.groups.len());
    for (topic, partition, rows) in self.groups {
      let start = (meta.len() / ROW) as u32;
      meta.extend_from_slice(&rows);
      let hw = high_watermark(&topic, partition);
      partitions.push(PartitionBatch {
        topic,
        partition,
        high_watermark: hw.to_string(),
        start,
        count: (rows.len() / ROW) as u32,
      });
    }
    FetchedBatch {
      data: self.data.into(),
      meta: Float64Array::new(meta),
      headers: Float64Array::new(self.headers),
      partitions,
      events,
    }
  }
}

/// The bytes at `ptr`, `None` for a null pointer (a null key or value).
///
/// # Safety
/// A non-null `ptr` must point to `len` readable bytes.
unsafe fn raw_bytes<'a>(ptr: *const std::ffi::c_void, len: usize) -> Option<&'a [u8]> {
  (!ptr.is_null()).then(|| std::slice::from_raw_parts(ptr as *const u8, len))
}

/// Whether the NUL-terminated `c` spells `s`.
///
/// # Safety
/// `c` must point to a NUL-terminated string.
pub(crate) unsafe fn names_equal(c: *const std::ffi::c_char, s: &str) -> bool {
  s.bytes().enumerate().all(|(i, b)| *c.add(i) as u8 == b) && *c.add(s.len()) == 0
}

/// The high watermark librdkafka last saw in a fetch response (no network round trip).
pub(crate) fn cached_high_watermark(rk: *mut rdkafka::bindings::rd_kafka_t, topic: &str, partition: i32) -> i64 {
  let Ok(topic) = CString::new(topic) else { return -1 };
  let (mut low, mut high) = (-1i64, -1i64);
  unsafe { rdkafka::bindings::rd_kafka_get_watermark_offsets(rk, topic.as_ptr(), partition, &mut low, &mut high) };
  high
}

/// Takes what is already queued without waiting. A fetch drains thousands of messages through it,
/// so its waker is made once, not per message.
pub(crate) struct ReadyPoller {
  woken: std::sync::Arc<WokenFlag>,
  waker: std::task::Waker,
}

impl ReadyPoller {
  pub(crate) fn new() -> Self {
    let woken = std::sync::Arc::new(WokenFlag(std::sync::atomic::AtomicBool::new(false)));
    ReadyPoller { waker: std::task::Waker::from(woken.clone()), woken }
  }

  /// The next message (or error) already queued; `None` once the queue is empty. Events met on
  /// the way (rebalance, commit, statistics) are served, however many there are.
  pub(crate) fn next<S: futures::Stream + Unpin>(&self, stream: &mut S) -> Option<S::Item> {
    use std::sync::atomic::Ordering::SeqCst;
    loop {
      self.woken.0.store(false, SeqCst);
      match std::pin::Pin::new(&mut *stream).poll_next(&mut std::task::Context::from_waker(&self.waker)) {
        std::task::Poll::Ready(item) => return item,
        std::task::Poll::Pending if self.woken.0.load(SeqCst) => continue,
        std::task::Poll::Pending => return None,
      }
    }
  }
}

/// Set when woken: tells rdkafka's "event served, poll again" apart from "queue empty", which
/// `now_or_never` cannot (both are `Pending` to it).
struct WokenFlag(std::sync::atomic::AtomicBool);

impl std::task::Wake for WokenFlag {
  fn wake(self: std::sync::Arc<Self>) {
    self.0.store(true, std::sync::atomic::Ordering::SeqCst);
  }
  fn wake_by_ref(self: &std::sync::Arc<Self>) {
    self.0.store(true, std::sync::atomic::Ordering::SeqCst);
  }
}
