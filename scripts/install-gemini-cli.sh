#!/usr/bin/env bash
# Installs the Gemini CLI into .cache/gemini-cli for the real-CLI test (engine
# test `real_gemini`). The package is plain JavaScript run by Node (>= 20), and
# nothing is downloaded at run time. Skipped when the CLI is already there.
set -euo pipefail

VERSION="${GEMINI_CLI_VERSION:-0.61.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/gemini-cli"
BIN="$DEST/node_modules/.bin/gemini"

if [[ -x "$BIN" ]]; then
  echo "Gemini CLI already installed: $BIN"
  exit 0
fi

command -v npm >/dev/null || {
  echo "npm is missing: run scripts/install-deps.sh first." >&2
  exit 1
}
mkdir -p "$DEST"
cd "$DEST"
[[ -f package.json ]] || echo '{"name":"fanout-gemini-cli-cache","private":true}' > package.json
npm install --no-audit --no-fund --silent "@google/gemini-cli@$VERSION"
if [[ ! -x "$BIN" ]]; then
  echo "npm installed @google/gemini-cli but $BIN is missing." >&2
  exit 1
fi
echo "Gemini CLI installed: $BIN ($("$BIN" --version))"
