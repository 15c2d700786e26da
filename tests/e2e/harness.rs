//! Drives the real Fanout window: a virtual display (Xvfb), tauri-driver in
//! front of WebKitWebDriver, and a WebDriver session whose "browser" is the
//! app binary. Everything started here is killed when the harness is dropped,
//! also when a step panics.

use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// How long any one thing may take to appear before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);
/// The longest a screenshot waits for the window to stop changing.
const SETTLE: Duration = Duration::from_secs(3);
const NATIVE_DRIVER: &str = "/usr/bin/WebKitWebDriver";
const INSTALL_HINT: &str = "run scripts/install-e2e-deps.sh";

/// A child in its own process group. Dropping it kills the whole group, so
/// whatever it started (WebKitWebDriver, the app, WebKit's helpers) goes too.
struct Group {
    name: &'static str,
    child: Child,
}

impl Group {
    fn spawn(name: &'static str, mut cmd: Command) -> Group {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}; {INSTALL_HINT}"));
        Group { name, child }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            // ESRCH only means the group is already gone.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        if let Err(e) = self.child.wait() {
            eprintln!("e2e: could not reap {}: {e}", self.name);
        }
    }
}

/// Kills every process that carries this run's marker in its environment:
/// WebKit may move its helpers into process groups of their own, and they
/// inherit the app's environment, so the marker finds exactly what this run
/// started and nothing else.
struct Sweep {
    marker: String,
}

impl Drop for Sweep {
    fn drop(&mut self) {
        for pid in pids_with_env(&self.marker) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// Processes whose environment holds the `NAME=value` pair `marker`.
pub fn pids_with_env(marker: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// tauri-driver from PATH, else where `cargo install` puts it.
fn find_tauri_driver() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tauri-driver"))
            .find(|p| p.is_file())
    });
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    on_path
        .or_else(|| {
            cargo_home
                .map(|c| c.join("bin/tauri-driver"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("tauri-driver is not installed (looked on PATH and in ~/.cargo/bin): {INSTALL_HINT}")
        })
}

/// Starts Xvfb on a display it picks itself and returns that display.
fn start_xvfb(log: File) -> (Group, String) {
    let mut cmd = Command::new("Xvfb");
    // -displayfd 1: Xvfb picks a free display and writes its number to stdout.
    cmd.args([
        "-displayfd",
        "1",
        "-screen",
        "0",
        "1280x800x24",
        "-nolisten",
        "tcp",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(log);
    let mut group = Group::spawn("Xvfb", cmd);
    let stdout = group.child.stdout.take().expect("Xvfb's stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read Xvfb's display number");
    let number = line.trim();
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "Xvfb did not report a display number (got {line:?}); see target/e2e-logs/xvfb.log"
    );
    (group, format!(":{number}"))
}

/// Waits for a TCP listener, bounded.
async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within {WAIT:?}; see target/e2e-logs/"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A WebDriver session whose browser is the app, started with `args`.
async fn connect(port: u16, app_binary: &str, args: &[&str]) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app_binary, "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| {
            panic!("WebDriver could not start the app {app_binary}: {e}; see target/e2e-logs/tauri-driver.err.log")
        })
}

/// One running app under WebDriver, with what it needs around it.
pub struct App {
    pub client: Client,
    port: u16,
    binary: String,
    shots: PathBuf,
    shot_no: u32,
    // Fields drop in this order: the driver's group (and the app), then any
    // straggler carrying the run's marker, then the display, then the files.
    _driver: Group,
    _sweep: Sweep,
    _xvfb: Option<Group>,
    _home: tempfile::TempDir,
}

/// Where screenshots and logs go: beside the build, in target/.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_path_buf()
}

/// A folder for what the sandboxed agents and setup commands must see (a
/// script, a gate file): beside the build, unless the build is under /tmp (a
/// clone there), which the sandbox replaces with a private /tmp of its own.
pub fn sandbox_visible_dir() -> PathBuf {
    let target = target_dir();
    if !target.starts_with("/tmp") {
        return target;
    }
    let outside = PathBuf::from("/var/tmp/fanout-e2e");
    std::fs::create_dir_all(&outside).expect("create /var/tmp/fanout-e2e");
    outside
}

/// The app started directly, without WebDriver, on its own display: for
/// what WebDriver cannot drive (the default rendering mode, see
/// [`App::start_with_env`]). Everything it started dies with it.
#[allow(dead_code)] // only tests/startup.rs starts one
pub struct PlainApp {
    pub pid: u32,
    pub marker: String,
    _app: Group,
    _xvfb: Option<Group>,
    _sweep: Sweep,
}

#[allow(dead_code)]
impl PlainApp {
    pub fn start(app_binary: &str, home: &Path, env: &[(&str, &str)]) -> PlainApp {
        let logs = target_dir().join("e2e-logs");
        std::fs::create_dir_all(&logs).expect("create target/e2e-logs");
        let log = |name: &str| {
            File::create(logs.join(name)).unwrap_or_else(|e| panic!("create log {name}: {e}"))
        };
        let marker = format!("FANOUT_E2E_RUN={}", home.display());
        let (xvfb, display) = start_xvfb(log("plain-xvfb.log"));
        let mut cmd = Command::new(app_binary);
        cmd.env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .env_remove("WEBKIT_DISABLE_MEMORY_PRESSURE_MONITOR")
            .env("FANOUT_HOME", home.join("fanout"))
            .env("FANOUT_E2E_RUN", home)
            .env("XDG_DATA_HOME", home.join("xdg-data"))
            .env("XDG_CONFIG_HOME", home.join("xdg-config"))
            .env("XDG_CACHE_HOME", home.join("xdg-cache"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log("plain-app.log"))
            .stderr(log("plain-app.err.log"));
        let app = Group::spawn("fanout-app", cmd);
        PlainApp {
            pid: app.child.id(),
            _sweep: Sweep {
                marker: marker.clone(),
            },
            marker,
            _app: app,
            _xvfb: Some(xvfb),
        }
    }
}

impl App {
    /// Starts the display (unless DISPLAY is set), tauri-driver and the app,
    /// with a throwaway FANOUT_HOME.
    // For flows that need no agent; the run flow uses `start_with_env`.
    #[allow(dead_code)]
    pub async fn start(app_binary: &str) -> App {
        Self::start_with_env(app_binary, &[]).await
    }

    /// Like [`App::start`], with extra environment for the app (tauri-driver
    /// hands its own environment to the app it starts).
    pub async fn start_with_env(app_binary: &str, env: &[(&str, &str)]) -> App {
        assert!(
            Path::new(NATIVE_DRIVER).is_file(),
            "{NATIVE_DRIVER} is missing (Debian package webkit2gtk-driver): {INSTALL_HINT}"
        );
        let driver_bin = find_tauri_driver();
        let logs = target_dir().join("e2e-logs");
        std::fs::create_dir_all(&logs).expect("create target/e2e-logs");
        let log = |name: &str| {
            File::create(logs.join(name)).unwrap_or_else(|e| panic!("create log {name}: {e}"))
        };

        let home = tempfile::tempdir().expect("temp FANOUT_HOME");
        let marker_value = home.path().display().to_string();
        let sweep = Sweep {
            marker: format!("FANOUT_E2E_RUN={marker_value}"),
        };

        let (xvfb, display) = match std::env::var("DISPLAY") {
            Ok(d) if !d.is_empty() => (None, d),
            _ => {
                let (g, d) = start_xvfb(log("xvfb.log"));
                (Some(g), d)
            }
        };

        let port = free_port();
        let native_port = free_port();
        let mut cmd = Command::new(&driver_bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(NATIVE_DRIVER)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            // tauri-driver hands its environment to the app.
            .env("FANOUT_HOME", home.path().join("fanout"))
            .env("FANOUT_E2E_RUN", &marker_value)
            // WebKit's storage (the remembered diff layout) starts empty too.
            .env("XDG_DATA_HOME", home.path().join("xdg-data"))
            .env("XDG_CONFIG_HOME", home.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", home.path().join("xdg-cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // WebKitWebDriver never finishes an interaction (the first click
            // or keystroke hangs) when WebKit draws without accelerated
            // compositing, the app's default (src-tauri/src/main.rs), so the
            // driven window keeps it on; tests/startup.rs covers the default.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log("tauri-driver.log"))
            .stderr(log("tauri-driver.err.log"));
        let driver = Group::spawn("tauri-driver", cmd);
        wait_for_port(port, "tauri-driver").await;

        let client = connect(port, app_binary, &[]).await;

        // One folder per test binary (e2e, e2e_settings, ui_bench), since each
        // clears its own at start.
        let shots = target_dir()
            .join("e2e-screenshots")
            .join(env!("CARGO_CRATE_NAME"));
        // Screens from an older run would pass for this run's.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("create the screenshot folder");
        App {
            client,
            port,
            binary: app_binary.to_string(),
            shots,
            shot_no: 0,
            _driver: driver,
            _sweep: sweep,
            _xvfb: xvfb,
            _home: home,
        }
    }

    /// Ends the WebDriver session (the app closes); the guards do the rest.
    pub async fn close(self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("e2e: closing the WebDriver session failed: {e}");
        }
    }

    /// Kills the app's main process with SIGKILL, as a crash would: not its
    /// WebKit helpers and not the supervisors of its agents (the same binary,
    /// started with `--fanout-supervise`), which must cope on their own.
    #[allow(dead_code)] // only tests/e2e_crash.rs kills its app
    pub fn kill_app(&self) {
        let marker = self._sweep.marker.clone();
        let app = pids_with_env(&marker).into_iter().find(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            exe.ends_with(Path::new(&self.binary).file_name().unwrap_or_default())
                && !String::from_utf8_lossy(&cmdline).contains("--fanout-supervise")
        });
        let pid = app.expect("the app's process runs");
        let pid = rustix::process::Pid::from_raw(pid).expect("a pid");
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL sent");
    }

    /// A new WebDriver session, hence a new app with the same data folder,
    /// after the last one died.
    #[allow(dead_code)]
    pub async fn reconnect(&mut self) {
        // The old session died with its app; ending it only tidies the driver.
        let _ = self.client.clone().close().await;
        self.client = connect(self.port, &self.binary, &[]).await;
    }

    /// Closes the app and starts it again with command-line `args`.
    pub async fn relaunch(&mut self, args: &[&str]) {
        if let Err(e) = self.client.clone().close().await {
            panic!("closing the app before relaunching it failed: {e}");
        }
        self.client = connect(self.port, &self.binary, args).await;
    }

    /// Fanout's data folder of this app (its FANOUT_HOME).
    #[allow(dead_code)] // the benchmarks' (drown_bench)
    pub fn fanout_home(&self) -> PathBuf {
        self._home.path().join("fanout")
    }

    /// Every process of this run: the app, its WebKit processes and all
    /// they started (agents, checks), by the marker they inherit.
    #[allow(dead_code)] // the benchmarks' (drown_bench)
    pub fn processes(&self) -> Vec<i32> {
        pids_with_env(&self._sweep.marker)
    }

    /// [`App::processes`], for another thread.
    #[allow(dead_code)] // the benchmarks' (drown_bench)
    pub fn processes_probe(&self) -> impl Fn() -> Vec<i32> + Send + 'static {
        let marker = self._sweep.marker.clone();
        move || pids_with_env(&marker)
    }

    /// Saves a screenshot as target/e2e-screenshots/<test>/NN-name.png.
    pub async fn shot(&mut self, name: &str) {
        self.shot_no += 1;
        let png = self.settled_screenshot(name).await;
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot_no));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// WebKit under Xvfb composites late: a screenshot right after a DOM
    /// change can show the frame before it. Take captures until three in a
    /// row agree (bounded: a blinking caret may never let them), so a screen
    /// shows what the test just checked.
    async fn settled_screenshot(&self, name: &str) -> Vec<u8> {
        let deadline = Instant::now() + SETTLE;
        let mut last = Vec::new();
        let mut same = 0;
        loop {
            let png = self
                .client
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
            same = if png == last { same + 1 } else { 0 };
            last = png;
            if same >= 2 || Instant::now() >= deadline {
                return last;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls `probe` until it yields a value; fails after WAIT saying `what`
    /// was expected and the last error seen.
    pub async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("the condition never held");
        loop {
            match probe().await {
                Ok(Some(v)) => return v,
                Ok(None) => {}
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                panic!("waited {WAIT:?} for {what}; last: {last}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// All elements matching a CSS selector, right now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Waits for the first element matching `css`.
    pub async fn el(&self, css: &str) -> Element {
        let css = css.to_string();
        self.until(&format!("an element matching {css}"), || {
            let c = self.client.clone();
            let css = css.clone();
            async move { Ok(c.find_all(Locator::Css(&css)).await?.into_iter().next()) }
        })
        .await
    }

    /// Waits for `[data-testid=id]`.
    pub async fn testid(&self, id: &str) -> Element {
        self.el(&tid(id)).await
    }

    /// Waits for an element that is displayed and enabled, then clicks it.
    pub async fn click(&self, css: &str) {
        let css = css.to_string();
        self.until(&format!("{css} to be clickable"), || {
            let c = self.client.clone();
            let css = css.clone();
            async move {
                let Some(el) = c.find_all(Locator::Css(&css)).await?.into_iter().next() else {
                    return Ok(None);
                };
                if !el.is_displayed().await? || !el.is_enabled().await? {
                    return Ok(None);
                }
                el.click().await?;
                Ok(Some(()))
            }
        })
        .await
    }

    /// Opens Settings and waits for its check of the agent programs to end.
    /// The list that check shows moves everything under it, so a click aimed
    /// before it arrives can land on whatever moved into its place.
    pub async fn open_settings(&self) {
        self.click(&tid("settings-link")).await;
        self.el(&format!("{}:not([disabled])", tid("agents-detect")))
            .await;
    }

    /// Opens the repository at `path` from the home screen.
    pub async fn open_repo(&self, path: &str) {
        self.type_into(&tid("repo-path-input"), path).await;
        self.click(&tid("repo-open")).await;
        self.text_contains(&tid("repo-root"), path).await;
    }

    /// The new-experiment form down from its three approaches to two, named.
    #[allow(dead_code)] // the two-variant flows' (e2e_winner, e2e_hosts)
    pub async fn two_approaches(&self, names: [&str; 2]) {
        self.count(&tid("approach-name"), 3).await;
        self.click(&format!(
            "{}:last-of-type {}",
            tid("approach-card"),
            tid("remove-approach")
        ))
        .await;
        let fields = self.count(&tid("approach-name"), 2).await;
        for (el, name) in fields.iter().zip(names) {
            el.send_keys(name).await.expect("type an approach name");
        }
    }

    /// Replaces an input's text with `text`, as typed.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.el(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Waits until the element's visible text contains `needle`, and returns it.
    pub async fn text_contains(&self, css: &str, needle: &str) -> String {
        let (css, needle) = (css.to_string(), needle.to_string());
        self.until(&format!("{css} to show {needle:?}"), || {
            let c = self.client.clone();
            let (css, needle) = (css.clone(), needle.clone());
            async move {
                for el in c.find_all(Locator::Css(&css)).await? {
                    let text = text_of(&el).await?;
                    if text.contains(&needle) {
                        return Ok(Some(text));
                    }
                }
                Ok(None)
            }
        })
        .await
    }

    /// Waits until exactly `n` elements match.
    pub async fn count(&self, css: &str, n: usize) -> Vec<Element> {
        let css = css.to_string();
        self.until(&format!("{n} elements matching {css}"), || {
            let c = self.client.clone();
            let css = css.clone();
            async move {
                let found = c.find_all(Locator::Css(&css)).await?;
                Ok((found.len() == n).then_some(found))
            }
        })
        .await
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?} failed: {e}"))
    }

    /// Picks the `<option>` with `value` in a `<select>`, the way a user does.
    pub async fn select(&self, css: &str, value: &str) {
        let el = self.el(css).await;
        el.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value:?} in {css}: {e}"));
        let (css, value) = (css.to_string(), value.to_string());
        self.until(&format!("{css} to hold {value:?}"), || {
            let el = el.clone();
            let value = value.clone();
            async move { Ok((el.prop("value").await?.as_deref() == Some(&value)).then_some(())) }
        })
        .await;
    }
}

/// An element's rendered text (`innerText`). WebKitWebDriver's own "element
/// text" leaves out text clipped by `overflow: hidden`, such as an ellipsized
/// name the user can read in full.
pub async fn text_of(el: &Element) -> Result<String, CmdError> {
    Ok(el.prop("innerText").await?.unwrap_or_default())
}

/// The CSS selector of a data-testid.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Variant `index`'s card on the experiment page.
pub fn card(index: u32) -> String {
    format!("{}[data-index=\"{index}\"]", tid("variant-card"))
}

/// Fails the test unless `ui/dist` is built: the app would show nothing.
pub fn assert_ui_built() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    assert!(
        dist.is_file(),
        "ui/dist is not built: run `cd ui && npm ci && npm run build`"
    );
}
