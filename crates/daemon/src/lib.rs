//! `prismd`: the loopback-only daemon that owns Prism's state and runs its durable operations.

pub mod auth;
pub mod body;
pub mod errors;
pub mod paths;
pub mod routes;
pub mod serve;
pub mod server;
pub mod state;

pub use paths::{DaemonAddress, Paths};
pub use server::{aws_attempt_timeout, run};
