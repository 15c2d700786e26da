//! `fanout-mock-llm [--script FILE.json | --approaches N | --write PATH CONTENT [--tool Write|write_file|gemini]]`
//!
//! `--write` serves every session on its own (parallel sessions each write),
//! and `{cwd}` in PATH becomes each Claude Code or Gemini CLI session's
//! working directory.
//! Serves the mock on 127.0.0.1 (ephemeral port), prints
//! `LISTENING http://127.0.0.1:PORT` on stdout and runs until killed.

use std::process::ExitCode;

use fanout_mock_llm::{MockServer, Script, WriteTool};

const USAGE: &str = "usage: fanout-mock-llm [--script FILE.json | --approaches N | --write PATH CONTENT [--tool Write|write_file|gemini]]";

fn parse(args: &[String]) -> Result<Script, String> {
    match args.first().map(String::as_str) {
        None => Ok(Script::default()),
        Some("--script") => {
            let path = args.get(1).ok_or(USAGE)?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("Could not read the script {path}: {e}."))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("The script {path} is not a valid mock script: {e}."))
        }
        Some("--approaches") => {
            let n = args
                .get(1)
                .and_then(|n| n.parse().ok())
                .ok_or("--approaches needs a number, e.g. --approaches 3")?;
            Ok(Script::approaches_tool(n))
        }
        Some("--write") => {
            let (path, content) = match (args.get(1), args.get(2)) {
                (Some(p), Some(c)) => (p, c),
                _ => return Err(USAGE.to_owned()),
            };
            let tool = match (
                args.get(3).map(String::as_str),
                args.get(4).map(String::as_str),
            ) {
                (Some("--tool"), Some("write_file")) => WriteTool::BuiltIn,
                (Some("--tool"), Some("gemini")) => WriteTool::Gemini,
                (Some("--tool"), Some("Write")) | (None, _) => WriteTool::ClaudeCode,
                _ => return Err(USAGE.to_owned()),
            };
            Ok(Script::per_session(Script::write_file(tool, path, content)))
        }
        Some(_) => Err(USAGE.to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let script = match parse(&args) {
        Ok(script) => script,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let server = match MockServer::start(script).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("Could not bind 127.0.0.1: {error}.");
            return ExitCode::FAILURE;
        }
    };
    println!("LISTENING {}", server.url());
    server.serve_forever().await;
    ExitCode::SUCCESS
}
