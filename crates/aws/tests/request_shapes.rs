//! Request shapes at the SDK boundary for the EC2 calls moto 5.2 does not implement (image
//! deprecation, `DeleteTags` as Prism sends it, `DescribeImages` asking for deprecated
//! images): the real SDK client talks to a recording HTTP server on 127.0.0.1, which answers
//! with canned EC2 XML. EC2 is a query protocol, so each request is one form body
//! (`Action=…&ImageId=…`), asserted here parameter by parameter.

use prism_aws::AwsCloudFactory;
use prism_cloud::{CloudFactory, ImageQuery};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Recorded = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// `%XX` and `+` decoding of one form component.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The canned answer to `action`.
fn answer(action: &str) -> String {
    const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
    let inner = match action {
        "DescribeImages" => "<imagesSet><item><imageId>ami-1</imageId>\
            <architecture>x86_64</architecture><imageState>available</imageState>\
            <deprecationTime>2030-01-01T00:00:00.000Z</deprecationTime>\
            <deregistrationProtection>enabled-with-cooldown</deregistrationProtection>\
            </item></imagesSet>"
            .to_string(),
        "ListImagesInRecycleBin" => "<imageSet><item><imageId>ami-1</imageId>\
            <recycleBinExitTime>2030-01-08T00:00:00.000Z</recycleBinExitTime></item></imageSet>"
            .to_string(),
        "CopyImage" => "<imageId>ami-2</imageId>".to_string(),
        "ListSnapshotsInRecycleBin" => "<snapshotSet><item><snapshotId>snap-1</snapshotId>\
            <recycleBinExitTime>2030-01-09T00:00:00.000Z</recycleBinExitTime>\
            <description>Created by CreateImage(i-1) for ami-1</description></item></snapshotSet>"
            .to_string(),
        "CreateReplaceRootVolumeTask" => "<replaceRootVolumeTask>\
            <replaceRootVolumeTaskId>replacevol-1</replaceRootVolumeTaskId>\
            <instanceId>i-1</instanceId><taskState>pending</taskState>\
            <imageId>ami-2</imageId><deleteReplacedRootVolume>false</deleteReplacedRootVolume>\
            </replaceRootVolumeTask>"
            .to_string(),
        "DescribeReplaceRootVolumeTasks" => "<replaceRootVolumeTaskSet><item>\
            <replaceRootVolumeTaskId>replacevol-1</replaceRootVolumeTaskId>\
            <instanceId>i-1</instanceId><taskState>succeeded</taskState>\
            <imageId>ami-2</imageId><deleteReplacedRootVolume>false</deleteReplacedRootVolume>\
            </item></replaceRootVolumeTaskSet>"
            .to_string(),
        "DescribeVolumes" => "<volumeSet><item><volumeId>vol-1</volumeId><size>8</size>\
            <snapshotId>snap-1</snapshotId><status>in-use</status>\
            <attachmentSet><item><volumeId>vol-1</volumeId><instanceId>i-1</instanceId>\
            <device>/dev/xvda</device><status>attached</status></item></attachmentSet>\
            </item></volumeSet>"
            .to_string(),
        _ => "<return>true</return>".to_string(),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NS}\">\
         <requestId>req-1</requestId>{inner}</{action}Response>"
    )
}

/// Serves HTTP/1.1 on a free loopback port, recording every request's form; keeps
/// connections alive as the SDK expects.
async fn recording_server() -> (String, Recorded) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let recorded: Recorded = Arc::default();
    let rec = recorded.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                    buf.drain(..head_end + len);
                    let f = form(&body);
                    let action = f.get("Action").cloned().unwrap_or_default();
                    rec.lock().unwrap().push(f);
                    let xml = answer(&action);
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{xml}",
                        xml.len()
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, recorded)
}

fn take(recorded: &Recorded, action: &str) -> BTreeMap<String, String> {
    let all = recorded.lock().unwrap();
    all.iter()
        .find(|f| f.get("Action").map(String::as_str) == Some(action))
        .cloned()
        .unwrap_or_else(|| panic!("no {action} request among {all:?}"))
}

#[tokio::test]
async fn deprecation_and_protection_calls_send_what_ec2_documents() {
    let (endpoint, recorded) = recording_server().await;
    let cloud = AwsCloudFactory::with_endpoint(&endpoint)
        .await
        .cloud(None)
        .await
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    cloud
        .enable_image_deprecation("us-east-1", "ami-1", at)
        .await
        .unwrap();
    let f = take(&recorded, "EnableImageDeprecation");
    assert_eq!(f["ImageId"], "ami-1", "{f:?}");
    assert_eq!(f["DeprecateAt"], "2030-01-01T00:00:00Z", "{f:?}");

    cloud
        .disable_image_deprecation("us-east-1", "ami-1")
        .await
        .unwrap();
    let f = take(&recorded, "DisableImageDeprecation");
    assert_eq!(f["ImageId"], "ami-1", "{f:?}");
    assert_eq!(f.len(), 3, "Action, Version, ImageId only: {f:?}");

    cloud
        .delete_tags(
            "us-east-1",
            &["ami-1".to_string()],
            &[
                "prism:deprecated".to_string(),
                "prism:replacement".to_string(),
            ],
        )
        .await
        .unwrap();
    let f = take(&recorded, "DeleteTags");
    assert_eq!(f["ResourceId.1"], "ami-1", "{f:?}");
    assert_eq!(f["Tag.1.Key"], "prism:deprecated", "{f:?}");
    assert_eq!(f["Tag.2.Key"], "prism:replacement", "{f:?}");
    assert!(
        !f.keys().any(|k| k.ends_with(".Value")),
        "a key-only DeleteTags removes the tag whatever its value: {f:?}"
    );

    cloud
        .enable_deregistration_protection("us-east-1", "ami-1", true)
        .await
        .unwrap();
    let f = take(&recorded, "EnableImageDeregistrationProtection");
    assert_eq!(f["ImageId"], "ami-1", "{f:?}");
    assert_eq!(f["WithCooldown"], "true", "{f:?}");
    cloud
        .disable_deregistration_protection("us-east-1", "ami-1")
        .await
        .unwrap();
    let f = take(&recorded, "DisableImageDeregistrationProtection");
    assert_eq!(f["ImageId"], "ami-1", "{f:?}");
    assert!(!f.contains_key("WithCooldown"), "{f:?}");

    let kept = cloud
        .images_in_recycle_bin("us-east-1", &["ami-1".to_string(), "ami-2".to_string()])
        .await
        .unwrap();
    let f = take(&recorded, "ListImagesInRecycleBin");
    assert_eq!(f["ImageId.1"], "ami-1", "{f:?}");
    assert_eq!(f["ImageId.2"], "ami-2", "{f:?}");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].image_id, "ami-1");
    assert_eq!(kept[0].exit_time.as_deref(), Some("2030-01-08T00:00:00Z"));

    let images = cloud
        .describe_images(
            "us-east-1",
            &ImageQuery {
                ids: vec!["ami-1".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let f = take(&recorded, "DescribeImages");
    assert_eq!(f["ImageId.1"], "ami-1", "{f:?}");
    assert_eq!(f["IncludeDeprecated"], "true", "{f:?}");
    assert_eq!(
        images[0].deprecation_time.as_deref(),
        Some("2030-01-01T00:00:00.000Z")
    );
    assert_eq!(
        images[0].deregistration_protection.as_deref(),
        Some("enabled-with-cooldown")
    );
    assert!(images[0].deregistration_protected());
}

/// CopyImage sends `SnapshotCopyCompletionDurationMinutes` for a time-based copy (`--copy-within`;
/// CopyImage, EC2 API Reference), and leaves it out otherwise (a standard copy).
#[tokio::test]
async fn copy_image_sends_the_completion_duration_only_when_asked() {
    let (endpoint, recorded) = recording_server().await;
    let cloud = AwsCloudFactory::with_endpoint(&endpoint)
        .await
        .cloud(None)
        .await
        .unwrap();
    let mut req = prism_cloud::CopyImageRequest {
        source_region: "us-east-1".into(),
        source_image_id: "ami-1".into(),
        name: "saved-1".into(),
        description: "d".into(),
        client_token: "tok-1".into(),
        tags: Default::default(),
        kms_key_id: None,
        completion_duration_minutes: Some(90),
    };
    assert_eq!(cloud.copy_image("us-west-2", &req).await.unwrap(), "ami-2");
    req.completion_duration_minutes = None;
    req.client_token = "tok-2".into();
    assert_eq!(cloud.copy_image("us-west-2", &req).await.unwrap(), "ami-2");
    let copies: Vec<BTreeMap<String, String>> = recorded
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.get("Action").map(String::as_str) == Some("CopyImage"))
        .cloned()
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    let (timed, standard) = (&copies[0], &copies[1]);
    assert_eq!(timed["SourceImageId"], "ami-1", "{timed:?}");
    assert_eq!(timed["ClientToken"], "tok-1", "{timed:?}");
    assert_eq!(
        timed["SnapshotCopyCompletionDurationMinutes"], "90",
        "{timed:?}"
    );
    assert_eq!(standard["ClientToken"], "tok-2", "{standard:?}");
    assert!(
        !standard.contains_key("SnapshotCopyCompletionDurationMinutes"),
        "a standard copy sends no duration: {standard:?}"
    );
}

/// Recycle Bin restores (issue 13, item 4): moto has none of these calls.
#[tokio::test]
async fn recycle_bin_restores_send_what_ec2_documents() {
    let (endpoint, recorded) = recording_server().await;
    let cloud = AwsCloudFactory::with_endpoint(&endpoint)
        .await
        .cloud(None)
        .await
        .unwrap();
    let kept = cloud
        .snapshots_in_recycle_bin("us-east-1", &["snap-1".to_string(), "snap-2".to_string()])
        .await
        .unwrap();
    let f = take(&recorded, "ListSnapshotsInRecycleBin");
    assert_eq!(f["SnapshotId.1"], "snap-1", "{f:?}");
    assert_eq!(f["SnapshotId.2"], "snap-2", "{f:?}");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].snapshot_id, "snap-1");
    assert_eq!(kept[0].exit_time.as_deref(), Some("2030-01-09T00:00:00Z"));
    assert_eq!(
        kept[0].description.as_deref(),
        Some("Created by CreateImage(i-1) for ami-1")
    );

    cloud
        .restore_snapshot_from_recycle_bin("us-east-1", "snap-1")
        .await
        .unwrap();
    let f = take(&recorded, "RestoreSnapshotFromRecycleBin");
    assert_eq!(f["SnapshotId"], "snap-1", "{f:?}");

    cloud
        .restore_image_from_recycle_bin("us-east-1", "ami-1")
        .await
        .unwrap();
    let f = take(&recorded, "RestoreImageFromRecycleBin");
    assert_eq!(f["ImageId"], "ami-1", "{f:?}");
    assert_eq!(f.len(), 3, "Action, Version, ImageId only: {f:?}");
}

#[tokio::test]
async fn replace_root_volume_calls_send_what_ec2_documents() {
    let (endpoint, recorded) = recording_server().await;
    let cloud = AwsCloudFactory::with_endpoint(&endpoint)
        .await
        .cloud(None)
        .await
        .unwrap();
    let req = prism_cloud::ReplaceRootRequest {
        instance_id: "i-1".into(),
        image_id: "ami-2".into(),
        tags: prism_cloud::Tags::from([("prism:operation".to_string(), "op-1".to_string())]),
        client_token: "op-1".into(),
    };
    let task = cloud
        .create_replace_root_volume_task("us-east-1", &req)
        .await
        .unwrap();
    let f = take(&recorded, "CreateReplaceRootVolumeTask");
    assert_eq!(f["InstanceId"], "i-1", "{f:?}");
    assert_eq!(f["ImageId"], "ami-2", "{f:?}");
    assert_eq!(
        f["DeleteReplacedRootVolume"], "false",
        "the replaced root volume must be kept: {f:?}"
    );
    assert_eq!(f["ClientToken"], "op-1", "{f:?}");
    assert_eq!(
        f["TagSpecification.1.ResourceType"], "replace-root-volume-task",
        "{f:?}"
    );
    assert_eq!(
        f["TagSpecification.1.Tag.1.Key"], "prism:operation",
        "{f:?}"
    );
    assert_eq!(f["TagSpecification.1.Tag.1.Value"], "op-1", "{f:?}");
    assert!(!f.contains_key("SnapshotId"), "{f:?}");
    assert_eq!(task.id, "replacevol-1");
    assert_eq!(task.state, prism_cloud::ReplaceRootState::Pending);

    let tasks = cloud
        .describe_replace_root_volume_tasks(
            "us-east-1",
            &prism_cloud::ReplaceRootQuery {
                ids: vec!["replacevol-1".into()],
                instance_id: None,
            },
        )
        .await
        .unwrap();
    let f = take(&recorded, "DescribeReplaceRootVolumeTasks");
    assert_eq!(f["ReplaceRootVolumeTaskId.1"], "replacevol-1", "{f:?}");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, prism_cloud::ReplaceRootState::Succeeded);
    assert_eq!(tasks[0].image_id.as_deref(), Some("ami-2"));
    assert!(!tasks[0].delete_replaced_root_volume);

    let vols = cloud
        .describe_volumes(
            "us-east-1",
            &prism_cloud::VolumeQuery {
                ids: vec![],
                instance_id: Some("i-1".into()),
            },
        )
        .await
        .unwrap();
    let f = take(&recorded, "DescribeVolumes");
    assert_eq!(f["Filter.1.Name"], "attachment.instance-id", "{f:?}");
    assert_eq!(f["Filter.1.Value.1"], "i-1", "{f:?}");
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0].id, "vol-1");
    assert_eq!(vols[0].device.as_deref(), Some("/dev/xvda"));
    assert_eq!(vols[0].snapshot_id.as_deref(), Some("snap-1"));
}
