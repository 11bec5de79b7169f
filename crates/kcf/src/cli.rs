//! The command line, as clap sees it. Entities and backends are parsed into typed values here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kcf keeps an ERP (Acumatica) and online stores (BigCommerce) in sync.
#[derive(Debug, Parser)]
#[command(name = "kcf", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file (layers: defaults → file → KCF_* environment → flags).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process: sandbox, server and workers on an embedded SQLite file.
    Up(UpArgs),
    /// Run the api and/or worker roles against real systems.
    Serve(ServeArgs),
    /// Run the local emulators of the Acumatica and BigCommerce APIs.
    Sandbox(SandboxArgs),
    /// List or process what a source changed in a date range (talks to a running server).
    Batch(BatchArgs),
    /// List, process, retry or skip messages (talks to a running server).
    Messages(MessagesArgs),
    /// Unbind or link records by hand (talks to a running server).
    Bindings(BindingsArgs),
    /// Create or upgrade the database schema.
    Migrate(MigrateArgs),
    /// Delete finished messages older than the retention period, in small batches.
    Prune(PruneArgs),
    /// Measure kcf's own speed.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `kcf up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the SQLite file and sandbox state live.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The api port.
    #[arg(long)]
    pub port: Option<u16>,
    /// The Acumatica sandbox port.
    #[arg(long)]
    pub acumatica_port: Option<u16>,
    /// The BigCommerce sandbox port.
    #[arg(long)]
    pub bigcommerce_port: Option<u16>,
    /// The Shopify sandbox port.
    #[arg(long)]
    pub shopify_port: Option<u16>,
    /// The stores the sandbox ERP is connected to, each by a connector of its own.
    #[arg(long, value_delimiter = ',', default_value = "bigcommerce,shopify")]
    pub stores: Vec<String>,
    /// Sandbox data size: small, medium, large or a number of products.
    #[arg(long)]
    pub seed: Option<String>,
    /// The workspace admin's password.
    #[arg(long)]
    pub admin_password: Option<String>,
    /// An API token to create at start-up.
    #[arg(long)]
    pub api_token: Option<String>,
    /// Wire the sandbox but queue no initial sync: products, categories and customers wait
    /// for a person to list and process them in Batch Processes.
    #[arg(long)]
    pub no_initial_sync: bool,
}

/// `kcf serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which roles to run.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// The database (overrides the configuration).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The credentials key was lost: seal the configuration file's connectors under the
    /// current key anyway (stored settings it cannot open must be entered again). Without
    /// it, a key that does not open the stored settings is refused.
    #[arg(long)]
    pub reseal: bool,
}

/// A process role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    /// api and worker.
    All,
    /// Ingress, REST API, workspace, metrics.
    Api,
    /// Claims and processes messages; runs batch schedules.
    Worker,
}

/// `kcf sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The Acumatica emulator's port.
    #[arg(long)]
    pub acumatica_port: Option<u16>,
    /// The BigCommerce emulator's port.
    #[arg(long)]
    pub bigcommerce_port: Option<u16>,
    /// The Shopify emulator's port.
    #[arg(long)]
    pub shopify_port: Option<u16>,
    /// Serve Shopify over HTTPS with the sandbox's test certificate (Shopify's own clients
    /// speak only HTTPS).
    #[arg(long)]
    pub shopify_tls: bool,
    /// The Shopify shop's query-cost bucket: `POINTS[,RESTORE_PER_SECOND]` (Shopify's
    /// Standard plan: 1000,50); 0 turns the limit off.
    #[arg(long, value_name = "POINTS[,RESTORE]")]
    pub shopify_bucket: Option<String>,
    /// Data size: small, medium, large or a number of products.
    #[arg(long)]
    pub seed: Option<String>,
    /// Faults to inject from the start.
    #[arg(long)]
    pub faults: Option<String>,
    /// Serve BigCommerce over HTTPS with the sandbox's self-signed test certificate (for
    /// clients that only speak HTTPS); the certificate is written to a file to trust.
    #[arg(long)]
    pub bigcommerce_tls: bool,
    /// Acumatica license throttling: `PER_MINUTE[,CONCURRENT]` (off by default), as the
    /// license's SM604000 limits would apply it.
    #[arg(long, value_name = "PER_MINUTE[,CONCURRENT]")]
    pub acumatica_throttle: Option<String>,
    /// API users the Acumatica license lets sign in at once (each kcf process signs in once).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub acumatica_sessions: usize,
    /// The BigCommerce store's request quota per 30 s window (BigCommerce: 150); 0 turns the
    /// limit off.
    #[arg(long, value_name = "N")]
    pub bigcommerce_quota: Option<u32>,
    /// Keep the emulators' data in this directory across restarts (`acumatica.json`,
    /// `bigcommerce.json`, `shopify.json`; loaded instead of the seed when present).
    #[arg(long, value_name = "DIR")]
    pub state: Option<std::path::PathBuf>,
    /// Scales the stores' webhook retry schedules (BigCommerce: 60 s, 180 s, … for 48 h;
    /// Shopify: 8 retries over 4 h): 0.01 retries a hundred times sooner, for tests.
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub webhook_time_scale: f64,
}

/// Where the running server is.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// The server's URL.
    #[arg(
        long,
        env = "KCF_URL",
        global = true,
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// An API token.
    #[arg(long, env = "KCF_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// The connector.
    #[arg(long, global = true, default_value = "sandbox")]
    pub connector: String,
}

/// `kcf batch …`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: BatchCommand,
}

/// A date range of one entity.
#[derive(Debug, Clone, Args)]
pub struct Window {
    /// product, category, customer, order or shipment.
    pub entity: String,
    /// Start (inclusive): 2026-11-01, 2026-11-01T10:00:00Z.
    #[arg(long)]
    pub from: String,
    /// End: a date is inclusive (2026-11-30 covers that whole day, as on the Batch Processes
    /// screen); a time is the exact end, exclusive; default now.
    #[arg(long)]
    pub to: Option<String>,
}

/// Batch commands.
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// List the records the source changed in the range (they wait when auto-process is off).
    List(Window),
    /// List the range, then process all of it or the given record keys, with a progress bar.
    Process {
        #[command(flatten)]
        window: Window,
        /// Process every listed record.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Process only these record keys (comma-separated).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
    },
}

/// `kcf messages …`.
#[derive(Debug, Args)]
pub struct MessagesArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: MessagesCommand,
}

/// Filters for listing messages.
#[derive(Debug, Clone, Args)]
pub struct MessageFilterArgs {
    /// Only this entity.
    #[arg(long)]
    pub entity: Option<String>,
    /// Only these statuses (comma-separated: pending,failed,aborted…).
    #[arg(long)]
    pub status: Option<String>,
    /// Record key or description contains this.
    #[arg(long)]
    pub text: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Only messages older than this id (the next page: the id the last page printed).
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
}

/// Which messages a manual action is for: the ids given, or every message matching the
/// filter (at most 10,000).
#[derive(Debug, Clone, Args)]
pub struct ActArgs {
    /// Message ids.
    pub ids: Vec<i64>,
    /// Every message of this entity (with --status).
    #[arg(long)]
    pub entity: Option<String>,
    /// Every message in these statuses (comma-separated: failed,aborted…).
    #[arg(long)]
    pub status: Option<String>,
    /// Every message whose record key or description contains this.
    #[arg(long)]
    pub text: Option<String>,
}

/// `kcf bindings …`.
#[derive(Debug, Args)]
pub struct BindingsArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: BindingsCommand,
}

/// Binding commands.
#[derive(Debug, Subcommand)]
pub enum BindingsCommand {
    /// Forget a record's link; its next sync looks its counterpart up again.
    Unbind {
        /// product, category, customer, order or shipment.
        entity: String,
        /// The ERP key (InventoryID, CustomerID, SO/000123…).
        erp_key: String,
    },
    /// Link a record to its counterpart by hand (both are looked up first).
    Link {
        /// product, category, customer, order or shipment.
        entity: String,
        /// The ERP key.
        erp_key: String,
        /// The store's id for the record.
        external_id: String,
    },
}

/// Message commands.
#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List messages, newest first.
    List(MessageFilterArgs),
    /// Process these messages now (ids, or --status/--entity/--text), even when
    /// auto-process is off.
    Process(ActArgs),
    /// Retry failed, aborted, invalid, skipped, filtered or deleted messages (ids, or
    /// --status aborted --entity order …).
    Retry(ActArgs),
    /// Skip messages (they will not be processed): ids, or a filter.
    Skip(ActArgs),
    /// One message: its record, status, error, binding, history, payload and what it was
    /// mapped to (the document sent to the other system).
    Show { id: i64 },
    /// Queue the message's record again (same payload), processed now, even when kcf thinks
    /// the other side already has it.
    Resync { id: i64 },
    /// The record already exists in the other system: mark the message processed and record
    /// the binding to that record.
    SetProcessed {
        id: i64,
        /// The other system's id for the record (store product id, order id, …).
        #[arg(long, value_name = "ID")]
        external_id: String,
    },
}

/// `kcf migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `kcf prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The database (overrides the configuration).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Keep finished messages younger than this many days (default: `retention.finished_days`).
    #[arg(long, value_name = "DAYS")]
    pub older_than_days: Option<u32>,
}

/// `kcf bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The message store: enqueue rates, claim+complete rates, enqueue→claim latency.
    Queue(BenchQueueArgs),
    /// The emulators: simple GETs and writes per second, limits off.
    Sandbox(BenchSandboxArgs),
    /// kcf end to end: notification → downstream latency, and a batch against the store's
    /// rate limit.
    Sync(BenchSyncArgs),
    /// The workspace and API list pages with a million messages stored.
    Ui(BenchUiArgs),
    /// Durable ingest of push notifications over HTTP, against a bare responder.
    Ingest(BenchIngestArgs),
    /// Shopify stock writes against the query-cost bucket: the share of it kcf uses.
    ShopifyStock(BenchShopifyArgs),
    /// A full product batch through the sandbox, kcf in processes of its own: the rate, peak
    /// memory, and the scale-out over worker processes.
    Batch(BenchBatchArgs),
}

/// `kcf bench shopify-stock`.
#[derive(Debug, Args)]
pub struct BenchShopifyArgs {
    /// Variants (simple products, one variant each) whose stock is written.
    #[arg(long, default_value_t = 10_000)]
    pub variants: usize,
    /// The bucket's size in points (Shopify's Standard plan: 1,000).
    #[arg(long, default_value_t = 1000.0)]
    pub points: f64,
    /// Points restored per second (Standard: 50).
    #[arg(long, default_value_t = 50.0)]
    pub restore: f64,
    /// Concurrent writers (the engine's workers).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// The whole availability sync: an inventory adjustment released in the Acumatica
    /// emulator, its notifications applied by kcf's workers, instead of the adapter alone.
    #[arg(long)]
    pub engine: bool,
}

/// `kcf bench ingest`.
#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Which backend.
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
    /// Which ingress: Acumatica push notifications (the secret header), or Shopify webhooks
    /// (each one's HMAC checked on the raw body).
    #[arg(long, value_enum, default_value_t = IngestKind::Push)]
    pub kind: IngestKind,
    /// Keep-alive connections, each sending its next request once the last is answered.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds per phase (baseline, then kcf).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// For PostgreSQL: a server URL whose user may create and drop databases.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
}

/// `kcf bench ui`.
#[derive(Debug, Args)]
pub struct BenchUiArgs {
    /// Which backend.
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
    /// Messages stored for the measured run (the baseline run has 1,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: usize,
    /// Requests timed per page (after 3 warm-up requests).
    #[arg(long, default_value_t = 30)]
    pub samples: usize,
    /// For PostgreSQL: a server URL whose user may create and drop databases.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
}

/// `kcf bench sync`.
#[derive(Debug, Clone, Args)]
pub struct BenchSyncArgs {
    /// Latency samples per direction.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Products in the rate-limited batch.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// The store's rate-limit window in ms (BigCommerce: 30000; the quota stays 150).
    #[arg(long, default_value_t = 30_000)]
    pub window_ms: u64,
    /// The latency probes again while other stock items change at this fraction of the
    /// capacity measured just before (0 to skip).
    #[arg(long, default_value_t = 0.1)]
    pub load: f64,
}

/// Which ingress `kcf bench ingest` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IngestKind {
    /// Acumatica push notifications.
    Push,
    /// Shopify `orders/updated` webhooks.
    ShopifyWebhook,
}

/// Which store to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchBackend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A temporary database on a PostgreSQL server.
    Postgres,
}

/// `kcf bench batch`.
#[derive(Debug, Clone, Args)]
pub struct BenchBatchArgs {
    /// Which backend.
    #[arg(long, value_enum, default_value_t = BenchBackend::Postgres)]
    pub backend: BenchBackend,
    /// Products in the sandbox, all of them in the batch.
    #[arg(long, default_value_t = 20_000)]
    pub products: usize,
    /// Worker process counts to measure one after the other, on fresh databases (0: the one
    /// `kcf serve` process that does everything).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    pub workers: Vec<usize>,
    /// Messages each worker process applies at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Milliseconds the sandbox adds to every answer.
    #[arg(long, default_value_t = 5)]
    pub latency_ms: u64,
    /// Give up on a run after this many minutes.
    #[arg(long, default_value_t = 120)]
    pub max_minutes: u64,
    /// For PostgreSQL: a server URL whose user may create and drop databases.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Keep each kcf process's warnings and errors in a file here (`{role}-{n}.log`), to see
    /// why a run went slow; without it they are dropped.
    #[arg(long)]
    pub log_dir: Option<std::path::PathBuf>,
}

/// `kcf bench queue`.
#[derive(Debug, Args)]
pub struct BenchQueueArgs {
    /// Which backend.
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
    /// Messages per phase.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// For PostgreSQL: a server URL whose user may create and drop databases.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
}

/// `kcf bench sandbox`.
#[derive(Debug, Clone, Args)]
pub struct BenchSandboxArgs {
    /// Seconds per phase.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
}
