//! What the mock answers: scripts of turns, as JSON files or Rust values.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A whole script: conversations, each answered turn by turn.
///
/// A request goes to the first conversation whose `marker` occurs in the
/// request's body, else to the first conversation without a marker. Keyed
/// conversations let parallel sessions each get their own replies (the marker
/// sits in each session's prompt, which every later request repeats).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Script {
    pub conversations: Vec<Conversation>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    #[serde(default)]
    pub marker: Option<String>,
    /// Pick the turn by how many assistant messages the request already holds,
    /// not by arrival order: then any number of parallel sessions each walk the
    /// same conversation. (A fault would repeat on every retry, so use it for
    /// replies only.)
    #[serde(default)]
    pub by_depth: bool,
    pub turns: Vec<Turn>,
}

/// One answer of the model, or one failure of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Turn {
    Reply(Reply),
    /// 429 with a `retry-after` header (seconds).
    RateLimited {
        retry_after_secs: u64,
    },
    /// 500 api_error.
    ServerError,
    /// 401 authentication_error, as for a wrong key (not retried by clients).
    Unauthorized,
    /// 529 overloaded_error (503 UNAVAILABLE from the Gemini API).
    Overloaded,
    /// 400 invalid request: an error no client retries.
    BadRequest {
        message: String,
    },
    /// A 200 stream whose second event is not JSON.
    MalformedSse,
    /// A 200 stream that starts, then the connection is cut.
    DropMidStream,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reply {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_uses: Vec<ToolCall>,
    /// Pause before each streamed event (a slow stream).
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default = "default_input_tokens")]
    pub input_tokens: u64,
    #[serde(default = "default_output_tokens")]
    pub output_tokens: u64,
}

fn default_input_tokens() -> u64 {
    100
}

fn default_output_tokens() -> u64 {
    20
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub input: Value,
}

impl Turn {
    /// A reply with text only.
    pub fn text(text: impl Into<String>) -> Turn {
        Turn::Reply(Reply {
            text: Some(text.into()),
            ..Reply::new()
        })
    }

    /// A reply that calls one tool.
    pub fn tool(name: impl Into<String>, input: Value) -> Turn {
        Turn::Reply(Reply {
            tool_uses: vec![ToolCall {
                name: name.into(),
                input,
            }],
            ..Reply::new()
        })
    }
}

impl Reply {
    /// Replaces `{cwd}` in the text and in every string of the tool inputs.
    pub fn with_cwd(mut self, cwd: &str) -> Reply {
        fn fill(value: &mut Value, cwd: &str) {
            match value {
                Value::String(s) => *s = s.replace("{cwd}", cwd),
                Value::Array(items) => items.iter_mut().for_each(|v| fill(v, cwd)),
                Value::Object(map) => map.values_mut().for_each(|v| fill(v, cwd)),
                _ => {}
            }
        }
        self.text = self.text.map(|t| t.replace("{cwd}", cwd));
        for call in &mut self.tool_uses {
            fill(&mut call.input, cwd);
        }
        self
    }

    pub fn new() -> Reply {
        Reply {
            input_tokens: default_input_tokens(),
            output_tokens: default_output_tokens(),
            ..Reply::default()
        }
    }
}

impl Script {
    /// One conversation answered in order, whatever the requests say.
    pub fn sequential(turns: Vec<Turn>) -> Script {
        Script {
            conversations: vec![Conversation {
                marker: None,
                by_depth: false,
                turns,
            }],
        }
    }

    /// Adds a conversation for requests containing `marker`.
    pub fn keyed(mut self, marker: impl Into<String>, turns: Vec<Turn>) -> Script {
        self.conversations.push(Conversation {
            marker: Some(marker.into()),
            by_depth: false,
            turns,
        });
        self
    }

    /// Like [`Script::keyed`], but each session holding `marker` walks the
    /// conversation on its own (see [`Conversation::by_depth`]): parallel
    /// sessions of different approaches each get their own replies.
    pub fn keyed_per_session(mut self, marker: impl Into<String>, turns: Vec<Turn>) -> Script {
        self.conversations.push(Conversation {
            marker: Some(marker.into()),
            by_depth: true,
            turns,
        });
        self
    }

    /// One conversation that every session walks on its own (see [`Conversation::by_depth`]).
    pub fn per_session(turns: Vec<Turn>) -> Script {
        Script {
            conversations: vec![Conversation {
                marker: None,
                by_depth: true,
                turns,
            }],
        }
    }

    /// Approach generation: one `propose_approaches` tool call with `n` approaches.
    pub fn approaches_tool(n: usize) -> Script {
        Script::sequential(vec![Turn::tool(
            "propose_approaches",
            json!({ "approaches": sample_approaches(n) }),
        )])
    }

    /// Approach generation answered as JSON text (what `claude -p` would print).
    pub fn approaches_text(n: usize) -> Script {
        let text = json!({ "approaches": sample_approaches(n) }).to_string();
        Script::sequential(vec![Turn::text(text)])
    }

    /// "Write a file": a `tool` call (Claude Code's `Write`, or the built-in
    /// agent's `write_file`) with `path` and `content`, then a closing text.
    /// `{cwd}` in the path becomes the session's working directory as Claude
    /// Code states it in its system prompt, so one script serves many worktrees.
    pub fn write_file(tool: WriteTool, path: &str, content: &str) -> Vec<Turn> {
        let input = match tool {
            WriteTool::ClaudeCode | WriteTool::Gemini => {
                json!({ "file_path": path, "content": content })
            }
            WriteTool::BuiltIn => json!({ "path": path, "content": content }),
        };
        vec![
            Turn::tool(tool.name(), input),
            Turn::text(format!("Wrote {path}. Verify with: cat {path}")),
        ]
    }
}

/// Which agent's write tool [`Script::write_file`] calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTool {
    ClaudeCode,
    BuiltIn,
    /// The Gemini CLI's `write_file {file_path, content}`.
    Gemini,
}

impl WriteTool {
    pub fn name(self) -> &'static str {
        match self {
            WriteTool::ClaudeCode => "Write",
            WriteTool::BuiltIn | WriteTool::Gemini => "write_file",
        }
    }
}

/// `n` distinct approaches, shaped like Fanout's `ApproachSpec`.
pub fn sample_approaches(n: usize) -> Vec<Value> {
    const STYLES: [&str; 8] = [
        "Minimal change",
        "Test first",
        "Refactor then fix",
        "New module",
        "Table driven",
        "Functional rewrite",
        "Defensive checks",
        "Prototype and trim",
    ];
    (0..n)
        .map(|i| {
            let name = STYLES
                .get(i)
                .map_or_else(|| format!("Approach {}", i + 1), |s| (*s).to_owned());
            json!({
                "name": name,
                "description": format!("Approach {}: {}", i + 1, name.to_lowercase()),
                "guidelines": format!("Work in the style '{name}'."),
            })
        })
        .collect()
}
