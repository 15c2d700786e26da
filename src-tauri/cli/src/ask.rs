//! `fanout run --permission ask`: approval requests answered on the terminal.
//!
//! Requests of all variants are asked one after another on stderr. When stdin
//! is not a terminal nobody can answer, so every request is denied (the model
//! is told why) and stderr says so.

use std::io::{BufRead, IsTerminal, Write};

use fanout_engine::agent::{ApprovalRequest, ApprovalUpdate};
use fanout_engine::api::Fanout;
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::orchestrator::{Steer, Update, UpdateKind};
use indicatif::MultiProgress;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// What the model reads when no terminal could answer.
const NO_TERMINAL: &str = "Denied: fanout runs without a terminal to ask the user, so tool uses that need approval are denied. Work without this tool.";

enum Answer {
    Allow,
    AllowAlways,
    Deny(String),
}

/// Answers the running variants' approval requests until aborted.
pub fn spawn(fanout: &Fanout, multi: MultiProgress) -> JoinHandle<()> {
    let mut updates = fanout.subscribe();
    let fanout = fanout.clone();
    let terminal = std::io::stdin().is_terminal();
    tokio::spawn(async move {
        loop {
            let update = match updates.recv().await {
                Ok(update) => update,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            let Update {
                experiment_id,
                variant,
                kind:
                    UpdateKind::Approval {
                        update: ApprovalUpdate::Requested { request },
                    },
            } = update
            else {
                continue;
            };
            let answer = if terminal {
                let multi = multi.clone();
                let asked = request.clone();
                tokio::task::spawn_blocking(move || multi.suspend(|| prompt(variant, &asked)))
                    .await
                    .unwrap_or_else(|_| Answer::Deny(NO_TERMINAL.to_owned()))
            } else {
                eprintln!(
                    "variant {variant}: denied {} ({}): stdin is not a terminal, so nobody can approve it. Run in a terminal, or choose --permission edits.",
                    request.tool,
                    first_line(&request)
                );
                Answer::Deny(NO_TERMINAL.to_owned())
            };
            let steer = match answer {
                Answer::Allow => Steer::Allow {
                    request: request.id,
                },
                Answer::AllowAlways => Steer::AllowAlways { tool: request.tool },
                Answer::Deny(message) => Steer::Deny {
                    request: request.id,
                    message,
                },
            };
            let experiment = ExperimentId::new(experiment_id.to_string());
            if let Err(error) = fanout
                .steer(&experiment, VariantIndex(variant), steer)
                .await
            {
                eprintln!("variant {variant}: {error}");
            }
        }
    })
}

fn first_line(request: &ApprovalRequest) -> String {
    let summary = request.display.summary();
    summary.lines().next().unwrap_or("").to_owned()
}

/// Asks on the terminal; end of input denies.
fn prompt(variant: u32, request: &ApprovalRequest) -> Answer {
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "\nvariant {variant} asks to use {}:\n  {}",
        request.tool,
        request.display.summary().replace('\n', "\n  ")
    );
    loop {
        let _ = write!(
            err,
            "[a] allow once, [A] allow {} for this experiment, [d] deny: ",
            request.tool
        );
        let _ = err.flush();
        let Some(line) = read_line() else {
            return Answer::Deny("The user did not answer.".to_owned());
        };
        match line.trim() {
            "a" | "y" | "allow" => return Answer::Allow,
            "A" | "always" => return Answer::AllowAlways,
            "d" | "n" | "deny" => {
                let _ = write!(err, "Message for the agent (optional): ");
                let _ = err.flush();
                return Answer::Deny(read_line().unwrap_or_default());
            }
            other => {
                let _ = writeln!(err, "`{other}` is not an answer; type a, A or d.");
            }
        }
    }
}

fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end().to_owned()),
    }
}
