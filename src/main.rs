//! `parley`: parse the command line and run it. Everything else lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = parley::cli::Cli::parse();
    match parley::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
