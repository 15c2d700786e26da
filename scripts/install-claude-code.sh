#!/usr/bin/env bash
# Installs the Claude Code CLI into .cache/claude-code for the real-CLI test
# (engine test `real_claude`). The npm package ships a native Linux binary, so
# nothing is downloaded at run time. Skipped when the binary is already there.
set -euo pipefail

VERSION="${CLAUDE_CODE_VERSION:-2.1.197}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/claude-code"
BIN="$DEST/node_modules/@anthropic-ai/claude-code-linux-x64/claude"

if [[ -x "$BIN" ]]; then
  echo "Claude Code already installed: $BIN"
  exit 0
fi

command -v npm >/dev/null || {
  echo "npm is missing: run scripts/install-deps.sh first." >&2
  exit 1
}
mkdir -p "$DEST"
cd "$DEST"
[[ -f package.json ]] || echo '{"name":"fanout-claude-code-cache","private":true}' > package.json
npm install --no-audit --no-fund --silent "@anthropic-ai/claude-code@$VERSION"
if [[ ! -x "$BIN" ]]; then
  echo "npm installed @anthropic-ai/claude-code but $BIN is missing; is this linux-x64?" >&2
  exit 1
fi
echo "Claude Code installed: $BIN"
