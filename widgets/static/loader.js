// Minsheng widget loader. Mounts every element carrying data-minsheng-widget="<name>".
// Hosted pages (/w/<name>) load the content-hashed copy; other pages may load the stable
// /w/loader.js. Bundles are filled in by `cargo xtask widgets`.
const BUNDLES = /*BUNDLES*/{};
const BASE = new URL(/*BASE*/"./", import.meta.url);
const loaded = new Map();

async function compile(url) {
  // Streaming compilation needs application/wasm and a working engine; some web-views
  // break it, so fall back to compiling the downloaded bytes.
  if (typeof WebAssembly.compileStreaming === "function") {
    try {
      return await WebAssembly.compileStreaming(fetch(url, { credentials: "same-origin" }));
    } catch (e) {
      console.warn("minsheng: streaming compile failed, using arrayBuffer", e);
    }
  }
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error("wasm: HTTP " + resp.status);
  return WebAssembly.compile(await resp.arrayBuffer());
}

function load(name) {
  const b = BUNDLES[name];
  if (!b) return Promise.reject(new Error("unknown widget " + name));
  if (!loaded.has(b.js)) {
    loaded.set(b.js, (async () => {
      const [glue, module] = await Promise.all([
        import(new URL(b.js, BASE).href),
        compile(new URL(b.wasm, BASE)),
      ]);
      await glue.default({ module_or_path: module });
      return glue;
    })());
  }
  return loaded.get(b.js);
}

// The page's skeleton of the submit form takes typing before the wasm is there. What was
// typed goes into the widget's saved draft (which it reads when it starts), and the caret
// goes back to the same field once the widget has drawn it.
const DRAFT = "minsheng.submit.draft";
function savedDraft() {
  try {
    return JSON.parse(localStorage.getItem(DRAFT) || "{}") || {};
  } catch (_) {
    return {};
  }
}
// A draft kept from an earlier visit shows in the skeleton as soon as the loader runs (put
// before anything typed meanwhile, so nothing is lost either way).
function prefill(root) {
  const draft = savedDraft();
  for (const f of root.querySelectorAll(
    "[data-minsheng-widget=submit] > .ms-skeleton textarea[name], [data-minsheng-widget=submit] > .ms-skeleton input[name]",
  )) {
    const kept = typeof draft[f.name] === "string" ? draft[f.name] : "";
    if (kept && !f.value.startsWith(kept)) {
      f.value = f.value ? kept + "\n" + f.value : kept;
    }
  }
}
function handOver(el) {
  const skeleton = el.querySelector(":scope > .ms-skeleton");
  if (!skeleton || el.getAttribute("data-minsheng-widget") !== "submit") return null;
  const fields = Array.from(skeleton.querySelectorAll("textarea[name], input[name]"));
  const typed = fields.filter((f) => f.value.trim() !== "");
  const active = fields.find((f) => f === document.activeElement);
  if (typed.length) {
    try {
      const draft = savedDraft();
      for (const f of typed) draft[f.name] = f.value;
      localStorage.setItem(DRAFT, JSON.stringify(draft));
    } catch (e) {
      console.warn("minsheng: the typed text could not be kept", e);
    }
  }
  if (!active) return null;
  const name = active.name;
  const caret = active.selectionStart;
  return () => {
    let tries = 0;
    const refocus = () => {
      const f = el.querySelector(`[name="${name}"]`);
      if (f && !f.closest(".ms-skeleton")) {
        f.focus();
        const at = Math.min(caret ?? f.value.length, f.value.length);
        try { f.setSelectionRange(at, at); } catch (_) { /* not a text field */ }
      } else if (tries++ < 60) {
        requestAnimationFrame(refocus);
      }
    };
    refocus();
  };
}

function fail(el, e) {
  console.error("minsheng:", e);
  el.textContent = "";
  const p = document.createElement("p");
  p.className = "ms-boot ms-error";
  p.textContent = typeof WebAssembly === "object"
    ? "加载失败，请刷新重试。Failed to load; please reload."
    : "当前浏览器版本过低，请升级微信或系统。This browser is too old.";
  el.appendChild(p);
}

export async function mountAll(root = document) {
  prefill(root);
  const els = root.querySelectorAll("[data-minsheng-widget]:not([data-minsheng-mounted])");
  await Promise.all(Array.from(els, async (el) => {
    el.setAttribute("data-minsheng-mounted", "");
    const name = el.getAttribute("data-minsheng-widget");
    try {
      if (typeof WebAssembly !== "object") throw new Error("no WebAssembly");
      const glue = await load(name);
      const refocus = handOver(el);
      glue.mount(name, el);
      if (refocus) refocus();
      el.setAttribute("data-minsheng-ready", "");
    } catch (e) {
      fail(el, e);
    }
  }));
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => mountAll());
} else {
  mountAll();
}
