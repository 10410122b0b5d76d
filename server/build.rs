//! With the `embed-widgets` feature, the widgets folder is compiled into the binary: rebuild
//! whenever it changes (a new build of the widgets adds files under new hashed names).

fn main() {
    if std::env::var_os("CARGO_FEATURE_EMBED_WIDGETS").is_none() {
        println!("cargo:rerun-if-changed=build.rs");
        return;
    }
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../widgets/dist");
    if !dist.join("manifest.json").is_file() {
        panic!(
            "the `embed-widgets` feature embeds {}, which holds no built widgets: run `cargo xtask widgets` first (or `cargo xtask dist`)",
            dist.display()
        );
    }
    println!("cargo:rerun-if-changed={}", dist.display());
}
