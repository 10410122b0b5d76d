//! The `minsheng` command line: serve, migrate, seed-demo, create-user, backup, restore.

use clap::{Parser, Subcommand};
use minsheng_model::{NewUser, Role};

use crate::app::{AppState, Application};
use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "minsheng",
    version,
    about = "Minsheng 民生: civic complaints and supervision"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrations run first).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Fill an empty database with a demo district, departments, users and cases.
    SeedDemo {
        /// How many demo cases to create.
        #[arg(long, default_value_t = 300)]
        cases: usize,
    },
    /// Create a user with a password.
    CreateUser {
        #[arg(long)]
        role: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        department: Option<i64>,
        /// The area a dispatcher, supervisor or leader answers for (with everything under it).
        #[arg(long)]
        area: Option<i64>,
        /// Grant the whole city (dispatchers, supervisors, leaders). Without it, and without
        /// `--area`, such a user sees nothing.
        #[arg(long)]
        all_areas: bool,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Create an Open311 (or, with `--scope hotline`, a 12345 hotline) API key and print it
    /// (shown once; only its hash is kept).
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// `open311` (default) or `hotline`.
        #[arg(long, default_value = "open311", value_parser = ["open311", "hotline"])]
        scope: String,
    },
    /// Revoke an Open311 API key by the name it was created with.
    RevokeApiKey {
        #[arg(long)]
        name: String,
    },
    /// Back up the database and the photos into a new folder while the server runs.
    Backup {
        /// The folder to write (must not exist, or be empty).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into an empty database (SQLite or PostgreSQL, per DATABASE_URL).
    Restore {
        /// A folder written by `minsheng backup`.
        #[arg(long)]
        from: std::path::PathBuf,
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MINSHENG_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("MINSHENG_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let cfg = Config::from_env()?;
    match cli.command {
        Command::Serve { bind } => {
            let app = Application::build(cfg, &bind).await?;
            tracing::info!(addr = %app.addr(), db = app.state.db.kind(), "Minsheng is serving; API docs at /api/docs");
            app.run_until(crate::ops::shutdown::signal()).await?;
        }
        Command::Migrate => {
            let state = AppState::new(cfg).await?;
            println!("migrations applied ({})", state.db.kind());
        }
        Command::SeedDemo { cases } => {
            let state = AppState::new(cfg).await?;
            crate::seed::seed_demo(&state, cases).await?;
        }
        Command::CreateUser {
            role,
            username,
            password,
            department,
            area,
            all_areas,
            display_name,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("unknown role {role}; one of resident handler dispatcher supervisor leader admin")
            })?;
            let state = AppState::new(cfg).await?;
            let user = NewUser {
                username,
                password,
                display_name,
                role,
                department_id: department,
                area_id: area,
                all_areas: Some(all_areas),
            };
            match state.create_user(&user).await {
                Ok(id) => println!("created user {id} ({})", role.as_str()),
                Err(e) => anyhow::bail!("{}", e.code()),
            }
        }
        Command::CreateApiKey { name, scope } => {
            let scope = minsheng_model::ApiKeyScope::parse(&scope)
                .ok_or_else(|| anyhow::anyhow!("--scope must be open311 or hotline"))?;
            let state = AppState::new(cfg).await?;
            let key = crate::channels::open311::create_scoped_api_key(&state, &name, scope).await?;
            println!("{key}");
        }
        Command::Backup { out } => {
            // No migrations: the running server owns the schema; a backup only reads.
            let db = connect(&cfg).await?;
            let started = std::time::Instant::now();
            let m = crate::ops::backup::backup(&db, &cfg.data_dir, &out).await?;
            let rows: u64 = m.tables.iter().map(|t| t.rows).sum();
            println!(
                "backed up {} tables ({rows} rows) and {} files from {} at schema {} into {} in {:.1} s",
                m.tables.len(),
                m.files.len(),
                m.source,
                m.schema_version,
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Restore { from } => {
            let db = connect(&cfg).await?;
            let started = std::time::Instant::now();
            let r = crate::ops::restore::restore(&db, &cfg.data_dir, &from).await?;
            println!(
                "restored {} tables ({} rows) and {} files into {} in {:.1} s; everyone signs in again",
                r.tables,
                r.rows,
                r.files,
                db.kind(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::RevokeApiKey { name } => {
            let state = AppState::new(cfg).await?;
            if !state
                .db
                .revoke_api_key(name.trim(), crate::now_ms(), None)
                .await?
            {
                anyhow::bail!("no live API key named {name}");
            }
            println!("revoked API key {name}");
        }
    }
    Ok(())
}

/// The configured database, without migrating it.
async fn connect(cfg: &Config) -> anyhow::Result<crate::storage::Db> {
    crate::storage::Db::connect(
        &cfg.database_url,
        2,
        std::time::Duration::from_secs_f64(cfg.db_acquire_timeout_secs.max(0.1)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_user(args: &[&str]) -> (Option<i64>, bool) {
        let base = [
            "minsheng",
            "create-user",
            "--role",
            "dispatcher",
            "--username",
            "d",
        ];
        let all: Vec<&str> = base
            .iter()
            .chain(["--password", "p"].iter())
            .chain(args)
            .copied()
            .collect();
        match Cli::try_parse_from(all).expect("parses").command {
            Command::CreateUser {
                area, all_areas, ..
            } => (area, all_areas),
            _ => unreachable!("create-user"),
        }
    }

    #[test]
    fn create_user_grants_the_city_only_when_asked() {
        assert_eq!(create_user(&[]), (None, false));
        assert_eq!(create_user(&["--all-areas"]), (None, true));
        assert_eq!(create_user(&["--area", "3"]), (Some(3), false));
    }
}
