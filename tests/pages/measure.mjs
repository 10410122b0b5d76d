// The widget pages on a weak signal, run by `cargo xtask bench --pages` (tests/bench/pages.rs):
//
//   node measure.mjs <config.json> <out.json>
//
// config.json: { "base": "http://127.0.0.1:PORT", "chromium": "/usr/bin/chromium",
//                "pages": [{ "name": "submit", "path": "/w/submit", "token": "…" | null }] }
//
// For each page:
// - Lighthouse 12 (its defaults: mobile form factor, simulated slow 4G and 4× CPU slowdown),
//   performance, accessibility and best practices, in a fresh browser profile;
// - DevTools network emulation at "3G" (400 kbit/s down and up, 400 ms round trip, on a
//   360×640 phone viewport, CPU not slowed), a first visit in a fresh browser context and a
//   repeat visit in the same context: first contentful paint, and "input accepted", the first
//   moment the page's first text field (input or textarea) exists, is enabled and takes a
//   typed character (checked in the page every 10 ms by focusing it and inserting "x" as
//   typing does), and whether that character is still in the field once the widget is up.
//
// A page with a token is measured signed in: the token is put in localStorage before the
// page's own scripts run, as the mini-program's ticket hand-over leaves it.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import lighthouse from "lighthouse";

const [configPath, outPath] = process.argv.slice(2);
if (!configPath || !outPath) {
  console.error("usage: node measure.mjs <config.json> <out.json>");
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const CHROMIUM = config.chromium || "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps reaching for Google's hosts,
// which this machine's closed network refuses.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
const THREE_G = {
  offline: false,
  latency: 400,
  downloadThroughput: (400 * 1000) / 8,
  uploadThroughput: (400 * 1000) / 8,
};
const TIMEOUT_MS = 90_000;

async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "minsheng-pages-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    userDataDir,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/// Puts the session in localStorage at the page's origin (a document there first).
async function signIn(page, base, token) {
  if (!token) return;
  await page.goto(`${base}/healthz`, { waitUntil: "load" });
  await page.evaluate((t) => {
    localStorage.setItem("minsheng.token", t);
  }, token);
}

function failing(lhr, category) {
  return lhr.categories[category].auditRefs
    .map((r) => lhr.audits[r.id])
    .filter(
      (a) =>
        a &&
        a.score !== null &&
        a.score < 1 &&
        ["binary", "numeric", "metricSavings"].includes(a.scoreDisplayMode),
    )
    .map((a) => ({ id: a.id, title: a.title, score: a.score, value: a.displayValue ?? null }));
}

async function lighthouseRun(p) {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    await signIn(page, config.base, p.token);
    const result = await lighthouse(
      config.base + p.path,
      {
        output: "json",
        logLevel: "error",
        onlyCategories: ["performance", "accessibility", "best-practices"],
        // The session put in storage above must survive; the profile is fresh, so the
        // cache is empty all the same.
        disableStorageReset: true,
      },
      undefined,
      page,
    );
    const lhr = result.lhr;
    const score = (c) => (lhr.categories[c].score === null ? null : Math.round(lhr.categories[c].score * 100));
    const num = (id) => lhr.audits[id]?.numericValue ?? null;
    if (lhr.runtimeError) console.error(`${p.name}: lighthouse: ${lhr.runtimeError.message}`);
    if (config.keep_reports) {
      fs.writeFileSync(path.join(path.dirname(outPath), `lighthouse-${p.name}.json`), result.report);
    }
    return {
      performance: score("performance"),
      accessibility: score("accessibility"),
      best_practices: score("best-practices"),
      cls: num("cumulative-layout-shift"),
      fcp_ms: num("first-contentful-paint"),
      lcp_ms: num("largest-contentful-paint"),
      tbt_ms: num("total-blocking-time"),
      speed_index_ms: num("speed-index"),
      failing: {
        performance: failing(lhr, "performance"),
        accessibility: failing(lhr, "accessibility"),
        best_practices: failing(lhr, "best-practices"),
      },
    };
  } finally {
    await close();
  }
}

// Runs in the page before its own scripts: watches for the first text field and for the
// widget being mounted (the loader sets data-minsheng-ready).
function watcher(token) {
  if (token) localStorage.setItem("minsheng.token", token);
  localStorage.removeItem("minsheng.submit.draft");
  const FIELD =
    "main input:not([type]), main input[type=text], main input[type=search], main input[type=tel], main input[type=number], main textarea";
  const r = (window.__msBench = { input: null, field: null, ready: null, kept: null });
  let el = null;
  const visible = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
  const tick = () => {
    // Nothing can be typed into before the page has painted (a stylesheet still loading
    // may be about to hide the field).
    const painted = performance.getEntriesByType("paint").length > 0;
    if (r.input === null && document.body && painted) {
      const f = Array.from(document.querySelectorAll(FIELD)).find(visible);
      if (f && !f.disabled && !f.readOnly) {
        f.focus();
        const before = f.value.length;
        document.execCommand("insertText", false, "x");
        if (f.value.length > before) {
          r.input = performance.now();
          r.field = f.name || f.id || f.tagName.toLowerCase();
          el = f;
        }
      }
    }
    if (r.ready === null && document.querySelector("[data-minsheng-ready]")) {
      r.ready = performance.now();
    }
    if (r.ready !== null && r.input !== null && r.kept === null) {
      // Still there once the widget is up: the field the widget shows under that name
      // (the page's own field may have been replaced) holds the typed character.
      const now = document.querySelector(`main [name="${r.field}"]`) || (el && el.isConnected ? el : null);
      r.kept = !!now && now.value.includes("x");
    }
    if (r.ready === null || r.kept === null) setTimeout(tick, 10);
  };
  tick();
}

async function visit(page, url, hasField) {
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: TIMEOUT_MS });
  const deadline = Date.now() + TIMEOUT_MS;
  let readySeen = null;
  for (;;) {
    const r = await page.evaluate(() => {
      const paint = performance.getEntriesByType("paint");
      const at = (n) => paint.find((e) => e.name === n)?.startTime ?? null;
      return { ...window.__msBench, fp: at("first-paint"), fcp: at("first-contentful-paint") };
    });
    if (r.ready !== null && readySeen === null) readySeen = Date.now();
    // A page whose first screen has no text field (or none once the widget is up for 3 s):
    // its "widget up" time stands for it.
    const noField = r.input === null && readySeen !== null && Date.now() - readySeen > 3000;
    const done = r.ready !== null && r.fcp !== null && (!hasField || r.kept !== null || noField);
    if (done || Date.now() > deadline) {
      return {
        first_paint_ms: r.fcp,
        input_accepted_ms: r.input,
        field: r.field,
        kept: r.kept,
        widget_ready_ms: r.ready,
      };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function threeG(p) {
  const { browser, close } = await launch();
  try {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 360, height: 640, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", THREE_G);
    await page.evaluateOnNewDocument(watcher, p.token ?? null);
    const url = config.base + p.path;
    const hasField = p.field !== false;
    const first = await visit(page, url, hasField);
    // The repeat visit: the same browser, its cache warm, the page opened anew.
    await page.goto("about:blank");
    const repeat = await visit(page, url, hasField);
    return { first, repeat };
  } finally {
    await close();
  }
}

// MINSHENG_BENCH_PAGES=submit,board measures only those pages.
const only = (process.env.MINSHENG_BENCH_PAGES || "").split(",").filter(Boolean);
const out = [];
for (const p of config.pages.filter((p) => !only.length || only.includes(p.name))) {
  const row = { name: p.name, path: p.path, signed_in: !!p.token };
  try {
    // Lighthouse now and then fails to record a trace (NO_NAVSTART): up to three tries.
    for (let attempt = 1; config.lighthouse !== false && attempt <= 3; attempt++) {
      row.lighthouse = await lighthouseRun(p);
      if (row.lighthouse.performance !== null) break;
      console.error(`${p.name}: lighthouse try ${attempt} recorded no score`);
    }
  } catch (e) {
    row.lighthouse_error = String(e && e.message ? e.message : e);
  }
  try {
    row.three_g = await threeG(p);
  } catch (e) {
    row.three_g_error = String(e && e.message ? e.message : e);
  }
  const lh = row.lighthouse;
  const g = row.three_g;
  console.error(
    `${p.name}: lighthouse ${lh ? `${lh.performance}/${lh.accessibility}/${lh.best_practices} cls ${lh.cls?.toFixed(3)}` : row.lighthouse_error}; ` +
      `3G ${g ? `paint ${g.first.first_paint_ms?.toFixed(0)} ms, input ${g.first.input_accepted_ms?.toFixed(0)} ms (repeat ${g.repeat.first_paint_ms?.toFixed(0)} / ${g.repeat.input_accepted_ms?.toFixed(0)} ms), ready ${g.first.widget_ready_ms?.toFixed(0)} / ${g.repeat.widget_ready_ms?.toFixed(0)} ms` : row.three_g_error}`,
  );
  out.push(row);
  fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
}
