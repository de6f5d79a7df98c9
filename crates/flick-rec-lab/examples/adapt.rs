//! `cargo run --release -p flick-rec-lab --example adapt -- [seed] [--no-labels] [--swipes N] [--rounds N] [--trials N] [--config JSON]`
//!
//! The new-user trial behind the behaviour tests: the favourite topic's
//! share of a new user's first page and of the next, split by how many
//! clips of the first page they finished.
fn main() {
    let mut cfg = flick_rec_lab::sim::SimConfig {
        seed: 11,
        users: 120,
        videos: 2_000,
        swipes: 40,
        ..Default::default()
    };
    let mut config = flick_rec::Config::default();
    let (mut swipes, mut rounds, mut trials) = (5, 3, 30);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || args.next().and_then(|s| s.parse().ok()).expect("a number");
        match a.as_str() {
            "--no-labels" => cfg.labels = false,
            "--swipes" => swipes = number(),
            "--rounds" => rounds = number(),
            "--trials" => trials = number(),
            "--config" => {
                config = flick_rec_lab::patched(&args.next().expect("--config takes JSON"))
                    .expect("--config");
            }
            seed => cfg.seed = seed.parse().expect("a seed"),
        }
    }
    let a = flick_rec_lab::sim::adaptation(&cfg, config, rounds, swipes, trials);
    println!(
        "seed {} {}: favourite share {:.2} on the first {swipes}, {:.2} on the next page ({:.2} after a finish)",
        cfg.seed,
        if cfg.labels { "labels" } else { "no labels" },
        a.before,
        a.after,
        a.after_a_finish()
    );
    for (k, (users, fav, n)) in a.by_finished.iter().enumerate() {
        println!(
            "  finished {k}{}: {users} users, next page share {:.2}",
            if k == 3 { "+" } else { "" },
            *fav as f64 / (*n).max(1) as f64
        );
    }
}
