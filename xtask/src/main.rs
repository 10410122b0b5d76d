//! `cargo xtask <command>`: the project's build chores, in Rust so they run wherever cargo does.
//!
//! - `widgets [--split]`: build the wasm widgets into `widgets/dist/` (content-hashed names,
//!   precompressed `.gz`/`.br`, `manifest.json`); the server serves that folder under `/w`.
//! - `size [--compare]`: gzip size of what a phone downloads per widget (html + js + wasm + css);
//!   fails when the submit widget is over its budget. `--compare` builds the resident + staff bundles and one
//!   bundle per widget side by side and prints both.
//! - `dist [--debug] [--reuse-widgets] [--version V]`: build the widgets, then `minsheng` with
//!   them inside (feature `embed-widgets`), and package it as
//!   `target/dist/minsheng_<version>_<arch>.deb` (`dist/debian/`, `dpkg-deb`).
//! - `demo [serve args…]`: build the widgets, seed the demo data, serve on SQLite.
//! - `test [cargo test args…]`: widget tests in headless Chromium when it is installed, then
//!   the workspace's tests with `MINSHENG_WIDGETS_DIR` pointing at the built widgets, then
//!   (as root with dpkg) the Debian package test, `tests/package/deb.sh`.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The widgets there are, each with its page title.
const WIDGETS: &[(&str, &str)] = &[
    ("submit", "我要反映 · 民生"),
    ("track", "我的诉求 · 民生"),
    ("handle", "承办工作台 · 民生"),
    ("dispatch", "受理交办 · 民生"),
    ("progress-map", "民生实事进度图 · 民生"),
    ("visit", "入户走访 · 民生"),
    ("board", "公开晾晒 · 民生"),
    ("admin", "管理后台 · 民生"),
];
/// Without `--split`: the bundles and the widgets (cargo features) each holds. Residents'
/// phones download only the first; the staff widgets (SVG map, desk) never weigh on them,
/// a handler's phone downloads only the department queue (`handle`, not the desk's intake,
/// joint desk and map), a supervisor's phone in the field (weak signal) only `visit`, and
/// the public (no login) only the board; the administrator's console is a bundle of its own.
const BUNDLES: &[(&str, &[&str])] = &[
    ("widgets", &["submit", "track"]),
    ("handle", &["handle"]),
    ("staff", &["dispatch", "progress-map"]),
    ("field", &["visit"]),
    ("public", &["board"]),
    ("admin", &["admin"]),
];
/// Widgets whose page also gets `staff.css` (wide desk layouts, the map, the visit lists).
const STAFF_WIDGETS: &[&str] = &["handle", "dispatch", "progress-map", "visit"];
/// Widgets whose page gets `staff.css` and `admin.css` (the console's tables, tree and forms).
const ADMIN_WIDGETS: &[&str] = &["admin"];
/// Widgets whose page gets `board.css` instead (the public board's phone and big-screen layouts).
const BOARD_WIDGETS: &[&str] = &["board"];
/// What the submit widget may weigh, gzipped, html + js + wasm + css.
const SUBMIT_BUDGET: u64 = 200_000;
/// WeChat's JS-SDK, vendored (see `widgets/vendor/README.md`): every page loads it before the
/// loader, so `wx.miniProgram` exists inside a mini-program's web-view. Shared by all widgets
/// and cached as one immutable asset, it is reported on its own line, outside the budgets.
const JSSDK: &str = "widgets/vendor/jweixin-1.6.5.js";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "release-wasm";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let flag = |f: &str| rest.iter().any(|a| a == f);
    match cmd {
        "widgets" => {
            build_widgets(&dist_dir(), flag("--split"))?;
            Ok(())
        }
        "size" if flag("--compare") => compare(),
        "size" => {
            let dist = dist_dir();
            if !dist.join("manifest.json").exists() {
                build_widgets(&dist, false)?;
            }
            let mut report = size_report(&dist)?;
            binary_size(&mut report);
            print!("{}", report.text);
            fs::write(dist.join("size.txt"), &report.text)?;
            fs::write(
                dist.join("size.json"),
                serde_json::to_string_pretty(&report.json)?,
            )?;
            if report.submit_total > SUBMIT_BUDGET {
                bail!(
                    "the submit widget is {} bytes gzipped, over its budget of {SUBMIT_BUDGET}",
                    report.submit_total
                );
            }
            Ok(())
        }
        "dist" => dist(rest).map(|_| ()),
        "demo" => demo(rest),
        "test" => test(rest),
        "bench" => bench(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 widgets [--split]   build the wasm widgets into widgets/dist\n\
                 size [--compare]    gzip size per widget (html+js+wasm+css), budget check; the release binary's size\n\
                 dist [--debug] [--reuse-widgets] [--version V]  one binary with the widgets inside, and its .deb (target/dist/)\n\
                 demo [serve args]   build widgets, seed demo data, serve on SQLite\n\
                 test [test args]    widget tests in headless Chromium (if installed), then cargo test\n\
                 bench [--quick] [--pg URL] [--subscribers N]  baselines and the server measured in one run (target/bench/)"
            );
            if cmd == "help" {
                Ok(())
            } else {
                bail!("unknown command {cmd:?}")
            }
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn dist_dir() -> PathBuf {
    root().join("widgets").join("dist")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed: {status}", describe(cmd));
    }
    Ok(())
}

/// Runs `cmd` (in a process group of its own) and fails when it fails or is still running
/// after `limit`: then the whole group (cargo and the test binaries it started) is killed,
/// so a test that hangs fails the run instead of holding CI.
fn run_within(cmd: &mut Command, limit: std::time::Duration) -> Result<()> {
    use std::os::unix::process::CommandExt;
    eprintln!(
        "xtask: {} (limit {} min)",
        describe(cmd),
        limit.as_secs() / 60
    );
    let mut child = cmd
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", describe(cmd)))?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("{} failed: {status}", describe(cmd));
            }
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            bail!(
                "{} was still running after {} minutes: killed (a test hangs?)",
                describe(cmd),
                limit.as_secs() / 60
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `MINSHENG_TEST_REQUIRE_ALL=1` (set by `.ci/run`): nothing a test needs may be missing.
fn require_all() -> bool {
    std::env::var("MINSHENG_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finds an executable on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------
// Building the widgets

/// The wasm-bindgen version in Cargo.lock: the CLI must be exactly that.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    bail!(
        "wasm-bindgen is not in Cargo.lock; build the widgets crate once (`cargo check -p minsheng-widgets`)"
    )
}

/// `wasm-bindgen` at `version`, installing it with cargo when missing or different.
fn wasm_bindgen_cli(version: &str) -> Result<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join("wasm-bindgen"));
    let candidates: Vec<PathBuf> = which("wasm-bindgen").into_iter().chain(cargo_bin).collect();
    let wanted = format!("wasm-bindgen {version}");
    for c in &candidates {
        if output(Command::new(c).arg("--version")).is_some_and(|v| v.trim() == wanted) {
            return Ok(c.clone());
        }
    }
    // No `--locked`: with it, a dependency version missing from the reachable index fails.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", version]))?;
    for c in which("wasm-bindgen").into_iter().chain(candidates) {
        if output(Command::new(&c).arg("--version")).is_some_and(|v| v.trim() == wanted) {
            return Ok(c);
        }
    }
    bail!("installed wasm-bindgen-cli {version} but cannot find it on PATH or in ~/.cargo/bin")
}

fn ensure_wasm_target() -> Result<()> {
    if let Some(installed) = output(Command::new("rustup").args(["target", "list", "--installed"]))
        && !installed.lines().any(|l| l.trim() == WASM_TARGET)
    {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// `wasm-opt` that can read current Rust output (Debian's 108 cannot; npm's `binaryen` can).
fn wasm_opt() -> Option<PathBuf> {
    let local = root().join("node_modules").join(".bin").join("wasm-opt");
    [Some(local), which("wasm-opt")]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}

/// Builds one wasm bundle with the given features and runs wasm-bindgen (and wasm-opt) on it.
/// Returns the glue JS and the wasm file.
fn build_bundle(
    name: &str,
    features: Option<&str>,
    bindgen: &Path,
    work: &Path,
) -> Result<(PathBuf, PathBuf, bool)> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "-p",
        "minsheng-widgets",
        "--lib",
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
    ]);
    // A target folder of its own: the wasm build never waits for the host build's lock.
    cmd.arg("--target-dir")
        .arg(root().join("target").join("wasm"));
    if let Some(f) = features {
        cmd.args(["--no-default-features", "--features", f]);
    }
    // `strip = true` drops the `target_features` section, so wasm-bindgen warns that it
    // cannot see the enabled features and keeps its JS-side object table: harmless, and
    // measured smaller on the wire than keeping the section (debuginfo) for wasm-opt.
    run(&mut cmd)?;
    let raw = root()
        .join("target/wasm")
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("minsheng_widgets.wasm");
    let out = work.join(name);
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&out)?;
    run(Command::new(bindgen)
        .arg(&raw)
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            name,
            "--out-dir",
        ])
        .arg(&out))?;
    let js = out.join(format!("{name}.js"));
    let wasm = out.join(format!("{name}_bg.wasm"));
    let mut optimized = false;
    if let Some(opt) = wasm_opt() {
        let tmp = out.join(format!("{name}_opt.wasm"));
        // The features Rust 1.8x+ emits by default; wasm-opt must not strip or add others.
        let status = Command::new(&opt)
            .arg(&wasm)
            .args(["-Oz", "--strip-debug", "--strip-producers"])
            .args([
                "--enable-bulk-memory",
                "--enable-bulk-memory-opt",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg("-o")
            .arg(&tmp)
            .status();
        match status {
            // wasm-opt -Oz shrinks the raw file (~12%) but, measured on this code, the result
            // compresses worse (gzip +3%, brotli +2%): keep whichever is smaller on the wire.
            Ok(s) if s.success() => {
                let before = gzip(&fs::read(&wasm)?)?.len();
                let after = gzip(&fs::read(&tmp)?)?.len();
                if after < before {
                    fs::rename(&tmp, &wasm)?;
                    optimized = true;
                } else {
                    fs::remove_file(&tmp)?;
                    eprintln!(
                        "xtask: wasm-opt output gzips to {after} bytes, wasm-bindgen's to {before}: keeping wasm-bindgen's"
                    );
                }
            }
            _ => eprintln!(
                "xtask: {} could not optimize the wasm; keeping wasm-bindgen's output",
                opt.display()
            ),
        }
    } else {
        eprintln!(
            "xtask: no wasm-opt (`npm install binaryen` provides one); the wasm stays unoptimized"
        );
    }
    Ok((js, wasm, optimized))
}

fn hash16(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `stem-<hash>.ext` for the content.
fn hashed_name(stem: &str, ext: &str, data: &[u8]) -> String {
    format!("{stem}-{}.{ext}", hash16(data))
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

fn brotli(data: &[u8]) -> Result<Vec<u8>> {
    let mut w = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, 11, 22);
    w.write_all(data)?;
    w.flush()?;
    Ok(w.into_inner())
}

/// Writes a file and its `.gz` and `.br` siblings; returns the gzip size.
fn write_compressed(path: &Path, data: &[u8]) -> Result<u64> {
    fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
    let gz = gzip(data)?;
    let with = |ext: &str, bytes: &[u8]| {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        fs::write(PathBuf::from(p), bytes)
    };
    with(".gz", &gz)?;
    with(".br", &brotli(data)?)?;
    Ok(gz.len() as u64)
}

/// The vendored JS-SDK as a plain script. The npm file is a CommonJS module
/// (`module.exports = n(window)`, which leaves `window.wx` unset), so it runs here with a local
/// `module`, and its export becomes `window.wx` and `window.jWeixin`, as WeChat's own
/// `jweixin-1.6.0.js` sets them.
fn jssdk_script(src: &str) -> String {
    format!(
        "(function () {{\nvar module = {{ exports: {{}} }};\n{src}\n;if (module.exports && !window.jWeixin) {{ window.wx = window.jWeixin = module.exports; }}\n}})();\n"
    )
}

/// Builds every widget into `dist` (replaced as a whole at the end).
fn build_widgets(dist: &Path, split: bool) -> Result<Value> {
    ensure_wasm_target()?;
    let version = locked_wasm_bindgen()?;
    let bindgen = wasm_bindgen_cli(&version)?;
    let work = root().join("target/wasm/bindgen");
    let stage = dist.with_extension("tmp");
    if stage.exists() {
        fs::remove_dir_all(&stage)?;
    }
    let assets = stage.join("assets");
    fs::create_dir_all(&assets)?;
    let static_dir = root().join("widgets/static");

    // Bundles: as `BUNDLES` lists them, or one per widget.
    let plan: Vec<(String, Option<String>, Vec<&str>)> = if split {
        WIDGETS
            .iter()
            .map(|(w, _)| (w.to_string(), Some(w.to_string()), vec![*w]))
            .collect()
    } else {
        BUNDLES
            .iter()
            .map(|(b, members)| (b.to_string(), Some(members.join(",")), members.to_vec()))
            .collect()
    };
    let mut gz_sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut bundle_of: BTreeMap<&str, (String, String)> = BTreeMap::new();
    let mut optimized_all = true;
    for (name, features, members) in &plan {
        let (js, wasm, optimized) = build_bundle(name, features.as_deref(), &bindgen, &work)?;
        optimized_all &= optimized;
        let js_data = fs::read(&js)?;
        let wasm_data = fs::read(&wasm)?;
        let js_name = hashed_name(name, "js", &js_data);
        let wasm_name = hashed_name(&format!("{name}_bg"), "wasm", &wasm_data);
        gz_sizes.insert(
            js_name.clone(),
            write_compressed(&assets.join(&js_name), &js_data)?,
        );
        gz_sizes.insert(
            wasm_name.clone(),
            write_compressed(&assets.join(&wasm_name), &wasm_data)?,
        );
        for m in members {
            bundle_of.insert(m, (js_name.clone(), wasm_name.clone()));
        }
    }

    let css_data = fs::read(static_dir.join("widgets.css"))?;
    let css_name = hashed_name("widgets", "css", &css_data);
    gz_sizes.insert(
        css_name.clone(),
        write_compressed(&assets.join(&css_name), &css_data)?,
    );
    let mut staff_css_data = css_data.clone();
    staff_css_data.extend(fs::read(static_dir.join("staff.css"))?);
    let staff_css_name = hashed_name("staff", "css", &staff_css_data);
    gz_sizes.insert(
        staff_css_name.clone(),
        write_compressed(&assets.join(&staff_css_name), &staff_css_data)?,
    );

    let mut admin_css_data = staff_css_data.clone();
    admin_css_data.extend(fs::read(static_dir.join("admin.css"))?);
    let admin_css_name = hashed_name("admin", "css", &admin_css_data);
    gz_sizes.insert(
        admin_css_name.clone(),
        write_compressed(&assets.join(&admin_css_name), &admin_css_data)?,
    );

    let mut board_css_data = css_data.clone();
    board_css_data.extend(fs::read(static_dir.join("board.css"))?);
    let board_css_name = hashed_name("board", "css", &board_css_data);
    gz_sizes.insert(
        board_css_name.clone(),
        write_compressed(&assets.join(&board_css_name), &board_css_data)?,
    );

    let jssdk_data = jssdk_script(&fs::read_to_string(root().join(JSSDK))?);
    let jssdk_name = hashed_name("jweixin", "js", jssdk_data.as_bytes());
    gz_sizes.insert(
        jssdk_name.clone(),
        write_compressed(&assets.join(&jssdk_name), jssdk_data.as_bytes())?,
    );

    // The loader knows every bundle but the console's; the hashed copy sits beside them, the
    // stable one a level up. The console's page has a loader of its own that knows only the
    // console, so no other page (and no host site) carries even its file names.
    let loader_src_with = |keep: &dyn Fn(&str) -> bool| -> Result<String> {
        let bundles: serde_json::Map<String, Value> = bundle_of
            .iter()
            .filter(|(w, _)| keep(w))
            .map(|(w, (js, wasm))| (w.to_string(), json!({ "js": js, "wasm": wasm })))
            .collect();
        Ok(fs::read_to_string(static_dir.join("loader.js"))?
            .replace("/*BUNDLES*/{}", &serde_json::to_string(&bundles)?))
    };
    let loader_src = loader_src_with(&|w| !ADMIN_WIDGETS.contains(&w))?;
    let hashed_loader = loader_src.replace("/*BASE*/\"./\"", "\"./\"");
    let loader_name = hashed_name("loader", "js", hashed_loader.as_bytes());
    gz_sizes.insert(
        loader_name.clone(),
        write_compressed(&assets.join(&loader_name), hashed_loader.as_bytes())?,
    );
    let admin_loader =
        loader_src_with(&|w| ADMIN_WIDGETS.contains(&w))?.replace("/*BASE*/\"./\"", "\"./\"");
    let admin_loader_name = hashed_name("loader-admin", "js", admin_loader.as_bytes());
    gz_sizes.insert(
        admin_loader_name.clone(),
        write_compressed(&assets.join(&admin_loader_name), admin_loader.as_bytes())?,
    );
    let stable_loader = loader_src.replace("/*BASE*/\"./\"", "\"./assets/\"");
    gz_sizes.insert(
        "loader.js".into(),
        write_compressed(&stage.join("loader.js"), stable_loader.as_bytes())?,
    );

    let template = fs::read_to_string(static_dir.join("page.html"))?;
    let mut widgets = serde_json::Map::new();
    for (w, title) in WIDGETS {
        let (js, wasm) = &bundle_of[w];
        let loader_name = if ADMIN_WIDGETS.contains(w) {
            &admin_loader_name
        } else {
            &loader_name
        };
        let css_name = if STAFF_WIDGETS.contains(w) {
            &staff_css_name
        } else if ADMIN_WIDGETS.contains(w) {
            &admin_css_name
        } else if BOARD_WIDGETS.contains(w) {
            &board_css_name
        } else {
            &css_name
        };
        let page = template
            .replace("{{title}}", title)
            .replace("{{css}}", css_name)
            .replace("{{glue}}", js)
            .replace("{{wasm}}", wasm)
            .replace("{{loader}}", loader_name)
            .replace("{{jssdk}}", &jssdk_name)
            .replace("{{widget}}", w);
        let page_name = format!("{w}.html");
        gz_sizes.insert(
            page_name.clone(),
            write_compressed(&stage.join(&page_name), page.as_bytes())?,
        );
        let files = [&page_name, loader_name, js, wasm, css_name];
        let total: u64 = files.iter().map(|f| gz_sizes[f.as_str()]).sum();
        widgets.insert(
            w.to_string(),
            json!({
                "page": page_name, "loader": loader_name, "js": js, "wasm": wasm, "css": css_name,
                "gzip": {
                    "html": gz_sizes[&page_name], "loader": gz_sizes[loader_name], "js": gz_sizes[js],
                    "wasm": gz_sizes[wasm], "css": gz_sizes[css_name], "total": total,
                },
            }),
        );
    }
    let manifest = json!({
        "wasm_bindgen": version,
        "wasm_opt": optimized_all,
        "split": split,
        "widgets": widgets,
        "jssdk": { "file": jssdk_name, "source": JSSDK, "gzip": gz_sizes[&jssdk_name] },
        "gzip_bytes": gz_sizes,
    });
    fs::write(
        stage.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;

    // Swap the finished folder in, so a running server never sees half a build.
    let old = dist.with_extension("old");
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    if dist.exists() {
        fs::rename(dist, &old)?;
    }
    fs::rename(&stage, dist)?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    eprintln!("xtask: widgets built into {}", dist.display());
    Ok(manifest)
}

// ---------------------------------------------------------------------------------------
// Sizes

struct SizeReport {
    text: String,
    json: Value,
    submit_total: u64,
}

fn size_report(dist: &Path) -> Result<SizeReport> {
    let manifest: Value = serde_json::from_slice(
        &fs::read(dist.join("manifest.json")).context("reading manifest.json")?,
    )?;
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    let mut text = format!(
        "widget sizes, gzip -9 ({}; wasm-opt applied: {}):\n{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
        if manifest["split"].as_bool() == Some(true) {
            "one bundle per widget"
        } else {
            "resident and staff bundles"
        },
        if manifest["wasm_opt"].as_bool() == Some(true) {
            "yes"
        } else {
            "no"
        },
        "widget",
        "html",
        "loader",
        "js",
        "wasm",
        "css",
        "total"
    );
    let mut json = serde_json::Map::new();
    let mut submit_total = 0;
    for (w, info) in manifest["widgets"]
        .as_object()
        .context("manifest without widgets")?
    {
        let g = &info["gzip"];
        let n = |k: &str| g[k].as_u64().unwrap_or(0);
        text.push_str(&format!(
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
            w,
            kb(n("html")),
            kb(n("loader")),
            kb(n("js")),
            kb(n("wasm")),
            kb(n("css")),
            kb(n("total"))
        ));
        if w == "submit" {
            submit_total = n("total");
        }
        json.insert(w.clone(), g.clone());
    }
    if let Some(file) = manifest["jssdk"]["file"].as_str() {
        let gz = manifest["jssdk"]["gzip"].as_u64().unwrap_or(0);
        text.push_str(&format!(
            "{:<12} {:>9}  {file}, shared by every widget page, cached once, outside the budgets\n",
            "jweixin",
            kb(gz)
        ));
        json.insert("jweixin".into(), json!({ "file": file, "gzip": gz }));
    }
    text.push_str(&format!(
        "submit budget: {} of {} ({})\n",
        kb(submit_total),
        kb(SUBMIT_BUDGET),
        if submit_total <= SUBMIT_BUDGET {
            "ok"
        } else {
            "OVER"
        }
    ));
    Ok(SizeReport {
        text,
        json: Value::Object(json),
        submit_total,
    })
}

/// Builds both layouts and prints their sizes, so the choice rests on numbers.
fn compare() -> Result<()> {
    let base = root().join("target/wasm/compare");
    let mut out = String::new();
    for (label, split) in [("resident + staff bundles", false), ("per widget", true)] {
        let dist = base.join(if split { "split" } else { "single" });
        fs::create_dir_all(&base)?;
        build_widgets(&dist, split)?;
        let report = size_report(&dist)?;
        out.push_str(&format!("== {label}\n{}", report.text));
    }
    print!("{out}");
    fs::write(base.join("compare.txt"), &out)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Demo and tests

fn demo(rest: &[String]) -> Result<()> {
    let dist = dist_dir();
    build_widgets(&dist, false)?;
    let server = |args: &[&str]| {
        let mut c = cargo();
        c.args([
            "run",
            "--release",
            "-p",
            "minsheng-server",
            "--bin",
            "minsheng",
            "--",
        ])
        .args(args);
        c.env("MINSHENG_WIDGETS_DIR", &dist);
        c
    };
    run(&mut server(&["seed-demo"]))?;
    let bind = rest
        .windows(2)
        .find(|w| w[0] == "--bind")
        .map(|w| w[1].clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    eprintln!(
        "xtask: open http://{bind}/w/submit and http://{bind}/w/track (add ?lang=en for English); \
         sign in with a demo resident printed above. Staff: http://{bind}/w/handle (handler), \
         http://{bind}/w/dispatch (dispatcher), http://{bind}/w/progress-map (leader), http://{bind}/w/visit (supervisor); \
         the public board (no login): http://{bind}/w/board (?layout=screen for a hall's screen); \
         the admin console: http://{bind}/w/admin (an admin)"
    );
    let mut serve = server(&["serve"]);
    serve.args(rest);
    run(&mut serve)
}

fn browser_available() -> bool {
    which("chromedriver").is_some()
        && [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
        .iter()
        .any(|b| which(b).is_some())
}

fn test(rest: &[String]) -> Result<()> {
    let dist = dist_dir();
    if browser_available() {
        build_widgets(&dist, false)?;
        let version = locked_wasm_bindgen()?;
        let bindgen = wasm_bindgen_cli(&version)?;
        let runner = bindgen.with_file_name("wasm-bindgen-test-runner");
        let mut cmd = cargo();
        cmd.args([
            "test",
            "-p",
            "minsheng-widgets",
            "--all-features",
            "--target",
            WASM_TARGET,
        ])
        .arg("--target-dir")
        .arg(root().join("target").join("wasm"))
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &runner);
        run_within(&mut cmd, std::time::Duration::from_secs(20 * 60))?;
    } else if require_all() {
        bail!(
            "chromedriver or chromium not found, and MINSHENG_TEST_REQUIRE_ALL=1 makes the \
             skipped browser tests a failure (apt-get install chromium chromium-driver)"
        );
    } else {
        eprintln!(
            "xtask: SKIPPED the widget build and browser tests: chromedriver or chromium not found \
             (apt-get install chromium chromium-driver)"
        );
    }
    // The crash test drives the real `minsheng` binary; `cargo test` alone does not build it.
    run(cargo().args(["build", "-p", "minsheng-server", "--bin", "minsheng"]))?;
    let mut cmd = cargo();
    // The widgets crate is tested in the browser above; natively it would only compile yew.
    cmd.args(["test", "--workspace", "--exclude", "minsheng-widgets"])
        .args(rest.iter().map(OsStr::new));
    cmd.env("MINSHENG_WIDGETS_DIR", &dist);
    run_within(&mut cmd, std::time::Duration::from_secs(45 * 60))?;
    package_test()
}

/// The Debian package installed, upgraded and purged for real (`tests/package/deb.sh`), after
/// the other suites: only as root with dpkg (skipped otherwise, a failure under
/// `MINSHENG_TEST_REQUIRE_ALL=1`). It packages a debug build with the widgets inside, which
/// builds in a fraction of the release build's time; the package is otherwise the same.
fn package_test() -> Result<()> {
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    let missing = if !is_root {
        Some("not running as root")
    } else if which("dpkg").is_none() || which("dpkg-deb").is_none() {
        Some("dpkg is not installed")
    } else {
        None
    };
    if let Some(why) = missing {
        if require_all() {
            bail!(
                "the Debian package test cannot run ({why}), and MINSHENG_TEST_REQUIRE_ALL=1 makes that a failure"
            );
        }
        eprintln!("xtask: SKIPPED the Debian package test: {why}");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let deb = dist(&["--debug".into(), "--reuse-widgets".into()])?;
    run_within(
        Command::new("bash")
            .arg(root().join("tests/package/deb.sh"))
            .arg(&deb),
        std::time::Duration::from_secs(5 * 60),
    )?;
    eprintln!(
        "xtask: the Debian package test passed in {} s (packaging included)",
        started.elapsed().as_secs()
    );
    Ok(())
}

/// `cargo xtask bench`: builds the server and the load generator in release and runs the
/// benchmark (tests/bench/main.rs), which writes target/bench/report.{json,md}.
fn bench(rest: &[String]) -> Result<()> {
    let dist = dist_dir();
    if !dist.join("manifest.json").exists() {
        // The report includes the widgets' size; build them when the tool chain is there.
        if let Err(e) = build_widgets(&dist, false) {
            eprintln!("xtask: widgets not built ({e:#}); the report will leave out their size");
        }
    }
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "minsheng-server",
        "-p",
        "minsheng-tests",
        "--bin",
        "minsheng",
        "--bin",
        "minsheng-bench",
    ]))?;
    let bin = root().join("target/release/minsheng-bench");
    run(Command::new(bin)
        .arg("--root")
        .arg(root())
        .args(rest.iter().map(OsStr::new)))
}

// ---------------------------------------------------------------------------------------
// One binary, and its Debian package

/// What the release binary, widgets inside, should stay under.
const BINARY_GOAL: u64 = 40_000_000;

/// Adds the release binary's size (when `cargo xtask dist` has built it) to the size report.
fn binary_size(report: &mut SizeReport) {
    let bin = root().join("target/dist/release/minsheng");
    let Ok(meta) = fs::metadata(&bin) else {
        report.text.push_str(
            "minsheng binary: not built (`cargo xtask dist` builds it, widgets inside)\n",
        );
        return;
    };
    let size = meta.len();
    report.text.push_str(&format!(
        "minsheng binary (release, widgets inside, stripped): {:.1} MB of a {:.0} MB goal ({})\n",
        size as f64 / 1e6,
        BINARY_GOAL as f64 / 1e6,
        if size <= BINARY_GOAL { "ok" } else { "OVER" }
    ));
    if let Value::Object(map) = &mut report.json {
        map.insert(
            "minsheng_binary".into(),
            json!({ "file": bin, "bytes": size, "goal": BINARY_GOAL }),
        );
    }
}

/// `cargo xtask dist [--debug] [--reuse-widgets] [--version V]`: the widgets (rebuilt unless
/// `--reuse-widgets` finds them built), `minsheng` with them inside (release; `--debug` for a
/// quick build that tests use), stripped into `target/dist/<profile>/minsheng`, and
/// `target/dist/minsheng_<version>_<arch>.deb` (`target/dist/debug/…` with `--debug`;
/// `--version` stamps another version). Returns the package's path.
fn dist(rest: &[String]) -> Result<PathBuf> {
    let flag = |f: &str| rest.iter().any(|a| a == f);
    let debug = flag("--debug");
    let version = rest
        .windows(2)
        .find(|w| w[0] == "--version")
        .map(|w| w[1].clone())
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let widgets = dist_dir();
    if flag("--reuse-widgets") && widgets.join("manifest.json").exists() {
        eprintln!(
            "xtask: embedding the widgets already built in {}",
            widgets.display()
        );
    } else {
        build_widgets(&widgets, false)?;
    }
    let profile = if debug { "debug" } else { "release" };
    let mut build = cargo();
    build.args([
        "build",
        "-p",
        "minsheng-server",
        "--bin",
        "minsheng",
        "--features",
        "embed-widgets",
    ]);
    if !debug {
        build.arg("--release");
    }
    run(&mut build)?;
    let out = root().join("target/dist");
    let bin = out.join(profile).join("minsheng");
    fs::create_dir_all(out.join(profile))?;
    fs::copy(root().join("target").join(profile).join("minsheng"), &bin)?;
    // Symbols and debug lines are for the build machine; a server gets the code alone.
    if which("strip").is_some() {
        run(Command::new("strip").arg(&bin))?;
    } else {
        eprintln!("xtask: no `strip` (binutils); the binary keeps its symbols");
    }
    eprintln!(
        "xtask: {} ({profile}, widgets inside): {:.1} MB",
        bin.display(),
        fs::metadata(&bin)?.len() as f64 / 1e6
    );
    // A debug package (the test's) never takes the release package's place.
    let deb_dir = if debug {
        out.join("debug")
    } else {
        out.clone()
    };
    let deb = debian_package(&bin, &version, &deb_dir, debug)?;
    eprintln!(
        "xtask: {} ({:.1} MB)",
        deb.display(),
        fs::metadata(&deb)?.len() as f64 / 1e6
    );
    Ok(deb)
}

/// Stages `dist/debian/` and the binary as the installed tree and builds the `.deb` with
/// `dpkg-deb` (files owned by root).
fn debian_package(bin: &Path, version: &str, out: &Path, quick: bool) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if which("dpkg-deb").is_none() {
        bail!("dpkg-deb is not installed (Debian's `dpkg` package): cannot build the .deb");
    }
    let arch = output(Command::new("dpkg").arg("--print-architecture"))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "amd64".into());
    let src = root().join("dist/debian");
    let stage = out.join(format!("deb-{version}"));
    if stage.exists() {
        fs::remove_dir_all(&stage)?;
    }
    let put = |rel: &str, from: &Path, mode: u32| -> Result<u64> {
        let to = stage.join(rel);
        let dir = to.parent().expect("a file inside the stage");
        fs::create_dir_all(dir)?;
        fs::copy(from, &to).with_context(|| format!("staging {}", from.display()))?;
        fs::set_permissions(&to, fs::Permissions::from_mode(mode))?;
        Ok(fs::metadata(&to)?.len())
    };
    let mut installed = 0;
    installed += put("usr/bin/minsheng", bin, 0o755)?;
    installed += put(
        "usr/lib/systemd/system/minsheng.service",
        &src.join("minsheng.service"),
        0o644,
    )?;
    installed += put(
        "etc/minsheng/minsheng.env",
        &src.join("minsheng.env"),
        0o640,
    )?;
    for script in ["postinst", "prerm", "postrm"] {
        put(&format!("DEBIAN/{script}"), &src.join(script), 0o755)?;
    }
    put("DEBIAN/conffiles", &src.join("conffiles"), 0o644)?;
    let control = fs::read_to_string(src.join("control"))?
        .replace("@VERSION@", version)
        .replace("@ARCH@", &arch)
        .replace("@INSTALLED_SIZE@", &installed.div_ceil(1024).to_string());
    fs::write(stage.join("DEBIAN/control"), control)?;
    // Every folder 0755, whatever the umask.
    let mut dirs = vec![stage.clone()];
    while let Some(d) = dirs.pop() {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755))?;
        for e in fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                dirs.push(e.path());
            }
        }
    }
    let deb = out.join(format!("minsheng_{version}_{arch}.deb"));
    let mut cmd = Command::new("dpkg-deb");
    cmd.arg("--root-owner-group");
    // xz for what is shipped; gzip, fast, for the test's debug package.
    if quick {
        cmd.args(["-Zgzip", "-z1"]);
    } else {
        cmd.args(["-Zxz", "-z6"]);
    }
    cmd.arg("--build").arg(&stage).arg(&deb);
    run(&mut cmd)?;
    fs::remove_dir_all(&stage)?;
    Ok(deb)
}
