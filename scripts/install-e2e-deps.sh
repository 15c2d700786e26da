#!/usr/bin/env bash
# Installs what the end-to-end test (tests/e2e.rs) needs, when it is missing:
# a virtual display, WebKitGTK's WebDriver and tauri-driver, which speaks
# WebDriver to the test and drives the real app through WebKitWebDriver.
# Safe to run again: it only acts on what is missing.
set -euo pipefail

packages=(webkit2gtk-driver xvfb xauth)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ ! -f /etc/debian_version ]]; then
    echo "The end-to-end test needs these system packages (Debian names): ${missing[*]}." >&2
    echo "This is not Debian or Ubuntu: install their equivalents with your package manager, then run this script again." >&2
    exit 1
  fi
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "Installing ${missing[*]} needs root, and sudo is not available. Install them as root, then run this script again." >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Installing missing packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed. Install it with rustup (https://rustup.rs), open a new shell, then run this script again." >&2
  exit 1
fi

# tauri-driver 2.x has no --version flag: ask cargo which version it installed.
if cargo install --list | grep -Eq '^tauri-driver v2\.'; then
  exit 0
fi
echo "Installing tauri-driver 2.x with cargo (a few minutes, once)"
cargo install tauri-driver --locked --version '^2'
