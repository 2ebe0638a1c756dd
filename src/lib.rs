//! ferrokafka: a kafkajs-compatible Kafka client for Node.js, built on librdkafka.
//!
//! Rust owns every policy decision (delivery, offsets, retries); the TypeScript facade in `js/`
//! only shapes arguments and runs user handlers. Each module holds one concept.
#![deny(clippy::all)]

pub mod admin;
pub mod admin_cluster;
pub mod admin_configs;
pub mod api_keys;
pub mod assignment_start;
pub mod config;
pub mod config_security;
#[cfg(test)]
mod config_tests;
pub mod consumer;
pub mod consumer_ahead;
pub mod consumer_batch;
pub mod consumer_breaker;
pub mod consumer_commit;
pub mod consumer_context;
pub mod consumer_flow;
pub mod consumer_idle;
pub mod consumer_queue;
pub mod delivery;
pub mod dlq;
pub mod dlq_writer;
pub mod env_config;
pub mod envelope_check;
pub mod error;
pub mod event_bus;
pub mod group_join;
pub mod handshake;
pub mod interceptor;
pub mod logging;
pub mod mock;
pub mod oauth;
pub mod packed_records;
pub mod producer;
pub mod request_events;
pub mod runtime_info;
pub mod tracing_forward;
pub mod transaction;
