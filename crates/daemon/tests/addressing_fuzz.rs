//! Property tests of the daemon's addressing checks (`Host`, `Origin`, duplicates): whatever
//! a web page or a neighbour sends, only the exact forms naming this daemon pass.

use axum::http::{header, HeaderMap, HeaderValue};
use prism_daemon::auth::{check_addressing, host_is_ours, origin_is_ours};
use proptest::prelude::*;

const PORT: u16 = 41234;

fn exact(h: &str) -> bool {
    h == format!("127.0.0.1:{PORT}") || h == format!("localhost:{PORT}")
}

/// Hosts built from pieces an attacker would combine: loopback names and look-alikes,
/// brackets, ports (ours, others, padded, signed), userinfo, suffixes.
fn host_like() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("127.0.0.1".to_string()),
        Just("localhost".to_string()),
        Just("[::1]".to_string()),
        Just("::1".to_string()),
        Just("127.0.0.1.evil.example".to_string()),
        Just("LOCALHOST".to_string()),
        Just("127.1".to_string()),
        Just("0x7f000001".to_string()),
        Just("evil.example".to_string()),
        "[a-z0-9.\\-\\[\\]:@]{0,20}",
    ];
    let port = prop_oneof![
        Just(PORT.to_string()),
        Just(format!("0{PORT}")),
        Just(format!("+{PORT}")),
        Just(format!("{PORT}0")),
        Just((PORT + 1).to_string()),
        Just(String::new()),
        "[0-9]{1,6}",
    ];
    let suffix = prop_oneof![
        Just(String::new()),
        Just("/".to_string()),
        Just(":1".to_string()),
        Just("evil".to_string()),
        Just(" ".to_string()),
        "[ -~]{0,4}",
    ];
    (name, prop::bool::ANY, port, suffix).prop_map(|(n, colon, p, s)| {
        if colon {
            format!("{n}:{p}{s}")
        } else {
            format!("{n}{p}{s}")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn only_the_exact_host_passes(h in host_like()) {
        prop_assert_eq!(host_is_ours(&h, PORT), exact(&h), "{:?}", h);
    }

    #[test]
    fn only_the_exact_origin_passes(h in host_like(), scheme in prop_oneof![Just("http://"), Just("https://"), Just(""), Just("HTTP://")]) {
        let o = format!("{scheme}{h}");
        prop_assert_eq!(origin_is_ours(&o, PORT), scheme == "http://" && exact(&h), "{:?}", o);
    }

    #[test]
    fn any_second_host_is_refused(a in host_like(), b in host_like()) {
        let mut m = HeaderMap::new();
        if let (Ok(a), Ok(b)) = (HeaderValue::from_str(&a), HeaderValue::from_str(&b)) {
            m.append(header::HOST, a);
            m.append(header::HOST, b);
            prop_assert!(check_addressing(&m, PORT).is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_pass_unless_exact(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, v);
            let ok = check_addressing(&m, PORT).is_ok();
            prop_assert_eq!(ok, std::str::from_utf8(&bytes).is_ok_and(exact));
        }
    }
}
