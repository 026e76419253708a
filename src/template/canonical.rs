//! Canonical JSON text straight from a template's output: keys sorted, 2-space
//! indent, trailing newline — byte for byte what sorting a `serde_json::Value`
//! and pretty-printing it gives, without building one. A template renders to a
//! few kilobytes of JSON whose strings and numbers are almost always already
//! in serde_json's own spelling, so they are copied as slices of the input and
//! only objects are reordered. Anything unusual (an escape sequence, a number
//! serde_json would respell, invalid JSON) goes through serde_json itself, so
//! the output and the errors stay exactly serde_json's.
//!
//! `Canonical` is a template in that form with its hash: what plan compares
//! to spot "no change", whether the template was rendered or read back.

use sha2::{Digest, Sha256};

/// serde_json refuses deeper nesting; beyond it the slow path reports the error.
const MAX_DEPTH: usize = 127;

/// A template in canonical form, with the hash plan uses to spot "no change".
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    pub value: serde_json::Value,
    pub text: String,
}

/// Sorts every object's keys, whatever map type serde_json was built with
/// (a dependency turns on its insertion-ordered maps).
pub fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

impl Canonical {
    pub fn new(mut value: serde_json::Value) -> Self {
        sort_keys(&mut value);
        let text = pretty(&value);
        Self { value, text }
    }

    /// Parses any JSON template body (for example one read back from CloudFormation).
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).map(Self::new)
    }

    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn size(&self) -> usize {
        self.text.len()
    }
}

/// A template's output, parsed just enough to write it canonically.
pub struct Document<'a>(Parsed<'a>);

enum Parsed<'a> {
    /// The common case: tokens borrowed from the input, in input order;
    /// each object is sorted as it is written.
    Fast(Vec<Token<'a>>),
    /// Escapes or numbers in an unusual spelling: serde_json's own value, sorted.
    Slow(serde_json::Value),
}

impl<'a> Document<'a> {
    /// Parses JSON `input`; an error is serde_json's, with its line and column.
    pub fn parse(input: &'a str) -> Result<Self, serde_json::Error> {
        if let Some(tokens) = fast(input) {
            return Ok(Document(Parsed::Fast(tokens)));
        }
        let mut value: serde_json::Value = serde_json::from_str(input)?;
        sort_keys(&mut value);
        Ok(Document(Parsed::Slow(value)))
    }

    /// An object whose `key` holds an object.
    pub fn has_object(&self, key: &str) -> bool {
        match &self.0 {
            Parsed::Fast(tokens) => {
                member(tokens, 0, key).is_some_and(|v| matches!(tokens[v], Token::Object { .. }))
            }
            Parsed::Slow(value) => value.get(key).is_some_and(|v| v.is_object()),
        }
    }

    /// The canonical text: sorted keys, 2-space indent, trailing newline.
    pub fn text(&self) -> String {
        match &self.0 {
            Parsed::Fast(tokens) => {
                let mut out = String::with_capacity(4096);
                write(tokens, 0, 0, &mut out, &mut Vec::new());
                out.push('\n');
                out
            }
            Parsed::Slow(value) => pretty(value),
        }
    }

    /// The entries of `Resources` whose `Type` is `kind`, in canonical
    /// order, each as (logical id, body): a reader of a few resources gets
    /// them without the rest of the document being built.
    pub fn resources_of_type(&self, kind: &str) -> Vec<(String, serde_json::Value)> {
        match &self.0 {
            Parsed::Fast(tokens) => {
                let wanted = serde_json::Value::from(kind);
                let Some(resources) = member(tokens, 0, "Resources") else {
                    return Vec::new();
                };
                let mut members = Vec::new();
                sorted_members(tokens, resources, &mut members);
                let mut scratch = Vec::new();
                let mut found = Vec::new();
                for &(id, key) in &members {
                    let of_kind = member(tokens, key + 1, "Type")
                        .is_some_and(|t| to_value(tokens, t, &mut scratch) == wanted);
                    if of_kind {
                        found.push((id.to_string(), to_value(tokens, key + 1, &mut scratch)));
                    }
                }
                found
            }
            Parsed::Slow(value) => super::Template::new(value)
                .of_type(kind)
                .map(|r| (r.logical_id.to_string(), r.body.clone()))
                .collect(),
        }
    }

    /// The same document as a `serde_json::Value` with keys in canonical order.
    pub fn into_value(self) -> serde_json::Value {
        match self.0 {
            Parsed::Fast(tokens) => to_value(&tokens, 0, &mut Vec::new()),
            Parsed::Slow(value) => value,
        }
    }
}

/// serde_json's pretty form of a value whose keys are already in order.
pub fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    text
}

fn fast(input: &str) -> Option<Vec<Token<'_>>> {
    let mut parser = Parser {
        bytes: input.as_bytes(),
        text: input,
        at: 0,
        depth: 0,
        // About one token per dozen bytes of a rendered template.
        tokens: Vec::with_capacity(input.len() / 12),
    };
    parser.value()?;
    parser.skip_space();
    (parser.at == parser.bytes.len()).then_some(parser.tokens)
}

/// One token of a parsed document, in input order, so that parsing makes no
/// allocation per value. A container's `end` is the index of the token
/// after its last one: a value is skipped in one step.
enum Token<'a> {
    Scalar(Text<'a>),
    Array {
        end: usize,
    },
    Object {
        end: usize,
    },
    /// An object member's key without escapes, quotes included: its name
    /// is what lies between them. Its value is the next token.
    Key(&'a str),
    /// A key with escapes, which is rare: boxed, so that every token stays
    /// three words (the token list is most of what parsing writes).
    EscapedKey(Box<EscapedKey>),
}

const _: () = assert!(std::mem::size_of::<Token<'_>>() == 24);

/// The index of the token after the value that starts at `i`.
fn after(tokens: &[Token<'_>], i: usize) -> usize {
    match tokens[i] {
        Token::Array { end } | Token::Object { end } => end,
        _ => i + 1,
    }
}

/// The decoded name of the key token at `i`.
fn name<'t>(tokens: &'t [Token<'_>], i: usize) -> &'t str {
    match &tokens[i] {
        Token::Key(raw) => &raw[1..raw.len() - 1],
        Token::EscapedKey(key) => &key.name,
        _ => unreachable!("members are listed by their key tokens"),
    }
}

/// The value token of the member `key` of the object at `i`: the last one
/// when the key is repeated, as in a `serde_json::Value`.
fn member(tokens: &[Token<'_>], i: usize, key: &str) -> Option<usize> {
    let Token::Object { end } = tokens[i] else {
        return None;
    };
    let mut found = None;
    let mut at = i + 1;
    while at < end {
        if name(tokens, at) == key {
            found = Some(at + 1);
        }
        at = after(tokens, at + 1);
    }
    found
}

/// Appends the members of the object at `i` to `out` as (name, key token),
/// sorted by name; of repeated keys only the last is kept, as in a
/// `serde_json::Value`.
fn sorted_members<'t>(tokens: &'t [Token<'_>], i: usize, out: &mut Vec<(&'t str, usize)>) {
    let Token::Object { end } = tokens[i] else {
        return;
    };
    let start = out.len();
    let mut at = i + 1;
    while at < end {
        out.push((name(tokens, at), at));
        at = after(tokens, at + 1);
    }
    // Stable: of equal keys, the last written stays last.
    out[start..].sort_by(|a, b| a.0.cmp(b.0));
    let mut kept = start;
    for read in start..out.len() {
        let later_twin = read + 1 < out.len() && out[read].0 == out[read + 1].0;
        if !later_twin {
            out[kept] = out[read];
            kept += 1;
        }
    }
    out.truncate(kept);
}

enum Text<'a> {
    Slice(&'a str),
    Owned(Box<str>),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Slice(s) => s,
            Text::Owned(s) => s,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    None,
    /// Only escapes serde_json itself writes: the token is already canonical.
    AsSerdeJson,
    Other,
}

struct EscapedKey {
    /// The decoded key, which is what serde_json sorts by.
    name: String,
    /// The key in serde_json's spelling, quotes included.
    encoded: String,
}

/// Where the run of plain string content at the start of `bytes` ends: at
/// the first quote, backslash or control byte. Eight bytes are tested at a
/// time: most strings of a template (ARNs, names, whole escaped pipeline
/// definitions) run for dozens of bytes.
pub(crate) fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // A byte of `word` is below `n` (at most 0x80): its borrow sets the high
    // bit. Borrows can also flag bytes after a real hit, never before one,
    // so the lowest flag is exact.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let stops = below(word, b' ') | equal(word, b'"') | equal(word, b'\\');
        if stops != 0 {
            return Some(at + stops.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|b| STRING_STOPS[usize::from(*b)])
        .map(|i| at + i)
}

/// The bytes that end a run of plain string content: a quote, a backslash,
/// or a control byte.
static STRING_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stops[byte] = true;
        byte += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    depth: usize,
    tokens: Vec<Token<'a>>,
}

impl<'a> Parser<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn scalar(&mut self, text: Text<'a>) -> Option<()> {
        self.tokens.push(Token::Scalar(text));
        Some(())
    }

    fn value(&mut self) -> Option<()> {
        self.skip_space();
        match *self.bytes.get(self.at)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                let (raw, escapes) = self.string()?;
                self.scalar(match escapes {
                    Escapes::Other => Text::Owned(reencode(raw)?.into()),
                    Escapes::None | Escapes::AsSerdeJson => Text::Slice(raw),
                })
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &'static str) -> Option<()> {
        let end = self.at + word.len();
        if self.bytes.get(self.at..end)? != word.as_bytes() {
            return None;
        }
        self.at = end;
        self.scalar(Text::Slice(word))
    }

    /// A string token, quotes included, and what escapes it holds.
    fn string(&mut self) -> Option<(&'a str, Escapes)> {
        let start = self.at;
        self.at += 1;
        let mut escapes = Escapes::None;
        loop {
            let rest = self.bytes.get(self.at..)?;
            self.at += string_stop(rest)?;
            match self.bytes[self.at] {
                b'"' => break,
                // A backslash. serde_json writes these characters this way;
                // any other escape (`\/`, `\u0041`, an invalid one) is
                // respelt, or refused, by serde_json when decoding.
                b'\\' => {
                    let usual = matches!(
                        self.bytes.get(self.at + 1),
                        Some(b'"' | b'\\' | b'n' | b't' | b'r' | b'b' | b'f')
                    );
                    escapes = match (escapes, usual) {
                        (Escapes::Other, _) | (_, false) => Escapes::Other,
                        _ => Escapes::AsSerdeJson,
                    };
                    self.at += 2;
                }
                // A raw control byte: JSON refuses it.
                _ => return None,
            }
        }
        self.at += 1;
        Some((self.text.get(start..self.at)?, escapes))
    }

    /// Integers serde_json prints as written are copied; any other number
    /// (fraction, exponent, `-0`, beyond 64 bits) is respelt by serde_json.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
        }
        let raw = &self.text[start..self.at];
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        let plain = !digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && raw != "-0";
        if plain {
            return self.scalar(Text::Slice(raw));
        }
        let number: serde_json::Number = serde_json::from_str(raw).ok()?;
        self.scalar(Text::Owned(number.to_string().into()))
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Opens a container: its token's `end` is set when it closes.
    fn open(&mut self, object: bool) -> Option<usize> {
        self.enter()?;
        self.at += 1;
        let at = self.tokens.len();
        self.tokens.push(if object {
            Token::Object { end: 0 }
        } else {
            Token::Array { end: 0 }
        });
        Some(at)
    }

    fn close(&mut self, open: usize) -> Option<()> {
        self.at += 1;
        self.depth -= 1;
        let end = self.tokens.len();
        match &mut self.tokens[open] {
            Token::Array { end: e } | Token::Object { end: e } => *e = end,
            _ => unreachable!("`open` is a container"),
        }
        Some(())
    }

    fn array(&mut self) -> Option<()> {
        let open = self.open(false)?;
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b']') {
            return self.close(open);
        }
        loop {
            self.value()?;
            self.skip_space();
            match *self.bytes.get(self.at)? {
                b',' => self.at += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.close(open)
    }

    fn object(&mut self) -> Option<()> {
        let open = self.open(true)?;
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b'}') {
            return self.close(open);
        }
        loop {
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b'"') {
                return None;
            }
            let (raw, escapes) = self.string()?;
            let key = if escapes != Escapes::None {
                let name: String = serde_json::from_str(raw).ok()?;
                let encoded = serde_json::to_string(&name).ok()?;
                Token::EscapedKey(Box::new(EscapedKey { name, encoded }))
            } else {
                Token::Key(raw)
            };
            self.tokens.push(key);
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b':') {
                return None;
            }
            self.at += 1;
            self.value()?;
            self.skip_space();
            match *self.bytes.get(self.at)? {
                b',' => self.at += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.close(open)
    }
}

/// A string token with escapes, in serde_json's spelling (it may have been
/// written `\/` or `\u0041`).
fn reencode(raw: &str) -> Option<String> {
    let decoded: String = serde_json::from_str(raw).ok()?;
    serde_json::to_string(&decoded).ok()
}

fn indent(out: &mut String, level: usize) {
    // A new line and the indentation in one copy, at any usual depth.
    const LINE: &str = concat!("\n", "                                        ");
    match LINE.get(..1 + 2 * level) {
        Some(line) => out.push_str(line),
        None => {
            out.push('\n');
            for _ in 0..level {
                out.push_str("  ");
            }
        }
    }
}

/// serde_json's `PrettyFormatter` layout of the value at `i`: empty
/// containers stay on one line. `members` is scratch space shared by every
/// level, so that writing allocates nothing per object.
fn write<'t>(
    tokens: &'t [Token<'_>],
    i: usize,
    level: usize,
    out: &mut String,
    members: &mut Vec<(&'t str, usize)>,
) {
    match &tokens[i] {
        Token::Scalar(text) => out.push_str(text.as_str()),
        Token::Array { end } => {
            if *end == i + 1 {
                out.push_str("[]");
                return;
            }
            out.push('[');
            let mut at = i + 1;
            while at < *end {
                if at > i + 1 {
                    out.push(',');
                }
                indent(out, level + 1);
                write(tokens, at, level + 1, out, members);
                at = after(tokens, at);
            }
            indent(out, level);
            out.push(']');
        }
        Token::Object { .. } => {
            let start = members.len();
            sorted_members(tokens, i, members);
            if members.len() == start {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for m in start..members.len() {
                let (_, key) = members[m];
                if m > start {
                    out.push(',');
                }
                indent(out, level + 1);
                match &tokens[key] {
                    Token::Key(raw) => out.push_str(raw),
                    Token::EscapedKey(k) => out.push_str(&k.encoded),
                    _ => unreachable!("members are listed by their key tokens"),
                }
                out.push_str(": ");
                write(tokens, key + 1, level + 1, out, members);
            }
            members.truncate(start);
            indent(out, level);
            out.push('}');
        }
        Token::Key(_) | Token::EscapedKey(_) => unreachable!("a key is written with its object"),
    }
}

/// The value at `i`, objects in canonical order.
fn to_value<'t>(
    tokens: &'t [Token<'_>],
    i: usize,
    members: &mut Vec<(&'t str, usize)>,
) -> serde_json::Value {
    use serde_json::Value;
    match &tokens[i] {
        Token::Scalar(text) => match text.as_str().as_bytes()[0] {
            b'"' => Value::String(unquote(text.as_str())),
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'n' => Value::Null,
            _ => serde_json::from_str(text.as_str()).expect("a number serde_json has spelt"),
        },
        Token::Array { end } => {
            let mut items = Vec::new();
            let mut at = i + 1;
            while at < *end {
                items.push(to_value(tokens, at, members));
                at = after(tokens, at);
            }
            Value::Array(items)
        }
        Token::Object { .. } => {
            let start = members.len();
            sorted_members(tokens, i, members);
            let mut map = serde_json::Map::new();
            for m in start..members.len() {
                let (name, key) = members[m];
                let value = to_value(tokens, key + 1, members);
                map.insert(name.to_string(), value);
            }
            members.truncate(start);
            Value::Object(map)
        }
        Token::Key(_) | Token::EscapedKey(_) => unreachable!("a key is read with its object"),
    }
}

/// The string a canonical string token stands for.
fn unquote(token: &str) -> String {
    if token.contains('\\') {
        serde_json::from_str(token).expect("a string serde_json has spelt")
    } else {
        token[1..token.len() - 1].to_string()
    }
}
#[cfg(test)]
mod tests {
    use super::Document;

    /// What canonical output has always been: a sorted `Value`, pretty-printed.
    fn through_value(input: &str) -> String {
        let mut value: serde_json::Value = serde_json::from_str(input).unwrap();
        super::sort_keys(&mut value);
        super::pretty(&value)
    }

    #[test]
    fn template_output_is_written_without_serde_json_and_byte_identical() {
        let input = r#"{ "b": [1, -2, 0, true, false, null, "x y"], "a": { "z": {}, "y": [] },
            "Resources": { "K": { "Type": "T", "Properties": { "n": 123456789012345678, "é": "ü" } } } }"#;
        let document = Document::parse(input).unwrap();
        assert!(matches!(document.0, super::Parsed::Fast(_)));
        assert!(document.has_object("Resources"));
        assert_eq!(document.text(), through_value(input));
        let value: serde_json::Value = serde_json::from_str(&through_value(input)).unwrap();
        assert_eq!(document.into_value(), value);
    }

    /// The eight-at-a-time scan stops exactly where a byte-by-byte scan
    /// does: at every length and position, after bytes next to the stops in
    /// value (a borrow from one must not flag another), and not at all in a
    /// run with no stop.
    #[test]
    fn a_string_run_ends_where_a_byte_by_byte_scan_ends() {
        let stop = |b: &u8| *b < b' ' || *b == b'"' || *b == b'\\';
        let neighbours = [b' ', b'!', b'#', b'[', b']', b'a', 0x7f, 0x80, 0xc3, 0xff];
        let stops = [b'"', b'\\', 0x00, 0x01, b'\t', b'\n', 0x1f];
        for len in 0..=26 {
            for &filler in &neighbours {
                let plain = vec![filler; len];
                assert_eq!(super::string_stop(&plain), None, "{plain:?}");
                for at in 0..len {
                    for &byte in &stops {
                        let mut run = plain.clone();
                        run[at] = byte;
                        // A second stop after the first must not move it.
                        if at + 1 < len {
                            run[at + 1] = 0x00;
                        }
                        let expected = run.iter().position(stop);
                        assert_eq!(super::string_stop(&run), expected, "{run:?}");
                    }
                }
            }
        }
    }

    /// Read from the tokens, the resources of a type are those of the whole
    /// document's value: repeated ids (the last wins), a type spelt with an
    /// escape, a type that is not a string, a resource without one.
    #[test]
    fn resources_of_a_type_are_those_of_the_whole_value() {
        let input = r#"{"Resources": {"B": {"Type": "P", "Properties": {"x": [1, {"b": 2, "a": 1}]}},
            "A": {"Type": "Q"}, "C": {"Type": "\u0050"}, "B": {"Type": "P", "Properties": {}},
            "D": {"Type": ["P"]}, "E": {"Properties": {}}}}"#;
        let document = Document::parse(input).unwrap();
        let ours = document.resources_of_type("P");
        let value = Document::parse(input).unwrap().into_value();
        let theirs: Vec<_> = crate::template::Template::new(&value)
            .of_type("P")
            .map(|r| (r.logical_id.to_string(), r.body.clone()))
            .collect();
        let ids: Vec<&str> = ours.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["B", "C"]);
        assert_eq!(ours, theirs);
        assert!(
            Document::parse("[]")
                .unwrap()
                .resources_of_type("P")
                .is_empty()
        );
    }

    #[test]
    fn of_repeated_keys_the_last_decides_whether_a_section_is_an_object() {
        let last_is_object = Document::parse(r#"{"Resources": [], "Resources": {}}"#).unwrap();
        assert!(last_is_object.has_object("Resources"));
        let last_is_list = Document::parse(r#"{"Resources": {}, "Resources": []}"#).unwrap();
        assert!(!last_is_list.has_object("Resources"));
    }

    #[test]
    fn unusual_spellings_come_out_as_serde_json_writes_them() {
        for input in [
            r#"{"s": "a\/b \u0041 \"q\" \\ \n \t \u00e9 \ud83d\ude00"}"#,
            r#"{"s": "{\"a\":\"${!x}\"}\n\t\r\b\f\\", "t": "\u001f"}"#,
            r#"{"\u0062": 1, "a": 2, "b\n": 3}"#,
            r#"[1.0, 1e3, -0, -0.0, 1E-2, 12345678901234567890, -9223372036854775809, 0.1]"#,
            r#"{"k": 1, "j": 2, "k": 3}"#,
            r#"{"dup": {"x": 1}, "dup": [2]}"#,
            "  [ ]  ",
            "{}",
            "\"just a string\"",
            "[[[[{\"a\": [{}]}]]]]",
        ] {
            let document = Document::parse(input).unwrap();
            assert_eq!(document.text(), through_value(input), "{input}");
            let value: serde_json::Value = serde_json::from_str(&through_value(input)).unwrap();
            assert_eq!(document.into_value(), value, "{input}");
        }
    }

    #[test]
    fn invalid_json_gets_serde_json_error_and_position() {
        for input in [
            "{\n  \"a\": 1,\n}",
            "{\"a\" 1}",
            "[1 2]",
            "{} x",
            "\"tab\tinside\"",
            "[01]",
            "{\"a\": tru}",
            "\"\\x\"",
            "[",
            "",
        ] {
            let ours = Document::parse(input).err().expect(input).to_string();
            let theirs = serde_json::from_str::<serde_json::Value>(input)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs, "{input:?}");
        }
    }

    #[test]
    fn nesting_beyond_serde_json_limit_is_refused_as_it_refuses_it() {
        for depth in [126, 127, 128, 129] {
            let input = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let ours = Document::parse(&input)
                .map(|d| d.text())
                .map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<serde_json::Value>(&input)
                .map(|_| through_value(&input))
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "depth {depth}");
        }
    }
}
