//! `flick eval movielens`: the offline evaluation protocol of
//! shared/data/README.md, with the files it reads and writes.

use crate::cli::EvalCommand;
use anyhow::Context;
use flick_rec::Config;
use flick_rec_lab::eval;
use std::path::Path;

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| {
        format!(
            "cannot read {} (MovieLens lives in ../shared/data/ml-100k)",
            p.display()
        )
    })
}

fn write(p: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))
}

pub fn movielens(cmd: EvalCommand) -> anyhow::Result<()> {
    let EvalCommand::Movielens {
        path,
        train,
        test,
        export_split,
        dump_recs,
        plot,
        no_streaming,
    } = cmd;
    let (train, test) = match (train, test, path) {
        (Some(a), Some(b), _) => (eval::load_udata(&read(&a)?), eval::load_udata(&read(&b)?)),
        (_, _, Some(p)) => eval::split(&eval::load_udata(&read(&p)?), eval::SPLIT_SEED),
        _ => anyhow::bail!("give --path u.data, or --train and --test"),
    };
    anyhow::ensure!(
        !train.is_empty() && !test.is_empty(),
        "the train or test set is empty: is the file in u.data format?"
    );
    if let Some(dir) = export_split {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        write(&dir.join("train.tsv"), &eval::to_udata(&train))?;
        write(&dir.join("test.tsv"), &eval::to_udata(&test))?;
        eprintln!(
            "split written to {} (seed {})",
            dir.display(),
            eval::SPLIT_SEED
        );
    }
    // The production configuration, the only one there is: what a freshly
    // started server ranks with and publishes at GET /api/v1/algorithm.
    let config = Config::default();
    let flick = eval::evaluate(&train, &test, &config, eval::Fit::Batch);
    let popularity = eval::evaluate_popularity(&train, &test);
    println!("algorithm {}", flick.config_hash);
    println!(
        "model {}, split seed {}, ranked through the served path (candidates, ranker, re-ranking; no exploration slots)",
        flick_rec::MODEL_VERSION,
        eval::SPLIT_SEED
    );
    print!("{}", eval::table(&[flick.clone(), popularity]));
    if let Some(f) = dump_recs {
        write(&f, &eval::write_recs(&flick.recs))?;
    }
    if !no_streaming {
        // The same stream with the refits where a server runs them (one
        // per `refresh_every` events, the last up to that many behind):
        // how far the model a user meets trails its own batch score.
        let as_served = eval::evaluate(&train, &test, &config, eval::Fit::AsServed);
        print!("{}", eval::table(std::slice::from_ref(&as_served)));
        println!(
            "as served / batch NDCG@20: {:.3}",
            as_served.ndcg / flick.ndcg.max(1e-12)
        );
        let all: Vec<_> = train.iter().chain(&test).copied().collect();
        let streaming = eval::streaming(&all, &test, &config, 20);
        print!("{}", streaming.table());
        if let Some(f) = plot {
            write(&f, &eval::svg_plot(&streaming))?;
        }
    }
    Ok(())
}
