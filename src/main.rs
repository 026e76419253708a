use std::process::ExitCode;

fn main() -> ExitCode {
    match mlinfra::cli::run() {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit().code() as u8)
        }
    }
}
