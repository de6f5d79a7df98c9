//! `cargo run --release -p flick-rec-lab --example bench -- [videos] [users] [events_per_user] [requests]`
fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("numbers"))
        .collect();
    let get = |i: usize, d: usize| a.get(i).copied().unwrap_or(d);
    let r = flick_rec_lab::bench::run(
        get(0, 100_000),
        get(1, 10_000),
        get(2, 20),
        get(3, 2_000),
        42,
    );
    print!("{}", r.table());
}
