//! `FaultProxy` against a real moto, spoken to with hand-written HTTP/1.1 (no AWS SDK here).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use prism_testkit::{project_root, Fault, FaultPlan, FaultProxy, FaultRule, Moto};

const TIMEOUT: Duration = Duration::from_secs(15);
const EC2_VERSION: &str = "Version=2016-11-15";
/// moto routes on the signing scope and ignores the signature.
const EC2_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00";
const STS_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00";

fn describe_regions() -> String {
    format!("Action=DescribeRegions&{EC2_VERSION}")
}

/// An AMI of the project's fixture.
fn fixture_ami() -> String {
    let path = project_root().join("tests/fixtures/moto-amis.json");
    let text = std::fs::read_to_string(&path).expect("AMI fixture readable");
    let start = text.find("\"ami_id\"").expect("fixture has an ami_id") + "\"ami_id\"".len();
    let rest = &text[start..];
    let open = rest.find('"').expect("ami_id value") + 1;
    let close = open + rest[open..].find('"').expect("ami_id value ends");
    let ami = rest[open..close].to_string();
    assert!(ami.starts_with("ami-"), "{ami}");
    ami
}

fn run_instances(ami: &str) -> String {
    format!(
        "Action=RunInstances&{EC2_VERSION}&ImageId={ami}&MinCount=1&MaxCount=1&InstanceType=t3.micro"
    )
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// How an exchange ended when no answer came.
#[derive(Debug, PartialEq)]
enum NoReply {
    /// The connection was closed (EOF or reset) before a single byte of an answer.
    Closed,
    /// Anything else (partial answer, timeout…): a failure of the proxy.
    Broken(String),
}

/// A client connection, kept alive across requests.
struct Client {
    port: u16,
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client {
            port,
            stream,
            reader,
        }
    }

    fn send(&mut self, body: &str, auth: &str, extra: &str) {
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
             Authorization: {auth}\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            self.port,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).expect("send");
    }

    fn call_as(&mut self, body: &str, auth: &str, extra: &str) -> Result<Reply, NoReply> {
        self.send(body, auth, extra);
        read_reply(&mut self.reader)
    }

    fn call(&mut self, body: &str) -> Result<Reply, NoReply> {
        self.call_as(body, EC2_AUTH, "")
    }
}

/// One request on a fresh connection.
fn call_once(port: u16, body: &str) -> Result<Reply, NoReply> {
    Client::connect(port).call_as(body, EC2_AUTH, "Connection: close\r\n")
}

fn read_reply(reader: &mut BufReader<TcpStream>) -> Result<Reply, NoReply> {
    let mut status_line = String::new();
    match reader.read_line(&mut status_line) {
        Ok(0) => return Err(NoReply::Closed),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Err(NoReply::Closed),
        Err(e) => return Err(NoReply::Broken(format!("status line: {e}"))),
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| NoReply::Broken(format!("bad status line {status_line:?}")))?;
    let mut headers = String::new();
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| NoReply::Broken(format!("headers: {e}")))?;
        if line.is_empty() {
            return Err(NoReply::Broken("EOF in headers".into()));
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = Some(v.trim().parse::<usize>().unwrap());
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        headers.push_str(&line);
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader
            .read_exact(&mut body)
            .map_err(|e| NoReply::Broken(format!("body: {e}")))?;
    } else {
        reader
            .read_to_end(&mut body)
            .map_err(|e| NoReply::Broken(format!("body: {e}")))?;
    }
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn ok(reply: Result<Reply, NoReply>) -> Reply {
    let reply = reply.expect("an answer");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
}

fn always(actions: &[&str], fault: Fault) -> FaultPlan {
    FaultPlan::new(0, vec![FaultRule::new(actions, fault)])
}

#[test]
fn a_plan_without_rules_passes_requests_through() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::default());
    assert_eq!(proxy.endpoint, format!("http://127.0.0.1:{}", proxy.port));
    assert_ne!(proxy.port, moto.port);
    let reply = ok(call_once(proxy.port, &describe_regions()));
    assert!(reply.body.contains("<regionName>"), "{}", reply.body);
    assert!(
        !reply.headers.contains("X-Prism-Fault"),
        "{}",
        reply.headers
    );
    let stats = proxy.stats();
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.injected, 0);
    assert!(stats.by_fault.is_empty());
    assert_eq!(stats.requests_by_action.get("DescribeRegions"), Some(&1));
}

#[test]
fn throttle_answers_503_request_limit_exceeded_and_is_counted() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(&["DescribeRegions"], Fault::Throttle),
    );
    let mut client = Client::connect(proxy.port);
    let reply = client.call(&describe_regions()).expect("an answer");
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        reply
            .body
            .contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code>"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("<RequestID>"), "{}", reply.body);
    assert!(reply.headers.contains("X-Prism-Fault: Throttle"));
    // Another action on the same (kept-alive) connection is not throttled.
    let other = ok(client.call(&format!("Action=DescribeAvailabilityZones&{EC2_VERSION}")));
    assert!(other.body.contains("<zoneName>"), "{}", other.body);
    let stats = proxy.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.injected, 1);
    assert_eq!(stats.by_fault.get("Throttle"), Some(&1));
    assert_eq!(stats.by_action.get("DescribeRegions"), Some(&1));
    assert_eq!(stats.by_action.get("DescribeAvailabilityZones"), None);
    assert_eq!(
        stats.requests_by_action.get("DescribeAvailabilityZones"),
        Some(&1)
    );
}

#[test]
fn server_errors_and_set_plan() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, always(&[], Fault::InternalError));
    let mut client = Client::connect(proxy.port);
    let reply = client.call(&describe_regions()).unwrap();
    assert_eq!(reply.status, 500);
    assert!(
        reply.body.contains("<Code>InternalError</Code>"),
        "{}",
        reply.body
    );

    proxy.set_plan(always(&[], Fault::ServiceUnavailable));
    let reply = client.call(&describe_regions()).unwrap();
    assert_eq!(reply.status, 503);
    assert!(
        reply.body.contains("<Code>Unavailable</Code>"),
        "{}",
        reply.body
    );

    proxy.set_plan(FaultPlan::default());
    ok(client.call(&describe_regions()));

    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.injected), (3, 2));
    assert_eq!(stats.by_fault.get("InternalError"), Some(&1));
    assert_eq!(stats.by_fault.get("ServiceUnavailable"), Some(&1));
    proxy.reset_stats();
    assert_eq!(proxy.stats(), Default::default());
}

#[test]
fn sts_gets_sts_shaped_errors() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(&["GetCallerIdentity"], Fault::Throttle),
    );
    let mut client = Client::connect(proxy.port);
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let reply = client.call_as(body, STS_AUTH, "").unwrap();
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("<ErrorResponse"), "{}", reply.body);
    assert!(
        reply.body.contains("<Code>Throttling</Code>"),
        "{}",
        reply.body
    );
    proxy.set_plan(FaultPlan::default());
    let reply = ok(client.call_as(body, STS_AUTH, ""));
    assert!(reply.body.contains("<Arn>"), "{}", reply.body);
}

/// The statuses a client sees for `n` DescribeRegions on one connection.
fn outcomes(proxy: &FaultProxy, n: usize) -> Vec<u16> {
    let mut client = Client::connect(proxy.port);
    (0..n)
        .map(|_| client.call(&describe_regions()).expect("an answer").status)
        .collect()
}

#[test]
fn a_seed_gives_the_same_faults_every_time() {
    let moto = Moto::start();
    let plan = |seed| {
        FaultPlan::new(
            seed,
            vec![FaultRule::new(&["DescribeRegions"], Fault::Throttle).with_probability(0.5)],
        )
    };
    let a = FaultProxy::start(&moto.endpoint, plan(42));
    let b = FaultProxy::start(&moto.endpoint, plan(42));
    let first = outcomes(&a, 32);
    let second = outcomes(&b, 32);
    assert_eq!(first, second);
    let throttled = first.iter().filter(|&&s| s == 503).count();
    assert!(first.iter().all(|&s| s == 200 || s == 503), "{first:?}");
    assert!((4..=28).contains(&throttled), "{first:?}");
    assert_eq!(a.stats().injected, throttled as u64);
    // Another seed, another sequence; the same seed again after set_plan, the same one.
    let c = FaultProxy::start(&moto.endpoint, plan(7));
    assert_ne!(outcomes(&c, 32), first);
    c.set_plan(plan(42));
    assert_eq!(outcomes(&c, 32), first);
}

#[test]
fn max_count_stops_injecting_after_n() {
    let moto = Moto::start();
    let plan = FaultPlan::new(
        1,
        vec![FaultRule::new(&["DescribeRegions"], Fault::InternalError).with_max_count(2)],
    );
    let proxy = FaultProxy::start(&moto.endpoint, plan);
    assert_eq!(outcomes(&proxy, 5), vec![500, 500, 200, 200, 200]);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.injected), (5, 2));
}

fn describe_instances_direct(moto: &Moto) -> String {
    let reply = ok(call_once(
        moto.port,
        &format!("Action=DescribeInstances&{EC2_VERSION}"),
    ));
    reply.body
}

#[test]
fn connection_reset_closes_without_answer_and_the_server_never_acts() {
    let moto = Moto::start();
    let ami = fixture_ami();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(&["RunInstances"], Fault::ConnectionReset),
    );
    let mut client = Client::connect(proxy.port);
    assert_eq!(
        client.call(&run_instances(&ami)).unwrap_err(),
        NoReply::Closed
    );
    assert!(
        !describe_instances_direct(&moto).contains("<instanceId>"),
        "the request must not have reached moto"
    );
    let stats = proxy.stats();
    assert_eq!(stats.by_fault.get("ConnectionReset"), Some(&1));
    assert_eq!(stats.by_action.get("RunInstances"), Some(&1));
    // The proxy itself keeps serving.
    ok(call_once(proxy.port, &describe_regions()));
}

#[test]
fn response_lost_drops_the_answer_but_the_server_acted() {
    let moto = Moto::start();
    let ami = fixture_ami();
    assert!(!describe_instances_direct(&moto).contains("<instanceId>"));
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(&["RunInstances"], Fault::ResponseLost),
    );
    let mut client = Client::connect(proxy.port);
    assert_eq!(
        client.call(&run_instances(&ami)).unwrap_err(),
        NoReply::Closed
    );
    let instances = describe_instances_direct(&moto);
    assert!(instances.contains("<instanceId>i-"), "{instances}");
    assert!(instances.contains(&ami), "{instances}");
    assert_eq!(proxy.stats().by_fault.get("ResponseLost"), Some(&1));
}

/// moto's answer to `body` (EC2, signed for `region`), around the proxy.
fn direct(moto: &Moto, region: &str, body: &str) -> String {
    let auth = EC2_AUTH.replace("us-east-1", region);
    let mut client = Client::connect(moto.port);
    ok(client.call_as(body, &auth, "Connection: close\r\n")).body
}

/// Every value of `<tag>` in an XML answer, in order.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}

fn own_image_names(moto: &Moto, region: &str) -> Vec<String> {
    let body = direct(
        moto,
        region,
        &format!("Action=DescribeImages&{EC2_VERSION}&Owner.1=self"),
    );
    xml_values(&body, "name")
}

#[test]
fn the_first_call_of_each_non_idempotent_action_loses_its_answer_exactly_once() {
    let moto = Moto::start();
    let ami = fixture_ami();
    let actions = [
        "RunInstances",
        "CreateImage",
        "CopyImage",
        "ModifyImageAttribute",
    ];
    // Random faults besides, on another action: both modes work together.
    let plan = FaultPlan::new(
        3,
        vec![FaultRule::new(&["DescribeRegions"], Fault::Throttle).with_max_count(1)],
    )
    .losing_first_response_of(&actions);
    let proxy = FaultProxy::start(&moto.endpoint, plan);
    let west_auth = EC2_AUTH.replace("us-east-1", "us-west-2");
    let instances = |moto: &Moto| {
        xml_values(
            &direct(
                moto,
                "us-east-1",
                &format!("Action=DescribeInstances&{EC2_VERSION}"),
            ),
            "instanceId",
        )
    };

    // RunInstances: moto runs the instance, the client gets no answer; the next call is answered.
    let mut client = Client::connect(proxy.port);
    assert_eq!(
        client.call(&run_instances(&ami)).unwrap_err(),
        NoReply::Closed
    );
    let after_lost = instances(&moto);
    assert_eq!(after_lost.len(), 1, "the server acted: {after_lost:?}");
    let mut client = Client::connect(proxy.port);
    let second = ok(client.call(&run_instances(&ami)));
    let id = xml_values(&second.body, "instanceId")
        .into_iter()
        .next()
        .expect("an instance id");
    assert_eq!(instances(&moto).len(), 2);

    // CreateImage: the image exists, though its id never reached the client.
    let create = |name: &str| {
        format!("Action=CreateImage&{EC2_VERSION}&InstanceId={id}&Name={name}&NoReboot=true")
    };
    assert_eq!(
        client.call(&create("lost-once-a")).unwrap_err(),
        NoReply::Closed
    );
    assert_eq!(own_image_names(&moto, "us-east-1"), vec!["lost-once-a"]);
    let mut client = Client::connect(proxy.port);
    let made = ok(client.call(&create("lost-once-b")));
    let image = xml_values(&made.body, "imageId")
        .into_iter()
        .next()
        .expect("an image id");

    // CopyImage (asked of the destination region): the copy exists in us-west-2.
    let copy = |name: &str| {
        format!(
            "Action=CopyImage&{EC2_VERSION}&SourceRegion=us-east-1&SourceImageId={image}&Name={name}"
        )
    };
    assert_eq!(
        client.call_as(&copy("copy-a"), &west_auth, "").unwrap_err(),
        NoReply::Closed
    );
    assert_eq!(own_image_names(&moto, "us-west-2"), vec!["copy-a"]);
    let mut client = Client::connect(proxy.port);
    ok(client.call_as(&copy("copy-b"), &west_auth, ""));
    let mut west = own_image_names(&moto, "us-west-2");
    west.sort();
    assert_eq!(west, vec!["copy-a", "copy-b"]);

    // ModifyImageAttribute: the image is public, though the client never heard so.
    let public = format!(
        "Action=ModifyImageAttribute&{EC2_VERSION}&ImageId={image}&LaunchPermission.Add.1.Group=all"
    );
    assert_eq!(client.call(&public).unwrap_err(), NoReply::Closed);
    let perms = direct(
        &moto,
        "us-east-1",
        &format!(
            "Action=DescribeImageAttribute&{EC2_VERSION}&ImageId={image}&Attribute=launchPermission"
        ),
    );
    assert_eq!(xml_values(&perms, "group"), vec!["all"], "{perms}");
    let mut client = Client::connect(proxy.port);
    ok(client.call(&public));

    // The random rule still applies; everything after the first calls is answered.
    assert_eq!(client.call(&describe_regions()).unwrap().status, 503);
    ok(client.call(&describe_regions()));
    ok(client.call(&run_instances(&ami)));
    ok(client.call(&create("lost-once-c")));

    let stats = proxy.stats();
    for a in actions {
        assert_eq!(stats.lost_first.get(a), Some(&1), "{a}: {stats:?}");
        assert_eq!(stats.lost_responses.get(a), Some(&1), "{a}: {stats:?}");
    }
    assert_eq!(stats.lost_first.len(), 4, "{stats:?}");
    assert_eq!(stats.by_fault.get("ResponseLost"), Some(&4));
    assert_eq!(stats.by_fault.get("Throttle"), Some(&1));
    assert_eq!(stats.injected, 5);
    assert_eq!(stats.requests_by_action.get("RunInstances"), Some(&3));
    assert_eq!(stats.requests_by_action.get("CreateImage"), Some(&3));

    // A new plan arms the mode again.
    proxy.set_plan(FaultPlan::default().losing_first_response_of(&["RunInstances"]));
    let mut client = Client::connect(proxy.port);
    assert_eq!(
        client.call(&run_instances(&ami)).unwrap_err(),
        NoReply::Closed
    );
    ok(Client::connect(proxy.port).call(&run_instances(&ami)));
    assert_eq!(instances(&moto).len(), 5);
    assert_eq!(proxy.stats().lost_first.get("RunInstances"), Some(&2));
}

#[test]
fn delay_holds_the_request_then_forwards_it() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(
            &["DescribeRegions"],
            Fault::Delay(Duration::from_millis(300)),
        ),
    );
    let mut client = Client::connect(proxy.port);
    let started = Instant::now();
    let reply = ok(client.call(&describe_regions()));
    let delayed = started.elapsed();
    assert!(reply.body.contains("<regionName>"), "{}", reply.body);
    assert!(delayed >= Duration::from_millis(300), "{delayed:?}");
    assert_eq!(proxy.stats().by_fault.get("Delay"), Some(&1));
}

/// An upstream that answers `200 ok` at once and reports when each request arrived.
fn stub_upstream() -> (String, std::sync::mpsc::Receiver<Instant>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (arrived, arrivals) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    if arrived.send(Instant::now()).is_err() {
                        return;
                    }
                    let _ = (&conn).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    break;
                }
            }
        }
    });
    (endpoint, arrivals)
}

#[test]
fn delay_reaches_the_server_late_and_nothing_else_is_delayed() {
    let (upstream, arrivals) = stub_upstream();
    let proxy = FaultProxy::start(
        &upstream,
        always(
            &["DescribeRegions"],
            Fault::Delay(Duration::from_millis(300)),
        ),
    );
    let mut client = Client::connect(proxy.port);
    // Not delayed: another action.
    let sent = Instant::now();
    ok(client.call(&format!("Action=DescribeImages&{EC2_VERSION}")));
    let arrived = arrivals.recv_timeout(TIMEOUT).unwrap();
    assert!(
        arrived - sent < Duration::from_millis(250),
        "{:?}",
        arrived - sent
    );
    // Delayed: reaches the server only after the delay.
    let sent = Instant::now();
    let reply = ok(client.call(&describe_regions()));
    let arrived = arrivals.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(reply.body, "ok");
    assert!(
        arrived - sent >= Duration::from_millis(300),
        "{:?}",
        arrived - sent
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::default());
    let mut client = Client::connect(proxy.port);
    let first = ok(client.call(&describe_regions()));
    let second = ok(client.call(&describe_regions()));
    assert!(first.body.contains("<regionName>") && second.body.contains("<regionName>"));
    // The client did not ask to close: the proxy says nothing of closing either.
    assert!(!first
        .headers
        .to_ascii_lowercase()
        .contains("connection: close"));
    // Pipelined: both requests written before either answer is read.
    client.send(&describe_regions(), EC2_AUTH, "");
    client.send(&describe_regions(), EC2_AUTH, "");
    ok(read_reply(&mut client.reader));
    ok(read_reply(&mut client.reader));
    assert_eq!(proxy.stats().requests, 4);
    // Asking to close is honoured: the answer says so, then EOF.
    let last = ok(client.call_as(&describe_regions(), EC2_AUTH, "Connection: close\r\n"));
    assert!(last
        .headers
        .to_ascii_lowercase()
        .contains("connection: close"));
    assert_eq!(read_reply(&mut client.reader).unwrap_err(), NoReply::Closed);
}

#[test]
fn chunked_request_bodies_are_forwarded() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::default());
    let mut client = Client::connect(proxy.port);
    let body = describe_regions();
    let (a, b) = body.split_at(10);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: {EC2_AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    client.stream.write_all(request.as_bytes()).unwrap();
    let reply = ok(read_reply(&mut client.reader));
    assert!(reply.body.contains("<regionName>"), "{}", reply.body);
    assert_eq!(
        proxy.stats().requests_by_action.get("DescribeRegions"),
        Some(&1)
    );
    // An unsupported coding is refused loudly.
    let mut client = Client::connect(proxy.port);
    client
        .stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut client.reader).unwrap().status, 501);
}

#[test]
fn an_unreachable_upstream_gets_a_502() {
    // A port nothing listens on: bind, read it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = FaultProxy::start(&format!("http://127.0.0.1:{port}"), FaultPlan::default());
    assert_eq!(
        call_once(proxy.port, &describe_regions()).unwrap().status,
        502
    );
}

#[test]
#[should_panic(expected = "loopback")]
fn a_non_loopback_upstream_is_refused() {
    let _ = FaultProxy::start("http://192.0.2.1:80", FaultPlan::default());
}

#[test]
fn dropping_the_proxy_closes_its_connections_and_port() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::default());
    let port = proxy.port;
    let mut idle = Client::connect(port);
    ok(idle.call(&describe_regions()));
    // A request held in a long delay must not hold up the drop either.
    proxy.set_plan(always(&[], Fault::Delay(Duration::from_secs(60))));
    let mut delayed = Client::connect(port);
    delayed.send(&describe_regions(), EC2_AUTH, "");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(proxy);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read_reply(&mut idle.reader).unwrap_err(), NoReply::Closed);
    assert_eq!(
        read_reply(&mut delayed.reader).unwrap_err(),
        NoReply::Closed
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_tokio_runtime() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        always(&["DescribeRegions"], Fault::Throttle),
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", proxy.port))
        .await
        .unwrap();
    let body = describe_regions();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {EC2_AUTH}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("RequestLimitExceeded"));
    // Dropped inside the runtime, on the runtime's only thread.
    drop(proxy);
}
