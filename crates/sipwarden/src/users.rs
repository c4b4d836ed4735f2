//! `sipwarden user add|passwd|del|list|import`: accounts in the configured store.
//!
//! Passwords are read from a terminal prompt (not echoed) or from standard input, or
//! generated and printed once; only their HA1 hashes (one per Digest algorithm, with the
//! domain as realm) are stored.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use sipwarden_auth::{Algorithm, Ha1};
use sipwarden_store::{Ha1Hashes, StoreError, UserRecord, UserStore};

/// Longest user name accepted (the user part of an AOR).
const MAX_USER_LEN: usize = 128;
/// Shortest password accepted when typed or piped.
const MIN_PASSWORD_LEN: usize = 8;
/// Length of generated passwords (base32-like alphabet, about 100 bits).
const GENERATED_LEN: usize = 20;

/// The user subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is prompted for, read from stdin, or generated.
    Add(PasswordArgs),
    /// Change an account's password.
    Passwd(PasswordArgs),
    /// Delete an account.
    Del {
        /// `user` (default domain) or `user@domain`.
        user: String,
    },
    /// List accounts (names only: hashes are never printed).
    List {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Create or update many accounts from a file of `user;password` lines (one per line;
    /// blank lines, `#` comments and a SIPp `SEQUENTIAL`/`RANDOM` header are skipped).
    Import {
        /// The file.
        file: PathBuf,
        /// Domain of the imported accounts (default: the configured default domain).
        #[arg(long)]
        domain: Option<String>,
    },
}

/// Arguments of `add` and `passwd`.
#[derive(Debug, clap::Args)]
pub struct PasswordArgs {
    /// `user` (default domain) or `user@domain`.
    pub user: String,
    /// Read the password from standard input (first line) instead of prompting.
    #[arg(long, conflicts_with = "generate")]
    pub password_stdin: bool,
    /// Generate a random password and print it once.
    #[arg(long)]
    pub generate: bool,
}

/// The HA1 hashes of `password` for `user` in `domain` (the realm).
pub fn hashes(user: &str, domain: &str, password: &str) -> Ha1Hashes {
    let h = |alg| {
        Some(
            Ha1::from_password(alg, user, domain, password)
                .as_hex()
                .to_owned(),
        )
    };
    Ha1Hashes {
        md5: h(Algorithm::Md5),
        sha256: h(Algorithm::Sha256),
        sha512_256: h(Algorithm::Sha512_256),
    }
}

/// Splits `user[@domain]`, checking the user name.
pub fn split_account(account: &str, default_domain: &str) -> anyhow::Result<(String, String)> {
    let (user, domain) = match account.rsplit_once('@') {
        Some((u, d)) => (u, d.to_ascii_lowercase()),
        None => (account, default_domain.to_ascii_lowercase()),
    };
    check_user(user)?;
    if domain.is_empty()
        || !domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        bail!("invalid domain {domain:?}");
    }
    Ok((user.to_owned(), domain))
}

fn check_user(user: &str) -> anyhow::Result<()> {
    if user.is_empty() || user.len() > MAX_USER_LEN {
        bail!("user name must be 1 to {MAX_USER_LEN} characters");
    }
    // RFC 3261 `user` characters minus escapes: what a phone can put in a URI unescaped.
    if !user.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b';'
                    | b'?'
                    | b'/'
            )
    }) {
        bail!("user name {user:?} has characters that are not allowed in a SIP URI user part");
    }
    Ok(())
}

/// Runs one user subcommand against `store`. Output goes to `out`.
pub fn run(
    cmd: &UserCommand,
    store: &dyn UserStore,
    default_domain: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add(args) => {
            let (user, domain) = split_account(&args.user, default_domain)?;
            if store.user(&domain, &user)?.is_some() {
                bail!("user {user}@{domain} already exists (use `sipwarden user passwd`)");
            }
            let password = obtain_password(args, out)?;
            let record = UserRecord {
                ha1: hashes(&user, &domain, &password),
                domain: domain.clone(),
                username: user.clone(),
            };
            match store.add_user(&record) {
                Err(StoreError::UserExists(_)) => {
                    bail!("user {user}@{domain} already exists (use `sipwarden user passwd`)")
                }
                other => other?,
            }
            writeln!(out, "added {user}@{domain}")?;
        }
        UserCommand::Passwd(args) => {
            let (user, domain) = split_account(&args.user, default_domain)?;
            if store.user(&domain, &user)?.is_none() {
                bail!("no such user {user}@{domain}");
            }
            let password = obtain_password(args, out)?;
            store.update_user(&UserRecord {
                ha1: hashes(&user, &domain, &password),
                domain: domain.clone(),
                username: user.clone(),
            })?;
            writeln!(out, "password changed for {user}@{domain}")?;
        }
        UserCommand::Del { user } => {
            let (user, domain) = split_account(user, default_domain)?;
            if !store.delete_user(&domain, &user)? {
                bail!("no such user {user}@{domain}");
            }
            writeln!(out, "deleted {user}@{domain}")?;
        }
        UserCommand::List { domain } => {
            for u in store.list_users(domain.as_deref())? {
                writeln!(out, "{}@{}", u.username, u.domain)?;
            }
        }
        UserCommand::Import { file, domain } => {
            let domain = domain
                .as_deref()
                .unwrap_or(default_domain)
                .to_ascii_lowercase();
            let f = std::fs::File::open(file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let records = parse_import(std::io::BufReader::new(f), &domain)
                .with_context(|| format!("in {}", file.display()))?;
            let n = store.upsert_users(&records)?;
            writeln!(out, "imported {n} users into {domain}")?;
        }
    }
    Ok(())
}

/// Reads `user;password` lines. Every error names its line.
pub fn parse_import(reader: impl BufRead, domain: &str) -> anyhow::Result<Vec<UserRecord>> {
    let mut records = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("line {n}: not readable text"))?;
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || (n == 1 && matches!(trimmed, "SEQUENTIAL" | "RANDOM" | "USER"))
        {
            continue;
        }
        let Some((user, password)) = line.split_once(';') else {
            bail!("line {n}: expected `user;password`");
        };
        check_user(user).with_context(|| format!("line {n}"))?;
        if password.is_empty() {
            bail!("line {n}: empty password");
        }
        records.push(UserRecord {
            domain: domain.to_owned(),
            username: user.to_owned(),
            ha1: hashes(user, domain, password),
        });
    }
    Ok(records)
}

fn obtain_password(args: &PasswordArgs, out: &mut dyn Write) -> anyhow::Result<String> {
    if args.generate {
        let password = generate_password()?;
        writeln!(out, "generated password (shown once): {password}")?;
        return Ok(password);
    }
    let stdin = std::io::stdin();
    let password = if args.password_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("password: ").context("cannot read password")?;
        let again = rpassword::prompt_password("again: ").context("cannot read password")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    };
    if password.chars().count() < MIN_PASSWORD_LEN {
        bail!("password must be at least {MIN_PASSWORD_LEN} characters");
    }
    Ok(password)
}

fn generate_password() -> anyhow::Result<String> {
    // No look-alike characters (0/O, 1/l/I), so it can be read out and typed.
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(GENERATED_LEN);
    while password.len() < GENERATED_LEN {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("no randomness available"))?;
        for b in bytes.iter().map(|b| usize::from(*b)).filter(|b| *b < limit) {
            if password.len() < GENERATED_LEN {
                let c = ALPHABET.get(b % ALPHABET.len()).copied().unwrap_or(b'a');
                password.push(char::from(c));
            }
        }
    }
    Ok(password)
}
