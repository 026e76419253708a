//! The built-in stacks written straight into canonical text from the render
//! model: no template text to execute and nothing to parse back. Each module
//! arranges the same values as its `templates/*.json.tera`, which stays the
//! template a project overrides; a test renders every environment the suite
//! has both ways and requires the same bytes.

mod data;
mod iam;
mod serving;
mod training;

use super::emit::{Arr, Obj, Writer};
use super::model::{RenderModel, StackFields, Tag};
use crate::config::policy_document::{Grant, InlinePolicy, Resource};
use crate::stacks::Layer;

/// What one stack is written from: the environment's model and the stack's own fields.
pub struct Stack<'a> {
    pub model: &'a RenderModel<'a>,
    pub fields: &'a StackFields,
}

/// A layer's built-in stack as canonical template text.
pub fn render(layer: Layer, stack: &Stack<'_>) -> String {
    let write: fn(&Stack<'_>, &mut Obj<'_>) = match layer {
        Layer::Data => data::write,
        Layer::Iam => iam::write,
        Layer::Training => training::write,
        Layer::Serving => serving::write,
    };
    Writer::document(|o| write(stack, o))
}

/// What the stacks write often, in one spelling.
trait StackParts {
    /// `"Tags": [{"Key": …, "Value": …}, …]`.
    fn tags(&mut self, tags: &[Tag]) -> &mut Self;
    /// `"key": {"Statement": [...], "Version": "2012-10-17"}`.
    fn policy_document(&mut self, key: &str, statements: impl FnOnce(&mut Arr<'_>)) -> &mut Self;
    /// `"Condition": {"StringEquals": {"aws:SourceAccount": account}}` and
    /// any further condition operators `more` writes.
    fn source_account(&mut self, account: &str, more: impl FnOnce(&mut Obj<'_>)) -> &mut Self;
    /// `"key": {"Ref": id}`.
    fn reference(&mut self, key: &str, logical_id: &str) -> &mut Self;
    /// `"key": {"Fn::GetAtt": [id, attribute]}`.
    fn get_att(&mut self, key: &str, logical_id: &str, attribute: &str) -> &mut Self;
    /// `"key": {"Fn::ImportValue": export}`.
    fn import(&mut self, key: &str, export: &str) -> &mut Self;
}

impl StackParts for Obj<'_> {
    fn tags(&mut self, tags: &[Tag]) -> &mut Self {
        self.arr("Tags", |a| {
            for tag in tags {
                a.obj(|o| {
                    o.str("Key", &tag.key).str("Value", &tag.value);
                });
            }
        })
    }

    fn policy_document(&mut self, key: &str, statements: impl FnOnce(&mut Arr<'_>)) -> &mut Self {
        self.obj(key, |o| {
            o.arr("Statement", statements).str("Version", "2012-10-17");
        })
    }

    fn source_account(&mut self, account: &str, more: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.obj("Condition", |o| {
            o.obj("StringEquals", |o| {
                o.str("aws:SourceAccount", account);
            });
            more(o);
        })
    }

    fn reference(&mut self, key: &str, logical_id: &str) -> &mut Self {
        self.obj(key, |o| {
            o.str("Ref", logical_id);
        })
    }

    fn get_att(&mut self, key: &str, logical_id: &str, attribute: &str) -> &mut Self {
        self.obj(key, |o| {
            o.arr("Fn::GetAtt", |a| {
                a.str(logical_id).str(attribute);
            });
        })
    }

    fn import(&mut self, key: &str, export: &str) -> &mut Self {
        self.obj(key, |o| {
            o.str("Fn::ImportValue", export);
        })
    }
}

/// A role's inline policies, each `{"PolicyName": …, "PolicyDocument": …}`.
fn inline_policies(a: &mut Arr<'_>, policies: &[InlinePolicy]) {
    for policy in policies {
        a.obj(|o| {
            o.obj("PolicyDocument", |o| {
                o.arr("Statement", |a| {
                    for grant in &policy.policy_document.statement {
                        a.obj(|o| write_grant(o, grant));
                    }
                })
                .str("Version", policy.policy_document.version);
            })
            .str("PolicyName", &policy.policy_name);
        });
    }
}

/// `{"Ref": id}` as an item of a list.
fn reference_item(a: &mut Arr<'_>, logical_id: &str) {
    a.obj(|o| {
        o.str("Ref", logical_id);
    });
}

/// The two lines every stack starts with.
fn header(stack: &Stack<'_>, o: &mut Obj<'_>) {
    o.str("AWSTemplateFormatVersion", "2010-09-09")
        .str("Description", &stack.fields.description);
}

/// The statement that refuses `action` over plain HTTP; `resource` writes
/// its `Resource`.
fn deny_insecure_transport(a: &mut Arr<'_>, action: &str, resource: impl FnOnce(&mut Obj<'_>)) {
    a.obj(|o| {
        o.str("Action", action).obj("Condition", |o| {
            o.obj("Bool", |o| {
                o.str("aws:SecureTransport", "false");
            });
        });
        o.str("Effect", "Deny").str("Principal", "*");
        resource(o);
        o.str("Sid", "DenyInsecureTransport");
    });
}

fn write_grant(o: &mut Obj<'_>, grant: &Grant) {
    o.arr("Action", |a| {
        for action in &grant.action {
            a.str(action);
        }
    });
    if let Some(condition) = &grant.condition {
        o.value("Condition", condition);
    }
    o.str("Effect", grant.effect);
    match &grant.resource {
        Resource::One(arn) => o.str("Resource", arn),
        Resource::Many(arns) => o.arr("Resource", |a| {
            for arn in arns {
                a.str(arn);
            }
        }),
        Resource::Imported(import) => o.import("Resource", &import.export),
    };
    o.str("Sid", &grant.sid);
}

/// `"checkov": {"skip": [...]}` in a resource's metadata: a check that does
/// not apply, with the reason.
fn checkov_skip(o: &mut Obj<'_>, id: &str, comment: &str) {
    o.obj("checkov", |o| {
        o.arr("skip", |a| {
            a.obj(|o| {
                o.str("comment", comment).str("id", id);
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::Loader;
    use crate::project::Project;
    use crate::render::{Engine, render_env_text};

    /// Every project the suite keeps: the example and the fixtures' corners.
    fn projects() -> Vec<Project> {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut projects = vec![Project::Example];
        for dir in ["check/corners", "check/breaking"] {
            projects.push(Project::Dir(fixtures.join(dir)));
        }
        projects
    }

    #[test]
    fn every_native_stack_is_byte_for_byte_its_built_in_template() {
        let mut compared = 0;
        for project in projects() {
            let native = Engine::new(&project).unwrap();
            let tera = Engine::through_tera(&project).unwrap();
            let mut loader = Loader::new(&project);
            for name in crate::config::deployable_environments(&project).unwrap() {
                // Fixtures of broken configurations have nothing to render.
                let Ok(env) = loader.env(&name) else { continue };
                let ours = render_env_text(&native, &env, None).unwrap();
                let theirs = render_env_text(&tera, &env, None).unwrap();
                assert_eq!(ours.len(), theirs.len());
                for ((spec, ours), (_, theirs)) in ours.iter().zip(&theirs) {
                    if ours != theirs {
                        let line = ours
                            .lines()
                            .zip(theirs.lines())
                            .position(|(a, b)| a != b)
                            .unwrap_or(0);
                        panic!(
                            "{} of {}: native and tera differ from line {}:\n native: {:?}\n tera:   {:?}",
                            spec.name,
                            project.label(),
                            line + 1,
                            ours.lines().nth(line),
                            theirs.lines().nth(line),
                        );
                    }
                    compared += 1;
                }
            }
        }
        // Four stacks of the example's 3 environments, the corners' 8 and
        // the breaking fixtures' 5: a fixture that stops validating is
        // noticed, not skipped.
        assert_eq!(compared, 4 * (3 + 8 + 5), "stacks compared");
    }
}
