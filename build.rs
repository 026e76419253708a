//! Links the `mlinfra` binary as a position-dependent executable on Linux.
//!
//! Why: the AWS SDK's static tables make a position-independent `mlinfra`
//! carry about 115,000 relative relocations. The dynamic loader applies them
//! all at every start, writing to (and so copying) about 480 pages before
//! `main`: two thirds of the page faults of `mlinfra --version`, and half of
//! its time (3.8 -> 1.8 ms; `validate --all` of 100 environments 10.5 ->
//! 8.9 ms). A fixed-address executable has its addresses written at link
//! time and faults in only the pages it reads.
//!
//! The price is address-space randomisation of the executable's own image
//! (its libraries, stack and heap stay randomised), the same trade Go's
//! default Linux builds make. Only the binaries are linked this way; the
//! libraries and tests are compiled as before, since position-independent
//! code links into either kind of executable.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
