//! Records the git commit the binary was built from, for the release record
//! each start writes to the transparency log. Reads `.git` directly rather
//! than running git, so a build without git still works ("unknown").

use std::path::Path;

fn main() {
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git");
    println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
    let hash = std::fs::read_to_string(git.join("HEAD"))
        .ok()
        .and_then(|head| {
            let head = head.trim();
            match head.strip_prefix("ref: ") {
                None => Some(head.to_owned()),
                Some(r) => {
                    println!("cargo:rerun-if-changed={}", git.join(r).display());
                    std::fs::read_to_string(git.join(r))
                        .ok()
                        .map(|h| h.trim().to_owned())
                        .or_else(|| {
                            let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
                            packed
                                .lines()
                                .find(|l| l.ends_with(r))
                                .map(|l| l[..40.min(l.len())].to_owned())
                        })
                }
            }
        });
    println!(
        "cargo:rustc-env=FLICK_BUILD_HASH={}",
        hash.unwrap_or_else(|| "unknown".into())
    );
}
