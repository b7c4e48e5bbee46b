//! Behaviour of the save schedule in virtual time (figures are printed by `prism-sim`).

use prism_sim::{simulate, Model, Ordering};

#[test]
fn downtime_does_not_grow_with_volume_or_copies_and_beats_the_seed_ordering() {
    let m = Model::default();
    let small = simulate(&m, 8, 0, Ordering::Prism);
    let big = simulate(&m, 1000, 5, Ordering::Prism);
    let seeds = simulate(&m, 1000, 5, Ordering::Seeds);
    let floor = m.stop + m.start;
    for o in [&small, &big] {
        assert!(
            o.downtime >= floor,
            "downtime {:?} below stop+start",
            o.downtime
        );
    }
    // Downtime is stop + snapshot start + start (+ polling), whatever the size and copies.
    let diff = big.downtime.abs_diff(small.downtime);
    assert!(
        diff.as_secs() < 10,
        "downtime depends on size/copies: {:?} vs {:?}",
        small.downtime,
        big.downtime
    );
    // The seeds' ordering keeps the workstation down through the image wait and the copies.
    assert!(seeds.downtime > big.downtime + m.critical_path(1000, 5) - m.stop - m.start - m.start);
}

#[test]
fn copies_run_in_parallel() {
    let m = Model::default();
    let two = simulate(&m, 100, 2, Ordering::Prism);
    let five = simulate(&m, 100, 5, Ordering::Prism);
    let one_copy = m.copy_base + m.copy_per_gb * 100;
    assert!(
        five.all_available < two.all_available + one_copy / 2,
        "{:?} vs {:?}",
        five.all_available,
        two.all_available
    );
}
