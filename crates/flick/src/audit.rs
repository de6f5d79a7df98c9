//! `flick audit`: the checks a trusted partner runs — the storage layout
//! of a data dir (or a PostgreSQL deployment and its buckets), a signed
//! label, and a whole exported log against its key.

use crate::{config, open_data_dir, without_password};
use anyhow::Context;
use std::path::Path;

pub(crate) async fn storage(storage: &config::Storage) -> anyhow::Result<()> {
    let (regions, media) = open_data_dir(storage, None)?;
    let mut audit = regions.audit()?;
    match &storage.s3 {
        None => println!("media: folders under {}", storage.media_dir.display()),
        Some(s3) => {
            let regions = s3
                .region_buckets
                .iter()
                .map(|(r, b)| format!("{r} → {b}"))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "media: object storage at {}, public bucket {}; originals in {regions}",
                s3.endpoint, s3.bucket
            );
            // Anything in the public bucket that is not published media
            // (an original, an export) is protected data out of place.
            for key in media
                .stray_public_keys()
                .await
                .context("listing the public bucket")?
            {
                audit.problems.push(format!(
                    "`{key}` in the public bucket is not published media"
                ));
            }
        }
    }
    let list = |tables: &[(String, i64)]| {
        tables
            .iter()
            .map(|(t, n)| format!("{t} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (public_at, region_at) = match &storage.postgres {
        None => (
            storage.public_db.display().to_string(),
            storage.regions_dir().display().to_string() + "/{region}/flick.db",
        ),
        Some(url) => {
            let url = without_password(url);
            (
                format!("{url} schema public"),
                format!("{url} schema region_{{region}}"),
            )
        }
    };
    let region_at = |region: &str| region_at.replace("{region}", region);
    println!("public {public_at}: {}", list(&audit.public_tables));
    for r in &audit.regions {
        println!(
            "region {} ({} accounts) {}: {}",
            r.region,
            r.accounts,
            region_at(&r.region),
            list(&r.tables)
        );
    }
    if audit.problems.is_empty() {
        println!(
            "OK: protected data only in region files, every account in its home region's file"
        );
        Ok(())
    } else {
        for p in &audit.problems {
            eprintln!("problem: {p}");
        }
        anyhow::bail!("{} problems in the storage layout", audit.problems.len())
    }
}

pub(crate) fn label(statement: &Path, public_key: &Path) -> anyhow::Result<()> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let key = read(public_key)?;
    let verifier = flick_trust::NoteVerifier::parse(key.trim())
        .context("the public key is not a verifier key (name+hash+base64)")?;
    // As saved by hand (`jq -r` adds a newline, an editor may add CRs): a
    // signed note ends with exactly one newline.
    let note = format!("{}\n", read(statement)?.replace("\r\n", "\n").trim_end());
    let s = flick_trust::LabelStatement::verify(&note, &verifier)
        .context("the statement does not verify with this key")?;
    let by = match &s.by {
        flick_trust::Labeller::Creator => "its creator".to_owned(),
        flick_trust::Labeller::Moderator(who) => format!("moderator {who}"),
    };
    let decision = s
        .decision
        .map_or_else(|| "no decision".to_owned(), |d| format!("decision {d}"));
    println!(
        "OK: log {} says clip {} ({}) was labelled {} by {by} ({decision}) at {} (Unix ms)",
        s.origin, s.video, s.subject, s.label, s.time_ms
    );
    Ok(())
}

pub(crate) fn verify(
    entries: &Path,
    public_key: &Path,
    trusted_head: Option<&Path>,
) -> anyhow::Result<()> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let export = read(entries)?;
    let key = read(public_key)?;
    let head = trusted_head.map(read).transpose()?;
    match flick_trust::verify_export(&export, key.trim(), head.as_deref()) {
        Ok(report) => {
            println!("OK: {report}");
            Ok(())
        }
        Err(failure) => anyhow::bail!("the log does not verify: {failure}"),
    }
}
