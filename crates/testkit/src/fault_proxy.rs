//! A fault-injecting HTTP/1.1 proxy between an AWS SDK client and moto.
//!
//! [`FaultProxy::start`] listens on a free port of 127.0.0.1 and forwards every request to an
//! upstream endpoint on the loopback interface (normally [`crate::Moto::endpoint`]). Point the
//! client at [`FaultProxy::endpoint`] (`AWS_ENDPOINT_URL`) instead of moto's. EC2 and STS speak
//! the AWS Query protocol: the action is the `Action` parameter of the form-urlencoded body (or
//! of the query string), so the proxy reads the whole request before it decides what to do.
//!
//! For each request the rules of the current [`FaultPlan`] are tried in order: the first rule
//! whose `actions` include the request's action (an empty list matches every action), whose
//! `max_count` is not reached and whose dice roll hits applies its [`Fault`]; otherwise the
//! request is forwarded unchanged. The dice come from a SplitMix64 generator seeded with
//! [`FaultPlan::seed`] — one roll per rule that is tried — so the same seed and the same order
//! of requests give the same faults. Concurrent requests (e.g. parallel region copies) reach the
//! proxy in an order the test does not control; use `probability: 1.0` with `max_count` where
//! exact outcomes matter.
//!
//! Besides the dice, a plan can lose the answer of the **first** request of chosen actions,
//! exactly once per action ([`FaultPlan::losing_first_response_of`]): the request reaches the
//! server, which acts, and the client gets no answer — what a retried non-idempotent call
//! (`RunInstances`, `CreateImage`, `CopyImage`, `ModifyImageAttribute`) must survive without
//! acting twice. That decision comes before the rules and rolls no dice; later requests of the
//! action go through the rules as usual. [`FaultStats::lost_first`] says which actions got it.
//!
//! The proxy is built on `std::net` and one thread per client connection: it needs no async
//! runtime and works from a plain `#[test]` as well as from inside `#[tokio::test]`. Every
//! blocking read and write has a timeout, so no thread hangs forever; dropping the proxy stops
//! it (see [`FaultProxy`]'s `Drop`).
//!
//! What the client sees for each fault (EC2's error format; STS, recognised by its API version
//! `2011-06-15` or its signing scope, gets STS's `<ErrorResponse>` format instead):
//!
//! | Fault | EC2 answer | STS answer |
//! |---|---|---|
//! | `Throttle` | 503 `RequestLimitExceeded` | 400 `Throttling` |
//! | `InternalError` | 500 `InternalError` | 500 `InternalFailure` |
//! | `ServiceUnavailable` | 503 `Unavailable` | 503 `ServiceUnavailable` |
//! | `ConnectionReset` | connection closed, no answer; the request is **not** forwarded | same |
//! | `Delay(d)` | waits `d`, then forwards (the server acts even if the client gave up) | same |
//! | `ResponseLost` | forwarded (the server acts), answer read and discarded, connection closed | same |
//!
//! Injected answers carry an `X-Prism-Fault` header naming the fault. Forwarding rewrites only
//! framing: the upstream request gets `Content-Length` and `Connection: close` (one fresh
//! upstream connection per request); the client gets the upstream answer as HTTP/1.1 with a
//! `Content-Length`, and its connection is kept alive unless it asked for `close`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Timeout of every blocking read and write once a request has started, and of connecting
/// upstream.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a kept-alive client connection may stay idle between requests. Longer than
/// hyper's 90 s pool idle timeout, so the SDK's client, not the proxy, closes idle connections
/// (a server-side close racing a new request would look like an injected fault).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest request or response head (request line or status line plus headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request or response body.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long dropping the proxy waits for its connection threads; the rest are left to end on
/// their own timeouts.
const DROP_WAIT: Duration = Duration::from_secs(2);
/// Granularity of interruptible sleeps (`Delay`) and of waiting for threads.
const TICK: Duration = Duration::from_millis(10);

/// A fault the proxy injects into one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer as a throttled service: EC2 `503 RequestLimitExceeded` (STS: `400 Throttling`).
    /// The request is not forwarded.
    Throttle,
    /// Answer `500 InternalError` (STS: `InternalFailure`). The request is not forwarded.
    InternalError,
    /// Answer `503 Unavailable` (STS: `ServiceUnavailable`). The request is not forwarded.
    ServiceUnavailable,
    /// Close the client connection without answering, before forwarding: the server never acts.
    ConnectionReset,
    /// Wait this long, then forward normally (to exceed the client's attempt timeout). The
    /// request is forwarded even if the client gave up meanwhile, as a slow network would.
    Delay(Duration),
    /// Forward the request (the server acts), read the answer, then close the client connection
    /// without answering: the client cannot know whether the request took effect.
    ResponseLost,
}

impl Fault {
    /// The fault's name as counted in [`FaultStats::by_fault`] and sent in `X-Prism-Fault`:
    /// the variant's name (`"Delay"` for any duration).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Throttle => "Throttle",
            Fault::InternalError => "InternalError",
            Fault::ServiceUnavailable => "ServiceUnavailable",
            Fault::ConnectionReset => "ConnectionReset",
            Fault::Delay(_) => "Delay",
            Fault::ResponseLost => "ResponseLost",
        }
    }
}

/// One rule of a [`FaultPlan`].
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// Actions the rule applies to (e.g. `"CreateImage"`, exact and case-sensitive); empty
    /// means every request, including those without an action.
    pub actions: Vec<String>,
    /// Chance that a matching request gets the fault, from 0 (never) to 1 (always).
    pub probability: f64,
    /// The fault to inject.
    pub fault: Fault,
    /// Inject at most this many times under the current plan; `None` is unlimited.
    pub max_count: Option<u32>,
}

impl FaultRule {
    /// A rule that always injects `fault` into `actions` (empty: every action), without limit.
    pub fn new<S: AsRef<str>>(actions: &[S], fault: Fault) -> FaultRule {
        FaultRule {
            actions: actions.iter().map(|a| a.as_ref().to_string()).collect(),
            probability: 1.0,
            fault,
            max_count: None,
        }
    }

    /// The same rule with another probability.
    pub fn with_probability(mut self, probability: f64) -> FaultRule {
        self.probability = probability;
        self
    }

    /// The same rule, injecting at most `max_count` times.
    pub fn with_max_count(mut self, max_count: u32) -> FaultRule {
        self.max_count = Some(max_count);
        self
    }

    fn matches(&self, action: &str) -> bool {
        self.actions.is_empty() || self.actions.iter().any(|a| a == action)
    }
}

/// What the proxy does: its rules, tried in order, and the seed of its dice.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    /// Seed of the generator that rolls the dice.
    pub seed: u64,
    /// Rules, tried in order; the first that applies wins.
    pub rules: Vec<FaultRule>,
    /// Actions (exact, case-sensitive) whose first request under this plan gets
    /// [`Fault::ResponseLost`], exactly once per action, before any rule is tried and without
    /// rolling the dice.
    pub lose_first_response: Vec<String>,
}

impl FaultPlan {
    /// A plan with these rules and seed.
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> FaultPlan {
        FaultPlan {
            seed,
            rules,
            lose_first_response: Vec::new(),
        }
    }

    /// The same plan, also losing the answer of the first request of each of `actions`
    /// (deterministic mode; see the [module documentation](self)).
    pub fn losing_first_response_of<S: AsRef<str>>(mut self, actions: &[S]) -> FaultPlan {
        for a in actions {
            let a = a.as_ref().to_string();
            if !self.lose_first_response.contains(&a) {
                self.lose_first_response.push(a);
            }
        }
        self
    }
}

/// What the proxy has seen and done since it started (or since [`FaultProxy::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultStats {
    /// Requests received (read completely), faulted or not.
    pub requests: u64,
    /// Requests that got a fault.
    pub injected: u64,
    /// Injected faults per [`Fault::name`].
    pub by_fault: BTreeMap<String, u64>,
    /// Injected faults per action.
    pub by_action: BTreeMap<String, u64>,
    /// Requests received per action, faulted or not (e.g. to see the SDK's retries). Requests
    /// without an action are counted under `""`.
    pub requests_by_action: BTreeMap<String, u64>,
    /// [`Fault::ResponseLost`] injected per action, by the dice or by
    /// [`FaultPlan::lose_first_response`].
    pub lost_responses: BTreeMap<String, u64>,
    /// Answers lost by [`FaultPlan::lose_first_response`] per action: at most 1 per action and
    /// plan.
    pub lost_first: BTreeMap<String, u64>,
}

/// A running fault-injecting proxy on 127.0.0.1; see the [module documentation](self).
///
/// Dropping it stops accepting connections, closes the client connections it holds, and waits
/// up to 2 s for their threads; a thread still busy after that (e.g. waiting for upstream) is
/// left to finish on its own timeouts and never forwards a request it has not started.
pub struct FaultProxy {
    /// The port the proxy listens on.
    pub port: u16,
    /// `http://127.0.0.1:PORT`: the endpoint to give the client (`AWS_ENDPOINT_URL`).
    pub endpoint: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1, forwarding to `upstream`
    /// (`http://127.0.0.1:PORT`, e.g. [`crate::Moto::endpoint`]) under `plan`.
    ///
    /// # Panics
    ///
    /// When `upstream` is not a plain `http://` loopback endpoint (the proxy never sends
    /// traffic elsewhere), or when no port can be bound.
    pub fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let upstream_addr =
            parse_upstream(upstream).unwrap_or_else(|e| panic!("FaultProxy upstream: {e}"));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("FaultProxy cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("FaultProxy cannot read its port: {e}"))
            .port();
        let shared = Arc::new(Shared {
            upstream: upstream_addr,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::new(plan)),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            next_request_id: AtomicU64::new(1),
        });
        let for_acceptor = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name(format!("fault-proxy-{port}"))
            .spawn(move || accept_loop(listener, for_acceptor))
            .unwrap_or_else(|e| panic!("FaultProxy cannot spawn its thread: {e}"));
        FaultProxy {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Replaces the plan. The dice are reseeded with the new plan's seed and every rule's
    /// `max_count` starts from zero; statistics go on accumulating. Requests already decided
    /// keep their fault.
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.shared.state();
        state.rng = SplitMix64(plan.seed);
        state.applied = vec![0; plan.rules.len()];
        state.lost_once.clear();
        state.plan = plan;
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> FaultStats {
        self.shared.state().stats.clone()
    }

    /// Forgets the statistics (the plan and its dice are untouched).
    pub fn reset_stats(&self) {
        self.shared.state().stats = FaultStats::default();
    }
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("endpoint", &self.endpoint)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        {
            // Under the registry's lock, so the acceptor cannot register a connection that
            // this loop misses.
            let conns = self.shared.conns();
            self.shared.stop.store(true, Ordering::SeqCst);
            for conn in conns.values() {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
        // Wake the acceptor, blocked in accept(), so it sees the stop flag.
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let woke = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok();
        if let Some(acceptor) = self.acceptor.take() {
            if woke {
                let _ = acceptor.join();
            }
            // Otherwise the thread is leaked: it holds only the listener and shared state.
        }
    }
}

/// State shared by the proxy's threads.
struct Shared {
    upstream: SocketAddr,
    stop: AtomicBool,
    state: Mutex<State>,
    /// Clones of the open client connections, to close them on drop.
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    next_request_id: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn request_id(&self) -> String {
        let n = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        format!("f0f0f0f0-0000-4000-8000-{n:012x}")
    }

    /// Sleeps `d` unless the proxy stops meanwhile; `false` when it stopped.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep(TICK.min(deadline - now));
        }
    }
}

/// The plan, its dice and the statistics, under one lock so decisions are serialised.
struct State {
    plan: FaultPlan,
    rng: SplitMix64,
    /// Faults injected per rule of the current plan (for `max_count`).
    applied: Vec<u32>,
    /// Actions of `plan.lose_first_response` whose first answer was already lost.
    lost_once: BTreeSet<String>,
    stats: FaultStats,
}

impl State {
    fn new(plan: FaultPlan) -> State {
        State {
            rng: SplitMix64(plan.seed),
            applied: vec![0; plan.rules.len()],
            lost_once: BTreeSet::new(),
            plan,
            stats: FaultStats::default(),
        }
    }

    /// Counts the request and picks its fault, if any.
    fn decide(&mut self, action: &str) -> Option<Fault> {
        self.stats.requests += 1;
        *self
            .stats
            .requests_by_action
            .entry(action.to_string())
            .or_default() += 1;
        if self.plan.lose_first_response.iter().any(|a| a == action)
            && self.lost_once.insert(action.to_string())
        {
            *self.stats.lost_first.entry(action.to_string()).or_default() += 1;
            self.count(&Fault::ResponseLost, action);
            return Some(Fault::ResponseLost);
        }
        for (i, rule) in self.plan.rules.iter().enumerate() {
            if !rule.matches(action) {
                continue;
            }
            if rule.max_count.is_some_and(|max| self.applied[i] >= max) {
                continue;
            }
            // Roll even when the probability is 0 or 1, so the sequence of rolls depends only
            // on the seed and the requests.
            let roll = self.rng.next_f64();
            if roll < rule.probability {
                self.applied[i] += 1;
                let fault = rule.fault.clone();
                self.count(&fault, action);
                return Some(fault);
            }
        }
        None
    }

    /// Counts an injected fault.
    fn count(&mut self, fault: &Fault, action: &str) {
        self.stats.injected += 1;
        *self
            .stats
            .by_fault
            .entry(fault.name().to_string())
            .or_default() += 1;
        *self.stats.by_action.entry(action.to_string()).or_default() += 1;
        if matches!(fault, Fault::ResponseLost) {
            *self
                .stats
                .lost_responses
                .entry(action.to_string())
                .or_default() += 1;
        }
    }
}

/// SplitMix64: a tiny, well-distributed, seedable generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `http://127.0.0.1:PORT` (or `localhost`, `[::1]`, optionally with a trailing `/`).
fn parse_upstream(upstream: &str) -> Result<SocketAddr, String> {
    let rest = upstream
        .strip_prefix("http://")
        .ok_or_else(|| format!("{upstream:?} is not an http:// endpoint"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('/') {
        return Err(format!(
            "{upstream:?} has a path; give scheme, host and port only"
        ));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| format!("{upstream:?} has no port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{upstream:?} has an invalid port"))?;
    let ip: IpAddr = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("{upstream:?}: host must be a loopback address"))?,
    };
    if !ip.is_loopback() {
        return Err(format!(
            "{upstream:?} is not on the loopback interface; the proxy only talks to 127.0.0.1"
        ));
    }
    Ok(SocketAddr::new(ip, port))
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    for incoming in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let client = match incoming {
            Ok(client) => client,
            Err(e) => {
                eprintln!("fault proxy: accept failed: {e}");
                std::thread::sleep(TICK);
                continue;
            }
        };
        // Join the threads of connections that ended.
        let (done, running): (Vec<_>, Vec<_>) = handlers.into_iter().partition(|h| h.is_finished());
        handlers = running;
        for h in done {
            let _ = h.join();
        }
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        {
            let mut conns = shared.conns();
            if shared.stopped() {
                break;
            }
            match client.try_clone() {
                Ok(clone) => {
                    conns.insert(id, clone);
                }
                Err(e) => {
                    eprintln!("fault proxy: cannot clone a client socket: {e}");
                    continue;
                }
            }
        }
        let for_handler = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("fault-proxy-conn-{id}"))
            .spawn(move || {
                if let Err(e) = serve(&for_handler, client) {
                    if !for_handler.stopped() {
                        eprintln!("fault proxy: connection {id}: {e}");
                    }
                }
                for_handler.conns().remove(&id);
            });
        match spawned {
            Ok(h) => handlers.push(h),
            Err(e) => {
                eprintln!("fault proxy: cannot spawn a connection thread: {e}");
                if let Some(conn) = shared.conns().remove(&id) {
                    let _ = conn.shutdown(Shutdown::Both);
                }
            }
        }
    }
    // Stopping: the client sockets were shut down; wait a little for their threads.
    let deadline = Instant::now() + DROP_WAIT;
    for h in handlers {
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(TICK);
        }
        if h.is_finished() {
            let _ = h.join();
        }
    }
}

/// One header line: the lower-cased name and the raw line (without CRLF), relayed verbatim.
struct Header {
    name: String,
    line: Vec<u8>,
}

impl Header {
    fn parse(line: Vec<u8>) -> Result<Header, String> {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| format!("malformed header line {:?}", lossy(&line)))?;
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("malformed header line {:?}", lossy(&line)));
        }
        Ok(Header { name, line })
    }

    fn value(&self) -> String {
        let colon = self.line.iter().position(|&b| b == b':').unwrap_or(0);
        String::from_utf8_lossy(&self.line[colon + 1..])
            .trim()
            .to_string()
    }
}

fn header_values(headers: &[Header], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|h| h.name == name)
        .map(Header::value)
        .collect()
}

/// Whether a comma-separated header (`Connection`, `Transfer-Encoding`) holds `token`.
fn has_token(headers: &[Header], name: &str, token: &str) -> bool {
    header_values(headers, name)
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Headers that describe one hop's connection or framing, never relayed as they are.
fn is_hop_header(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "content-length"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
    )
}

struct Request {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<Header>,
    body: Vec<u8>,
}

impl Request {
    /// The `Action` parameter, from the form body or the query string; `""` when absent.
    fn action(&self) -> String {
        self.param("Action").unwrap_or_default()
    }

    fn param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?').map(|(_, q)| q.as_bytes());
        form_param(&self.body, name).or_else(|| query.and_then(|q| form_param(q, name)))
    }

    fn keep_alive(&self) -> bool {
        if self.http10 {
            has_token(&self.headers, "connection", "keep-alive")
        } else {
            !has_token(&self.headers, "connection", "close")
        }
    }

    fn service(&self) -> Service {
        let sts_version = self.param("Version").as_deref() == Some("2011-06-15");
        let sts_scope = header_values(&self.headers, "authorization")
            .iter()
            .any(|v| v.contains("/sts/aws4_request"));
        if sts_version || sts_scope {
            Service::Sts
        } else {
            Service::Ec2
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Service {
    Ec2,
    Sts,
}

/// The value of `name` in a form-urlencoded string, decoded.
fn form_param(form: &[u8], name: &str) -> Option<String> {
    form.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Response {
    status: u16,
    reason: Vec<u8>,
    headers: Vec<Header>,
    /// A response that has no body by definition (HEAD, 204, 304): its `Content-Length` is
    /// relayed as it is.
    bodiless: bool,
    body: Vec<u8>,
}

/// Serves one client connection until it closes, the proxy stops, or a fault closes it.
fn serve(shared: &Shared, client: TcpStream) -> Result<(), String> {
    client
        .set_nonblocking(false)
        .and_then(|()| client.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket setup: {e}"))?;
    let _ = client.set_nodelay(true);
    let mut reader = BufReader::new(
        client
            .try_clone()
            .map_err(|e| format!("cannot clone the client socket: {e}"))?,
    );
    let mut writer = client;
    loop {
        if shared.stopped() {
            return Ok(());
        }
        // Wait for the next request on a kept-alive connection.
        let _ = reader.get_ref().set_read_timeout(Some(IDLE_TIMEOUT));
        match reader.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(_) => {}
            Err(e) if is_disconnect(&e) => return Ok(()),
            Err(e) => return Err(format!("waiting for a request: {e}")),
        }
        let _ = reader.get_ref().set_read_timeout(Some(IO_TIMEOUT));
        let request = match read_request(&mut reader, &mut writer) {
            Ok(request) => request,
            Err(RequestError::Bad(status, why)) => {
                let _ = write_plain(&mut writer, status, &why);
                let _ = writer.shutdown(Shutdown::Both);
                return Err(why);
            }
            Err(RequestError::Io(why)) => return Err(why),
        };
        if shared.stopped() {
            return Ok(());
        }
        let keep_alive = request.keep_alive();
        let fault = shared.state().decide(&request.action());
        match fault {
            None => relay(shared, &request, &mut writer, keep_alive)?,
            Some(fault @ (Fault::Throttle | Fault::InternalError | Fault::ServiceUnavailable)) => {
                let answer = error_answer(&fault, request.service(), &shared.request_id());
                write_error(&mut writer, &fault, &answer, keep_alive)
                    .map_err(|e| format!("writing an injected error: {e}"))?;
            }
            Some(Fault::ConnectionReset) => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Delay(d)) => {
                if !shared.sleep(d) {
                    return Ok(());
                }
                relay(shared, &request, &mut writer, keep_alive)?;
            }
            Some(Fault::ResponseLost) => {
                if let Err(e) = exchange(shared.upstream, &request) {
                    eprintln!("fault proxy: ResponseLost: upstream failed: {e}");
                }
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        if !keep_alive {
            let _ = writer.flush();
            let _ = writer.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Forwards `request` and relays the answer; a failing upstream gets the client a 502.
fn relay(
    shared: &Shared,
    request: &Request,
    client: &mut TcpStream,
    keep_alive: bool,
) -> Result<(), String> {
    match exchange(shared.upstream, request) {
        Ok(response) => write_response(client, &response, keep_alive)
            .map_err(|e| format!("relaying the answer: {e}")),
        Err(e) => {
            let why = format!("fault proxy: upstream {} failed: {e}", shared.upstream);
            eprintln!("{why}");
            let _ = write_plain(client, 502, &why);
            let _ = client.shutdown(Shutdown::Both);
            Err(why)
        }
    }
}

enum RequestError {
    /// Malformed or unsupported: answer with this status, then close.
    Bad(u16, String),
    /// The client went away or timed out.
    Io(String),
}

fn io_err(what: &str) -> impl Fn(io::Error) -> RequestError + '_ {
    move |e| RequestError::Io(format!("{what}: {e}"))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    client: &mut TcpStream,
) -> Result<Request, RequestError> {
    let mut budget = MAX_HEAD;
    let mut line = read_line(reader, &mut budget).map_err(io_err("request line"))?;
    while line.is_empty() {
        // RFC 9112 §2.2: ignore empty lines before the request line.
        line = read_line(reader, &mut budget).map_err(io_err("request line"))?;
    }
    let text = String::from_utf8_lossy(&line).into_owned();
    let mut parts = text.split_whitespace();
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if v.starts_with("HTTP/1.") => {
            (m.to_string(), t.to_string(), v.to_string())
        }
        _ => {
            return Err(RequestError::Bad(
                400,
                format!("not an HTTP/1.x request line: {text:?}"),
            ))
        }
    };
    let headers = read_headers(reader, &mut budget).map_err(|e| match e {
        HeadError::Io(e) => RequestError::Io(format!("request headers: {e}")),
        HeadError::Bad(why) => RequestError::Bad(400, why),
    })?;
    if has_token(&headers, "expect", "100-continue") {
        client
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(io_err("100 Continue"))?;
    }
    let transfer_encodings = header_values(&headers, "transfer-encoding");
    let body = if !transfer_encodings.is_empty() {
        let last = transfer_encodings
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|t| !t.is_empty())
            .unwrap_or("");
        if !last.eq_ignore_ascii_case("chunked") {
            return Err(RequestError::Bad(
                501,
                format!("request Transfer-Encoding {transfer_encodings:?} is not supported"),
            ));
        }
        read_chunked(reader).map_err(|e| match e {
            HeadError::Io(e) => RequestError::Io(format!("chunked request body: {e}")),
            HeadError::Bad(why) => RequestError::Bad(400, why),
        })?
    } else {
        match content_length(&headers).map_err(|why| RequestError::Bad(400, why))? {
            Some(n) if n > MAX_BODY as u64 => {
                return Err(RequestError::Bad(
                    413,
                    format!("request body of {n} bytes is too large"),
                ))
            }
            Some(n) => {
                let mut body = vec![0; n as usize];
                reader
                    .read_exact(&mut body)
                    .map_err(io_err("request body"))?;
                body
            }
            None => Vec::new(),
        }
    };
    Ok(Request {
        method,
        target,
        http10: version == "HTTP/1.0",
        headers,
        body,
    })
}

enum HeadError {
    Io(io::Error),
    Bad(String),
}

impl From<io::Error> for HeadError {
    fn from(e: io::Error) -> HeadError {
        HeadError::Io(e)
    }
}

/// One line without its CRLF (or bare LF), charged to `budget`. EOF before the end of the line
/// is an error.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(*budget as u64)
        .read_until(b'\n', &mut line)?;
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            io::Error::new(io::ErrorKind::InvalidData, "head too large")
        } else {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-line")
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

fn read_headers(reader: &mut impl BufRead, budget: &mut usize) -> Result<Vec<Header>, HeadError> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, budget)?;
        if line.is_empty() {
            return Ok(headers);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(HeadError::Bad("obsolete header folding".to_string()));
        }
        headers.push(Header::parse(line).map_err(HeadError::Bad)?);
    }
}

fn content_length(headers: &[Header]) -> Result<Option<u64>, String> {
    let values: Vec<String> = header_values(headers, "content-length")
        .iter()
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut length = None;
    for v in values {
        let n: u64 = v
            .parse()
            .map_err(|_| format!("invalid Content-Length {v:?}"))?;
        if length.is_some_and(|l| l != n) {
            return Err("conflicting Content-Length headers".to_string());
        }
        length = Some(n);
    }
    Ok(length)
}

/// A chunked body, decoded; trailers are read and dropped.
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, HeadError> {
    let mut body = Vec::new();
    loop {
        let mut budget = MAX_HEAD;
        let line = read_line(reader, &mut budget)?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| HeadError::Bad(format!("invalid chunk size {text:?}")))?;
        if size == 0 {
            read_headers(reader, &mut budget)?;
            return Ok(body);
        }
        if body.len() as u64 + size > MAX_BODY as u64 {
            return Err(HeadError::Bad("chunked body too large".to_string()));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        reader.read_exact(&mut body[start..])?;
        let end = read_line(reader, &mut budget)?;
        if !end.is_empty() {
            return Err(HeadError::Bad("chunk not followed by CRLF".to_string()));
        }
    }
}

/// Sends `request` upstream on a fresh connection and reads the whole answer.
fn exchange(upstream: SocketAddr, request: &Request) -> Result<Response, String> {
    let mut conn =
        TcpStream::connect_timeout(&upstream, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    conn.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| conn.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket timeouts: {e}"))?;
    let _ = conn.set_nodelay(true);
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target).into_bytes();
    for h in request.headers.iter().filter(|h| !is_hop_header(&h.name)) {
        head.extend_from_slice(&h.line);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            request.body.len()
        )
        .as_bytes(),
    );
    head.extend_from_slice(&request.body);
    conn.write_all(&head)
        .and_then(|()| conn.flush())
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut reader = BufReader::new(conn);
    read_response(&mut reader, &request.method)
}

fn read_response(reader: &mut impl BufRead, method: &str) -> Result<Response, String> {
    let head_err = |what: &'static str| {
        move |e: HeadError| match e {
            HeadError::Io(e) => format!("{what}: {e}"),
            HeadError::Bad(why) => format!("{what}: {why}"),
        }
    };
    loop {
        let mut budget = MAX_HEAD;
        let line = read_line(reader, &mut budget).map_err(|e| format!("status line: {e}"))?;
        let text = String::from_utf8_lossy(&line).into_owned();
        let mut parts = text.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| version.starts_with("HTTP/1."))
            .ok_or_else(|| format!("not an HTTP/1.x status line: {text:?}"))?;
        let reason = parts.next().unwrap_or("").as_bytes().to_vec();
        let headers = read_headers(reader, &mut budget).map_err(head_err("response headers"))?;
        if (100..200).contains(&status) && status != 101 {
            continue; // An interim answer: the real one follows.
        }
        let bodiless = method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304;
        let body = if bodiless {
            Vec::new()
        } else if !header_values(&headers, "transfer-encoding").is_empty() {
            if !has_token(&headers, "transfer-encoding", "chunked") {
                return Err("unsupported response Transfer-Encoding".to_string());
            }
            read_chunked(reader).map_err(head_err("chunked response body"))?
        } else {
            match content_length(&headers)? {
                Some(n) if n > MAX_BODY as u64 => {
                    return Err(format!("response body of {n} bytes is too large"))
                }
                Some(n) => {
                    let mut body = vec![0; n as usize];
                    reader
                        .read_exact(&mut body)
                        .map_err(|e| format!("response body: {e}"))?;
                    body
                }
                None => {
                    let mut body = Vec::new();
                    reader
                        .take(MAX_BODY as u64 + 1)
                        .read_to_end(&mut body)
                        .map_err(|e| format!("response body: {e}"))?;
                    if body.len() > MAX_BODY {
                        return Err("response body too large".to_string());
                    }
                    body
                }
            }
        };
        return Ok(Response {
            status,
            reason,
            headers,
            bodiless,
            body,
        });
    }
}

/// Relays an upstream answer as HTTP/1.1 with a `Content-Length`.
fn write_response(client: &mut TcpStream, response: &Response, keep_alive: bool) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} ", response.status).into_bytes();
    out.extend_from_slice(&response.reason);
    out.extend_from_slice(b"\r\n");
    for h in &response.headers {
        let keep = !is_hop_header(&h.name) || (response.bodiless && h.name == "content-length");
        if keep {
            out.extend_from_slice(&h.line);
            out.extend_from_slice(b"\r\n");
        }
    }
    if !response.bodiless {
        out.extend_from_slice(format!("Content-Length: {}\r\n", response.body.len()).as_bytes());
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&response.body);
    client.write_all(&out)?;
    client.flush()
}

/// An injected error answer: status, reason and XML body.
struct ErrorAnswer {
    status: u16,
    reason: &'static str,
    body: String,
}

fn error_answer(fault: &Fault, service: Service, request_id: &str) -> ErrorAnswer {
    let (status, reason, code, message, kind) = match (service, fault) {
        (Service::Ec2, Fault::Throttle) => (
            503,
            "Service Unavailable",
            "RequestLimitExceeded",
            "Request limit exceeded.",
            "",
        ),
        (Service::Ec2, Fault::ServiceUnavailable) => (
            503,
            "Service Unavailable",
            "Unavailable",
            "The server is overloaded and can't handle the request.",
            "",
        ),
        (Service::Ec2, _) => (
            500,
            "Internal Server Error",
            "InternalError",
            "An internal error has occurred.",
            "",
        ),
        (Service::Sts, Fault::Throttle) => {
            (400, "Bad Request", "Throttling", "Rate exceeded", "Sender")
        }
        (Service::Sts, Fault::ServiceUnavailable) => (
            503,
            "Service Unavailable",
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
            "Receiver",
        ),
        (Service::Sts, _) => (
            500,
            "Internal Server Error",
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            "Receiver",
        ),
    };
    let body = match service {
        Service::Ec2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ),
        Service::Sts => format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    \
             <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  \
             </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
        ),
    };
    ErrorAnswer {
        status,
        reason,
        body,
    }
}

fn write_error(
    client: &mut TcpStream,
    fault: &Fault,
    answer: &ErrorAnswer,
    keep_alive: bool,
) -> io::Result<()> {
    let connection = if keep_alive {
        ""
    } else {
        "Connection: close\r\n"
    };
    let out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\n\
         X-Prism-Fault: {}\r\n{connection}\r\n{}",
        answer.status,
        answer.reason,
        answer.body.len(),
        fault.name(),
        answer.body
    );
    client.write_all(out.as_bytes())?;
    client.flush()
}

/// A plain-text answer from the proxy itself (malformed request, failing upstream); the
/// connection is closed after it.
fn write_plain(client: &mut TcpStream, status: u16, message: &str) -> io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        413 => "Content Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let body = format!("{message}\n");
    let out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(out.as_bytes())?;
    client.flush()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(plan: &FaultPlan, actions: &[&str]) -> Vec<Option<&'static str>> {
        let mut state = State::new(plan.clone());
        actions
            .iter()
            .map(|a| state.decide(a).map(|f| f.name()))
            .collect()
    }

    #[test]
    fn splitmix_is_seeded_and_uniform_enough() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        let mut c = SplitMix64(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let mut r = SplitMix64(1);
        let rolls: Vec<f64> = (0..10_000).map(|_| r.next_f64()).collect();
        assert!(rolls.iter().all(|x| (0.0..1.0).contains(x)));
        let below_half = rolls.iter().filter(|&&x| x < 0.5).count();
        assert!((4_700..5_300).contains(&below_half), "{below_half}");
    }

    #[test]
    fn rules_match_in_order_and_respect_max_count() {
        let plan = FaultPlan::new(
            3,
            vec![
                FaultRule::new(&["CreateImage"], Fault::Throttle).with_max_count(2),
                FaultRule::new(&["CreateImage", "RunInstances"], Fault::InternalError),
                FaultRule::new(&["StopInstances"], Fault::ResponseLost).with_probability(0.0),
            ],
        );
        let got = decisions(
            &plan,
            &[
                "CreateImage",
                "DescribeImages",
                "CreateImage",
                "CreateImage",
                "RunInstances",
                "StopInstances",
            ],
        );
        assert_eq!(
            got,
            vec![
                Some("Throttle"),
                None,
                Some("Throttle"),
                Some("InternalError"),
                Some("InternalError"),
                None,
            ]
        );
        let mut state = State::new(plan);
        state.decide("CreateImage");
        state.decide("DescribeImages");
        let stats = &state.stats;
        assert_eq!(stats.requests, 2);
        assert_eq!(stats.injected, 1);
        assert_eq!(stats.by_action.get("CreateImage"), Some(&1));
        assert_eq!(stats.by_action.get("DescribeImages"), None);
        assert_eq!(stats.requests_by_action.get("DescribeImages"), Some(&1));
    }

    #[test]
    fn the_first_request_of_each_listed_action_loses_its_answer_once() {
        let plan = FaultPlan::new(
            5,
            vec![FaultRule::new(&["CreateImage"], Fault::Throttle).with_max_count(1)],
        )
        .losing_first_response_of(&["RunInstances", "CreateImage", "RunInstances"]);
        assert_eq!(
            plan.lose_first_response,
            vec!["RunInstances", "CreateImage"]
        );
        let mut state = State::new(plan.clone());
        let got: Vec<_> = [
            "DescribeImages",
            "RunInstances",
            "RunInstances",
            "CreateImage",
            "CreateImage",
            "CreateImage",
            "RunInstances",
        ]
        .iter()
        .map(|a| state.decide(a).map(|f| f.name()))
        .collect();
        assert_eq!(
            got,
            vec![
                None,
                Some("ResponseLost"),
                None,
                Some("ResponseLost"),
                Some("Throttle"),
                None,
                None,
            ]
        );
        let stats = &state.stats;
        assert_eq!(stats.lost_first.get("RunInstances"), Some(&1));
        assert_eq!(stats.lost_first.get("CreateImage"), Some(&1));
        assert_eq!(stats.lost_responses.get("CreateImage"), Some(&1));
        assert_eq!(stats.by_fault.get("ResponseLost"), Some(&2));
        assert_eq!(stats.injected, 3);
        // The deterministic losses roll no dice: the random sequence is that of the rules.
        let without = FaultPlan::new(
            9,
            vec![FaultRule::new(&["X"], Fault::Throttle).with_probability(0.5)],
        );
        let with = without.clone().losing_first_response_of(&["Y"]);
        let xs = ["X", "Y", "X", "Y", "X", "X", "X", "X"];
        let a: Vec<_> = decisions(&without, &xs)
            .into_iter()
            .zip(xs)
            .filter(|(_, x)| *x == "X")
            .map(|(d, _)| d)
            .collect();
        let b: Vec<_> = decisions(&with, &xs)
            .into_iter()
            .zip(xs)
            .filter(|(_, x)| *x == "X")
            .map(|(d, _)| d)
            .collect();
        assert_eq!(a, b);
        assert_eq!(
            decisions(&with, &xs)[1..4],
            [Some("ResponseLost"), b[1], None]
        );
    }

    #[test]
    fn an_empty_action_list_matches_everything() {
        let plan = FaultPlan::new(0, vec![FaultRule::new::<&str>(&[], Fault::ConnectionReset)]);
        assert_eq!(
            decisions(&plan, &["A", "", "B"]),
            vec![Some("ConnectionReset"); 3]
        );
    }

    #[test]
    fn half_probability_is_deterministic_per_seed() {
        let plan = |seed| {
            FaultPlan::new(
                seed,
                vec![FaultRule::new(&["X"], Fault::Throttle).with_probability(0.5)],
            )
        };
        let actions = ["X"; 64];
        let a = decisions(&plan(11), &actions);
        assert_eq!(a, decisions(&plan(11), &actions));
        assert_ne!(a, decisions(&plan(12), &actions));
        let hits = a.iter().filter(|d| d.is_some()).count();
        assert!((16..48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn form_parameters_are_decoded() {
        let body = b"Version=2016-11-15&Action=Describe%52egions&Filter.1.Value.1=a+b%2Fc&Empty";
        assert_eq!(
            form_param(body, "Action").as_deref(),
            Some("DescribeRegions")
        );
        assert_eq!(
            form_param(body, "Filter.1.Value.1").as_deref(),
            Some("a b/c")
        );
        assert_eq!(form_param(body, "Empty").as_deref(), Some(""));
        assert_eq!(form_param(body, "Missing"), None);
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%4"), "%4");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let raw = b"4\r\nActi\r\n7;ext=1\r\non=Desc\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut reader = &raw[..];
        let body = read_chunked(&mut reader).ok().expect("decodes");
        assert_eq!(body, b"Action=Desc");
        assert_eq!(reader, b"NEXT");
        let mut bad = &b"zz\r\n"[..];
        assert!(matches!(read_chunked(&mut bad), Err(HeadError::Bad(_))));
    }

    #[test]
    fn upstream_must_be_loopback_http() {
        assert_eq!(
            parse_upstream("http://127.0.0.1:5000").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 5000))
        );
        assert!(parse_upstream("http://127.0.0.1:5000/").is_ok());
        assert!(parse_upstream("http://localhost:5000").is_ok());
        assert!(parse_upstream("http://[::1]:5000").is_ok());
        assert!(parse_upstream("https://127.0.0.1:5000").is_err());
        assert!(parse_upstream("http://10.0.0.1:5000").is_err());
        assert!(parse_upstream("http://ec2.amazonaws.com:80").is_err());
        assert!(parse_upstream("http://127.0.0.1:5000/x").is_err());
        assert!(parse_upstream("http://127.0.0.1").is_err());
    }

    #[test]
    fn error_bodies_use_each_services_format() {
        let ec2 = error_answer(&Fault::Throttle, Service::Ec2, "rid");
        assert_eq!(ec2.status, 503);
        assert!(ec2.body.contains(
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>rid</RequestID></Response>"
        ));
        let sts = error_answer(&Fault::Throttle, Service::Sts, "rid");
        assert_eq!(sts.status, 400);
        assert!(sts.body.starts_with("<ErrorResponse"));
        assert!(sts.body.contains("<Code>Throttling</Code>"));
        assert_eq!(
            error_answer(&Fault::InternalError, Service::Ec2, "r").status,
            500
        );
        assert!(error_answer(&Fault::ServiceUnavailable, Service::Ec2, "r")
            .body
            .contains("<Code>Unavailable</Code>"));
    }
}
