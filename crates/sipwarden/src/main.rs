//! The `sipwarden` binary: command line, configuration and wiring of the crates.
//!
//! Owns: argument parsing, reading files, printing, exit codes, signals. Refuses:
//! protocol logic — every decision about a SIP message is made by a library crate.

mod admin_backend;
mod call_client;
mod config;
mod events_wiring;
mod guard_config;
mod guard_tu;
mod metrics_tu;
mod ops;
mod options;
mod parse;
mod proxy_calls;
mod proxy_setup;
mod proxy_tu;
mod register_client;
mod serve;
mod sip_tu;
mod state;
mod tls_events;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc keeps per-thread free lists: the receive threads, the runtime workers and the
/// store writer allocate and free without contending, where the system allocator grew
/// and trimmed its per-thread arenas on every burst (measured: ~8 % of a REGISTER).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use sipwarden_transport::{ListenSpec, Transport};

/// Security-first SIP registrar, proxy and tools.
#[derive(Debug, Parser)]
#[command(name = "sipwarden", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Parse a SIP message file and print its index, or the error and the status it
    /// maps to (exit 1 on error).
    Parse(ParseArgs),
    /// Send an OPTIONS request and print the response (exit 0 on 2xx).
    Options(OptionsArgs),
    /// Register a contact with a registrar, answering its Digest challenge, and print
    /// the response (exit 0 on 2xx, 1 on another final response, 2 on failure).
    Register(register_client::RegisterArgs),
    /// Place a call through a server (answering its Digest challenge), hold it and hang
    /// up; prints each final response (exit 0 when answered and ended cleanly).
    Call(call_client::CallArgs),
    /// Manage user accounts in the store (add, passwd, del, list, import).
    User(UserArgs),
    /// Show the running server's active and recent calls with their security assessment.
    Calls(proxy_calls::CallsArgs),
    /// Work with configuration files.
    Config(ConfigArgs),
}

/// `sipwarden config`
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check a configuration file: exit 0 and print `ok` when the server would accept
    /// it, exit 1 with the first problem (naming its key) otherwise.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `sipwarden user`
#[derive(Debug, clap::Args)]
struct UserArgs {
    /// TOML configuration file (for the data directory and the default domain).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Directory holding the store.
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: users::UserCommand,
}

/// `sipwarden serve`
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen address, e.g. `udp:127.0.0.1:5060`, `tls:[::1]:5061`, `ws:127.0.0.1:8080`
    /// (repeatable; replaces the configured list). Port 0 picks a free port.
    #[arg(long = "listen", value_name = "SPEC")]
    listen: Vec<ListenSpec>,
    /// TLS certificate chain (PEM). Without one, a development certificate is made.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Directory for state (the development PKI, later registrations).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// `sipwarden parse`
#[derive(Debug, clap::Args)]
struct ParseArgs {
    /// The message file (raw bytes, CRLF line ends).
    file: PathBuf,
    /// Turn bare LF line ends into CRLF first (for hand-written files).
    #[arg(long)]
    crlf: bool,
    /// Parse as a stream frame (Content-Length mandatory) instead of a datagram.
    #[arg(long)]
    stream: bool,
}

/// `sipwarden options`
#[derive(Debug, clap::Args)]
struct OptionsArgs {
    /// The Request-URI, e.g. `sip:127.0.0.1:5060` or `sips:example.com`.
    uri: String,
    /// Transport; default from the URI (`sips:` → tls, `;transport=`), else udp.
    #[arg(long, value_name = "udp|tcp|tls|ws|wss")]
    transport: Option<Transport>,
    /// CA certificate(s) to trust for TLS (PEM); default: the system's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Send to this address instead of the URI's host and port.
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// Seconds to wait for a final response.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Parse(args) => parse::run(&args),
        Command::Options(args) => options::run(&args),
        Command::Register(args) => register_client::run(&args),
        Command::Call(args) => call_client::run(&args),
        Command::User(args) => run_user(&args),
        Command::Calls(args) => proxy_calls::run(&args),
        Command::Config(args) => run_config(&args),
    }
}

fn run_config(args: &ConfigArgs) -> ExitCode {
    match &args.command {
        ConfigCommand::Check { file } => match config::Config::load(file) {
            Ok(_) => {
                println!("ok {}", file.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("sipwarden: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run_user(args: &UserArgs) -> ExitCode {
    let result = (|| -> anyhow::Result<()> {
        let config = match &args.config {
            Some(path) => config::Config::load(path)?,
            None => config::Config::default(),
        };
        let dir = state::data_dir(args.data_dir.as_deref(), &config);
        let store = state::open_store(&dir)?;
        let default_domain = config
            .domain
            .default
            .clone()
            .unwrap_or_else(|| "localhost".to_owned());
        let mut out = std::io::stdout().lock();
        users::run(&args.command, &store, &default_domain, &mut out)
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sipwarden: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SIPWARDEN_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr; stdout carries the stable lines tools and tests read.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
