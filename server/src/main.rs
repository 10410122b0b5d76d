#![forbid(unsafe_code)]

// glibc's per-thread arenas kept freed memory from SQLite's worker threads resident
// (peak RSS 540 MB vs 258 MB with one connection in `cargo xtask bench --quick`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    minsheng_server::cli::main().await
}
