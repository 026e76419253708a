use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(mlinfra::cli::main().code())
}
