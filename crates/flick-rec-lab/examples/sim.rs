//! `cargo run --release -p flick-rec-lab --example sim -- [seed] [--no-labels] [--config JSON]`
//!
//! `--config` replaces fields of the production configuration (JSON shaped
//! like it), to try a change on the tuning seeds before it ships.
fn main() {
    let mut cfg = flick_rec_lab::sim::SimConfig::default();
    let mut config = flick_rec::Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-labels" => cfg.labels = false,
            "--config" => {
                config = flick_rec_lab::patched(&args.next().expect("--config takes JSON"))
                    .expect("--config");
            }
            seed => cfg.seed = seed.parse().expect("a seed"),
        }
    }
    let (_, table) = flick_rec_lab::sim::compare_with(&cfg, &config);
    print!("{table}");
}
