//! The ceiling of `npm run bench`: produce or consume the bench's workload with librdkafka
//! driven directly from Rust, with the same client settings ferrokafka uses.
//!
//! `ferrokafka-ceiling produce|consume|consume-batch <brokers> <topic> <messages>` prints one
//! JSON line. `consume` is rdkafka's `StreamConsumer` in a group, polled per message (the
//! ceiling the bench's ratios use); `consume-batch` reads with librdkafka's batch call.

use futures::StreamExt;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn produce_config(brokers: &str) -> ClientConfig {
  let mut cfg = ClientConfig::new();
  cfg
    .set("bootstrap.servers", brokers)
    .set("enable.idempotence", "true")
    .set("acks", "-1")
    .set("partitioner", "murmur2_random")
    .set("linger.ms", std::env::var("LINGER_MS").unwrap_or_else(|_| "0".into()))
    .set("queue.buffering.max.messages", "1000000");
  cfg
}

/// Counts delivery reports; the producer's own poll thread calls it.
struct Counter {
  delivered: AtomicUsize,
  failed: AtomicUsize,
}

impl ClientContext for Counter {}
impl ProducerContext for Counter {
  type DeliveryOpaque = ();
  fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
    match result {
      Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
      Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
    };
  }
}

async fn produce(brokers: &str, topic: &str, n: usize) -> f64 {
  let ctx = Counter { delivered: AtomicUsize::new(0), failed: AtomicUsize::new(0) };
  let producer: ThreadedProducer<Counter> = produce_config(brokers).create_with_context(ctx).expect("producer");
  let value = [b'x'; 100];
  let keys: Vec<String> = (0..1000).map(|i| format!("key-{:012}", i)).collect();
  // Connection and producer-id set-up are not throughput: one record first, then the clock.
  producer.send(BaseRecord::<[u8], [u8], ()>::to(topic).payload(&value[..]).key(b"warm-up")).expect("warm-up");
  producer.flush(Duration::from_secs(30)).expect("warm-up flush");
  let ctx = producer.context();
  ctx.delivered.store(0, Ordering::Relaxed);
  let started = Instant::now();
  for i in 0..n {
    let mut record = BaseRecord::to(topic).key(keys[i % keys.len()].as_bytes()).payload(&value[..]);
    loop {
      match producer.send(record) {
        Ok(()) => break,
        Err((_, r)) => {
          record = r;
          std::thread::sleep(Duration::from_micros(200));
        }
      }
    }
  }
  producer.flush(Duration::from_secs(60)).expect("flush");
  let secs = started.elapsed().as_secs_f64();
  assert_eq!(ctx.failed.load(Ordering::Relaxed), 0, "deliveries failed");
  assert_eq!(ctx.delivered.load(Ordering::Relaxed), n, "not all delivered");
  n as f64 / secs
}

/// The consumer settings ferrokafka uses where they matter for speed.
fn consumer_config(brokers: &str) -> ClientConfig {
  let mut cfg = ClientConfig::new();
  cfg
    .set("bootstrap.servers", brokers)
    .set("group.id", format!("ceiling-{}", std::process::id()))
    .set("auto.offset.reset", "earliest")
    .set("enable.auto.offset.store", "false")
    .set("fetch.queue.backoff.ms", "10")
    .set("queued.min.messages", "100000");
  cfg
}

async fn consume(brokers: &str, topic: &str, n: usize) -> f64 {
  let consumer: StreamConsumer = consumer_config(brokers).create().expect("consumer");
  consumer.subscribe(&[topic]).expect("subscribe");
  let mut stream = consumer.stream();
  let mut count = 0usize;
  let mut started = None;
  while count < n {
    let m = stream.next().await.expect("stream").expect("message");
    started.get_or_insert_with(Instant::now);
    std::hint::black_box(&m);
    count += 1;
  }
  n as f64 / started.unwrap().elapsed().as_secs_f64()
}

/// The same consumer reading with librdkafka's batch call, as ferrokafka's drain does
/// (src/consumer_queue.rs): every partition's queue forwarded to one queue of ours, taken in runs
/// instead of polled per message. The partitions are assigned directly (no group), which changes
/// nothing once messages flow: the clock starts at the first one.
fn consume_batch(brokers: &str, topic: &str, n: usize) -> f64 {
  use rdkafka::bindings as rd;
  use rdkafka::consumer::BaseConsumer;
  let consumer: BaseConsumer = consumer_config(brokers).create().expect("consumer");
  let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
  let partitions = metadata.topics()[0].partitions().len() as i32;
  let mut tpl = rdkafka::TopicPartitionList::new();
  for p in 0..partitions {
    tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).expect("partition");
  }
  let rk = consumer.client().native_ptr();
  let name = std::ffi::CString::new(topic).expect("topic");
  let (mut count, mut started) = (0usize, None);
  let mut batch: Vec<*mut rd::rd_kafka_message_t> = vec![std::ptr::null_mut(); 2000];
  // SAFETY: the queue and the messages are released before the consumer is dropped.
  unsafe {
    let queue = rd::rd_kafka_queue_new(rk);
    for p in 0..partitions {
      let partition_queue = rd::rd_kafka_queue_get_partition(rk, name.as_ptr(), p);
      rd::rd_kafka_queue_forward(partition_queue, queue);
      rd::rd_kafka_queue_destroy(partition_queue);
    }
    consumer.assign(&tpl).expect("assign");
    while count < n {
      let got = rd::rd_kafka_consume_batch_queue(queue, 100, batch.as_mut_ptr(), batch.len());
      for m in &batch[..got.max(0) as usize] {
        started.get_or_insert_with(Instant::now);
        assert_eq!((**m).err, rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR, "consume error");
        std::hint::black_box((**m).len);
        rd::rd_kafka_message_destroy(*m);
        count += 1;
      }
    }
    rd::rd_kafka_queue_destroy(queue);
  }
  n as f64 / started.expect("no message").elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
  let args: Vec<String> = std::env::args().collect();
  if args.len() != 5 {
    eprintln!("usage: ferrokafka-ceiling produce|consume|consume-batch <brokers> <topic> <messages>");
    std::process::exit(2);
  }
  let n: usize = args[4].parse().expect("messages");
  let rate = match args[1].as_str() {
    "produce" => produce(&args[2], &args[3], n).await,
    "consume" => consume(&args[2], &args[3], n).await,
    "consume-batch" => consume_batch(&args[2], &args[3], n),
    other => panic!("unknown mode {}", other),
  };
  println!("{{\"mode\":\"{}\",\"messages\":{},\"msgPerSec\":{:.0}}}", args[1], n, rate);
}
