//! `prism_cloud::Cloud` implemented with the official AWS SDK for Rust (EC2 and STS).
//!
//! [`AwsCloudFactory`] loads one SDK configuration per AWS profile (standard chain: env
//! vars, profile files, SSO, `AWS_ENDPOINT_URL*` for an emulator) with 3 attempts per call
//! and bounded timeouts; [`AwsCloud`] keeps one EC2 and STS client per region. Every SDK
//! error becomes a [`prism_cloud::CloudError`] naming the API, region, resource, AWS code
//! and message. This is the only crate that compiles the SDK.

#![warn(missing_docs)]

mod account;
mod calls;
mod client;
mod convert;
mod deprecation;
mod errors;
mod factory;
mod images;
mod instances;
mod network;
mod sharing;
mod snapshots;
mod tagging;
mod volumes;

pub use client::AwsCloud;
pub use factory::{
    attempt_timeout_from, AwsCloudFactory, ATTEMPT_TIMEOUT, ATTEMPT_TIMEOUT_ENV, CONNECT_TIMEOUT,
    MAX_ATTEMPTS, MAX_ATTEMPT_TIMEOUT_SECS,
};
