#!/usr/bin/env bash
# Installs the package `make dist` built into this machine (dpkg -i), starts
# the installed app headless until its page has painted and reached the
# backend (the startup check, tests/startup.rs), runs the installed `fanout`,
# and removes the package again unless it was installed before.
set -euo pipefail
cd "$(dirname "$0")/.."

# The package to check: the one named, or the newest `make dist` built.
deb=${1:-$(ls -t target/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)}
if [[ -z "$deb" || ! -f "$deb" ]]; then
  echo "test-dist: no package to install. Run \`make dist\` first, or name a .deb." >&2
  exit 1
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
package=$(dpkg-deb --field "$deb" Package)
before=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
remove() {
  if [[ "$before" != *"ok installed"* ]]; then
    $sudo dpkg -r "$package" >/dev/null
  else
    echo "test-dist: $package was installed before; the freshly built one stays installed."
  fi
}
trap remove EXIT

$sudo dpkg -i "$deb"

app=$(dpkg -L "$package" | grep -E '^/usr/bin/fanout-app$' || true)
[[ -n "$app" ]] || { echo "test-dist: the package installs no /usr/bin/fanout-app" >&2; exit 1; }
[[ -x /usr/bin/fanout ]] || { echo "test-dist: the package installs no /usr/bin/fanout" >&2; exit 1; }
desktop=$(dpkg -L "$package" | grep -E '^/usr/share/applications/.*\.desktop$' || true)
[[ -n "$desktop" ]] || { echo "test-dist: the package has no desktop entry" >&2; exit 1; }
grep -q '^Exec=fanout-app' "$desktop" || { echo "test-dist: $desktop does not start fanout-app" >&2; exit 1; }
dpkg -L "$package" | grep -q '^/usr/share/icons/hicolor/.*/apps/.*\.png$' \
  || { echo "test-dist: the package installs no icon" >&2; exit 1; }
for dep in git bubblewrap; do
  dpkg-deb --field "$deb" Depends | grep -q "$dep" \
    || { echo "test-dist: the package does not depend on $dep" >&2; exit 1; }
done

# The installed command line works on its own (its own supervisor included).
home=$(mktemp -d)
trap 'rm -rf "$home"; remove' EXIT
FANOUT_HOME="$home" /usr/bin/fanout --version
FANOUT_HOME="$home" /usr/bin/fanout list >/dev/null

# The installed app paints its first screen and reaches its backend.
# The same cargo invocation as `make test`'s, so nothing is built again.
FANOUT_APP_BINARY=/usr/bin/fanout-app cargo test --workspace --locked \
  --features fanout-app/custom-protocol --test startup
echo "test-dist: $deb installs, starts and runs."
