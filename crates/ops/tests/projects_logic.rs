//! `project cost`'s compute figures and the budget gate, on the fake cloud: hours come from
//! Prism's running periods (only this month's part, only the project's), priced from the dated
//! table; an unknown type is reported, not counted as free; launch/save are refused past the
//! budget unless `over_budget`, and warned from 80%.

mod common;

use chrono::{DateTime, Datelike, Duration, Utc};
use common::{Rig, REGION};
use prism_api::ProjectCreateRequest;
use prism_cloud::fake::FakeTimings;
use prism_ops::OpsError;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Hours of [start, stop] inside [month, now].
fn overlap(
    start: DateTime<Utc>,
    stop: DateTime<Utc>,
    month: DateTime<Utc>,
    now: DateTime<Utc>,
) -> f64 {
    let (a, b) = (start.max(month), stop.min(now));
    ((b - a).num_milliseconds() as f64 / 3_600_000.0).max(0.0)
}

/// (name, type, project, start, stop) of one running period.
type Run = (
    &'static str,
    &'static str,
    &'static str,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

async fn rig_with_runs() -> (Rig, f64, f64) {
    let rig = Rig::new(FakeTimings::default());
    prism_ops::projects::create(
        &rig.env,
        &ProjectCreateRequest {
            name: "lab".into(),
            budget_usd_per_month: Some(1.0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let now = prism_ops::clock::now();
    let month = now
        .date_naive()
        .with_day(1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let h = Duration::hours;
    let runs: Vec<Run> = vec![
        ("a", "t3.large", "lab", now - h(3), Some(now - h(1))),
        ("a", "t3.large", "lab", now - Duration::minutes(30), None),
        ("b", "x9.huge", "lab", now - h(1), Some(now)),
        ("c", "t3.large", "other", now - h(5), None),
        ("d", "t3.small", "lab", month - h(48), None),
        ("e", "t3.large", "lab", month - h(240), Some(month - h(120))),
    ];
    let sql: String = runs
        .iter()
        .map(|(n, t, p, a, b)| {
            format!(
                "INSERT INTO workstation_runs (name, instance_type, project, region, started_at, stopped_at) \
                 VALUES ('{n}', '{t}', '{p}', '{REGION}', '{}', {});",
                ts(*a),
                b.map(|b| format!("'{}'", ts(b))).unwrap_or("NULL".into())
            )
        })
        .collect();
    rig.env
        .store
        .call(move |c| c.execute_batch(&sql))
        .await
        .unwrap();
    let a_hours = overlap(now - h(3), now - h(1), month, now)
        + overlap(now - Duration::minutes(30), now, month, now);
    let d_hours = overlap(month - h(48), now, month, now);
    (rig, a_hours, d_hours)
}

#[tokio::test]
async fn compute_counts_this_months_running_hours_of_the_project_at_dated_prices() {
    let (rig, a_hours, d_hours) = rig_with_runs().await;
    let cost = prism_ops::projects::cost(&rig.env, &rig.catalogue(), "lab", None, Some(REGION))
        .await
        .unwrap();
    let by = |n: &str| cost.compute.iter().find(|c| c.workstation == n);
    assert!(by("c").is_none(), "another project's workstation: {cost:?}");
    assert!(
        by("e").is_none(),
        "a period that ended last month: {cost:?}"
    );
    let a = by("a").unwrap();
    assert!((a.hours - a_hours).abs() < 0.01, "{a:?} vs {a_hours}");
    assert!(a.running, "its last period is open");
    assert_eq!(a.usd_per_hour, Some(0.0832));
    let a_usd = (a_hours * 0.0832 * 100.0).round() / 100.0;
    assert!((a.usd.unwrap() - a_usd).abs() < 0.011, "{a:?}");
    let d = by("d").unwrap();
    assert!(
        (d.hours - d_hours).abs() < 0.01,
        "clipped at the 1st: {d:?} vs {d_hours}"
    );
    let b = by("b").unwrap();
    assert_eq!((b.usd_per_hour, b.usd), (None, None), "unknown, not free");
    assert_eq!(cost.compute_unknown_types, vec!["x9.huge"]);
    let known = a.usd.unwrap() + d.usd.unwrap();
    assert!(
        (cost.compute_usd_this_month - known).abs() < 0.011,
        "{cost:?}"
    );
    assert!(
        (cost.total_usd - cost.compute_usd_this_month - cost.storage_usd_per_month).abs() < 0.011
    );
    let pct = cost.budget_used_percent.unwrap();
    assert!(
        (pct - cost.total_usd * 100.0).abs() < 0.1,
        "budget 1 USD: {cost:?}"
    );
    assert!(cost.price_list.contains("as of 2024-06"));
}

#[tokio::test]
async fn the_budget_gate_refuses_past_100_percent_and_warns_from_80() {
    let (rig, _, _) = rig_with_runs().await;
    let cat = rig.catalogue();
    let total = prism_ops::projects::cost(&rig.env, &cat, "lab", None, Some(REGION))
        .await
        .unwrap()
        .total_usd;
    assert!(total > 0.0);
    let set = |b: f64| {
        let env = rig.env.clone();
        async move {
            prism_ops::projects::update(
                &env,
                "lab",
                &prism_api::ProjectUpdateRequest {
                    budget_usd_per_month: Some(b),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
    };
    let check =
        |over: bool| prism_ops::projects::budget_check(&rig.env, &cat, "lab", None, REGION, over);

    set(total / 2.0).await;
    match check(false).await {
        Err(OpsError::Invalid { message, hint }) => {
            assert!(
                message.contains("project 'lab' is over budget"),
                "{message}"
            );
            assert!(message.contains("(200.0%)"), "{message}");
            assert!(hint.unwrap().contains("--over-budget"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let w = check(true).await.unwrap();
    assert!(
        w.unwrap().contains("has used"),
        "--over-budget: a warning, not a refusal"
    );

    set(total / 0.9).await;
    let w = check(false).await.unwrap();
    assert!(w.unwrap().contains("project 'lab' has used"));

    set(total * 2.0).await;
    assert_eq!(check(false).await.unwrap(), None, "50%: nothing to say");
}

#[tokio::test]
async fn an_update_reports_only_real_changes_and_refuses_contradictions() {
    let rig = Rig::new(FakeTimings::default());
    prism_ops::projects::create(
        &rig.env,
        &ProjectCreateRequest {
            name: "lab".into(),
            description: Some("old".into()),
            accounts: vec!["111122223333".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let update = |req: prism_api::ProjectUpdateRequest| {
        let env = rig.env.clone();
        async move { prism_ops::projects::update(&env, "lab", &req).await }
    };
    let u = update(prism_api::ProjectUpdateRequest {
        add_accounts: vec!["111122223333".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(u.changes.is_empty(), "already a member: {:?}", u.changes);
    let u = update(prism_api::ProjectUpdateRequest {
        description: Some(String::new()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(u.changes, vec!["description removed"]);
    assert_eq!(u.project.description, None);
    let err = update(prism_api::ProjectUpdateRequest {
        add_accounts: vec!["444455556666".into()],
        remove_accounts: vec!["444455556666".into()],
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("both added and removed"), "{err}");
    let err = update(prism_api::ProjectUpdateRequest {
        add_accounts: vec!["444455556666".into()],
        budget_usd_per_month: Some(-3.0),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not a positive amount"), "{err}");
    let p = prism_ops::projects::get(&rig.env, "lab").await.unwrap();
    assert_eq!(
        p.accounts,
        vec!["111122223333"],
        "a refused update writes nothing"
    );
}
