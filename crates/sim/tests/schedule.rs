//! Behaviour of the save schedule in virtual time, on EC2 as documented unless said otherwise
//! (figures, and the ≤ 1.10 × (stop + start) target, are printed by `prism-sim`).

use prism_sim::{simulate, simulate_copy_within, simulate_on, Ec2, Model, Ordering};
use std::time::Duration;

/// Less than one poll of the workstation's state (1–3 s): "the same downtime".
const SAME: Duration = Duration::from_secs(3);

#[test]
fn downtime_does_not_grow_with_volume_or_copies() {
    let m = Model::default();
    let small = simulate(&m, 8, 0, Ordering::Prism);
    let big = simulate(&m, 1000, 5, Ordering::Prism);
    for o in [&small, &big] {
        assert!(o.succeeded(), "{:?}", o.failure);
        // EC2 needs the stop, the snapshots' start and the start: nothing is skipped.
        assert!(
            o.downtime >= m.stop + m.snapshot_init + m.start,
            "downtime {:?} below stop + snapshot start + start",
            o.downtime
        );
    }
    assert!(
        big.downtime.abs_diff(small.downtime) < SAME,
        "downtime depends on size/copies: {:?} vs {:?}",
        small.downtime,
        big.downtime
    );
}

#[test]
fn downtime_does_not_depend_on_how_long_the_image_takes() {
    // The workstation restarts once the snapshots exist, whether the image then takes three
    // minutes or three hours to be available (EC2 shows its snapshot ids only then).
    let quick = Model {
        image_base: Duration::from_secs(60),
        image_per_gb: Duration::ZERO,
        ..Model::default()
    };
    let slow = Model {
        image_base: Duration::from_secs(3 * 3600),
        ..quick
    };
    let q = simulate(&quick, 100, 0, Ordering::Prism);
    let s = simulate(&slow, 100, 0, Ordering::Prism);
    assert!(q.succeeded() && s.succeeded());
    assert!(
        q.downtime.abs_diff(s.downtime) < SAME,
        "{:?} vs {:?}",
        q.downtime,
        s.downtime
    );
    assert!(s.downtime < slow.image_time(100));
}

#[test]
fn beats_the_save_before_issue_9_and_the_seed_ordering() {
    let m = Model::default();
    // An image available within the old snapshot wait's 10 minutes: the old wait kept the
    // workstation stopped until the image was available.
    let after = simulate(&m, 8, 2, Ordering::Prism);
    let before = simulate(&m, 8, 2, Ordering::ImageSnapshotIds);
    let seeds = simulate(&m, 8, 2, Ordering::Seeds);
    assert!(after.succeeded() && before.succeeded() && seeds.succeeded());
    assert!(before.downtime > m.stop + m.image_time(8) + m.start);
    assert!(after.downtime + m.image_time(8) - m.snapshot_init < before.downtime);
    // The seeds' ordering keeps it down through the image and a copy too.
    assert!(seeds.downtime > m.stop + m.image_time(8) + m.copy_time(8) + m.start);
    assert!(after.downtime < seeds.downtime);

    // A bigger image: the old wait gave up (its 10-minute deadline) and unwound the save,
    // after keeping the workstation stopped all that time.
    let after = simulate(&m, 1000, 0, Ordering::Prism);
    let before = simulate(&m, 1000, 0, Ordering::ImageSnapshotIds);
    assert!(after.succeeded());
    assert!(!before.succeeded(), "the old wait outlasted its deadline");
    assert!(before.downtime > Duration::from_secs(600) && after.downtime < before.downtime);
}

#[test]
fn documented_ec2_costs_only_seconds_over_a_lenient_one() {
    let m = Model::default();
    let lenient = simulate_on(&m, 100, 2, Ordering::Prism, Ec2::Lenient);
    let documented = simulate(&m, 100, 2, Ordering::Prism);
    assert!(lenient.succeeded() && documented.succeeded());
    assert!(lenient.downtime <= documented.downtime);
    // What EC2 adds is its refusal of CreateImage right after the stop and a short
    // consistency window: seconds, not the image's minutes.
    assert!(documented.downtime - lenient.downtime < m.image_base / 10);
}

#[test]
fn copies_run_in_parallel() {
    let m = Model::default();
    let two = simulate(&m, 100, 2, Ordering::Prism);
    let five = simulate(&m, 100, 5, Ordering::Prism);
    let one_copy = m.copy_time(100);
    assert!(
        five.all_available < two.all_available + one_copy / 2,
        "{:?} vs {:?}",
        five.all_available,
        two.all_available
    );
}

/// `--copy-within`: the real save saga against the fake, whose time-based copies become
/// available after min(copy time, duration) (EBS "Time-based copies"). The saga ends only once
/// it has seen every copy available as the fake reports it, so its end shows when the fake made
/// the copies available.
#[test]
fn time_based_copies_make_every_region_ready_within_the_duration() {
    let m = Model::default();
    let gb = 1000; // a standard copy takes 300 s + 12 s/GiB: 3 h 25 min
    let within = Duration::from_secs(3600);
    let standard = simulate_copy_within(&m, gb, 2, None);
    let timed = simulate_copy_within(&m, gb, 2, Some(60));
    assert!(standard.succeeded(), "{:?}", standard.failure);
    assert!(timed.succeeded(), "{:?}", timed.failure);
    // Copies start once the image is available (after the stop and the image time).
    let copies_start = m.stop + m.image_time(gb);
    // The copy wait polls at most every 10 minutes (OpsConfig::copy_wait).
    let poll = Duration::from_secs(600) + SAME;
    assert!(
        timed.save_finished >= copies_start + within,
        "a time-based copy is not ready before its duration's end here (the standard copy is slower): {:?}",
        timed.save_finished
    );
    assert!(
        timed.save_finished <= copies_start + within + poll + Duration::from_secs(60),
        "ready within the duration: {:?} > {:?}",
        timed.save_finished,
        copies_start + within
    );
    assert!(
        standard.save_finished >= copies_start + m.copy_time(gb),
        "{:?}",
        standard.save_finished
    );
    assert!(timed.all_available < standard.all_available);
    // Downtime does not change: copies happen after the restart.
    assert!(timed.downtime.abs_diff(standard.downtime) < SAME);

    // A duration longer than the standard copy changes nothing.
    let small = simulate_copy_within(&m, 8, 2, Some(60));
    let small_standard = simulate_copy_within(&m, 8, 2, None);
    assert_eq!(small.all_available, small_standard.all_available);
}
