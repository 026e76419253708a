//! Markdown that renders as written: every Markdown report is read back by
//! a CommonMark parser, and what was written (ARNs with `*`, names with `_`,
//! values with `|` and backticks) is what a reader sees.

use mlinfra::diff::{StackDiff, render_markdown, structural_diff};
use mlinfra::output::Report;
use mlinfra::plan::template_diff::Statement;
use mlinfra::plan::{
    ChangeAction, ChangeSetRef, IamChange, Plan, ResourceChange, StackAction, StackPlan, Summary,
    Warning,
};
use mlinfra::report::Plans;
use mlinfra::report::comment::{Context, finish};
use mlinfra::stacks::Layer;
use mlinfra::template::diff::property_changes;
use serde_json::{Value, json};

use crate::common::commonmark_reading;

fn pipeline(epochs: &str) -> Value {
    let document = json!({"Steps": [{"Name": "Train", "Type": "Training",
        "Arguments": {"HyperParameters": {"epochs": epochs, "note": format!("a|b `c` *d* {epochs}")}}}]});
    json!({"Resources": {"Pipeline": {"Type": "AWS::SageMaker::Pipeline",
        "Properties": {"PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Sub": [document.to_string(), {}]}}}}}})
}

fn statement(resources: &[&str]) -> Statement {
    let document = json!({"Statement": [{"Sid": "Read_Write", "Effect": "Allow",
        "Action": ["s3:*Object", "s3:List*"], "Resource": resources}]});
    mlinfra::template::iam::PolicyDocument::parse(
        &document,
        "data_access",
        &mlinfra::template::intrinsic::Scope::default(),
    )
    .statements[0]
        .clone()
}

fn plan(env: &str) -> Plan {
    let values = property_changes(&pipeline("10"), &pipeline("20"), "Pipeline");
    let changes = vec![ResourceChange {
        logical_id: "Pipeline".into(),
        resource_type: "AWS::SageMaker::Pipeline".into(),
        action: ChangeAction::Modify,
        replacement: None,
        replacement_basis: None,
        properties: vec!["PipelineDefinition".into()],
        replaced_by: vec![],
        physical_id: None,
        follows: vec![],
        values,
    }];
    let stacks = vec![StackPlan {
        stack: format!("p-{env}-training"),
        layer: Layer::Training,
        action: StackAction::Update,
        change_set: Some(ChangeSetRef {
            id: "arn:cs".into(),
            name: "mlinfra-1".into(),
            stack_id: "arn:st".into(),
            create: false,
        }),
        waits_for: vec![],
        template_hash: "h".into(),
        deployed: None,
        changes,
        settings: vec![],
    }];
    Plan {
        format_version: 1,
        env: env.into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        summary: Summary::of(&stacks),
        stacks,
        iam: vec![IamChange {
            stack: format!("p-{env}-iam"),
            logical_id: "Execution_Role".into(),
            resource_type: "AWS::IAM::Role".into(),
            action: ChangeAction::Modify,
            added: vec![statement(&[
                "arn:aws:s3:::raw_zone/*",
                "arn:aws:s3:::models/*",
            ])],
            removed: vec![statement(&["arn:aws:s3:::raw_zone/*"])],
        }],
        warnings: vec![Warning {
            stack: format!("p-{env}-serving"),
            logical_id: "Config".into(),
            message: "variant <AllTraffic> changes *type*".into(),
            advice: "run aws application-autoscaling deregister-scalable-target first".into(),
        }],
        data_loss: vec![],
        cost: None,
        code: vec![],
        fleet: None,
    }
}

fn assert_reads_as_written(markdown: &str, written: &[&str]) {
    let (read, emphasis) = commonmark_reading(markdown);
    assert_eq!(
        emphasis, 0,
        "nothing is emphasised by accident:\n{markdown}"
    );
    for text in written {
        assert!(
            read.contains(text),
            "`{text}` lost; read:\n{read}\nfrom:\n{markdown}"
        );
    }
}

#[test]
fn a_plan_comment_reads_as_written() {
    let context = Context {
        commit: Some("abc123def456".into()),
        run_url: None,
    };
    let text = finish(
        "plan",
        "dev",
        &mlinfra::report::markdown(&plan("dev")),
        &context,
        "mlinfra plan --env dev --format markdown",
    );
    assert!(
        text.starts_with("<!-- mlinfra:plan env=dev -->\n"),
        "{text}"
    );
    assert!(text.contains("commit <code>abc123def456</code>"), "{text}");
    assert_reads_as_written(
        &text,
        &[
            "arn:aws:s3:::raw_zone/*, arn:aws:s3:::models/*",
            "s3:*Object, s3:List*",
            "[data_access] Allow",
            "Read_Write",
            "Execution_Role",
            "variant <AllTraffic> changes *type*",
            "\"a|b `c` *d* 20\"",
            "Steps[0].Arguments.HyperParameters.epochs",
            "\"10\"",
            "\"20\"",
        ],
    );
}

#[test]
fn plans_of_every_environment_are_one_comment() {
    let plans = Plans(vec![plan("dev"), plan("staging")]);
    let text = plans.markdown().unwrap();
    assert!(
        text.starts_with("### mlinfra plan: 2 of 2 environment(s) change\n"),
        "{text}"
    );
    assert!(
        text.contains("`dev`") && text.contains("`staging`"),
        "{text}"
    );
    assert_reads_as_written(&text, &["arn:aws:s3:::raw_zone/*", "p-staging-iam"]);
    let json: Value = serde_json::from_str(&plans.json()).unwrap();
    assert_eq!(json["plans"].as_array().unwrap().len(), 2);
    assert_eq!(json["format_version"], mlinfra::plan::FORMAT_VERSION);
}

#[test]
fn a_diff_comment_reads_as_written() {
    let deployed = json!({"Resources": {"Role": {"Properties": {"Policy": "{\"Resource\": [\"arn:aws:s3:::a_b/*\"]}"}}}});
    let rendered = json!({"Resources": {"Role": {"Properties": {"Policy": "{\"Resource\": [\"arn:aws:s3:::a_b/*\", \"arn:aws:s3:::c_d/*\"]}"}}}});
    let diffs = vec![
        StackDiff::Changed {
            stack: "p-dev-iam".into(),
            differences: structural_diff(&deployed, &rendered),
            replacements: vec![],
        },
        StackDiff::Same {
            stack: "p_dev_data".into(),
        },
    ];
    assert_reads_as_written(
        &render_markdown(&diffs),
        &[
            "Resources Role Properties.Policy ▸ Resource[1]",
            "\"arn:aws:s3:::c_d/*\"",
            "p_dev_data",
        ],
    );
}
