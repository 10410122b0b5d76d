//! Building and running the application: shared state, the route table, the listener.
//! `Application::build` binds before it serves, so tests run the real thing on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use poem::{EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};
use tokio::sync::RwLock;

use crate::auth::api::AuthApi;
use crate::cases::{api::CasesApi, photos::PhotosApi};
use crate::config::Config;
use crate::error::ApiError;
use crate::feed::api::FeedApi;
use crate::map::MapApi;
use crate::reference::api::ReferenceApi;
use crate::storage::{AreaRow, CategoryRow, Db};
use crate::supervision::api::SupervisionApi;
use crate::system::{Metrics, SystemApi};

/// Groups of operations in the OpenAPI document.
#[derive(Tags)]
pub enum Tag {
    /// Login, sessions and web-view tickets.
    Auth,
    /// Complaints and their workflow.
    Cases,
    /// Areas, departments, categories and users.
    Reference,
    /// The live feed.
    Feed,
    /// The progress map's aggregates.
    Map,
    /// Statistics and exports (督办).
    Supervision,
    /// The public board (no login) and 民生实事 projects.
    Public,
    /// Households, visit rounds, visits and meeting records (入户走访).
    Visits,
    /// Daily work reports and the points ledger (每日工作报备, 积分考核).
    Reports,
    /// Health and metrics.
    System,
}

/// Everything a request handler may need, built once at start-up.
pub struct AppState {
    pub db: Db,
    pub cfg: Config,
    /// The clock every decision by date or time of day asks (see `clock`); tests set it.
    pub clock: crate::clock::Clock,
    pub http: reqwest::Client,
    pub metrics: Metrics,
    pub feed: crate::feed::Feed,
    /// Rate limits of this instance.
    pub limits: crate::system::guard::Limits,
    /// Tells public subscribers which projects changed.
    pub projects_live: crate::public::live::ProjectWatch,
    /// Submissions share transactions through this writer.
    pub submissions: crate::cases::group_commit::GroupCommit,
    /// Sessions resolved lately (see `auth::sessions`).
    pub sessions: crate::auth::sessions::SessionCache,
    /// Cases read lately (see `cases::cache`).
    pub case_cache: crate::cases::cache::CaseCache,
    /// Residents' last mini-program sign-ins as last read (see `channels::content_check`).
    pub wechat_seen: crate::channels::content_check::SeenCache,
    /// The progress map's view of the case ledger, caught up with the event log on every read.
    pub map_index: crate::map::index::MapIndex,
    areas: Reloaded<Vec<AreaRow>>,
    categories: Reloaded<Vec<CategoryRow>>,
}

/// How long reference data read once is trusted: an admin's change shows at once on the
/// instance that made it, and on the others within this time.
const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Reference data read from the database at most every [`REFERENCE_TTL`].
struct Reloaded<T>(RwLock<Option<(Arc<T>, std::time::Instant)>>);

impl<T> Reloaded<T> {
    fn new() -> Self {
        Reloaded(RwLock::new(None))
    }

    async fn get<F, Fut>(&self, load: F) -> Result<Arc<T>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = crate::storage::StoreResult<T>>,
    {
        if let Some((v, at)) = self.0.read().await.as_ref()
            && at.elapsed() < REFERENCE_TTL
        {
            return Ok(v.clone());
        }
        let fresh = Arc::new(load().await?);
        *self.0.write().await = Some((fresh.clone(), std::time::Instant::now()));
        Ok(fresh)
    }

    async fn forget(&self) {
        *self.0.write().await = None;
    }
}

impl AppState {
    pub async fn new(cfg: Config) -> anyhow::Result<AppState> {
        let acquire_timeout =
            std::time::Duration::from_secs_f64(cfg.db_acquire_timeout_secs.max(0.1));
        let db = Db::connect(&cfg.database_url, cfg.db_max_connections, acquire_timeout).await?;
        db.migrate().await?;
        crate::calendar::load_bundled(&db, crate::now_ms()).await?;
        std::fs::create_dir_all(cfg.data_dir.join("uploads"))
            .context("creating the uploads folder")?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        let feed = crate::feed::Feed::new(cfg.redis_url.as_deref())?;
        let limits = crate::system::guard::Limits::new(&cfg.guard);
        let metrics = Metrics::new()?;
        let submissions = crate::cases::group_commit::GroupCommit::start(
            db.clone(),
            metrics.submit_batch.clone(),
        );
        let sessions = crate::auth::sessions::SessionCache::new(cfg.session_cache_ms);
        Ok(AppState {
            db,
            clock: cfg.clock.clone(),
            cfg,
            http,
            metrics,
            submissions,
            sessions,
            case_cache: Default::default(),
            wechat_seen: Default::default(),
            feed,
            projects_live: Default::default(),
            limits,
            map_index: Default::default(),
            areas: Reloaded::new(),
            categories: Reloaded::new(),
        })
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.cfg.data_dir.join("uploads")
    }

    /// The area tree (see [`REFERENCE_TTL`]).
    pub async fn areas(&self) -> Result<Arc<Vec<AreaRow>>, ApiError> {
        self.areas.get(|| self.db.areas()).await
    }

    pub async fn forget_areas(&self) {
        self.areas.forget().await;
    }

    /// A category by id (see [`REFERENCE_TTL`]).
    pub async fn category(&self, id: i64) -> Result<Option<CategoryRow>, ApiError> {
        let all = self.categories.get(|| self.db.categories()).await?;
        Ok(all.iter().find(|c| c.id == id).cloned())
    }

    pub async fn forget_categories(&self) {
        self.categories.forget().await;
    }

    /// The area a submission without one belongs to, from its coordinates.
    pub async fn locate(
        &self,
        lat: Option<f64>,
        lng: Option<f64>,
    ) -> Result<Option<i64>, ApiError> {
        Ok(crate::reference::locate::locate(
            &self.areas().await?,
            lat,
            lng,
        ))
    }
}

/// Every API of the server, combined into one OpenAPI document.
type Apis = (
    AuthApi,
    (CasesApi, crate::cases::intake::IntakeApi),
    PhotosApi,
    ReferenceApi,
    FeedApi,
    MapApi,
    SupervisionApi,
    crate::channels::api::ChannelsApi,
    crate::channels::hotline::HotlineApi,
    crate::visits::api::VisitsApi,
    crate::public::api::PublicApi,
    crate::public::projects::ProjectsApi,
    crate::reports::api::ReportsApi,
    crate::calendar::api::CalendarApi,
    SystemApi,
);

/// The OpenAPI service with every API of the server.
pub fn api_service(state: &Arc<AppState>) -> OpenApiService<Apis, ()> {
    let cases = Arc::new(CasesApi {
        state: state.clone(),
    });
    OpenApiService::new(
        (
            AuthApi {
                state: state.clone(),
            },
            (
                CasesApi {
                    state: state.clone(),
                },
                crate::cases::intake::IntakeApi {
                    state: state.clone(),
                },
            ),
            PhotosApi {
                state: state.clone(),
                cases,
            },
            ReferenceApi {
                state: state.clone(),
            },
            FeedApi {
                state: state.clone(),
            },
            MapApi {
                state: state.clone(),
            },
            SupervisionApi {
                state: state.clone(),
            },
            crate::channels::api::ChannelsApi {
                state: state.clone(),
            },
            crate::channels::hotline::HotlineApi {
                state: state.clone(),
            },
            crate::visits::api::VisitsApi {
                state: state.clone(),
            },
            crate::public::api::PublicApi {
                state: state.clone(),
            },
            crate::public::projects::ProjectsApi {
                state: state.clone(),
            },
            crate::reports::api::ReportsApi {
                state: state.clone(),
            },
            crate::calendar::api::CalendarApi {
                state: state.clone(),
            },
            SystemApi {
                state: state.clone(),
            },
        ),
        "Minsheng 民生",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Civic complaints and supervision: the case ledger, from a resident's complaint to 销号.",
    )
}

/// The whole HTTP application.
pub fn routes(state: Arc<AppState>) -> impl poem::Endpoint {
    let api = api_service(&state);
    let written = api.spec();
    let allow = Arc::new(crate::system::allow::AllowTable::new(
        &written,
        &[("/wechat/callback", "GET, POST")],
    ));
    let hsts = crate::system::guard::serves_https(state.cfg.public_url.as_deref());
    // The document as poem-openapi writes it, with each event stream's frames described.
    let spec = crate::contract::with_event_frames(&written);
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec.clone())
    });
    let docs = api.swagger_ui();
    let app = Route::new()
        .nest("/", api.around(crate::system::limit_body))
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/w", crate::web::widget_routes(&state.cfg))
        .at("/favicon.ico", crate::web::favicon())
        .nest(
            "/open311/v2",
            crate::channels::open311::routes(state.clone()),
        )
        .at(
            "/wechat/callback",
            crate::channels::wechat_mp::endpoint(state.clone()),
        );
    // WeChat's business-domain verification file, at the root under its own name.
    let app = match &state.cfg.wechat_domain_file {
        Some(path) => crate::web::with_domain_file(app, path),
        None => app,
    };
    let app = app
        .around(move |ep, req| crate::system::guard::security_headers(ep, req, hsts))
        .around(move |ep, req| crate::system::allow::allow_header(ep, req, allow.clone()));
    let app = match crate::system::guard::cors(&state.cfg.guard) {
        Some(cors) => app.with(cors).boxed(),
        None => app.boxed(),
    };
    app.around({
        let state = state.clone();
        move |ep, req| crate::system::observe(ep, req, state.clone())
    })
}

/// A bound, ready-to-serve server.
pub struct Application {
    pub state: Arc<AppState>,
    addr: SocketAddr,
    listener: tokio::net::TcpListener,
}

impl Application {
    /// Connects storage, runs migrations and binds `bind` (use port 0 in tests).
    pub async fn build(cfg: Config, bind: &str) -> anyhow::Result<Application> {
        let state = Arc::new(AppState::new(cfg).await?);
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr().context("listener has no address")?;
        Ok(Application {
            state,
            addr,
            listener,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends, with the scheduler running beside it.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `stop` completes, then stops within `MINSHENG_SHUTDOWN_SECS`: the
    /// listener closes (new connections are refused, so clients go to another instance),
    /// event streams say `retry:` and end, the requests in flight finish (a submission
    /// waits for its group commit), and the database is closed.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let scheduler = tokio::spawn(crate::scheduler::run(self.state.clone()));
        let feed = tokio::spawn(crate::feed::run(self.state.clone()));
        let checks = tokio::spawn(crate::channels::content_check::run(self.state.clone()));
        let projects = tokio::spawn(crate::public::live::run(self.state.clone()));
        // Build the map's index now rather than on the first map request.
        let state = self.state.clone();
        let map_index = tokio::spawn(async move {
            if let Err(e) = state.map_index.catch_up(&state.db).await {
                tracing::warn!(error = %e, "building the map index");
            }
        });
        let header_timeout = std::time::Duration::from_secs_f64(
            self.state.cfg.guard.header_read_timeout_secs.max(0.1),
        );
        let limit = std::time::Duration::from_secs_f64(
            self.state.cfg.ops.shutdown_secs.clamp(0.0, 86_400.0),
        );
        let stopping = {
            let state = self.state.clone();
            async move {
                stop.await;
                state.feed.stop();
            }
        };
        let state = self.state.clone();
        // Most of the time for the requests; the rest for closing the database.
        let result = crate::system::serve::serve_until(
            self.listener,
            routes(self.state),
            header_timeout,
            stopping,
            limit.mul_f64(0.8),
        )
        .await;
        scheduler.abort();
        feed.abort();
        checks.abort();
        projects.abort();
        map_index.abort();
        let _ = tokio::time::timeout(limit.mul_f64(0.15), state.db.close()).await;
        tracing::info!("stopped");
        result
    }
}
