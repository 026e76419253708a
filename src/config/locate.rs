//! Maps a key path (`training.dogbreed.spot.max_wait`) back to the file, line
//! and column that set it, across the `extends` chain: the most derived file
//! that mentions the key is the one whose value won the merge.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::project::SourceFile;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// `invokers[0].endpoints[1]`, built one segment at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if bare { f.write_str(key)? } else { write!(f, "{key:?}")? }
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A point in a file, 1-based, as editors count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// The parsed layers of one environment, most derived first.
pub struct Locator<'a> {
    layers: Vec<(&'a SourceFile, Option<Spanned<DeTable<'a>>>)>,
}

impl<'a> Locator<'a> {
    pub fn new(files: &'a [SourceFile]) -> Self {
        let layers = files
            .iter()
            .map(|file| (file, DeTable::parse(&file.text).ok()))
            .collect();
        Self { layers }
    }

    fn at(file: &SourceFile, offset: usize) -> Location {
        let (line, column) = line_column(file.text.as_bytes(), offset);
        Location { file: file.display_path.clone(), line, column }
    }

    /// Where `path` was set; for a key no file sets, where its nearest parent
    /// is (or the top of the most derived file).
    pub fn locate(&self, path: &KeyPath) -> Location {
        for depth in (0..=path.segments().len()).rev() {
            let prefix = &path.segments()[..depth];
            for (file, table) in &self.layers {
                if let Some(table) = table
                    && let Some(span) = find(table, prefix)
                {
                    return Self::at(file, span.start);
                }
            }
        }
        let first = self.layers[0].0;
        Location { file: first.display_path.clone(), line: 1, column: 1 }
    }

    /// The deepest key path in the top file whose key or value contains `offset`.
    pub fn path_at(file: &SourceFile, offset: usize) -> KeyPath {
        let mut path = KeyPath::root();
        if let Ok(table) = DeTable::parse(&file.text) {
            descend_table(table.get_ref(), offset, &mut path);
        }
        path
    }
}

fn find(table: &Spanned<DeTable<'_>>, path: &[Segment]) -> Option<Range<usize>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(table.span());
    };
    let Segment::Key(name) = first else { return None };
    let (key, value) = table.get_ref().iter().find(|(k, _)| k.get_ref() == name)?;
    if rest.is_empty() {
        return Some(key.span());
    }
    find_value(value, rest)
}

fn find_value(value: &Spanned<DeValue<'_>>, path: &[Segment]) -> Option<Range<usize>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value.span());
    };
    match (first, value.get_ref()) {
        (Segment::Index(i), DeValue::Array(items)) => find_value(items.iter().nth(*i)?, rest),
        (Segment::Key(name), DeValue::Table(table)) => {
            let (key, inner) = table.iter().find(|(k, _)| k.get_ref() == name)?;
            if rest.is_empty() { Some(key.span()) } else { find_value(inner, rest) }
        }
        _ => None,
    }
}

fn descend_table(table: &DeTable<'_>, offset: usize, path: &mut KeyPath) {
    for (key, value) in table.iter() {
        let (k, v) = (key.span(), value.span());
        if k.contains(&offset) {
            *path = path.key(key.get_ref());
            return;
        }
        if v.contains(&offset) {
            *path = path.key(key.get_ref());
            descend_value(value.get_ref(), offset, path);
            return;
        }
    }
}

fn descend_value(value: &DeValue<'_>, offset: usize, path: &mut KeyPath) {
    match value {
        DeValue::Table(table) => descend_table(table, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.span().contains(&offset) {
                    *path = path.index(i);
                    descend_value(item.get_ref(), offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile { display_path: "env.toml".into(), text: text.to_string() }
    }

    #[test]
    fn key_paths_print_like_toml() {
        let path = KeyPath::root().key("invokers").index(0).key("endpoints").index(1);
        assert_eq!(path.to_string(), "invokers[0].endpoints[1]");
        assert_eq!(KeyPath::root().key("tags").key("cost center").to_string(), "tags.\"cost center\"");
    }

    #[test]
    fn locates_keys_in_the_most_derived_file_first() {
        let child = file("extends = \"base\"\n[env]\nregion = \"eu-west-1\"\n");
        let base = file("[env]\nproject = \"p\"\nregion = \"us-east-1\"\n");
        let files = [child, base];
        let locator = Locator::new(&files);
        let region = locator.locate(&KeyPath::root().key("env").key("region"));
        assert_eq!((region.line, region.column), (3, 1));
        let project = locator.locate(&KeyPath::root().key("env").key("project"));
        assert_eq!((project.line, project.file), (2, PathBuf::from("env.toml")));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("a\nbé=x".as_bytes(), 6), (2, 4));
    }
}
