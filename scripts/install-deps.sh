#!/usr/bin/env bash
# Installs what building and testing Fanout needs, when it is missing.
# On Debian/Ubuntu it installs the system packages itself (as root, or through
# sudo); elsewhere it says what to install. Safe to run again: it only acts on
# what is missing.
set -euo pipefail

# What `make run` and `make test` need: the WebKitGTK stack Tauri builds
# against, a C toolchain for vendored libgit2 and SQLite, git itself, and
# bubblewrap, the sandbox every agent runs in.
packages=(
  build-essential pkg-config git curl file bubblewrap
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libssl-dev libdbus-1-dev
)
# End-to-end tests drive the real window under a virtual display; the engine's
# tests check Git LFS content with the real git-lfs; the remote-host tests
# start their own OpenSSH server on 127.0.0.1.
if [[ "${1:-}" == "--e2e" ]]; then
  packages+=(webkit2gtk-driver xvfb xauth imagemagick git-lfs openssh-server openssh-client)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ ! -f /etc/debian_version ]]; then
    echo "Fanout needs these system packages (Debian names): ${missing[*]}." >&2
    echo "This is not Debian or Ubuntu: install their equivalents with your package manager, then run make again." >&2
    exit 1
  fi
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "Installing ${missing[*]} needs root, and sudo is not available. Install them as root, then run make again." >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Installing missing packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed. Install it with rustup (https://rustup.rs), open a new shell, then run make again." >&2
  exit 1
fi

need_node() {
  echo "Fanout's UI needs Node.js 20.19 or newer with npm; $1. Install a current Node.js, then run make again." >&2
  exit 1
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ -f /etc/debian_version ]]; then
    ${sudo:-} apt-get install -y -q nodejs npm || true
  fi
  command -v node >/dev/null && command -v npm >/dev/null || need_node "none was found"
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || need_node "this machine has $(node --version)"
