//! The `--config` file (`TODO_CONFIG`): any flag may stand in it, by its name with `_`
//! for `-`, and any number of `[[trusted_issuer]]` tables. Flags and environment
//! variables win: a key whose variable is set is left out, and the file's flags go
//! before the command line's, where a later flag wins.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use todo_server::federation::{TrustedIssuer, issuers};

/// The command line with the file's flags put first, and the file's trusted issuers.
pub fn arguments() -> Result<(Vec<OsString>, Vec<TrustedIssuer>), String> {
    let mut given: Vec<OsString> = std::env::args_os().collect();
    let Some(path) = config_path(&given) else {
        return Ok((given, Vec::new()));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("{} is not TOML: {}", path.display(), e.message()))?;
    let command = super::Cli::command();
    let mut flags = Vec::new();
    let mut trusted = Vec::new();
    for (key, value) in table {
        if key == "trusted_issuer" {
            let entries = value.as_array().cloned().ok_or_else(|| {
                format!(
                    "{}: trusted_issuer must be [[trusted_issuer]] tables",
                    path.display()
                )
            })?;
            trusted = entries;
            continue;
        }
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .ok_or_else(|| format!("{}: {key} is not a flag of todo-server", path.display()))?;
        if arg.get_env().is_some_and(|env| std::env::var_os(env).is_some()) {
            continue;
        }
        match value {
            toml::Value::Boolean(true) => flags.push(OsString::from(format!("--{long}"))),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => flags.push(OsString::from(format!("--{long}={s}"))),
            toml::Value::Integer(n) => flags.push(OsString::from(format!("--{long}={n}"))),
            toml::Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect();
                flags.push(OsString::from(format!("--{long}={}", items.join(","))));
            }
            other => {
                return Err(format!(
                    "{}: {key} = {other} is not a flag's value",
                    path.display()
                ));
            }
        }
    }
    let issuers = issuers::parse(trusted).map_err(|e| format!("{}: {e}", path.display()))?;
    let rest = given.split_off(1);
    given.extend(flags);
    given.extend(rest);
    Ok((given, issuers))
}

/// `--config FILE`, `--config=FILE`, or `TODO_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("TODO_CONFIG").map(PathBuf::from)
}
