//! Configuration from the environment (`DATABASE_URL`, `REDIS_URL`, `MINSHENG_*`),
//! optionally preloaded from a `KEY=VALUE` file named by `MINSHENG_CONFIG`.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;

/// A value that must never reach a log line.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// WeChat mini-program credentials; absent when not configured.
#[derive(Clone, Debug)]
pub struct WechatConfig {
    pub api_base: String,
    pub appid: Option<String>,
    pub secret: Option<Secret>,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The application's clock: the wall clock, unless a test moves it.
    pub clock: crate::clock::Clock,
    /// `sqlite://...` (default, a file under the data folder) or `postgres://...`.
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Photos and the default SQLite file live here.
    pub data_dir: PathBuf,
    /// Built widgets (`cargo xtask widgets`) are served from here.
    pub widgets_dir: PathBuf,
    /// Serve the widgets built into the binary instead (feature `embed-widgets`, which
    /// `cargo xtask dist` builds): true when the binary has them and `MINSHENG_WIDGETS_DIR`
    /// is not set.
    pub widgets_embedded: bool,
    pub wechat: WechatConfig,
    /// Lifetime of a staff session (hours; fractions allowed).
    pub staff_session_hours: f64,
    /// Lifetime of a resident session (hours; fractions allowed).
    pub resident_session_hours: f64,
    /// Lifetime of a single-use web-view ticket.
    pub ticket_seconds: i64,
    /// A resolved case nobody rated is closed (销号) after this many days.
    pub auto_close_days: f64,
    /// How often the scheduler looks for due work.
    pub scheduler_interval_secs: f64,
    pub db_max_connections: u32,
    /// How long a request waits for a PostgreSQL connection (the whole outage, when the
    /// server is down) before it is answered 503 `database_unavailable`.
    pub db_acquire_timeout_secs: f64,
    /// How often the feed reads the event log even when nothing woke it (the safety net
    /// for a lost Redis message or several instances without Redis).
    pub feed_poll_secs: f64,
    /// The least time between two reads of the log by the feed: events committed within it
    /// reach subscribers together (fewer, larger writes with many subscribers).
    pub feed_batch_ms: u64,
    /// How long a resolved session is trusted without asking the database (0: always ask).
    pub session_cache_ms: i64,
    /// Event streams one user may hold open on one instance (0: no limit).
    pub streams_per_user: usize,
    /// Backups on a schedule, stop and restarts (`MINSHENG_BACKUP_*`, `MINSHENG_SHUTDOWN_SECS`).
    pub ops: OpsConfig,
    /// The official account's server-configuration token (`/wechat/callback` signatures).
    pub wechat_token: Option<Secret>,
    /// The official account's 43-character EncodingAESKey (safe mode).
    pub wechat_aes_key: Option<Secret>,
    /// The official account's appid, checked in and written to encrypted messages.
    pub wechat_mp_appid: Option<String>,
    /// Category code given to drafts from the official account (default: the first active one).
    pub wechat_mp_category: Option<String>,
    /// WeChat's business-domain verification file (`MINSHENG_WECHAT_DOMAIN_FILE`), served at
    /// `/<its file name>` with its content so a mini-program's web-view may open our pages.
    pub wechat_domain_file: Option<PathBuf>,
    /// The address residents reach us at (links in WeChat replies), e.g. `https://ms.example.cn`.
    pub public_url: Option<String>,
    /// The bearer token `/metrics` asks for; without one it answers only direct loopback peers.
    pub metrics_token: Option<Secret>,
    /// The key of signed tracking links (`MINSHENG_LINK_SECRET`); without it, one derived
    /// from the official account's token.
    pub link_secret: Option<Secret>,
    /// When set, Open311 requests naming another `jurisdiction_id` are refused.
    pub open311_jurisdiction: Option<String>,
    /// The reminder (提醒) fires once this share of a case's resolution window has passed.
    pub reminder_share: f64,
    /// The circular (通报) fires this share of a window after the deadline.
    pub circular_share: f64,
    /// Subscribe-message template for residents (keys character_string1, phrase2, thing3, time4).
    pub template_resident: Option<String>,
    /// Subscribe-message template for handlers (same keys).
    pub template_handler: Option<String>,
    /// Daily work reports are due by this time of day, Beijing time (minutes after midnight).
    pub report_deadline_minutes: u32,
    /// 吹哨报到: the default report-in deadline after a whistle, in minutes, for urgent
    /// categories (`MINSHENG_REPORT_IN_URGENT_MINUTES`, default 30) and for the others
    /// (`MINSHENG_REPORT_IN_MINUTES`, default 120).
    pub report_in_urgent_minutes: i64,
    pub report_in_minutes: i64,
    /// Rate limits, login lockout and cross-origin access.
    pub guard: GuardConfig,
    /// The 12345 hotline's callback.
    pub hotline: HotlineConfig,
}

/// The 12345 hotline platform's callback (`MINSHENG_HOTLINE_*`).
#[derive(Clone, Debug)]
pub struct HotlineConfig {
    /// Where results are POSTed; unset: no callbacks are planned (they are planned from the
    /// event log once it is set, history included).
    pub callback_url: Option<String>,
    /// The shared secret of the `X-Minsheng-Signature` HMAC-SHA256; required with the URL.
    pub callback_secret: Option<Secret>,
    /// The first retry's wait; each later one doubles it, up to 64 times it.
    pub retry_secs: f64,
    /// Attempts before a result is marked `failed`.
    pub max_attempts: i64,
}

impl Default for HotlineConfig {
    fn default() -> Self {
        HotlineConfig {
            callback_url: None,
            callback_secret: None,
            retry_secs: 30.0,
            max_attempts: 12,
        }
    }
}

/// Scheduled backups and the graceful stop.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// Where scheduled backups go (`MINSHENG_BACKUP_DIR`); none: no scheduled backups.
    pub backup_dir: Option<PathBuf>,
    /// How many scheduled backups to keep, newest first (`MINSHENG_BACKUP_KEEP`, default 7).
    pub backup_keep: usize,
    /// Hours between scheduled backups (`MINSHENG_BACKUP_INTERVAL_HOURS`, default 24).
    pub backup_interval_hours: f64,
    /// The most a stop (SIGTERM, SIGINT) waits for requests in flight (`MINSHENG_SHUTDOWN_SECS`).
    pub shutdown_secs: f64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            backup_dir: None,
            backup_keep: 7,
            backup_interval_hours: 24.0,
            shutdown_secs: 10.0,
        }
    }
}

/// Limits against abuse. A rate of 0 turns that limit off.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Failed logins for one username within `login_lock_secs` before it is locked.
    pub login_max_failures: i64,
    pub login_lock_secs: i64,
    /// Login attempts per minute from one address.
    pub login_ip_per_min: u32,
    /// Complaints per minute from one account.
    pub submit_user_per_min: u32,
    /// Complaints per minute from one address.
    pub submit_ip_per_min: u32,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// The proxies whose `X-Forwarded-For` hop is believed (`MINSHENG_TRUSTED_PROXIES`,
    /// addresses or CIDRs): the client is the right-most hop not added by one of them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a connection may take to send a request head, idle keep-alive included:
    /// past it the connection is closed (a client trickling a head byte by byte, or never
    /// sending one, cannot hold connections open).
    pub header_read_timeout_secs: f64,
}

/// Where settings come from: the environment first, then the optional config file.
struct Source {
    file: std::collections::HashMap<String, String>,
}

impl Source {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.file.get(name).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.var(name) {
            Some(v) => v
                .trim()
                .parse()
                .with_context(|| format!("{name} is not valid")),
            None => Ok(default),
        }
    }
}

/// A positive number of minutes, at most 30 days.
fn minutes(src: &Source, name: &str, default: i64) -> anyhow::Result<i64> {
    let m: i64 = src.parsed(name, default)?;
    anyhow::ensure!(
        (1..=43_200).contains(&m),
        "{name} is not valid: expected whole minutes from 1 to 43200"
    );
    Ok(m)
}

impl Config {
    /// The default report-in deadline after a whistle for a category of this tier (ms).
    pub fn report_in_ms(&self, tier: minsheng_model::Tier) -> i64 {
        let m = match tier {
            minsheng_model::Tier::Urgent => self.report_in_urgent_minutes,
            _ => self.report_in_minutes,
        };
        m * 60_000
    }

    /// Reads the environment (after `MINSHENG_CONFIG`'s file, whose values the environment overrides).
    pub fn from_env() -> anyhow::Result<Config> {
        let mut file = std::collections::HashMap::new();
        if let Ok(path) = std::env::var("MINSHENG_CONFIG") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading config file {path}"))?;
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let (k, v) = line
                    .split_once('=')
                    .with_context(|| format!("bad line in {path}: expected KEY=VALUE"))?;
                file.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let src = Source { file };
        let var = |n: &str| src.var(n);
        if var("MINSHENG_TRUST_PROXY").is_some() {
            tracing::warn!(
                "MINSHENG_TRUST_PROXY is ignored: name the proxies in MINSHENG_TRUSTED_PROXIES (addresses or CIDRs) instead"
            );
        }
        if let Some(key) = var("MINSHENG_WECHAT_AES_KEY") {
            let appid = var("MINSHENG_WECHAT_MP_APPID").context(
                "MINSHENG_WECHAT_MP_APPID is required when MINSHENG_WECHAT_AES_KEY is set (safe mode checks it)",
            )?;
            crate::channels::wechat_mp::MpCrypto::new(&key, &appid)
                .map_err(|e| anyhow::anyhow!("MINSHENG_WECHAT_AES_KEY is not valid: {e}"))?;
        }
        let data_dir = PathBuf::from(var("MINSHENG_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/minsheng.db", data_dir.display()));
        let backup_hours: f64 = src.parsed("MINSHENG_BACKUP_INTERVAL_HOURS", 24.0)?;
        anyhow::ensure!(
            backup_hours > 0.0 && backup_hours.is_finite(),
            "MINSHENG_BACKUP_INTERVAL_HOURS is not valid: expected a positive number of hours"
        );
        Ok(Config {
            clock: Default::default(),
            database_url,
            redis_url: var("REDIS_URL"),
            widgets_dir: PathBuf::from(
                var("MINSHENG_WIDGETS_DIR").unwrap_or_else(|| "./widgets/dist".into()),
            ),
            widgets_embedded: cfg!(feature = "embed-widgets")
                && var("MINSHENG_WIDGETS_DIR").is_none(),
            data_dir,
            wechat: WechatConfig {
                api_base: var("MINSHENG_WECHAT_API_BASE")
                    .unwrap_or_else(|| "https://api.weixin.qq.com".into()),
                appid: var("MINSHENG_WECHAT_APPID"),
                secret: var("MINSHENG_WECHAT_SECRET").map(Secret::new),
            },
            staff_session_hours: src.parsed("MINSHENG_STAFF_SESSION_HOURS", 12.0)?,
            resident_session_hours: src.parsed("MINSHENG_RESIDENT_SESSION_HOURS", 24.0 * 30.0)?,
            ticket_seconds: src.parsed("MINSHENG_TICKET_SECONDS", 120)?,
            auto_close_days: src.parsed("MINSHENG_AUTO_CLOSE_DAYS", 7.0)?,
            scheduler_interval_secs: src.parsed("MINSHENG_SCHEDULER_INTERVAL_SECS", 10.0)?,
            db_max_connections: src.parsed("MINSHENG_DB_MAX_CONNECTIONS", 8)?,
            db_acquire_timeout_secs: src.parsed("MINSHENG_DB_ACQUIRE_TIMEOUT_SECS", 5.0)?,
            feed_poll_secs: src.parsed("MINSHENG_FEED_POLL_SECS", 2.0)?,
            feed_batch_ms: src.parsed("MINSHENG_FEED_BATCH_MS", 20)?,
            session_cache_ms: src.parsed("MINSHENG_SESSION_CACHE_MS", 2000)?,
            streams_per_user: src.parsed("MINSHENG_STREAMS_PER_USER", 5)?,
            ops: OpsConfig {
                backup_dir: var("MINSHENG_BACKUP_DIR").map(PathBuf::from),
                backup_keep: src.parsed("MINSHENG_BACKUP_KEEP", 7usize)?.max(1),
                backup_interval_hours: backup_hours,
                shutdown_secs: src.parsed("MINSHENG_SHUTDOWN_SECS", 10.0f64)?,
            },
            wechat_token: var("MINSHENG_WECHAT_TOKEN").map(Secret::new),
            wechat_aes_key: var("MINSHENG_WECHAT_AES_KEY").map(Secret::new),
            wechat_mp_appid: var("MINSHENG_WECHAT_MP_APPID"),
            wechat_mp_category: var("MINSHENG_WECHAT_MP_CATEGORY"),
            wechat_domain_file: match var("MINSHENG_WECHAT_DOMAIN_FILE") {
                Some(v) => Some(domain_file(&v)?),
                None => None,
            },
            public_url: var("MINSHENG_PUBLIC_URL"),
            metrics_token: var("MINSHENG_METRICS_TOKEN").map(Secret::new),
            link_secret: var("MINSHENG_LINK_SECRET").map(Secret::new),
            open311_jurisdiction: var("MINSHENG_OPEN311_JURISDICTION"),
            reminder_share: src.parsed("MINSHENG_REMINDER_SHARE", 0.75)?,
            circular_share: src.parsed("MINSHENG_CIRCULAR_SHARE", 0.5)?,
            template_resident: var("MINSHENG_WECHAT_TEMPLATE_RESIDENT"),
            template_handler: var("MINSHENG_WECHAT_TEMPLATE_HANDLER"),
            report_deadline_minutes: match var("MINSHENG_REPORT_DEADLINE") {
                Some(v) => parse_hh_mm(&v)
                    .context("MINSHENG_REPORT_DEADLINE is not valid: expected HH:MM")?,
                None => DEFAULT_REPORT_DEADLINE,
            },
            report_in_urgent_minutes: minutes(&src, "MINSHENG_REPORT_IN_URGENT_MINUTES", 30)?,
            report_in_minutes: minutes(&src, "MINSHENG_REPORT_IN_MINUTES", 120)?,
            guard: GuardConfig {
                login_max_failures: src.parsed("MINSHENG_LOGIN_MAX_FAILURES", 5)?,
                login_lock_secs: src.parsed("MINSHENG_LOGIN_LOCK_SECS", 900)?,
                login_ip_per_min: src.parsed("MINSHENG_LOGIN_IP_PER_MIN", 30)?,
                submit_user_per_min: src.parsed("MINSHENG_SUBMIT_USER_PER_MIN", 30)?,
                submit_ip_per_min: src.parsed("MINSHENG_SUBMIT_IP_PER_MIN", 300)?,
                cors_origins: var("MINSHENG_CORS_ORIGINS")
                    .map(|v| {
                        v.split(',')
                            .map(|o| o.trim().trim_end_matches('/').to_string())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                trusted_proxies: match var("MINSHENG_TRUSTED_PROXIES") {
                    Some(v) => parse_proxies(&v).context(
                        "MINSHENG_TRUSTED_PROXIES is not valid: expected addresses or CIDRs, comma-separated",
                    )?,
                    None => Vec::new(),
                },
                header_read_timeout_secs: src.parsed("MINSHENG_HEADER_READ_TIMEOUT_SECS", 30.0)?,
            },
            hotline: {
                let url = var("MINSHENG_HOTLINE_CALLBACK_URL");
                let secret = var("MINSHENG_HOTLINE_CALLBACK_SECRET").map(Secret::new);
                anyhow::ensure!(
                    url.is_none() || secret.is_some(),
                    "MINSHENG_HOTLINE_CALLBACK_SECRET is required when MINSHENG_HOTLINE_CALLBACK_URL is set (every callback is signed)"
                );
                let retry_secs: f64 = src.parsed("MINSHENG_HOTLINE_RETRY_SECS", 30.0)?;
                anyhow::ensure!(
                    retry_secs > 0.0 && retry_secs.is_finite(),
                    "MINSHENG_HOTLINE_RETRY_SECS is not valid: expected a positive number of seconds"
                );
                HotlineConfig {
                    callback_url: url,
                    callback_secret: secret,
                    retry_secs,
                    max_attempts: src.parsed("MINSHENG_HOTLINE_MAX_ATTEMPTS", 12i64)?.max(1),
                }
            },
        })
    }

    /// A configuration for tests and tools: everything default, with the given database and folder.
    pub fn for_database(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Config {
        Config {
            clock: Default::default(),
            database_url: database_url.into(),
            redis_url: None,
            data_dir: data_dir.into(),
            widgets_dir: PathBuf::from("./widgets/dist"),
            widgets_embedded: false,
            wechat: WechatConfig {
                api_base: "https://api.weixin.qq.com".into(),
                appid: None,
                secret: None,
            },
            staff_session_hours: 12.0,
            resident_session_hours: 24.0 * 30.0,
            ticket_seconds: 120,
            auto_close_days: 7.0,
            scheduler_interval_secs: 60.0,
            db_max_connections: 8,
            db_acquire_timeout_secs: 5.0,
            feed_poll_secs: 2.0,
            feed_batch_ms: 20,
            session_cache_ms: 2000,
            streams_per_user: 5,
            ops: OpsConfig::default(),
            wechat_token: None,
            wechat_aes_key: None,
            wechat_mp_appid: None,
            wechat_mp_category: None,
            wechat_domain_file: None,
            public_url: None,
            metrics_token: None,
            link_secret: None,
            open311_jurisdiction: None,
            reminder_share: 0.75,
            circular_share: 0.5,
            template_resident: None,
            template_handler: None,
            report_deadline_minutes: DEFAULT_REPORT_DEADLINE,
            report_in_urgent_minutes: 30,
            report_in_minutes: 120,
            // Tests turn the rate limits on where they test them.
            guard: GuardConfig {
                login_max_failures: 5,
                login_lock_secs: 900,
                login_ip_per_min: 0,
                submit_user_per_min: 0,
                submit_ip_per_min: 0,
                cors_origins: Vec::new(),
                trusted_proxies: Vec::new(),
                header_read_timeout_secs: 30.0,
            },
            hotline: HotlineConfig::default(),
        }
    }
}

/// `MINSHENG_WECHAT_DOMAIN_FILE`: a readable file whose name is a plain one (WeChat's are like
/// `MP_verify_abc123.txt`), checked at start-up so a typo fails there, not at WeChat's check.
fn domain_file(v: &str) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(v.trim());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    anyhow::ensure!(
        crate::web::domain_file_name_ok(name),
        "MINSHENG_WECHAT_DOMAIN_FILE is not valid: its file name must be letters, digits, `-`, `_` and `.`, with an extension (such as MP_verify_abc123.txt)"
    );
    std::fs::metadata(&path)
        .ok()
        .filter(|m| m.is_file())
        .with_context(|| {
            format!(
                "MINSHENG_WECHAT_DOMAIN_FILE: {} is not a readable file",
                path.display()
            )
        })?;
    Ok(path)
}

/// `MINSHENG_TRUSTED_PROXIES`: addresses (a /32 or /128) and CIDRs, comma-separated.
fn parse_proxies(v: &str) -> Option<Vec<ipnet::IpNet>> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| p.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
        })
        .collect()
}

/// 17:00, when daily work reports are due unless configured otherwise.
const DEFAULT_REPORT_DEADLINE: u32 = 17 * 60;

/// `HH:MM` (24-hour) to minutes after midnight.
fn parse_hh_mm(v: &str) -> Option<u32> {
    let (h, m) = v.trim().split_once(':')?;
    let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::{Source, domain_file, minutes, parse_hh_mm, parse_proxies};

    #[test]
    fn report_in_minutes_are_whole_and_positive_with_their_default() {
        let src = |v: &str| Source {
            file: [("MINSHENG_TEST_RI".to_string(), v.to_string())].into(),
        };
        assert_eq!(minutes(&src("45"), "MINSHENG_TEST_RI", 120).unwrap(), 45);
        assert_eq!(minutes(&src(""), "MINSHENG_TEST_RI", 120).unwrap(), 120);
        assert!(minutes(&src("0"), "MINSHENG_TEST_RI", 120).is_err());
        assert!(minutes(&src("1.5"), "MINSHENG_TEST_RI", 120).is_err());
        assert!(minutes(&src("43201"), "MINSHENG_TEST_RI", 120).is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidrs() {
        let p = parse_proxies("10.0.0.0/8, 192.168.1.7,::1 ,fd00::/8").unwrap();
        assert_eq!(p.len(), 4);
        assert!(p[0].contains(&"10.2.3.4".parse::<std::net::IpAddr>().unwrap()));
        assert!(p[1].contains(&"192.168.1.7".parse::<std::net::IpAddr>().unwrap()));
        assert!(!p[1].contains(&"192.168.1.8".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_proxies("10.0.0.0/33").is_none());
        assert!(parse_proxies("proxy.local").is_none());
    }

    #[test]
    fn a_deadline_is_hours_and_minutes() {
        assert_eq!(parse_hh_mm("17:00"), Some(1020));
        assert_eq!(parse_hh_mm("08:30"), Some(510));
        assert_eq!(parse_hh_mm("24:00"), None);
        assert_eq!(parse_hh_mm("5pm"), None);
        assert_eq!(parse_hh_mm("7:00"), None);
    }

    #[test]
    fn the_domain_file_must_exist_and_have_a_plain_name() {
        let dir = std::env::temp_dir().join(format!("minsheng-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("MP_verify_abc123.txt");
        std::fs::write(&good, "abc123").unwrap();
        assert_eq!(domain_file(good.to_str().unwrap()).unwrap(), good);
        assert!(domain_file(dir.join("MP_verify_missing.txt").to_str().unwrap()).is_err());
        assert!(domain_file(dir.to_str().unwrap()).is_err(), "a folder");
        for bad in ["noextension", ".hidden.txt", "with space.txt", "w"] {
            let p = dir.join(bad);
            std::fs::write(&p, "x").unwrap();
            assert!(domain_file(p.to_str().unwrap()).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
