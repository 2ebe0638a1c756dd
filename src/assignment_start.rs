//! Where a newly assigned partition starts: its committed offset, or the latest for
//! `fromBeginning: false` (pinned during the assignment, so nothing produced after `run()` is
//! skipped); or, for a partition this member handled before and gets back while the group's
//! commit is behind, right after what it handled (that commit then catches up).

use crate::consumer_context::ConsumerCtx;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Resolves each newly assigned partition's start: its committed offset, else the latest.
pub(crate) fn pin_start_offsets(consumer: &BaseConsumer<ConsumerCtx>, tpl: &mut TopicPartitionList) {
  let timeout = Duration::from_secs(10);
  let committed = match consumer.committed_offsets(tpl.clone(), timeout) {
    Ok(committed) => committed,
    Err(e) => {
      // The coordinator may refuse mid-rebalance. Left unset, a partition would start at the
      // end as of its first fetch and skip what was produced since its start was fixed; the
      // fixed starts are used instead (at worst records are read again), the others are left
      // to librdkafka's own committed-offset lookup.
      let pinned = consumer.context().pinned.lock().unwrap();
      consumer.context().log.emit(
        2,
        "REBALANCE",
        &format!("reading the committed offsets of the new assignment failed ({}); starting from the offsets fixed at subscribe", e),
      );
      let starts: Vec<(String, i32, i64)> = tpl
        .elements()
        .iter()
        .filter_map(|e| {
          pinned.get(&(e.topic().to_string(), e.partition())).map(|&s| (e.topic().to_string(), e.partition(), s))
        })
        .collect();
      for (topic, partition, start) in starts {
        let _ = tpl.set_partition_offset(&topic, partition, Offset::Offset(start));
      }
      return;
    }
  };
  // A start chosen once is kept: a later rebalance (a topic added) must not jump a partition
  // with nothing committed yet to a newer end and skip what was produced in between.
  let mut pinned = consumer.context().pinned.lock().unwrap();
  let mut uncommitted_starts = Vec::new();
  for e in committed.elements() {
    let key = (e.topic().to_string(), e.partition());
    let start = match (e.offset(), pinned.get(&key)) {
      (Offset::Offset(o), _) => o,
      (_, Some(&p)) => {
        uncommitted_starts.push((key.clone(), p));
        p
      }
      _ => match consumer.fetch_watermarks(e.topic(), e.partition(), timeout) {
        Ok((_, high)) => {
          pinned.insert(key.clone(), high);
          uncommitted_starts.push((key, high));
          high
        }
        Err(e) => {
          consumer.context().log.emit(
            2,
            "REBALANCE",
            &format!("reading the end of {} [{}] failed ({}); librdkafka's own start applies", key.0, key.1, e),
          );
          continue;
        }
      },
    };
    let _ = tpl.set_partition_offset(e.topic(), e.partition(), Offset::Offset(start));
  }
  drop(pinned);
  // The group's next commit records a start it had none for: a member that stops before handling
  // anything (a first event failing, retried, then a shutdown) must not leave the next member to
  // pick the end anew, past what was published meanwhile.
  let mut last = consumer.context().last_stored.lock().unwrap();
  for (key, start) in uncommitted_starts {
    last.entry(key).or_insert(start);
  }
}

/// For partitions this member handled before and gets back: starts after what it handled when
/// the group's commit is behind it. Returns the partitions whose commit must catch up.
pub(crate) fn resume_after_handled(
  consumer: &BaseConsumer<ConsumerCtx>,
  tpl: &mut TopicPartitionList,
) -> Vec<((String, i32), i64)> {
  let stored = consumer.context().last_stored.lock().unwrap().clone();
  let mut back = TopicPartitionList::new();
  for e in tpl.elements() {
    if stored.contains_key(&(e.topic().to_string(), e.partition())) {
      back.add_partition(e.topic(), e.partition());
    }
  }
  if back.count() == 0 {
    return Vec::new();
  }
  let committed = consumer.committed_offsets(back.clone(), Duration::from_secs(10));
  let mut caught_up = Vec::new();
  // Lock order everywhere: last_stored, then acked (consumer_commit.rs takes them so).
  let mut last = consumer.context().last_stored.lock().unwrap();
  let mut acked = consumer.context().acked.lock().unwrap();
  let list = committed.as_ref().unwrap_or(&back);
  for e in list.elements() {
    let key = (e.topic().to_string(), e.partition());
    let handled = stored[&key];
    let committed = match (&committed, e.error(), e.offset()) {
      (Ok(_), Ok(()), Offset::Offset(c)) => c,
      (Ok(_), Ok(()), _) => -1,
      // Unknown whether others committed further meanwhile: what this member handled is not
      // committed again (it could move the group's offset back); its next stores are.
      _ => {
        acked.insert(key, handled);
        continue;
      }
    };
    acked.insert(key.clone(), committed);
    if committed < handled {
      let _ = tpl.set_partition_offset(e.topic(), e.partition(), Offset::Offset(handled));
      caught_up.push((key, handled));
    } else {
      // Others went further meanwhile: what this member handled is behind, never to be committed.
      last.insert(key, committed);
    }
  }
  caught_up
}
