//! The caller's public address, for the SSH rule of a launch given neither `--allow-from` nor
//! `allow_from` in the config file. Asked of AWS's own address echo service,
//! `https://checkip.amazonaws.com`, which answers with the address the request came from.

use crate::error::{CliError, CliResult};
use std::net::IpAddr;
use std::time::Duration;

/// The service asked.
pub const CHECKIP_URL: &str = "https://checkip.amazonaws.com";
/// Test only: the URL asked instead (the tests serve it on 127.0.0.1).
pub const TEST_URL_ENV: &str = "PRISM_TEST_CHECKIP_URL";
/// Test only: the address to use without asking anything.
pub const TEST_ADDRESS_ENV: &str = "PRISM_TEST_CALLER_ADDRESS";

fn cidr_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

fn failed(url: &str, why: impl std::fmt::Display) -> CliError {
    CliError::refused(
        format!("cannot detect your public address (asked {url}): {why}"),
        Some("pass --allow-from CIDR (your address, e.g. 203.0.113.7/32), or set allow_from in the config file (prism config show)".to_string()),
    )
}

/// The caller's address as a one-address CIDR, and the URL that told it.
pub async fn detect() -> CliResult<(String, String)> {
    if let Ok(a) = std::env::var(TEST_ADDRESS_ENV) {
        let ip: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| failed(TEST_ADDRESS_ENV, format!("'{a}' is not an IP address")))?;
        return Ok((cidr_of(ip), TEST_ADDRESS_ENV.to_string()));
    }
    let url = std::env::var(TEST_URL_ENV).unwrap_or_else(|_| CHECKIP_URL.to_string());
    // Bounded: the service answers in well under a second; 10 s covers a slow link.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(&url, e))?;
    let resp = client.get(&url).send().await.map_err(|e| failed(&url, e))?;
    if !resp.status().is_success() {
        return Err(failed(&url, format!("HTTP {}", resp.status())));
    }
    let body = resp.text().await.map_err(|e| failed(&url, e))?;
    let ip: IpAddr = body.trim().parse().map_err(|_| {
        failed(
            &url,
            format!(
                "the answer is not an IP address: {:?}",
                body.chars().take(60).collect::<String>()
            ),
        )
    })?;
    Ok((cidr_of(ip), url))
}
