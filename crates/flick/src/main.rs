use clap::Parser;

// glibc's allocator took about a seventh of a loaded server's CPU (a For
// You page allocates and frees many small vectors from many threads);
// mimalloc's per-thread heaps make that a fraction. See BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = flick::cli::Cli::parse();
    match flick::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line: what we were
            // doing, then why it failed.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
