//! Canonical JSON written straight from Rust values: keys sorted, 2-space
//! indent, trailing newline, byte for byte what sorting a `serde_json::Value`
//! and pretty-printing it gives. The built-in stacks are written with it, so
//! their text is never parsed back.
//!
//! Members may be written in any order: an object whose keys arrived out of
//! order is rearranged when it closes. Every member of one object sits at the
//! same indentation, so rearranging moves whole members and keeps the length.

use serde_json::Value;

use crate::template::canonical::string_stop;

/// A canonical JSON document being written.
pub struct Writer {
    out: String,
    /// serde_json's compact form (no new lines, no spaces) instead of the pretty one.
    compact: bool,
    /// The open objects and arrays, innermost last.
    frames: Vec<Frame>,
    /// The members of every open object, innermost object's last.
    members: Vec<Member>,
}

struct Frame {
    object: bool,
    /// Where the frame's content starts: just after its `{` or `[`.
    start: usize,
    /// Its first member's index in `Writer::members` (objects only).
    first_member: usize,
    items: usize,
    sorted: bool,
}

/// One member of an open object: `"key": value` at `start..end` of the output.
struct Member {
    key: Key,
    start: usize,
    end: usize,
}

enum Key {
    /// A key written without escapes, `len` bytes just after the member's
    /// opening quote: it is its own text in the output.
    Plain { len: usize },
    /// A key that needed escapes: sorted by its unescaped text, as serde_json does.
    Escaped(Box<str>),
}

impl Member {
    fn key<'a>(&'a self, out: &'a str) -> &'a str {
        match &self.key {
            Key::Plain { len } => &out[self.start + 1..self.start + 1 + len],
            Key::Escaped(key) => key,
        }
    }
}

impl Writer {
    /// Writes one document whose top level is an object, pretty-printed
    /// with a trailing new line.
    pub fn document(write: impl FnOnce(&mut Obj<'_>)) -> String {
        // Sized for the largest built-in stacks, so that few documents grow.
        let mut text = Self::write(false, 32 * 1024, write);
        text.push('\n');
        text
    }

    /// Writes one document whose top level is an object, compact, as
    /// `serde_json::to_string` writes a sorted value.
    pub fn compact(write: impl FnOnce(&mut Obj<'_>)) -> String {
        Self::write(true, 4 * 1024, write)
    }

    fn write(compact: bool, capacity: usize, write: impl FnOnce(&mut Obj<'_>)) -> String {
        let mut writer = Writer {
            out: String::with_capacity(capacity),
            compact,
            frames: Vec::with_capacity(16),
            members: Vec::with_capacity(64),
        };
        writer.object(write);
        debug_assert!(writer.frames.is_empty() && writer.members.is_empty());
        writer.out
    }

    /// A new line indented to the current depth.
    fn indent(&mut self) {
        self.newline(self.frames.len());
    }

    fn newline(&mut self, depth: usize) {
        if !self.compact {
            push_newline(&mut self.out, depth);
        }
    }

    /// Starts an array item: the separator and the item's indentation.
    fn item(&mut self) {
        let frame = self.frames.last_mut().expect("an item is inside an array");
        debug_assert!(!frame.object);
        frame.items += 1;
        if frame.items > 1 {
            self.out.push(',');
        }
        self.indent();
    }

    /// Starts an object member: separator, indentation, `"key": `.
    fn key(&mut self, key: &str) {
        let frame = self
            .frames
            .last_mut()
            .expect("a member is inside an object");
        debug_assert!(frame.object);
        frame.items += 1;
        if frame.items > 1 {
            self.out.push(',');
            let previous = self.members.last().expect("an earlier member");
            if previous.key(&self.out) >= key {
                debug_assert!(previous.key(&self.out) != key, "key `{key}` written twice");
                frame.sorted = false;
            }
        }
        self.indent();
        let start = self.out.len();
        let key = if string_stop(key.as_bytes()).is_none() {
            // The common case: a key is its own text, quoted.
            self.out.push('"');
            self.out.push_str(key);
            self.out.push_str(if self.compact { "\":" } else { "\": " });
            Key::Plain { len: key.len() }
        } else {
            self.string(key);
            self.out.push_str(if self.compact { ":" } else { ": " });
            Key::Escaped(key.into())
        };
        self.members.push(Member { key, start, end: 0 });
    }

    /// Ends the member whose value has just been written.
    fn end_member(&mut self) {
        let end = self.out.len();
        self.members.last_mut().expect("a member to end").end = end;
    }

    fn open(&mut self, object: bool) {
        self.out.push(if object { '{' } else { '[' });
        self.frames.push(Frame {
            object,
            start: self.out.len(),
            first_member: self.members.len(),
            items: 0,
            sorted: true,
        });
    }

    fn close(&mut self) {
        let frame = self.frames.pop().expect("a frame to close");
        if frame.object {
            if !frame.sorted {
                self.sort_members(&frame);
            }
            self.members.truncate(frame.first_member);
        }
        if frame.items > 0 {
            self.newline(self.frames.len());
        }
        self.out.push(if frame.object { '}' } else { ']' });
    }

    /// Rewrites an object's content with its members in key order.
    fn sort_members(&mut self, frame: &Frame) {
        let members = &mut self.members[frame.first_member..];
        let out = &self.out;
        members.sort_by(|a, b| a.key(out).cmp(b.key(out)));
        debug_assert!(
            members
                .windows(2)
                .all(|pair| pair[0].key(out) != pair[1].key(out)),
            "an object was given the same key twice"
        );
        let depth = self.frames.len() + 1;
        let mut sorted = String::with_capacity(self.out.len() - frame.start);
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                sorted.push(',');
            }
            if !self.compact {
                push_newline(&mut sorted, depth);
            }
            sorted.push_str(&self.out[member.start..member.end]);
        }
        debug_assert_eq!(sorted.len(), self.out.len() - frame.start);
        self.out.truncate(frame.start);
        self.out.push_str(&sorted);
    }

    fn object(&mut self, write: impl FnOnce(&mut Obj<'_>)) {
        self.open(true);
        write(&mut Obj(self));
        self.close();
    }

    fn array(&mut self, write: impl FnOnce(&mut Arr<'_>)) {
        self.open(false);
        write(&mut Arr(self));
        self.close();
    }

    /// A string in serde_json's spelling.
    fn string(&mut self, text: &str) {
        self.out.push('"');
        let mut rest = text;
        while let Some(stop) = string_stop(rest.as_bytes()) {
            self.out.push_str(&rest[..stop]);
            let byte = rest.as_bytes()[stop];
            match byte {
                b'"' => self.out.push_str("\\\""),
                b'\\' => self.out.push_str("\\\\"),
                b'\n' => self.out.push_str("\\n"),
                b'\r' => self.out.push_str("\\r"),
                b'\t' => self.out.push_str("\\t"),
                0x08 => self.out.push_str("\\b"),
                0x0c => self.out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.push_str("\\u00");
                    self.out.push(char::from(HEX[usize::from(byte >> 4)]));
                    self.out.push(char::from(HEX[usize::from(byte & 0xf)]));
                }
            }
            rest = &rest[stop + 1..];
        }
        self.out.push_str(rest);
        self.out.push('"');
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Number(number) => self.number(number),
            Value::String(text) => self.string(text),
            Value::Array(items) => self.array(|a| {
                for item in items {
                    a.value(item);
                }
            }),
            Value::Object(map) => self.object(|o| {
                for (key, item) in map {
                    o.value(key, item);
                }
            }),
        }
    }

    fn number(&mut self, number: &serde_json::Number) {
        use std::fmt::Write;
        write!(self.out, "{number}").expect("writing to a String cannot fail");
    }
}

/// A new line and the indentation of `depth` levels, in one copy.
fn push_newline(out: &mut String, depth: usize) {
    // serde_json refuses to nest deeper than 128, which this covers.
    const SPACES: &str = concat!(
        "\n                                                                ",
        "                                                                ",
        "                                                                ",
        "                                                                "
    );
    match SPACES.get(..1 + 2 * depth) {
        Some(line) => out.push_str(line),
        None => {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
    }
}

/// The members of an object being written.
pub struct Obj<'w>(&'w mut Writer);

impl Obj<'_> {
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.0.key(key);
        self.0.string(value);
        self.0.end_member();
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.value(key, &Value::Bool(value))
    }

    /// An integer (any of Rust's integer types up to 64 bits).
    pub fn int(&mut self, key: &str, value: impl Into<serde_json::Number>) -> &mut Self {
        self.value(key, &Value::Number(value.into()))
    }

    /// A number as serde_json writes an `f64` (`70.0`, `0.5`).
    pub fn float(&mut self, key: &str, value: f64) -> &mut Self {
        self.value(key, &Value::from(value))
    }

    pub fn value(&mut self, key: &str, value: &Value) -> &mut Self {
        self.0.key(key);
        self.0.value(value);
        self.0.end_member();
        self
    }

    /// `"key": ["…", …]`.
    pub fn strs(&mut self, key: &str, items: &[impl AsRef<str>]) -> &mut Self {
        self.arr(key, |a| {
            for item in items {
                a.str(item.as_ref());
            }
        })
    }

    pub fn obj(&mut self, key: &str, write: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.0.key(key);
        self.0.object(write);
        self.0.end_member();
        self
    }

    pub fn arr(&mut self, key: &str, write: impl FnOnce(&mut Arr<'_>)) -> &mut Self {
        self.0.key(key);
        self.0.array(write);
        self.0.end_member();
        self
    }
}

/// The items of an array being written.
pub struct Arr<'w>(&'w mut Writer);

impl Arr<'_> {
    pub fn str(&mut self, value: &str) -> &mut Self {
        self.0.item();
        self.0.string(value);
        self
    }

    pub fn value(&mut self, value: &Value) -> &mut Self {
        self.0.item();
        self.0.value(value);
        self
    }

    pub fn obj(&mut self, write: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.0.item();
        self.0.object(write);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Canonical;
    use serde_json::json;

    fn canonical(value: Value) -> String {
        Canonical::new(value).text
    }

    #[test]
    fn members_in_any_order_come_out_as_sorting_and_pretty_printing_gives() {
        let text = Writer::document(|o| {
            o.str("b", "two")
                .obj("a", |inner| {
                    inner.int("z", 1).arr("y", |a| {
                        a.str("x").obj(|o| {
                            o.bool("q", true).bool("p", false);
                        });
                    });
                })
                .arr("empty list", |_| {})
                .obj("empty", |_| {})
                .float("c", 70.0)
                .float("d", 0.5)
                .value("e", &json!({"n": null, "m": [1, -2, 3.25], "\u{1}k": "v"}));
        });
        let expected = canonical(json!({
            "b": "two",
            "a": {"z": 1, "y": ["x", {"q": true, "p": false}]},
            "empty list": [],
            "empty": {},
            "c": 70.0,
            "d": 0.5,
            "e": {"n": null, "m": [1, -2, 3.25], "\u{1}k": "v"},
        }));
        assert_eq!(text, expected);
    }

    #[test]
    fn the_compact_form_is_serde_jsons_of_the_sorted_value() {
        let written = Writer::compact(|o| {
            o.str("b", "x \" y")
                .obj("a", |o| {
                    o.arr("z", |a| {
                        a.obj(|o| {
                            o.int("2", 2).int("1", 1);
                        })
                        .str("s");
                    })
                    .obj("empty", |_| {});
                })
                .arr("c", |_| {});
        });
        let mut value =
            json!({"b": "x \" y", "a": {"z": [{"2": 2, "1": 1}, "s"], "empty": {}}, "c": []});
        crate::template::sort_keys(&mut value);
        assert_eq!(written, serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        for text in [
            every_byte.as_str(),
            "plain",
            "quote \" and backslash \\ and ${KeyArn}",
            "é ü — 日本",
            "\u{7f}\u{1f}\n\t",
        ] {
            let written = Writer::document(|o| {
                o.str("k", text).str(text, "v");
            });
            assert_eq!(
                written,
                canonical(json!({ "k": text, text: "v" })),
                "{text:?}"
            );
        }
    }

    // The check is a debug assertion: what the writers write is fixed by the
    // code, and the suite runs it with assertions on.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "the same key twice")]
    fn a_key_written_twice_is_a_mistake_the_tests_catch() {
        Writer::document(|o| {
            o.str("a", "1").str("b", "2").str("a", "3");
        });
    }

    #[test]
    fn a_key_with_escapes_sorts_by_its_text() {
        // `"` sorts before `a` as text; its escaped form `\"` starts with `\`, after `a`.
        let written = Writer::document(|o| {
            o.str("a", "1").str("\"", "2").str("\\", "3");
        });
        assert_eq!(written, canonical(json!({"a": "1", "\"": "2", "\\": "3"})));
    }

    #[test]
    fn nested_objects_out_of_order_at_every_level() {
        let written = Writer::document(|o| {
            for outer in ["c", "a", "b"] {
                o.obj(outer, |o| {
                    for inner in ["z", "x", "y"] {
                        o.arr(inner, |a| {
                            a.obj(|o| {
                                o.str("2", outer).str("1", inner);
                            });
                        });
                    }
                });
            }
        });
        let mut expected = json!({});
        for outer in ["c", "a", "b"] {
            for inner in ["z", "x", "y"] {
                expected[outer][inner] = json!([{"2": outer, "1": inner}]);
            }
        }
        assert_eq!(written, canonical(expected));
    }
}
