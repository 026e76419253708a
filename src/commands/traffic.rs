//! `mlinfra traffic`: show or shift an endpoint's weights and capacity.

use std::io::{BufRead, IsTerminal};

use crate::cli::Session;
use crate::cli::args::TrafficArgs;
use crate::cli::session::runtime;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::ops::traffic::{self, TrafficError};

pub fn run(session: &Session, args: &TrafficArgs) -> Result<Exit> {
    let (env, _) = session.prepare(&args.env)?;
    let changing = !args.weights.is_empty() || !args.capacity.is_empty();
    // Nobody to ask: refused before any AWS call.
    if changing && !args.yes && !std::io::stdin().is_terminal() {
        return Err(TrafficError::NeedsYes.into());
    }
    let report = runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let (endpoint, live) = traffic::live_endpoint(&clients, &env, &args.endpoint).await?;
        if !changing {
            return Ok::<_, Error>(traffic::report(&env, endpoint, &live, Vec::new()));
        }
        let changes = traffic::changes(&env, endpoint, &live, &args.weights, &args.capacity)?;
        if changes.is_empty() {
            session
                .printer
                .notice("the endpoint already has these weights and counts; nothing to change");
            return Ok(traffic::report(&env, endpoint, &live, Vec::new()));
        }
        let described = traffic::describe(&live, &changes);
        for line in &described {
            session
                .printer
                .notice(&format!("endpoint {}: {line}", live.name));
        }
        if !args.yes && !confirm(session, &env.name, &env.account_id, &live.name) {
            return Err(TrafficError::Declined.into());
        }
        let after = traffic::shift(
            &clients,
            &session.printer,
            &live,
            &changes,
            &traffic::update_poll(),
        )
        .await?;
        Ok(traffic::report(&env, endpoint, &after, described))
    })?;
    Ok(session.printer.print(&report, args.format)?)
}

/// Asks on the terminal; only `yes` goes ahead.
fn confirm(session: &Session, env: &str, account: &str, endpoint: &str) -> bool {
    session.printer.prompt(&format!(
        "Change endpoint {endpoint} in {env} (account {account})? Only 'yes' is accepted: "
    ));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}
