//! `cargo run --release -p flick-rec-lab --example sim -- [seed]`
fn main() {
    let seed = std::env::args()
        .nth(1)
        .map_or(7, |s| s.parse().expect("seed"));
    let cfg = flick_rec_lab::sim::SimConfig {
        seed,
        ..Default::default()
    };
    let (_, table) = flick_rec_lab::sim::compare(&cfg);
    print!("{table}");
}
