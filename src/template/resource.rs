//! A read-only view over a template's sections and resources.

use serde_json::Value;

/// A rendered (or deployed) template, read without copying it.
#[derive(Debug, Clone, Copy)]
pub struct Template<'a> {
    pub value: &'a Value,
}

/// One entry of the template's `Resources` section.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    pub body: &'a Value,
}

static NULL: Value = Value::Null;

impl<'a> Template<'a> {
    pub fn new(value: &'a Value) -> Self {
        Self { value }
    }

    /// The resources in key order (templates are canonical, so stable).
    pub fn resources(self) -> impl Iterator<Item = Resource<'a>> {
        self.value
            .get("Resources")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(logical_id, body)| Resource {
                logical_id,
                kind: body.get("Type").and_then(Value::as_str).unwrap_or(""),
                body,
            })
    }

    pub fn of_type(self, kind: &'a str) -> impl Iterator<Item = Resource<'a>> {
        self.resources().filter(move |r| r.kind == kind)
    }

    pub fn resource(self, logical_id: &str) -> Option<Resource<'a>> {
        let (logical_id, body) = self
            .value
            .get("Resources")?
            .as_object()?
            .get_key_value(logical_id)?;
        Some(Resource {
            logical_id,
            kind: body.get("Type").and_then(Value::as_str).unwrap_or(""),
            body,
        })
    }

    /// Number of entries in a top-level section (`Outputs`, `Parameters`, …).
    pub fn section_len(self, section: &str) -> usize {
        self.value
            .get(section)
            .and_then(Value::as_object)
            .map_or(0, |m| m.len())
    }

    /// Names of the entries of a top-level section.
    pub fn section_keys(self, section: &str) -> Vec<&'a str> {
        self.value
            .get(section)
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether `name` is one of the template's parameters (decided at deploy time).
    pub fn is_parameter(self, name: &str) -> bool {
        self.value
            .get("Parameters")
            .is_some_and(|p| p.get(name).is_some())
    }
}

impl<'a> Resource<'a> {
    /// A property, or `None` when absent (or when `Properties` itself is missing).
    pub fn prop(&self, name: &str) -> Option<&'a Value> {
        self.body.get("Properties")?.get(name)
    }

    /// All properties; `null` when the resource has none.
    pub fn props(&self) -> &'a Value {
        self.body.get("Properties").unwrap_or(&NULL)
    }

    /// A resource attribute such as `DeletionPolicy`.
    pub fn attribute(&self, name: &str) -> Option<&'a Value> {
        self.body.get(name)
    }
}
