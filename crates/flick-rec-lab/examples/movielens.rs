//! Offline evaluation on MovieLens 100K.
//!
//! ```text
//! cargo run --release -p flick-rec-lab --example movielens -- ../shared/data/ml-100k/u.data \
//!     [--train F --test F] [--export-split DIR] [--dump-recs F] [--plot F] [--tune [--lambdas L,..] [--alphas A,..]] [--no-streaming]
//! ```

use flick_rec::Config;
use flick_rec_lab::eval;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut data: Option<PathBuf> = None;
    let (mut train_f, mut test_f, mut export, mut dump, mut plot) = (None, None, None, None, None);
    let (mut tune, mut streaming) = (false, true);
    let mut overrides: Option<String> = None;
    let list = |s: Option<String>| -> Vec<f32> {
        s.expect("a comma-separated list")
            .split(',')
            .map(|x| x.parse().expect("a number"))
            .collect()
    };
    let (mut lambdas, mut alphas) = (vec![20.0f32, 40.0, 60.0], vec![2.0f32, 3.5, 5.0]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train_f = args.next(),
            "--test" => test_f = args.next(),
            "--export-split" => export = args.next(),
            "--dump-recs" => dump = args.next(),
            "--plot" => plot = args.next(),
            "--tune" => tune = true,
            "--no-streaming" => streaming = false,
            "--config" => overrides = args.next(),
            "--lambdas" => lambdas = list(args.next()),
            "--alphas" => alphas = list(args.next()),
            _ => data = Some(a.into()),
        }
    }
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {p}: {e}"));
    let (train, test) = match (train_f, test_f) {
        (Some(a), Some(b)) => (eval::load_udata(&read(&a)), eval::load_udata(&read(&b))),
        _ => {
            let path = data.unwrap_or_else(|| "../shared/data/ml-100k/u.data".into());
            let all = eval::load_udata(&read(path.to_str().expect("utf-8 path")));
            eval::split(&all, eval::SPLIT_SEED)
        }
    };
    if let Some(dir) = export {
        std::fs::create_dir_all(&dir).expect("creating export dir");
        std::fs::write(format!("{dir}/train.tsv"), eval::to_udata(&train)).expect("writing train");
        std::fs::write(format!("{dir}/test.tsv"), eval::to_udata(&test)).expect("writing test");
        eprintln!(
            "split written to {dir}/train.tsv, {dir}/test.tsv (seed {})",
            eval::SPLIT_SEED
        );
    }
    // `--config '{"neighbors": 64}'` overrides fields of the production
    // configuration, to try a change on the validation split.
    let config = match overrides {
        Some(o) => flick_rec_lab::patched(&o).expect("--config"),
        None => Config::default(),
    };
    if tune {
        // The refit's ridge and confidence.
        let mut grid = Vec::new();
        for &regularization in &lambdas {
            for &alpha in &alphas {
                let mut c = config.clone();
                c.batch.regularization = regularization;
                c.batch.alpha = alpha;
                grid.push(c);
            }
        }
        println!("validation (carved from train; test untouched):");
        println!("| λ | alpha | NDCG@20 | Recall@20 | fit s |");
        for (c, r) in eval::tune(&train, grid) {
            println!(
                "| {} | {} | {:.4} | {:.4} | {:.3} |",
                c.batch.regularization, c.batch.alpha, r.ndcg, r.recall, r.fit_seconds
            );
        }
    }
    let flick = eval::evaluate(&train, &test, &config, eval::Fit::Batch);
    let pop = eval::evaluate_popularity(&train, &test);
    println!(
        "config {} ({})",
        flick.config_hash,
        flick_rec::MODEL_VERSION
    );
    print!("{}", eval::table(&[flick.clone(), pop]));
    println!("rank {:.3} s for {} users", flick.rank_seconds, flick.users);
    if let Some(f) = dump {
        std::fs::write(&f, eval::write_recs(&flick.recs)).expect("writing recs");
    }
    if streaming {
        let all: Vec<_> = train.iter().chain(&test).copied().collect();
        let s = eval::streaming(&all, &test, &config, 20);
        print!("{}", s.table());
        if let Some(f) = plot {
            std::fs::write(&f, eval::svg_plot(&s)).expect("writing plot");
        }
    }
}
