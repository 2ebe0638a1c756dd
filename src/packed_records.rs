//! The wire format of a send between the facade and Rust: every record of one call packed into
//! one Buffer (written by `js/encode.ts`), read here without copying the bytes.

use crate::error::{FerroError, Result};
use rdkafka::message::{Header, OwnedHeaders};

/// The records of one `send`/`sendBatch`, packed by the facade (`js/encode.ts`) into one
/// Buffer: converting a JavaScript object per record through N-API cost more than the send.
///
/// Per record, little-endian: i32 partition (-1: partitioner), f64 timestamp (-1: now),
/// i32 key length (-1: null) + bytes, i32 value length (-1: null) + bytes, i32 header count,
/// then per header i32 name length + UTF-8 name, i32 value length + bytes.
pub struct PackedRecords<'a> {
  data: &'a [u8],
  pos: usize,
}

/// One record read out of the packed buffer, borrowing its bytes.
pub(crate) struct RecordView<'a> {
  pub(crate) partition: Option<i32>,
  pub(crate) timestamp: Option<i64>,
  pub(crate) key: Option<&'a [u8]>,
  pub(crate) value: Option<&'a [u8]>,
  pub(crate) headers: Option<OwnedHeaders>,
}

impl<'a> PackedRecords<'a> {
  pub fn new(data: &'a [u8]) -> Self {
    PackedRecords { data, pos: 0 }
  }

  fn take(&mut self, n: usize) -> Result<&'a [u8]> {
    let end = self
      .pos
      .checked_add(n)
      .filter(|&e| e <= self.data.len())
      .ok_or_else(|| FerroError::config("messages", "packed record buffer is truncated"))?;
    let out = &self.data[self.pos..end];
    self.pos = end;
    Ok(out)
  }

  fn i32(&mut self) -> Result<i32> {
    Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
  }

  fn bytes(&mut self) -> Result<Option<&'a [u8]>> {
    match self.i32()? {
      n if n < 0 => Ok(None),
      n => Ok(Some(self.take(n as usize)?)),
    }
  }

  pub(crate) fn next_record(&mut self) -> Result<RecordView<'a>> {
    let partition = Some(self.i32()?).filter(|p| *p >= 0);
    let ts = f64::from_le_bytes(self.take(8)?.try_into().unwrap());
    let key = self.bytes()?;
    let value = self.bytes()?;
    let count = self.i32()?.max(0) as usize;
    let headers = if count == 0 {
      None
    } else {
      let mut h = OwnedHeaders::new_with_capacity(count);
      for _ in 0..count {
        let name = std::str::from_utf8(self.bytes()?.unwrap_or_default())
          .map_err(|_| FerroError::config("headers", "header names must be UTF-8"))?;
        h = h.insert(Header { key: name, value: self.bytes()? });
      }
      Some(h)
    };
    Ok(RecordView { partition, timestamp: Some(ts as i64).filter(|t| *t >= 0), key, value, headers })
  }
}
