//! A small WebDriver client: headless Chromium driven by chromedriver over its HTTP API (W3C
//! WebDriver), JSON over plain HTTP/1.1. Enough for the dashboard's test: navigate, find,
//! click, type, run a script, wait, screenshots, the browser's log.
//!
//! Chromium and chromedriver are required: `infra/scripts/test` installs them
//! (`infra/scripts/browser`). Without them the test fails saying so; it never skips.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait polls before failing the test.
pub const WAIT: Duration = Duration::from_secs(15);

/// How long one WebDriver command may take (starting the browser is the slowest).
const COMMAND: Duration = Duration::from_secs(30);

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A running chromedriver, stopped when dropped (its browsers first, also when a test
/// panics: killing chromedriver alone would leave them running).
pub struct Driver {
    addr: SocketAddr,
    child: Child,
    chromium: PathBuf,
    sessions: std::sync::Mutex<Vec<String>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let sessions =
            std::mem::take(&mut *self.sessions.lock().unwrap_or_else(|e| e.into_inner()));
        for id in sessions {
            quit_blocking(self.addr, &id);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `DELETE /session/{id}` without the runtime (from `Drop`): the browser quits.
fn quit_blocking(addr: SocketAddr, id: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request =
        format!("DELETE /session/{id} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_ok() {
        // The status line is enough: the session is gone once chromedriver answers.
        let _ = stream.read(&mut [0u8; 512]);
    }
}

impl Driver {
    /// Starts chromedriver on a free port. Panics with what to install when it is missing.
    pub async fn start() -> Driver {
        let missing = "headless Chromium is needed for the dashboard test: install Debian's \
                       `chromium` and `chromium-driver` (infra/scripts/test does, through \
                       infra/scripts/browser), or set CHROMEDRIVER and CHROMIUM";
        let driver = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| which(&["chromedriver"]))
            .unwrap_or_else(|| panic!("chromedriver not found. {missing}"));
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| which(&["chromium", "chromium-browser", "google-chrome"]))
            .unwrap_or_else(|| panic!("chromium not found. {missing}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}. {missing}", driver.display()));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        loop {
            if let Ok((200, status)) = http(addr, "GET", "/status", "").await {
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver did not start on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver {
            addr,
            child,
            chromium,
            sessions: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A new headless browser window of `width` x `height` CSS pixels.
    pub async fn session(&self, width: u32, height: u32) -> Session {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                         format!("--window-size={width},{height}")],
            },
        }}});
        let answer = call(self.addr, "POST", "/session", Some(capabilities)).await;
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.push(id.clone());
        }
        let session = Session {
            driver: self.addr,
            id,
        };
        session.resize(width, height).await;
        session
    }
}

/// One WebDriver command; the answer's `value`. Panics on a WebDriver error.
async fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    let answer = try_call(addr, method, path, body).await;
    match answer {
        Ok(value) => value,
        Err(e) => panic!("WebDriver {method} {path}: {e}"),
    }
}

async fn try_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Value> {
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, json) = tokio::time::timeout(COMMAND, http(addr, method, path, &text))
        .await
        .unwrap_or_else(|_| panic!("chromedriver {method} {path}: no answer in {COMMAND:?}"))
        .unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
    if status == 200 {
        // POST /session answers {"value":{"sessionId":..}}; the others {"value":..}.
        Ok(json["value"].clone())
    } else {
        Err(json["value"].clone())
    }
}

/// One HTTP/1.1 exchange with chromedriver: its answers have a Content-Length (it does not
/// close the connection after `connection: close`, so the body is read by length).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    if !body.is_empty() || method == "POST" {
        head.push_str("content-type: application/json\r\n");
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut bytes = vec![0; length];
    reader.read_exact(&mut bytes).await?;
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, json))
}

pub struct Session {
    driver: SocketAddr,
    id: String,
}

/// A found element.
#[derive(Clone)]
pub struct Element(String);

impl Session {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(
            self.driver,
            method,
            &format!("/session/{}{path}", self.id),
            body,
        )
        .await
    }

    pub async fn close(self) {
        let _ = try_call(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        )
        .await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The element `css` selects, waiting for it to be there.
    pub async fn find(&self, css: &str) -> Element {
        let found = self.element("css selector", css).await;
        found.unwrap_or_else(|| panic!("no element {css:?} after {WAIT:?}"))
    }

    /// The link whose text is `text`, waiting for it.
    pub async fn link(&self, text: &str) -> Element {
        let found = self.element("link text", text).await;
        found.unwrap_or_else(|| panic!("no link {text:?} after {WAIT:?}"))
    }

    /// The element a W3C locator strategy finds, polled until it is there or `WAIT` passes.
    async fn element(&self, using: &str, value: &str) -> Option<Element> {
        let path = &format!("/session/{}/element", self.id);
        let locator = &json!({ "using": using, "value": value });
        poll(|| async move {
            let found = try_call(self.driver, "POST", path, Some(locator.clone())).await;
            found.ok()?[ELEMENT]
                .as_str()
                .map(|id| Element(id.to_string()))
        })
        .await
    }

    pub async fn click(&self, element: &Element) {
        self.cmd(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into the element as keys (`\u{E007}` is Enter).
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn text(&self, element: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", element.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `script` returns true; `what` names the state in the failure.
    pub async fn wait_until(&self, script: &str, what: &str) {
        if !self.turns_true(script, json!([])).await {
            panic!("{what}: not after {WAIT:?}");
        }
    }

    /// Waits until some element `css` selects has `needle` in its text (textContent).
    pub async fn wait_text(&self, css: &str, needle: &str) {
        let script = "return Array.from(document.querySelectorAll(arguments[0]))\
                      .some(e => e.textContent.includes(arguments[1]));";
        if !self.turns_true(script, json!([css, needle])).await {
            let seen = self
                .run(
                    "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent).join(' | ') || document.body.innerText;",
                    json!([css]),
                )
                .await;
            panic!("no {css:?} with text {needle:?} after {WAIT:?}; the page shows: {seen}");
        }
    }

    /// Whether `script` (with `args`) returned true before `WAIT` passed, polled.
    async fn turns_true(&self, script: &str, args: Value) -> bool {
        let args = &args;
        let done = poll(|| async move {
            (self.run(script, args.clone()).await == json!(true)).then_some(())
        });
        done.await.is_some()
    }

    /// Writes a PNG of the window to `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        let data = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("the screenshot is base64");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The browser console's entries since the last call (chromedriver's log endpoint).
    pub async fn browser_log(&self) -> Result<Vec<Value>, Value> {
        try_call(
            self.driver,
            "POST",
            &format!("/session/{}/se/log", self.id),
            Some(json!({"type": "browser"})),
        )
        .await
        .map(|v| v.as_array().cloned().unwrap_or_default())
    }
}

/// Tries `attempt` every 100 ms until it gives a value, or `WAIT` has passed (None): the one
/// wait of this module, each caller failing with its own message.
async fn poll<T, F, Fut>(mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = attempt().await {
            return Some(value);
        }
        if started.elapsed() >= WAIT {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
