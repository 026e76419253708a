//! "Did you mean": the closest of the known names to a mistyped one, and
//! library messages put in plain words.

/// The candidate closest to `word`, when it is close enough to be the
/// intended one (as cargo and rustc judge it: an edit distance of at most a
/// third of the word's length).
///
/// A word of four characters or more that begins a candidate (`instance`
/// for `instance_type`) also suggests it.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let lower = word.to_ascii_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let near = candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, c)| (*distance, *c))
        .map(|(_, c)| c);
    if near.is_some() || lower.chars().count() < 4 {
        return near;
    }
    candidates
        .iter()
        .filter(|c| c.to_ascii_lowercase().starts_with(&lower))
        .min_by_key(|c| (c.len(), **c))
        .copied()
}

/// `; did you mean `x`?` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// What serde and toml say about a value, in the words of the configuration:
/// `unknown field` becomes an unknown key with the nearest known one, type
/// names become what to write (`u32` is "a whole number").
pub fn plain(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let known = known_keys(expected);
        return match closest(field, known.iter().map(String::as_str)) {
            Some(near) => format!("unknown key `{field}`; did you mean `{near}`?"),
            None if known.is_empty() => format!("unknown key `{field}`: nothing may be set here"),
            None => format!(
                "unknown key `{field}`; the keys here are {}",
                known.join(", ")
            ),
        };
    }
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "expected {}, got {}",
            expected_words(expected),
            found_words(found)
        );
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("`{field}` is required here");
    }
    message.to_string()
}

/// The keys listed in `expected one of `a`, `b``, `expected `a` or `b``, or `there are no fields`.
fn known_keys(expected: &str) -> Vec<String> {
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn expected_words(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list, such as [\"a\", \"b\"]".into(),
        "a map" => "a table, such as { key = \"value\" }".into(),
        _ if e.starts_with("struct ") => "a table".into(),
        _ if e.starts_with("a string") || e.starts_with("string") => "text in quotes".into(),
        _ if e.starts_with("a nonzero") => "a whole number above 0".into(),
        _ if e.starts_with("u8")
            || e.starts_with("u16")
            || e.starts_with("u32")
            || e.starts_with("u64") =>
        {
            "a whole number (0 or more)".into()
        }
        _ => e.to_string(),
    }
}

fn found_words(found: &str) -> String {
    let f = found.trim();
    if let Some(text) = f.strip_prefix("string ") {
        return format!("the text {text}");
    }
    if let Some(n) = f.strip_prefix("integer ") {
        return format!("the number {n}");
    }
    if let Some(n) = f.strip_prefix("floating point ") {
        return format!("the number {}", n.trim_matches('`'));
    }
    match f {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        _ => f.trim_start_matches("boolean ").replace('`', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_within_a_third_of_its_length() {
        let regions = ["us-east-1", "us-east-2", "eu-west-1"];
        assert_eq!(closest("us-esat-1", regions), Some("us-east-1"));
        assert_eq!(closest("mars-1", regions), None);
        assert_eq!(closest("prd", ["dev", "prod", "staging"]), Some("prod"));
        assert_eq!(
            closest("instance", ["image", "instance_type", "instance_count"]),
            Some("instance_type")
        );
    }

    #[test]
    fn library_words_become_plain_ones() {
        assert_eq!(
            plain(
                "unknown field `instnce_type`, expected one of `image`, `instance_type`, `volume_gb`"
            ),
            "unknown key `instnce_type`; did you mean `instance_type`?"
        );
        assert_eq!(
            plain("unknown field `colour`, expected `image` or `zones`"),
            "unknown key `colour`; the keys here are image, zones"
        );
        assert_eq!(
            plain("invalid type: string \"1\", expected u32"),
            "expected a whole number (0 or more), got the text \"1\""
        );
        assert_eq!(
            plain("invalid type: integer `-1`, expected u32"),
            "expected a whole number (0 or more), got the number `-1`"
        );
        assert_eq!(plain("missing field `image`"), "`image` is required here");
    }
}
