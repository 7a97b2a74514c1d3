//! The command line: global flags and one variant per command.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::error::Error;
use crate::settings::{Environment, Settings, Waits};

#[derive(Parser)]
#[command(
    name = "atk",
    version,
    about = "A git-native plugin manager for AI coding tools: MCP servers, services and skills, pinned by commit.",
    arg_required_else_help = true,
    // `atk help PLUGIN` is a plugin's help; `atk help` alone and `--help` are atk's.
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The ATK Home to use [env: ATK_HOME] [default: ~/.atk]
    // An OsString, not a PathBuf: clap refuses an empty path, and an empty ATK_HOME counts as
    // unset (as in the Python CLI), which `Settings::resolve` decides. The environment variables
    // of these options are read by `run`, not clap: clap counts an option its variable sets as
    // given and shows it in every usage line (`Usage: atk add --home <DIR> <SOURCE>`).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<std::ffi::OsString>,
    /// Print one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors and warnings
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what is done
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The registry to use [env: ATK_REGISTRY] [default: config.registry, else the public one]
    #[arg(long, global = true, value_name = "URL")]
    pub registry: Option<String>,
    /// Where fetched repositories are cached [env: ATK_CACHE_DIR] [default: the user's cache
    /// directory]
    #[arg(long, global = true, value_name = "DIR", hide = true)]
    pub cache_dir: Option<std::ffi::OsString>,
    /// Answer yes to every confirmation; never prompt
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    Init(commands::init::Args),
    Search(commands::search::Args),
    Add(commands::add::Args),
    Remove(commands::remove::Args),
    Upgrade(commands::upgrade::Args),
    Install(commands::install::Args),
    Uninstall(commands::uninstall::Args),
    Setup(commands::setup::Args),
    List(commands::list::Args),
    Validate(commands::validate::Args),
    New(commands::new::Args),
    Registry(commands::registry::Args),
    #[command(disable_help_flag = true)]
    Git(commands::git::Args),
    Completions(commands::completions::Args),
    Mcp(commands::mcp::Args),
    Exec(commands::exec::Args),
    Plug(commands::plug::Args),
    Unplug(commands::unplug::Args),
    Doctor(commands::doctor::Args),
    Diff(commands::diff::Args),
    History(commands::history::Args),
    Rollback(commands::rollback::Args),
    Export(commands::export::Args),
    Import(commands::import::Args),
    Undo(commands::undo::Args),
    Start(commands::start::Args),
    Stop(commands::stop::Args),
    Restart(commands::restart::Args),
    Status(commands::status::Args),
    Logs(commands::logs::Args),
    Run(commands::run::Args),
    Backup(commands::backup::Args),
    Restore(commands::restore::Args),
    Help(commands::help::Args),
    #[command(name = "__generate-man", hide = true)]
    GenerateMan(commands::man::Args),
}

/// The whole run: parses `args`, runs the command, and returns the exit code. A command line clap
/// refuses is a usage error (exit 2) printed as every other error is: with `--json`, as the
/// error document on stdout too. `--help` and `--version` print what clap prints.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => run(cli).unwrap_or_else(|e| e.exit_code()),
        Err(e) => usage_error(&e, &args),
    }
}

/// Prints what clap refused (or the help it was asked for) and returns the exit code.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> u8 {
    use clap::error::ErrorKind;
    let shown = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    // `--json` among the options (not after `--`, where it would be an argument of `atk git`).
    let json = args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json");
    if shown || !json {
        let _ = e.print();
        return if shown { 0 } else { crate::error::exit::USAGE };
    }
    // clap's text: `error: …` (continued on the lines up to `Usage:`), `tip: …` lines, the usage.
    let text = e.render().to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let message = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "no command given".to_string(),
        _ => lines
            .iter()
            .take_while(|l| !l.starts_with("Usage:"))
            .filter(|l| !l.starts_with("tip:"))
            .map(|l| l.strip_prefix("error: ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let tip = lines.iter().find_map(|l| l.strip_prefix("tip: ")).map(str::to_string);
    let hint = Some(tip.unwrap_or_else(|| "see `atk --help`".into()));
    let error = Error::Usage { message, hint };
    crate::ui::Ui::new(true, false, false, true).error(&error);
    error.exit_code()
}

/// Runs the parsed command; the exit code on success, the error otherwise.
pub fn run(cli: Cli) -> crate::Result<u8> {
    // `atk add --force` is atk-cli's `-y` for that command.
    let yes = cli.yes || matches!(&cli.command, Command::Add(a) if a.force);
    // The waits' bounds, read once for the whole run (an unusable ATK_NET_TIMEOUT is the run's error).
    let environment = Environment::of_process();
    let var = |name: &str| environment.var(name);
    let (waits, unusable) = match Waits::resolve(var("ATK_LOCK_TIMEOUT").as_deref(), var("ATK_NET_TIMEOUT").as_deref())
    {
        Ok(waits) => (waits, None),
        Err(e) => (Waits::default(), Some(e)),
    };
    // An option given wins over its environment variable.
    let home = cli.home.clone().or_else(|| environment.var_os("ATK_HOME").cloned());
    let registry = cli.registry.clone().or_else(|| environment.var("ATK_REGISTRY"));
    let cache_dir = cli.cache_dir.clone().or_else(|| environment.var_os("ATK_CACHE_DIR").cloned());
    let ctx = commands::Ctx {
        ui: crate::ui::Ui::new(cli.json, cli.quiet, cli.verbose, yes),
        settings: Settings::resolve(
            home.as_deref().map(std::path::Path::new),
            registry.as_deref(),
            cache_dir.as_deref().map(std::path::Path::new),
            waits,
            environment,
        ),
        pending_push: Default::default(),
    };
    let result = unusable.map_or(Ok(()), Err).and_then(|()| match cli.command {
        Command::Init(a) => commands::init::run(&ctx, a),
        Command::Search(a) => commands::search::run(&ctx, a),
        Command::Add(a) => commands::add::run(&ctx, a),
        Command::Remove(a) => commands::remove::run(&ctx, a),
        Command::Upgrade(a) => commands::upgrade::run(&ctx, a),
        Command::Install(a) => commands::install::run(&ctx, a),
        Command::Uninstall(a) => commands::uninstall::run(&ctx, a),
        Command::Setup(a) => commands::setup::run(&ctx, a),
        Command::List(a) => commands::list::run(&ctx, a),
        Command::Validate(a) => commands::validate::run(&ctx, a),
        Command::New(a) => commands::new::run(&ctx, a),
        Command::Registry(a) => commands::registry::run(&ctx, a),
        Command::Git(a) => commands::git::run(&ctx, a),
        Command::Completions(a) => commands::completions::run(&ctx, a, Cli::command()),
        Command::Mcp(a) => commands::mcp::run(&ctx, a),
        Command::Exec(a) => commands::exec::run(&ctx, a),
        Command::Plug(a) => commands::plug::run(&ctx, a),
        Command::Unplug(a) => commands::unplug::run(&ctx, a),
        Command::Doctor(a) => commands::doctor::run(&ctx, a),
        Command::Diff(a) => commands::diff::run(&ctx, a),
        Command::History(a) => commands::history::run(&ctx, a),
        Command::Rollback(a) => commands::rollback::run(&ctx, a),
        Command::Export(a) => commands::export::run(&ctx, a),
        Command::Import(a) => commands::import::run(&ctx, a),
        Command::Undo(a) => commands::undo::run(&ctx, a),
        Command::Start(a) => commands::start::run(&ctx, a),
        Command::Stop(a) => commands::stop::run(&ctx, a),
        Command::Restart(a) => commands::restart::run(&ctx, a),
        Command::Status(a) => commands::status::run(&ctx, a),
        Command::Logs(a) => commands::logs::run(&ctx, a),
        Command::Run(a) => commands::run::run(&ctx, a),
        Command::Backup(a) => commands::backup::run(&ctx, a),
        Command::Restore(a) => commands::restore::run(&ctx, a),
        Command::Help(a) => commands::help::run(&ctx, a, Cli::command),
        Command::GenerateMan(a) => commands::man::run(&ctx, a, Cli::command()),
    });
    // After the command, which let go of the home lock: a push that hangs blocks no other atk.
    ctx.push_pending();
    if let Err(e) = &result {
        ctx.ui.error(e);
    }
    result
}
