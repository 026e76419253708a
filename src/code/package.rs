//! A training code package: the files of a source directory as a tar.gz whose
//! bytes depend on nothing but the files' paths and contents. Entries are
//! sorted; modes, owners and mtimes are fixed; the gzip header carries no
//! mtime, name or OS. The deflate stream uses stored blocks: a compressor's
//! output differs between zlib versions and levels, stored blocks are the
//! same on every machine, and source directories are small.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// The largest package accepted (source directories hold code, not data).
pub const MAX_PACKAGE_BYTES: usize = 100 * 1024 * 1024;

const BLOCK: usize = 512;
/// Deflate's largest stored block.
const STORED_BLOCK: usize = 65_535;

/// One file of a source directory: its path inside the package (`/`-separated) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Shared: every environment that names the directory carries these bytes.
    pub bytes: Arc<Vec<u8>>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The files' paths inside the package, sorted.
    pub paths: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    #[error("{0:?} is longer than a tar header holds (255 bytes, with no name part over 100)")]
    PathTooLong(String),
    #[error(
        "the package would be {0} bytes; source directories are limited to {MAX_PACKAGE_BYTES}"
    )]
    TooLarge(usize),
    #[error("{0:?} appears twice")]
    Duplicate(String),
}

/// Packs `entries` (any order) into a deterministic tar.gz.
pub fn package(mut entries: Vec<SourceEntry>) -> Result<Package, PackageError> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(PackageError::Duplicate(pair[0].path.clone()));
    }
    let size: usize = entries
        .iter()
        .map(|e| BLOCK + e.bytes.len().div_ceil(BLOCK) * BLOCK)
        .sum();
    if size > MAX_PACKAGE_BYTES {
        return Err(PackageError::TooLarge(size));
    }
    let mut tar = Vec::with_capacity(size + 2 * BLOCK);
    for entry in &entries {
        tar.extend_from_slice(&header(&entry.path, entry.bytes.len())?);
        tar.extend_from_slice(&entry.bytes);
        tar.resize(tar.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    // The end of an archive: two zero blocks.
    tar.resize(tar.len() + 2 * BLOCK, 0);
    let bytes = gzip_stored(&tar);
    let sha256 = hex(&Sha256::digest(&bytes));
    Ok(Package {
        bytes: Arc::new(bytes),
        sha256,
        paths: entries.into_iter().map(|e| e.path).collect(),
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A ustar header of a regular file, mode 0644, owner 0:0, mtime 0.
fn header(path: &str, size: usize) -> Result<[u8; BLOCK], PackageError> {
    let too_long = || PackageError::PathTooLong(path.to_string());
    // ustar splits long paths into a prefix (155) and a name (100) at a `/`.
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        let split = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(too_long)?;
        (&path[..split], &path[split + 1..])
    };
    if name.is_empty() {
        return Err(too_long());
    }
    let mut h = [0u8; BLOCK];
    let put = |h: &mut [u8; BLOCK], at: usize, bytes: &[u8]| {
        h[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    put(&mut h, 345, prefix.as_bytes());
    let checksum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{checksum:06o}\0 ").as_bytes());
    Ok(h)
}

/// RFC 1952 gzip of `data` in RFC 1951 stored blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    // No mtime, no file name, extra flags 0, OS 255 (unknown): nothing of the machine.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(STORED_BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).expect("chunks are at most 65535 bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    // ISIZE is the input length modulo 2^32 by definition.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, text: &str) -> SourceEntry {
        SourceEntry {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_gzip_trailer_is_the_standard_crc32_and_the_length() {
        let gz = gzip_stored(b"123456789");
        let trailer = &gz[gz.len() - 8..];
        assert_eq!(&trailer[..4], &0xCBF4_3926u32.to_le_bytes());
        assert_eq!(&trailer[4..], &9u32.to_le_bytes());
    }

    #[test]
    fn order_of_entries_does_not_change_the_bytes() {
        let a = package(vec![entry("b.py", "b"), entry("a/x.py", "x")]).unwrap();
        let b = package(vec![entry("a/x.py", "x"), entry("b.py", "b")]).unwrap();
        assert_eq!(a, b);
        let c = package(vec![entry("a/x.py", "y"), entry("b.py", "b")]).unwrap();
        assert_ne!(a.sha256, c.sha256);
    }

    #[test]
    fn long_paths_use_the_ustar_prefix_and_impossible_ones_are_refused() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let h = header(&long, 1).unwrap();
        assert_eq!(&h[345..465], "d".repeat(120).as_bytes());
        assert_eq!(&h[0..90], "f".repeat(90).as_bytes());
        let impossible = "x".repeat(101);
        assert_eq!(
            header(&impossible, 1),
            Err(PackageError::PathTooLong(impossible))
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let error = package(vec![entry("a.py", "1"), entry("a.py", "2")]).unwrap_err();
        assert_eq!(error, PackageError::Duplicate("a.py".into()));
    }
}
