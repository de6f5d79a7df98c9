use clap::Parser;

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
