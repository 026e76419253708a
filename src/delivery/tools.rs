//! The `tools` artifact of the delivery pipeline: the mlinfra binary that
//! deployed the pipeline, as the zip a CodePipeline S3 source action takes
//! (it unpacks it into `CODEBUILD_SRC_DIR_tools`, where the buildspecs check
//! `mlinfra` against `MLINFRA_SHA256`). Its key carries the binary's SHA-256,
//! so an object never changes meaning and each binary is uploaded once.

/// The file name inside the zip: what the buildspecs verify and install.
pub const BINARY_NAME: &str = "mlinfra";

/// The zip's key in the artifact bucket.
pub fn zip_key(sha256: &str) -> String {
    format!("mlinfra/{sha256}/tools.zip")
}

/// Beside the zip: `sha256sum -c` input for the binary inside it.
pub fn checksum_key(sha256: &str) -> String {
    format!("{}.sha256", zip_key(sha256))
}

pub fn checksum_text(sha256: &str) -> String {
    format!("{sha256}  {BINARY_NAME}\n")
}

/// Whether a binary built for `os`/`arch` runs in the pipeline's builds
/// (CodeBuild's `amazonlinux-x86_64-standard` image).
pub fn runs_in_builds(os: &str, arch: &str) -> bool {
    os == "linux" && arch == "x86_64"
}

/// A zip of one stored (uncompressed) entry, `mlinfra`, mode 0755, with a
/// fixed timestamp: its bytes depend on the binary alone.
pub fn zip(binary: &[u8]) -> Vec<u8> {
    const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
    let crc = crc32fast::hash(binary);
    // Zip's 32-bit sizes; mlinfra is far below 4 GiB.
    let size = u32::try_from(binary.len()).expect("a binary under 4 GiB");
    let name = BINARY_NAME.as_bytes();
    let name_len = name.len() as u16;
    let common = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
        out.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes()); // compressed
        out.extend_from_slice(&size.to_le_bytes()); // uncompressed
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    };
    let mut out = Vec::with_capacity(binary.len() + 128);
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    common(&mut out);
    out.extend_from_slice(name);
    out.extend_from_slice(binary);
    let central = u32::try_from(out.len()).expect("a binary under 4 GiB");
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by Unix, 2.0
    common(&mut out);
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    out.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes()); // regular file, rwxr-xr-x
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name);
    let central_size = u32::try_from(out.len()).expect("a binary under 4 GiB") - central;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // central directory's disk
    out.extend_from_slice(&1u16.to_le_bytes()); // entries here
    out.extend_from_slice(&1u16.to_le_bytes()); // entries
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_entry_carries_the_standard_crc32_of_its_bytes() {
        let zip = super::zip(b"123456789");
        // Local header's CRC-32 field, then the central directory's copy.
        assert_eq!(&zip[14..18], &0xCBF4_3926u32.to_le_bytes());
        let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        assert_eq!(
            &zip[central + 16..central + 20],
            &0xCBF4_3926u32.to_le_bytes()
        );
    }

    use super::*;

    #[test]
    fn the_zip_holds_the_binary_stored_under_its_name() {
        let binary = b"\x7fELF not really";
        let z = zip(binary);
        assert_eq!(&z[..4], b"PK\x03\x04");
        assert_eq!(&z[30..37], b"mlinfra");
        assert_eq!(&z[37..37 + binary.len()], binary);
        // End of central directory: one entry, directory right after the data.
        let end = &z[z.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        let offset = u32::from_le_bytes(end[16..20].try_into().unwrap()) as usize;
        assert_eq!(offset, 37 + binary.len());
        assert_eq!(&z[offset..offset + 4], b"PK\x01\x02");
        assert_eq!(zip(binary), z, "the same bytes every time");
    }

    #[test]
    fn only_a_linux_x86_64_build_runs_in_the_builds() {
        assert!(runs_in_builds("linux", "x86_64"));
        assert!(!runs_in_builds("macos", "aarch64"));
        assert!(!runs_in_builds("linux", "aarch64"));
    }
}
