//! `mlinfra bootstrap`: the bootstrap stack of an environment's account,
//! printed, or deployed with `--deploy` through a change set.

use crate::apply::follow::{self, Operation};
use crate::apply::progress::Progress;
use crate::cli::Session;
use crate::cli::args::BootstrapArgs;
use crate::cli::session::runtime;
use crate::cloud::cfn::{ChangeSetRequest, TemplateSource};
use crate::delivery::bootstrap;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::plan::run_id;

pub fn run(session: &Session, args: &BootstrapArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    let template = bootstrap::template(&env, &rendered).map_err(|e| Error::Usage(e.to_string()))?;
    if !args.deploy {
        session.out(&template.text)?;
        return Ok(Exit::Clean);
    }
    // The roles do not exist yet: bootstrap runs with the caller's own
    // credentials of the environment's account, never through the deploy role.
    let mut caller = env.clone();
    caller.access.deploy_role_arn = None;
    caller.access.external_id = None;
    let stack = bootstrap::stack_name(&env);
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&caller, &args.aws).await?;
        let cfn = &clients.cfn;
        let existing = cfn.describe_stack(&stack).await?;
        let create = existing
            .as_ref()
            .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
        let name = format!("mlinfra-{}", run_id());
        let request = ChangeSetRequest {
            stack: stack.clone(),
            name: name.clone(),
            create,
            template: TemplateSource::Body(template.text.clone()),
            tags: Default::default(),
            description: format!("mlinfra bootstrap of {}", env.prefix()),
            role_arn: None,
        };
        printer.notice(&format!("{stack}: creating change set {name}"));
        let created = cfn.create_change_set(&request).await?;
        let info = cfn
            .wait_change_set(&created.id)
            .await
            .map_err(crate::plan::PlanError::from)?;
        if info.is_empty_change() {
            cfn.delete_change_set(&created.id).await?;
            printer.notice(&format!("{stack}: up to date"));
            return Ok(Exit::Clean);
        }
        if info.status != "CREATE_COMPLETE" {
            return Err(Error::Plan(crate::plan::PlanError::ChangeSetFailed {
                stack: stack.clone(),
                reason: info.status_reason.unwrap_or(info.status),
            }));
        }
        let progress = Progress::for_printer(printer);
        let operation = Operation {
            token: Some(format!("mlinfra-bootstrap-{}", run_id())),
            after: cfn.newest_event_id(&stack).await?,
        };
        progress.started(&stack, if create { "creating" } else { "updating" });
        cfn.execute_change_set(&created.id, operation.token.as_deref().unwrap_or_default())
            .await?;
        let outcome = follow::follow(cfn, &stack, &stack, &operation, &progress)
            .await
            .map_err(crate::plan::PlanError::from)?;
        progress.finished(&stack, &outcome.status);
        if !outcome.succeeded() {
            return Err(Error::Usage(format!(
                "{stack} ended in {}: {}",
                outcome.status,
                outcome.status_reason.unwrap_or_default()
            )));
        }
        let outputs = cfn
            .describe_stack(&stack)
            .await?
            .map(|s| s.outputs)
            .unwrap_or_default();
        let mut text = String::new();
        for output in outputs {
            text.push_str(&format!("{} = {}\n", output.key, output.value));
        }
        session.out(&text)?;
        Ok(Exit::Clean)
    })
}
