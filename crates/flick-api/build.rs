//! Embeds the web app (`web/`) into the binary so that `flick serve` needs no
//! second server and no files beside it.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    println!("cargo:rerun-if-changed={}", web.display());
    let mut files: Vec<_> = std::fs::read_dir(&web)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("pub static WEB_FILES: &[(&str, &[u8])] = &[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    // hls.js, for browsers without native HLS: installed from npm into
    // web-deps/ by the run and test scripts. Without it the app falls back
    // to the MP4, so a build without npm still works.
    let hls = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web-deps/node_modules/hls.js/dist/hls.light.min.mjs");
    println!("cargo:rerun-if-changed={}", hls.display());
    if hls.is_file() {
        writeln!(
            out,
            "    (\"hls.mjs\", include_bytes!({:?})),",
            hls.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("web_files.rs");
    std::fs::write(dest, out).unwrap();
}
