//! The Jupyter kernel over its real transport: the test is a client on ZeroMQ sockets (DEALER
//! for shell and control, SUB for iopub, REQ for the heartbeat) that signs its messages with
//! HMAC-SHA256 itself, and checks the kernel's replies, their signatures, the order of the
//! iopub messages, rich displays, errors, completion, an interrupt and a restart. The kernel
//! is a child process, killed if a test fails, and every wait is bounded.

use crate::common;

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

const KEY: &str = "a-test-key-0123456789";
/// The longest a reply may take (the interrupt test waits on a loop of 10¹⁰ steps).
const WAIT: Duration = Duration::from_secs(20);

fn sign(parts: &[Vec<u8>]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// A kernel process that is killed when the test ends.
struct Kernel {
    child: Child,
    connection: PathBuf,
    ports: [u16; 5],
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Kernel {
    /// Writes a connection file in `dir` and starts `gmm jupyter kernel -f` on it.
    fn start(dir: &Path) -> Kernel {
        let ports = [
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        ];
        let connection = dir.join("connection.json");
        let spec = json!({
            "transport": "tcp", "ip": "127.0.0.1",
            "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
            "control_port": ports[3], "hb_port": ports[4],
            "key": KEY, "signature_scheme": "hmac-sha256", "kernel_name": "gmm",
        });
        std::fs::write(&connection, spec.to_string()).unwrap();
        Kernel::on(dir, connection, ports)
    }

    fn on(dir: &Path, connection: PathBuf, ports: [u16; 5]) -> Kernel {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
        cmd.args(["jupyter", "kernel", "-f"])
            .arg(&connection)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        common::limit(&mut cmd, Some(4 << 30), Some(1 << 20));
        Kernel {
            child: cmd.spawn().expect("the kernel starts"),
            connection,
            ports,
        }
    }

    /// Whether the process has ended within `within`, and how.
    fn exited(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let began = std::time::Instant::now();
        while began.elapsed() < within {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// The client's end of the five channels.
struct Client {
    shell: zeromq::DealerSocket,
    control: zeromq::DealerSocket,
    iopub: zeromq::SubSocket,
    session: String,
}

/// A message as the client reads it.
#[derive(Debug, Clone)]
struct Msg {
    header: Json,
    parent: Json,
    content: Json,
}

impl Msg {
    fn kind(&self) -> &str {
        self.header["msg_type"].as_str().unwrap()
    }
}

impl Client {
    async fn connect(k: &Kernel) -> Client {
        let at = |p: u16| format!("tcp://127.0.0.1:{p}");
        let mut shell = zeromq::DealerSocket::new();
        let mut control = zeromq::DealerSocket::new();
        let mut iopub = zeromq::SubSocket::new();
        // The kernel may still be starting: connecting retries until it listens.
        for _ in 0..100 {
            if shell.connect(&at(k.ports[0])).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        control.connect(&at(k.ports[3])).await.unwrap();
        iopub.subscribe("").await.unwrap();
        iopub.connect(&at(k.ports[1])).await.unwrap();
        Client {
            shell,
            control,
            iopub,
            session: "test-session".into(),
        }
    }

    fn message(&self, kind: &str, content: Json) -> (String, ZmqMessage) {
        let id = format!("{kind}-{}", rand_id());
        let header = json!({
            "msg_id": id, "session": self.session, "username": "test",
            "date": "2026-12-03T00:00:00.000000Z", "msg_type": kind, "version": "5.3",
        });
        let parts: Vec<Vec<u8>> = [header, json!({}), json!({}), content]
            .iter()
            .map(|j| serde_json::to_vec(j).unwrap())
            .collect();
        let mut frames = vec![Bytes::from_static(b"<IDS|MSG>"), Bytes::from(sign(&parts))];
        frames.extend(parts.into_iter().map(Bytes::from));
        (id, ZmqMessage::try_from(frames).unwrap())
    }

    async fn send_shell(&mut self, kind: &str, content: Json) -> String {
        let (id, m) = self.message(kind, content);
        self.shell.send(m).await.unwrap();
        id
    }

    async fn send_control(&mut self, kind: &str, content: Json) -> String {
        let (id, m) = self.message(kind, content);
        self.control.send(m).await.unwrap();
        id
    }

    async fn shell_reply(&mut self) -> Msg {
        let z = tokio::time::timeout(WAIT, self.shell.recv())
            .await
            .expect("a shell reply in time")
            .unwrap();
        parse(z)
    }

    async fn control_reply(&mut self) -> Msg {
        let z = tokio::time::timeout(WAIT, self.control.recv())
            .await
            .expect("a control reply in time")
            .unwrap();
        parse(z)
    }

    /// The iopub messages answering `id`, from its `busy` to its `idle`.
    async fn iopub_for(&mut self, id: &str) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let z = tokio::time::timeout(WAIT, self.iopub.recv())
                .await
                .expect("iopub messages in time")
                .unwrap();
            let m = parse(z);
            if m.parent["msg_id"] != id {
                continue;
            }
            let idle = m.kind() == "status" && m.content["execution_state"] == "idle";
            out.push(m);
            if idle {
                return out;
            }
        }
    }

    /// Sends `kernel_info_request` until iopub carries its status: the SUB socket only gets
    /// what is published after it has joined.
    async fn wait_ready(&mut self) {
        for _ in 0..50 {
            let id = self.send_shell("kernel_info_request", json!({})).await;
            self.shell_reply().await;
            let got = tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    let m = parse(self.iopub.recv().await.unwrap());
                    if m.parent["msg_id"] == id {
                        return;
                    }
                }
            })
            .await;
            if got.is_ok() {
                // Drain the rest of that request's messages.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
        }
        panic!("iopub never carried a status");
    }

    async fn execute(&mut self, code: &str) -> (Msg, Vec<Msg>) {
        let id = self
            .send_shell(
                "execute_request",
                json!({"code": code, "silent": false, "store_history": true,
                       "user_expressions": {}, "allow_stdin": false}),
            )
            .await;
        let reply = self.shell_reply().await;
        assert_eq!(reply.parent["msg_id"], id);
        let iopub = self.iopub_for(&id).await;
        (reply, iopub)
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Reads a message, checking its signature.
fn parse(z: ZmqMessage) -> Msg {
    let frames = z.into_vec();
    let at = frames
        .iter()
        .position(|f| f.as_ref() == b"<IDS|MSG>")
        .expect("the delimiter");
    let parts: Vec<Vec<u8>> = frames[at + 2..at + 6].iter().map(|f| f.to_vec()).collect();
    assert_eq!(
        std::str::from_utf8(&frames[at + 1]).unwrap(),
        sign(&parts),
        "the kernel signs with the connection's key"
    );
    let j = |i: usize| serde_json::from_slice::<Json>(&parts[i]).unwrap();
    Msg {
        header: j(0),
        parent: j(1),
        content: j(3),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `test` as a client of a fresh kernel in the scratch folder `name`, once the kernel is
/// ready.
fn with_kernel(name: &str, test: impl AsyncFnOnce(&mut Client)) {
    let dir = common::scratch(name);
    let kernel = Kernel::start(&dir);
    runtime().block_on(async {
        let mut c = Client::connect(&kernel).await;
        c.wait_ready().await;
        test(&mut c).await;
    });
}

fn kinds(msgs: &[Msg]) -> Vec<&str> {
    msgs.iter().map(Msg::kind).collect()
}

#[test]
fn kernel_info_execute_and_rich_results() {
    with_kernel("kernel-execute", async |c: &mut Client| {
        let id = c.send_shell("kernel_info_request", json!({})).await;
        let info = c.shell_reply().await;
        assert_eq!(info.kind(), "kernel_info_reply");
        assert_eq!(info.parent["msg_id"], id);
        assert_eq!(info.content["protocol_version"], "5.3");
        assert_eq!(info.content["language_info"]["name"], "gmm");
        assert_eq!(info.content["language_info"]["file_extension"], ".gmm");
        let statuses: Vec<Json> = c
            .iopub_for(&id)
            .await
            .iter()
            .map(|m| m.content["execution_state"].clone())
            .collect();
        assert_eq!(statuses, [json!("busy"), json!("idle")]);

        // One cell, several statements: print streams, the last value is the result.
        let (reply, io) = c.execute("print 1, 2\nlet a = 20\na + 3").await;
        assert_eq!(reply.content["status"], "ok");
        assert_eq!(reply.content["execution_count"], 1);
        assert_eq!(
            kinds(&io),
            [
                "status",
                "execute_input",
                "stream",
                "execute_result",
                "status"
            ]
        );
        assert_eq!(io[0].content["execution_state"], "busy");
        assert_eq!(io[1].content["code"], "print 1, 2\nlet a = 20\na + 3");
        assert_eq!(io[2].content["name"], "stdout");
        assert_eq!(io[2].content["text"], "1 2\n");
        assert_eq!(io[3].content["data"]["text/plain"], "23");
        assert_eq!(io[3].content["execution_count"], 1);

        // State lives across cells; a model shows its diagram, then its joint in LaTeX.
        let (_, io) = c.execute(common::GRADES).await;
        assert_eq!(
            io[2].kind(),
            "display_data",
            "a declaration's summary is no output"
        );
        assert!(
            io[2].content["data"]["text/plain"]
                .as_str()
                .unwrap()
                .starts_with("model grades:")
        );
        let (reply, io) = c.execute("grades").await;
        assert_eq!(reply.content["execution_count"], 3);
        assert_eq!(
            kinds(&io),
            [
                "status",
                "execute_input",
                "display_data",
                "execute_result",
                "status"
            ]
        );
        let svg = io[2].content["data"]["image/svg+xml"].as_str().unwrap();
        let doc = roxmltree::Document::parse(svg).expect("the diagram is SVG");
        let circles = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count();
        assert_eq!(circles, 5, "z, x and three parameters");
        assert_eq!(
            io[3].content["data"]["text/latex"],
            "$$p(z, x \\mid \\pi, \\mu, \\sigma) = \\prod_{n=1}^{N} \\mathrm{Cat}(z_n \\mid \\pi)\\,\\mathcal{N}(x_n \\mid \\mu_{z_n}, \\sigma_{z_n})$$"
        );
        assert!(
            io[3].content["data"]["text/plain"]
                .as_str()
                .unwrap()
                .starts_with("model grades {")
        );

        // A chart is SVG with its text as the fallback; a dataset an HTML table.
        let (_, io) = c.execute("plot(grades)").await;
        let data = &io[2].content["data"];
        roxmltree::Document::parse(data["image/svg+xml"].as_str().unwrap()).expect("SVG");
        assert!(data["text/plain"].as_str().unwrap().contains("grades"));
        let (_, io) = c.execute("table(x = [1.5, 2.5], z = [0, 1])").await;
        let html = io[2].content["data"]["text/html"].as_str().unwrap();
        assert!(
            html.contains("<th>x</th><th>z</th>") && html.contains("<td>2.5</td>"),
            "{html}"
        );
        assert!(html.contains("2 rows × 2 columns"), "{html}");

        // An error: the diagnostic is the traceback, located in the cell.
        let (reply, io) = c.execute("let b = 1\nprint sigma").await;
        assert_eq!(reply.content["status"], "error");
        assert_eq!(reply.content["evalue"], "unknown name `sigma`");
        let error = io
            .iter()
            .find(|m| m.kind() == "error")
            .expect("an error message");
        let trace: Vec<&str> = error.content["traceback"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(trace.iter().any(|l| l.contains("In[6]:2:7")), "{trace:?}");
        assert!(
            trace.iter().any(|l| l.contains("grades.sigma")),
            "{trace:?}"
        );

        // Completion, with cursor positions in code points (π is one, two bytes).
        let code = "print \"π\", gra";
        let id = c
            .send_shell("complete_request", json!({"code": code, "cursor_pos": 14}))
            .await;
        let r = c.shell_reply().await;
        assert_eq!(r.parent["msg_id"], id);
        assert_eq!(r.content["matches"], json!(["grades", "graph"]));
        assert_eq!(r.content["cursor_start"], 11);
        assert_eq!(r.content["cursor_end"], 14);
        let r = {
            c.send_shell(
                "complete_request",
                json!({"code": "grades.s", "cursor_pos": 8}),
            )
            .await;
            c.shell_reply().await
        };
        assert_eq!(r.content["matches"], json!(["sigma"]));

        // Help on a built-in and on a name in scope; the REPL's bracket logic.
        c.send_shell(
            "inspect_request",
            json!({"code": "fit(", "cursor_pos": 2, "detail_level": 0}),
        )
        .await;
        let r = c.shell_reply().await;
        assert_eq!(r.content["found"], true);
        assert!(
            r.content["data"]["text/plain"]
                .as_str()
                .unwrap()
                .starts_with("fit(")
        );
        c.send_shell(
            "inspect_request",
            json!({"code": "a", "cursor_pos": 1, "detail_level": 0}),
        )
        .await;
        let r = c.shell_reply().await;
        assert_eq!(r.content["data"]["text/plain"], "a: a number\n20\n");
        c.send_shell("is_complete_request", json!({"code": "model m {\n"}))
            .await;
        assert_eq!(c.shell_reply().await.content["status"], "incomplete");
        c.send_shell("is_complete_request", json!({"code": "print 1"}))
            .await;
        assert_eq!(c.shell_reply().await.content["status"], "complete");
    });
}

#[test]
fn fit_progress_updates_one_display_and_select_shows_an_html_table() {
    with_kernel("kernel-progress", async |c: &mut Client| {
        c.execute(common::GRADES).await;
        let (reply, io) = c
            .execute(
                "let d = sample(grades, 200, seed = 1)\n\
                 let f = fit(grades, table(x = d.x), max_iter = 3, tol = 0, verbose = true)",
            )
            .await;
        assert_eq!(reply.content["status"], "ok");
        let shown: Vec<&Msg> = io
            .iter()
            .filter(|m| m.kind().ends_with("display_data"))
            .collect();
        assert_eq!(
            kinds(&shown.iter().map(|m| (*m).clone()).collect::<Vec<_>>()),
            ["display_data", "update_display_data", "update_display_data"]
        );
        let id = &shown[0].content["transient"]["display_id"];
        assert!(id.is_string());
        for (i, m) in shown.iter().enumerate() {
            assert_eq!(&m.content["transient"]["display_id"], id);
            let line = m.content["data"]["text/plain"].as_str().unwrap();
            assert!(
                line.starts_with(&format!("fit grades: iteration {}", i + 1)),
                "{line}"
            );
        }

        let (_, io) = c
            .execute(
                "model mix(K) {\n    param pi : simplex[K]\n    param mu[K] : real\n    \
                 param sigma[K] : positive\n    plate rows {\n        z ~ Categorical(pi)\n        \
                 x ~ Normal(mu[z], sigma[z])\n    }\n}\n\
                 let best = select(mix, [1, 2], table(x = d.x), seed = 1)",
            )
            .await;
        let table = io
            .iter()
            .find(|m| m.content["data"]["text/html"].is_string())
            .expect("select's table");
        let html = table.content["data"]["text/html"].as_str().unwrap();
        assert!(html.contains("<th>BIC</th>"), "{html}");
        assert_eq!(
            html.matches("<tr>").count(),
            3,
            "a header and two sizes: {html}"
        );
        let text = table.content["data"]["text/plain"].as_str().unwrap();
        assert!(text.contains("nparams") && text.contains('*'), "{text}");
    });
}

#[test]
fn bad_signatures_are_dropped() {
    with_kernel("kernel-signature", async |c: &mut Client| {
        let (_, m) = c.message("execute_request", json!({"code": "print 666"}));
        let mut frames = m.into_vec();
        frames[1] = Bytes::from("0".repeat(64));
        c.shell
            .send(ZmqMessage::try_from(frames).unwrap())
            .await
            .unwrap();
        let (reply, io) = c.execute("print 7").await;
        assert_eq!(
            reply.content["execution_count"], 1,
            "the forged cell never ran"
        );
        assert_eq!(io[2].content["text"], "7\n");
    });
}

#[test]
fn an_interrupt_stops_a_cell_and_keeps_the_session_and_a_restart_forgets_it() {
    let dir = common::scratch("kernel-interrupt");
    let mut kernel = Kernel::start(&dir);
    runtime().block_on(async {
        let mut c = Client::connect(&kernel).await;
        c.wait_ready().await;
        c.execute("let kept = 41").await;
        let id = c
            .send_shell(
                "execute_request",
                json!({"code": "let s = 0\nfor i in 0..10000000000 {\n    s = s + i\n}",
                       "silent": false, "store_history": true}),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.send_control("interrupt_request", json!({})).await;
        let r = c.control_reply().await;
        assert_eq!(r.kind(), "interrupt_reply");
        assert_eq!(r.content["status"], "ok");
        let reply = c.shell_reply().await;
        assert_eq!(reply.parent["msg_id"], id);
        assert_eq!(reply.content["status"], "error");
        assert_eq!(reply.content["ename"], "Interrupted");
        let trace = reply.content["traceback"].to_string();
        assert!(
            trace.contains("the notebook's interrupt stopped it"),
            "{trace}"
        );
        let (_, io) = c.execute("kept + 1").await;
        assert_eq!(io[2].content["data"]["text/plain"], "42");

        // A restart: the kernel answers and ends; the new one starts afresh.
        c.send_control("shutdown_request", json!({"restart": true}))
            .await;
        let r = c.control_reply().await;
        assert_eq!(r.kind(), "shutdown_reply");
        assert_eq!(r.content["restart"], true);
    });
    let status = kernel
        .exited(Duration::from_secs(10))
        .expect("the kernel ends");
    assert!(status.success(), "{status:?}");
    let again = Kernel::on(&dir, kernel.connection.clone(), kernel.ports);
    runtime().block_on(async {
        let mut c = Client::connect(&again).await;
        c.wait_ready().await;
        let (reply, _) = c.execute("kept").await;
        assert_eq!(reply.content["status"], "error");
        assert_eq!(reply.content["evalue"], "unknown name `kept`");
        assert_eq!(reply.content["execution_count"], 1);
    });
}

#[test]
fn the_heartbeat_echoes() {
    let dir = common::scratch("kernel-heartbeat");
    let kernel = Kernel::start(&dir);
    runtime().block_on(async {
        let mut hb = zeromq::ReqSocket::new();
        for _ in 0..100 {
            if hb
                .connect(&format!("tcp://127.0.0.1:{}", kernel.ports[4]))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        hb.send(ZmqMessage::from("ping")).await.unwrap();
        let back = tokio::time::timeout(WAIT, hb.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.get(0).unwrap().as_ref(), b"ping");
    });
}

#[test]
fn install_writes_the_kernelspec() {
    let dir = common::scratch("kernel-install");
    let out = common::gmm_at(&dir, &["jupyter", "install", "--prefix", "env"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec = dir.join("env/share/jupyter/kernels/gmm");
    let j: Json =
        serde_json::from_str(&std::fs::read_to_string(spec.join("kernel.json")).unwrap()).unwrap();
    assert_eq!(
        j["argv"].as_array().unwrap()[1..],
        [
            json!("jupyter"),
            json!("kernel"),
            json!("-f"),
            json!("{connection_file}")
        ]
    );
    assert!(Path::new(j["argv"][0].as_str().unwrap()).is_absolute());
    assert_eq!(j["interrupt_mode"], "message");
    assert_eq!(j["language"], "gmm");
    for (name, size) in [("logo-32x32.png", 32), ("logo-64x64.png", 64)] {
        let decoder = png::Decoder::new(std::io::Cursor::new(
            std::fs::read(spec.join(name)).unwrap(),
        ));
        let reader = decoder.read_info().expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (size, size));
    }
    roxmltree::Document::parse(&std::fs::read_to_string(spec.join("logo-svg.svg")).unwrap())
        .expect("an SVG logo");
    // A folder that cannot be made is an error that says what to do.
    std::fs::write(dir.join("file"), "").unwrap();
    let out = common::gmm_at(&dir, &["jupyter", "install", "--prefix", "file"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--prefix DIR"), "{err}");
}

/// The Python packages of the Jupyter client, pinned.
const JUPYTER: &[&str] = &[
    "jupyter_client==8.10.0",
    "nbclient==0.11.0",
    "nbformat==5.11.1",
];

/// examples/lecture.ipynb under the real Jupyter client: nbclient executes it on the
/// installed kernelspec, what it prints equals `gmm run` on the same code, its SVG and LaTeX
/// outputs exist and equal the stored ones, and an interrupt stops a long cell
/// (tests/notebook/run_lecture.py). `BLESS=1` stores the outputs anew.
#[test]
fn the_lecture_notebook_runs_in_jupyter() {
    let python = common::python_venv("jupyter-venv", JUPYTER);
    common::python_client(
        &python,
        "tests/notebook/run_lecture.py",
        "kernel-notebook",
        600,
        |run, scratch| {
            run.env("HOME", scratch)
                .env_remove("JUPYTER_PATH")
                .env_remove("JUPYTER_DATA_DIR");
        },
    );
}
