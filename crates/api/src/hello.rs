//! The handshake by which the CLI proves it talks to its own daemon before it sends the token.
//!
//! After a crash, kill or reboot, `daemon.json` names a port nobody owns; another local user
//! may bind it. So the CLI first sends only a fresh random challenge (`GET /v1/hello` with
//! [`CHALLENGE_HEADER`]); the daemon answers with an HMAC-SHA256 of the challenge and its own
//! port, keyed with the token. Only the process that read the 0600 token file — i.e. our
//! daemon — can answer, and the token itself never crosses the wire until the answer checks
//! out. A fresh token is made at each daemon start, so an answer seen once is useless later.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Header carrying the CLI's challenge (64 lowercase hex digits: 32 random bytes).
pub const CHALLENGE_HEADER: &str = "x-prism-challenge";

/// Length of a challenge in hex digits.
pub const CHALLENGE_HEX_LEN: usize = 64;

/// Domain separation: a proof can be mistaken for no other HMAC made with the token.
const PROOF_CONTEXT: &[u8] = b"prismd-hello-v1";

/// `GET /v1/hello`: the daemon's answer to a challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Hello {
    /// HMAC-SHA256(token, context | port | challenge), lowercase hex.
    pub proof: String,
    /// Daemon process id.
    pub pid: u32,
    /// Daemon version.
    pub version: String,
}

/// Whether `s` has the shape of a challenge (64 lowercase hex digits).
pub fn is_challenge(s: &str) -> bool {
    s.len() == CHALLENGE_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh random challenge.
pub fn new_challenge(random: [u8; 32]) -> String {
    to_hex(&random)
}

/// The proof the daemon listening on `port` with `token` gives for `challenge`.
pub fn proof(token: &str, port: u16, challenge: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(PROOF_CONTEXT);
    mac.update(b"|");
    mac.update(port.to_string().as_bytes());
    mac.update(b"|");
    mac.update(challenge.as_bytes());
    to_hex(&mac.finalize().into_bytes())
}

/// Checks a proof in constant time.
pub fn verify(token: &str, port: u16, challenge: &str, given: &str) -> bool {
    let want = proof(token, port, challenge);
    want.len() == given.len()
        && want
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_binds_token_port_and_challenge() {
        let c = new_challenge([7; 32]);
        assert!(is_challenge(&c));
        let p = proof("tok", 4000, &c);
        assert!(verify("tok", 4000, &c, &p));
        assert!(!verify("other", 4000, &c, &p), "another token");
        assert!(!verify("tok", 4001, &c, &p), "another port");
        assert!(
            !verify("tok", 4000, &new_challenge([8; 32]), &p),
            "another challenge"
        );
        assert!(!verify("tok", 4000, &c, ""), "empty");
        assert!(!p.contains("tok"));
    }

    #[test]
    fn challenges_are_strict_hex() {
        assert!(!is_challenge(""));
        assert!(!is_challenge(&"A".repeat(64)));
        assert!(!is_challenge(&"0".repeat(63)));
        assert!(!is_challenge(&format!("{}\n", "0".repeat(63))));
    }
}
