//! Maps a key path (`training.dogbreed.spot.max_wait`) back to the file, line
//! and column that set it, across the `extends` chain: the most derived file
//! that mentions the key is the one whose value won the merge.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::project::{SourceFile, line_column};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(Arc<str>),
    Index(usize),
}

/// `invokers[0].endpoints[1]`, built one segment at a time.
///
/// Validation derives a path for every key it checks and needs one only
/// when a check fails, so extending a path must be cheap: each path shares
/// its parent and adds one node, instead of copying every segment above it.
#[derive(Clone, Default)]
pub struct KeyPath(Option<Arc<Node>>);

struct Node {
    parent: KeyPath,
    segment: Segment,
    depth: usize,
}

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: &str) -> Self {
        self.then(Segment::Key(key.into()))
    }

    pub fn index(&self, index: usize) -> Self {
        self.then(Segment::Index(index))
    }

    fn then(&self, segment: Segment) -> Self {
        Self(Some(Arc::new(Node {
            parent: self.clone(),
            segment,
            depth: self.len() + 1,
        })))
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |node| node.depth)
    }

    /// The segments from the top level down.
    pub fn segments(&self) -> Vec<Segment> {
        let mut segments = Vec::with_capacity(self.len());
        let mut at = &self.0;
        while let Some(node) = at {
            segments.push(node.segment.clone());
            at = &node.parent.0;
        }
        segments.reverse();
        segments
    }
}

impl PartialEq for KeyPath {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (&self.0, &other.0);
        loop {
            match (a, b) {
                (None, None) => return true,
                (Some(x), Some(y)) if Arc::ptr_eq(x, y) => return true,
                (Some(x), Some(y)) if x.depth == y.depth && x.segment == y.segment => {
                    (a, b) = (&x.parent.0, &y.parent.0);
                }
                _ => return false,
            }
        }
    }
}

impl Eq for KeyPath {}

impl fmt::Debug for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyPath").field(&self.segments()).finish()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments = self.segments();
        if segments.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if bare {
                        f.write_str(key)?
                    } else {
                        write!(f, "{key:?}")?
                    }
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
    /// The line's text and how many characters of it the value (or key) takes.
    pub source: Option<(String, usize)>,
}

impl Location {
    pub fn in_file(file: &SourceFile, offset: usize) -> Self {
        let (line, column) = line_column(file.text.as_bytes(), offset);
        let text = file.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let rest: String = text.chars().skip(column.saturating_sub(1)).collect();
        Location {
            file: file.display_path.clone(),
            line,
            column,
            source: Some((text.to_string(), token_width(&rest))),
        }
    }

    /// The line under a caret, as rustc shows it:
    ///
    /// ```text
    ///   |
    /// 4 | region = "us-esat-1"
    ///   |          ^^^^^^^^^^^
    /// ```
    pub fn snippet(&self) -> Option<String> {
        let (text, width) = self.source.as_ref()?;
        // A machine-made line (a whole document on one line) is not worth
        // repeating: the position says where.
        if text.trim().is_empty() || text.chars().count() > MAX_SNIPPET {
            return None;
        }
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        // Tabs keep their width so the caret stays under the value.
        let lead: String = text
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!(
            "{gutter} |\n{number} | {text}\n{gutter} | {lead}{}",
            "^".repeat((*width).max(1))
        ))
    }
}

/// Longest line shown under an error.
const MAX_SNIPPET: usize = 240;

/// The width of the TOML token at the start of `rest`: a quoted string to
/// its closing quote, a bracketed value to its closing bracket on the line,
/// anything else to the next space, comma or bracket.
fn token_width(rest: &str) -> usize {
    let chars: Vec<char> = rest.chars().collect();
    match chars.first() {
        Some(&quote @ ('"' | '\'')) => {
            let mut escaped = false;
            for (i, c) in chars.iter().enumerate().skip(1) {
                match c {
                    '\\' if quote == '"' && !escaped => escaped = true,
                    c if *c == quote && !escaped => return i + 1,
                    _ => escaped = false,
                }
            }
            chars.len()
        }
        Some(&open @ ('[' | '{')) => {
            let close = if open == '[' { ']' } else { '}' };
            let mut depth = 0;
            for (i, c) in chars.iter().enumerate() {
                if *c == open {
                    depth += 1;
                } else if *c == close {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
            }
            chars.len().max(1)
        }
        _ => chars
            .iter()
            .position(|c| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '=' | '#'))
            .unwrap_or(chars.len())
            .max(1),
    }
}

type SpannedLayer<'a> = Option<Spanned<DeTable<'a>>>;

/// The layers of one environment, most derived first. Each is parsed with
/// spans only when an error needs locating: a valid config never pays for it.
pub struct Locator<'a> {
    layers: Vec<(&'a SourceFile, OnceCell<SpannedLayer<'a>>)>,
}

impl<'a> Locator<'a> {
    pub fn new(files: &'a [SourceFile]) -> Self {
        let layers = files.iter().map(|file| (file, OnceCell::new())).collect();
        Self { layers }
    }

    fn at(file: &SourceFile, offset: usize) -> Location {
        Location::in_file(file, offset)
    }

    /// Where `path` was set; for a key no file sets, where its nearest parent
    /// is (or the top of the most derived file).
    ///
    /// A key no file sets is reported where its parent was first written
    /// (the base that defines the endpoint, not the file that overrides one
    /// of its values): that is where the missing key belongs.
    pub fn locate(&self, path: &KeyPath) -> Location {
        let segments = path.segments();
        let full = segments.len();
        for depth in (0..=full).rev() {
            let prefix = &segments[..depth];
            let layers: Vec<_> = if depth == full {
                self.layers.iter().collect()
            } else {
                self.layers.iter().rev().collect()
            };
            for (file, table) in layers {
                let table = table.get_or_init(|| DeTable::parse(&file.text).ok());
                if let Some(table) = table
                    && let Some(span) = find(table, prefix)
                {
                    return Self::at(file, span.start);
                }
            }
        }
        Location::in_file(self.layers[0].0, 0)
    }

    /// The deepest key path in the top file whose key or value contains `offset`.
    pub fn path_at(file: &SourceFile, offset: usize) -> KeyPath {
        let mut path = KeyPath::root();
        // Recoverable parsing still yields the keys around a syntax error.
        let (table, _) = DeTable::parse_recoverable(&file.text);
        if !descend_table(table.get_ref(), offset, &mut path) {
            // Past every value (an unclosed string runs on): the key written last before it.
            if let Some((_, nearest)) =
                nearest_key_before(table.get_ref(), offset, &KeyPath::root())
            {
                path = nearest;
            }
        }
        path
    }
}

fn find(table: &Spanned<DeTable<'_>>, path: &[Segment]) -> Option<Range<usize>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(table.span());
    };
    let Segment::Key(name) = first else {
        return None;
    };
    let (key, value) = table
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == name.as_ref())?;
    if rest.is_empty() {
        return Some(written(key, value));
    }
    find_value(value, rest)
}

/// Where a key's setting is shown: its value, so the caret sits under what
/// must change; a table's own key when the value is a whole table.
fn written(key: &Spanned<impl Sized>, value: &Spanned<DeValue<'_>>) -> Range<usize> {
    match value.get_ref() {
        DeValue::Table(_) => key.span(),
        _ => value.span(),
    }
}

fn find_value(value: &Spanned<DeValue<'_>>, path: &[Segment]) -> Option<Range<usize>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value.span());
    };
    match (first, value.get_ref()) {
        (Segment::Index(i), DeValue::Array(items)) => find_value(items.get(*i)?, rest),
        (Segment::Key(name), DeValue::Table(table)) => {
            let (key, inner) = table
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == name.as_ref())?;
            if rest.is_empty() {
                Some(written(key, inner))
            } else {
                find_value(inner, rest)
            }
        }
        _ => None,
    }
}

// Header tables (`[training.job]`) have spans that cover only the header, so
// the search looks inside every table rather than trusting container spans.
fn descend_table(table: &DeTable<'_>, offset: usize, path: &mut KeyPath) -> bool {
    for (key, value) in table.iter() {
        let inner = path.key(key.get_ref());
        if key.span().contains(&offset) {
            *path = inner;
            return true;
        }
        let mut deeper = inner.clone();
        if descend_value(value.get_ref(), offset, &mut deeper) {
            *path = deeper;
            return true;
        }
        if value.span().contains(&offset) {
            *path = inner;
            return true;
        }
    }
    false
}

fn nearest_key_before(
    table: &DeTable<'_>,
    offset: usize,
    path: &KeyPath,
) -> Option<(usize, KeyPath)> {
    let mut best: Option<(usize, KeyPath)> = None;
    for (key, value) in table.iter() {
        let here = path.key(key.get_ref());
        let start = key.span().start;
        let mut candidate = (start <= offset).then(|| (start, here.clone()));
        if let DeValue::Table(inner) = value.get_ref()
            && let Some(deeper) = nearest_key_before(inner, offset, &here)
            && candidate.as_ref().is_none_or(|c| deeper.0 >= c.0)
        {
            candidate = Some(deeper);
        }
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| c.0 >= b.0)
        {
            best = Some(c);
        }
    }
    best
}

fn descend_value(value: &DeValue<'_>, offset: usize, path: &mut KeyPath) -> bool {
    match value {
        DeValue::Table(table) => descend_table(table, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut deeper = path.index(i);
                if descend_value(item.get_ref(), offset, &mut deeper) {
                    *path = deeper;
                    return true;
                }
                if item.span().contains(&offset) {
                    *path = path.index(i);
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            display_path: "env.toml".into(),
            text: text.to_string(),
        }
    }

    #[test]
    fn key_paths_print_like_toml() {
        let path = KeyPath::root()
            .key("invokers")
            .index(0)
            .key("endpoints")
            .index(1);
        assert_eq!(path.to_string(), "invokers[0].endpoints[1]");
        assert_eq!(
            KeyPath::root().key("tags").key("cost center").to_string(),
            "tags.\"cost center\""
        );
    }

    #[test]
    fn locates_keys_in_the_most_derived_file_first() {
        let child = file("extends = \"base\"\n[env]\nregion = \"eu-west-1\"\n");
        let base = file("[env]\nproject = \"p\"\nregion = \"us-east-1\"\n");
        let files = [child, base];
        let locator = Locator::new(&files);
        let region = locator.locate(&KeyPath::root().key("env").key("region"));
        // The caret goes under the value.
        assert_eq!((region.line, region.column), (3, 10));
        assert_eq!(
            region.snippet().unwrap(),
            "  |\n3 | region = \"eu-west-1\"\n  |          ^^^^^^^^^^^"
        );
        let project = locator.locate(&KeyPath::root().key("env").key("project"));
        assert_eq!((project.line, project.file), (2, PathBuf::from("env.toml")));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("a\nbé=x".as_bytes(), 6), (2, 4));
    }

    #[test]
    fn paths_reach_keys_under_table_headers() {
        let text = "[env]\nproject = 5\n[[invokers]]\nname = \"a\"\n[[invokers]]\nname = 7\n";
        let at =
            |needle: &str| Locator::path_at(&file(text), text.find(needle).unwrap()).to_string();
        assert_eq!(at("5"), "env.project");
        assert_eq!(at("7"), "invokers[1].name");
        // Still found when the document has an error elsewhere.
        let broken = "[env]\nproject = 5\nregion = \n";
        assert_eq!(
            Locator::path_at(&file(broken), broken.find('5').unwrap()).to_string(),
            "env.project"
        );
    }
}
