# Fanout's two commands: `make run` and `make test`. Both install what is
# missing first, so they work on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
.DEFAULT_GOAL := run

CARGO ?= cargo
APP := target/release/fanout-app

.PHONY: run test test-long bench bench-ui bench-drown bench-startup deps ui app cli dist types claude-code gemini-cli test-rust test-ui test-dist clean

deps: .cache/deps-ok ui/node_modules/.package-lock.json

# Re-checked when the list of packages changes, not on every make.
.cache/deps-ok: scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p .cache && touch $@

ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund

# Built again only when a source of the page changed: a second `make run`
# with nothing changed rebuilds nothing (tauri's build script watches ui/dist,
# so a rebuilt page would recompile the app too).
UI_SOURCES := $(shell find ui/src -type f) ui/index.html ui/vite.config.ts ui/svelte.config.js ui/tsconfig.json

ui: deps ui/dist/index.html

ui/dist/index.html: $(UI_SOURCES) ui/node_modules/.package-lock.json
	cd ui && npm run build

# The release binary serves ui/dist (custom-protocol), as `tauri build` would.
app: ui
	$(CARGO) build --release --features custom-protocol -p fanout-app

cli: deps
	$(CARGO) build --release -p fanout-cli

run: app
	$(APP) $(ARGS)

# The Debian package, in target/release/bundle/deb/: the app with its desktop
# entry and icons, and the `fanout` command beside it. Needs no network.
dist: ui cli
	ui/node_modules/.bin/tauri build --bundles deb --config '{"build":{"beforeBuildCommand":""}}'

# The page's TypeScript types, generated from the engine's Rust types.
types:
	FANOUT_WRITE_TYPES=1 $(CARGO) test -p fanout-engine --test generated_types

test: deps test-ui test-rust test-dist

test-ui: ui
	cd ui && npm run check
	cd ui && npm test

# The real Claude Code CLI test (engine test real_claude) needs the CLI from npm.
claude-code: .cache/claude-code/node_modules/@anthropic-ai/claude-code-linux-x64/claude

.cache/claude-code/node_modules/@anthropic-ai/claude-code-linux-x64/claude: scripts/install-claude-code.sh
	@scripts/install-claude-code.sh

# The real Gemini CLI test (engine test real_gemini) needs the CLI from npm.
gemini-cli: .cache/gemini-cli/node_modules/.bin/gemini

.cache/gemini-cli/node_modules/.bin/gemini: scripts/install-gemini-cli.sh
	@scripts/install-gemini-cli.sh

# One build for tests and the end-to-end binary: the app under test must serve
# ui/dist (custom-protocol), and building tauri twice with two feature sets
# would double the cold build.
# tauri-driver, WebKitWebDriver and Xvfb for the end-to-end test in the real window.
e2e-deps: .cache/e2e-deps-ok

.cache/e2e-deps-ok: scripts/install-e2e-deps.sh scripts/install-deps.sh
	@scripts/install-e2e-deps.sh
	@mkdir -p .cache && touch $@

# The tests' fake agents and the agent CLIs they install live in this
# checkout; the sandbox shows it read-only even when the checkout is under
# /tmp, which the sandbox replaces with a private /tmp (SECURITY.md).
test-rust test-long: export FANOUT_SANDBOX_READABLE := $(CURDIR)

test-rust: ui claude-code gemini-cli e2e-deps
	$(CARGO) test --workspace --locked --features fanout-app/custom-protocol

# The package installed into this machine with dpkg, the installed app
# started headless to its first screen, the installed `fanout` run. Made by
# the same bundler and configuration as `make dist`, from the binaries the
# tests just built (a release build would add minutes to every `make test`).
DEBUG_DEB_CONFIG := {"build":{"beforeBuildCommand":""},"bundle":{"linux":{"deb":{"files":{"/usr/bin/fanout":"target/debug/fanout"}}}}}

test-dist: test-rust
	ui/node_modules/.bin/tauri bundle --debug --bundles deb --config '$(DEBUG_DEB_CONFIG)'
	scripts/test-dist.sh "$$(ls -t target/debug/bundle/deb/*.deb | head -1)"

# The property tests' long search: 1,000 cases each (make test runs 256).
test-long: deps e2e-deps
	PROPTEST_CASES=1000 $(CARGO) test -p fanout-engine --locked --test merge_props --test confine_props

bench: deps
	$(CARGO) bench -p fanout-engine

# The diff viewer in the real window (a 50,000-line file): first rows and the
# longest stall while scrolling, measured in the page. Figures in BENCHMARKS.md.
bench-ui: ui e2e-deps
	$(CARGO) test --features custom-protocol --test ui_bench -- --ignored --nocapture

# 16 variants whose checks each burn a core for 20 s, with and without the
# limit on checks at once: wall time, peak memory, the window's longest
# frame. Figures in BENCHMARKS.md.
bench-drown: export FANOUT_SANDBOX_READABLE := $(CURDIR)
bench-drown: ui e2e-deps
	$(CARGO) test --features custom-protocol --test drown_bench -- --ignored --nocapture

# Cold start of the release app to its first screen, and its idle memory (PSS
# over the app and its WebKit processes). Figures in BENCHMARKS.md.
bench-startup: app e2e-deps
	xvfb-run -a -s "-screen 0 1280x800x24" scripts/bench-startup.sh

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules .cache
