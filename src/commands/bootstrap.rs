//! `mlinfra bootstrap`: the bootstrap stack of an environment's account,
//! printed, or deployed with `--deploy` through a change set.

use crate::cli::Session;
use crate::cli::args::BootstrapArgs;
use crate::cli::session::runtime;
use crate::delivery::bootstrap;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::standalone::{self, Standalone};

pub fn run(session: &Session, args: &BootstrapArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    // The roles do not exist yet: bootstrap runs with the caller's own
    // credentials of the environment's account, never through the deploy role.
    let mut caller = env.clone();
    caller.access.deploy_role_arn = None;
    caller.access.external_id = None;
    if let Some(fleet) = &env.fleet {
        // A fleet: one StackSet, administered from the environment's account.
        let templates = crate::fleet::render(&env, fleet, &rendered)?;
        if !args.deploy {
            let bootstrap = templates
                .iter()
                .find(|t| t.layer.is_none())
                .expect("a fleet always has the bootstrap StackSet");
            session.out(&bootstrap.template.text)?;
            return Ok(Exit::Clean);
        }
        return runtime()?.block_on(async {
            let clients = session.connect(&caller, &args.aws).await?;
            standalone::fleet_bootstrap(&clients, &env, fleet, &templates, &session.printer)
                .await?;
            Ok(Exit::Clean)
        });
    }
    let template = bootstrap::template(&env, &rendered).map_err(|e| Error::Usage(e.to_string()))?;
    if !args.deploy {
        session.out(&template.text)?;
        return Ok(Exit::Clean);
    }
    let stack = Standalone {
        stack: bootstrap::stack_name(&env),
        template: template.text.clone(),
        description: format!("mlinfra bootstrap of {}", env.prefix()),
        tags: Default::default(),
    };
    runtime()?.block_on(async {
        let clients = session.connect(&caller, &args.aws).await?;
        // `--deploy` is the confirmation, as the command has always taken it.
        let outputs = standalone::deploy(&clients.cfn, &stack, &session.printer, |_| true).await?;
        let mut text = String::new();
        for output in outputs.unwrap_or_default() {
            text.push_str(&format!("{} = {}\n", output.key, output.value));
        }
        session.out(&text)?;
        Ok(Exit::Clean)
    })
}
