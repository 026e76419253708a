//! Pieces of text every report shares: a value shown briefly, and Markdown
//! that renders as written (code spans for what must stay verbatim, escapes
//! for the rest).

use serde_json::Value;

use crate::template::iam::{Statement, condition_json};
use crate::template::value::display;

/// Longest value shown in full on one line; longer ones end with `…`.
const BRIEF: usize = 120;

/// A value on one line: compact JSON, `(absent)` when there is none.
pub fn brief(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > BRIEF {
                format!("{}…", text.chars().take(BRIEF - 1).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// `before → after` of one changed value.
pub fn before_after(before: Option<&Value>, after: Option<&Value>) -> String {
    format!("{} → {}", brief(before), brief(after))
}

/// A Markdown code span holding `text` exactly: the fence is longer than any
/// run of backticks inside, and a space pads text that starts or ends with
/// one. A `|` is escaped so the span can sit in a table cell.
pub fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.trim().is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

/// Text that Markdown shows as written: every character that could start
/// emphasis, a link, HTML, a table cell or an entity is escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Text inside raw HTML (a `<summary>`), where Markdown is not read.
pub fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

fn codes<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(code).collect::<Vec<_>>().join(", ")
}

/// An IAM statement in Markdown: actions, principals, resources and
/// conditions verbatim in code spans, the words around them plain.
pub fn statement(s: &Statement) -> String {
    let mut out = format!(
        "\\[{}\\] {}",
        escape(&s.policy),
        escape(&s.effect.to_string())
    );
    if !s.actions.is_empty() {
        let word = if s.not_action {
            " every action except"
        } else {
            ""
        };
        out.push_str(&format!(
            "{word} {}",
            codes(s.actions.iter().map(String::as_str))
        ));
    }
    let principals = s.principal_names();
    if !principals.is_empty() {
        let word = if s.not_principal { "anyone but" } else { "for" };
        out.push_str(&format!(
            " {word} {}",
            codes(principals.iter().map(String::as_str))
        ));
    }
    if !s.resources.is_empty() {
        let texts: Vec<String> = s.resources.iter().map(display).collect();
        let word = if s.not_resource { "on all but" } else { "on" };
        out.push_str(&format!(
            " {word} {}",
            codes(texts.iter().map(String::as_str))
        ));
    }
    if let Some(condition) = &s.condition {
        let json = condition_json(condition);
        if json.as_object().is_some_and(|m| !m.is_empty()) {
            out.push_str(&format!(" when {}", code(&json.to_string())));
        }
    }
    if let Some(sid) = &s.sid {
        out.push_str(&format!(" (Sid {})", code(sid)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("s3:GetObject"), "`s3:GetObject`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }

    #[test]
    fn escapes_what_markdown_would_read() {
        assert_eq!(escape("arn:*/x_y [z]"), "arn:\\*/x\\_y \\[z\\]");
    }

    #[test]
    fn long_values_are_cut() {
        let long = Value::String("x".repeat(300));
        assert!(brief(Some(&long)).ends_with('…'));
        assert_eq!(brief(Some(&long)).chars().count(), BRIEF);
        assert_eq!(brief(None), "(absent)");
    }
}
