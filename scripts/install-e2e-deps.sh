#!/usr/bin/env bash
# Installs what the end-to-end test (tests/e2e.rs) needs, when it is missing:
# a virtual display, WebKitGTK's WebDriver and tauri-driver, which speaks
# WebDriver to the test and drives the real app through WebKitWebDriver.
# Safe to run again: it only acts on what is missing.
set -euo pipefail

# The system packages (and the checks for Rust and Node) are install-deps.sh's
# job; --e2e adds webkit2gtk-driver, xvfb and xauth to its list.
"$(dirname "${BASH_SOURCE[0]}")/install-deps.sh" --e2e

# tauri-driver 2.x has no --version flag: ask cargo which version it installed.
if cargo install --list | grep -Eq '^tauri-driver v2\.'; then
  exit 0
fi
echo "Installing tauri-driver 2.x with cargo (a few minutes, once)"
cargo install tauri-driver --locked --version '^2'
