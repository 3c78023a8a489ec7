//! Integration tests: the real `mcpguard` binary driven the way an agent drives it.

// Test code fails loudly on purpose: an unwrap that panics is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals;
mod audit;
mod audit_outage;
mod caches;
#[allow(dead_code)]
mod common;
mod failed_start;
mod generated;
mod lifecycle;
mod limits;
mod names;
mod network;
mod peers;
mod pins_clients;
mod pipes;
mod policy;
mod readable;
mod relay;
mod sandbox;
mod secrets;
mod terminal;
mod uninspectable;
mod visibility;
mod words;
mod workspace;
mod wrap;
