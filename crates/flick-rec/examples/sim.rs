//! `cargo run --release -p flick-rec --example sim -- [seed]`
fn main() {
    let seed = std::env::args()
        .nth(1)
        .map_or(7, |s| s.parse().expect("seed"));
    let cfg = flick_rec::sim::SimConfig {
        seed,
        ..Default::default()
    };
    let (_, table) = flick_rec::sim::compare(&cfg);
    print!("{table}");
}
