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
  const els = root.querySelectorAll("[data-minsheng-widget]:not([data-minsheng-mounted])");
  await Promise.all(Array.from(els, async (el) => {
    el.setAttribute("data-minsheng-mounted", "");
    const name = el.getAttribute("data-minsheng-widget");
    try {
      if (typeof WebAssembly !== "object") throw new Error("no WebAssembly");
      const glue = await load(name);
      glue.mount(name, el);
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
