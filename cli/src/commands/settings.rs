//! `todo config list|get|set|path`: the settings in config.toml.

use todo_client::config::{self, Config, KEYS};

use crate::args::ConfigCommand;
use crate::exit::CliError;
use crate::output::Output;

pub fn run(command: ConfigCommand, loaded: &Config, out: Output) -> Result<(), CliError> {
    match command {
        ConfigCommand::Path => crate::outln!("{}", config::path().display()),
        ConfigCommand::Get { key } => {
            let value = config::get(loaded, &key).map_err(CliError::Usage)?;
            if let Some(value) = value {
                crate::outln!("{value}");
            }
        }
        ConfigCommand::Set { key, value } => {
            config::set(&key, &value).map_err(CliError::Usage)?;
            out.note(&format!("{key} = {value:?} in {}", config::path().display()));
        }
        ConfigCommand::List => {
            let values: Vec<(&str, Option<String>, &str)> = KEYS
                .iter()
                .map(|(key, takes)| (*key, config::get(loaded, key).ok().flatten(), *takes))
                .collect();
            if out.json {
                let map: serde_json::Map<String, serde_json::Value> = values
                    .iter()
                    .map(|(k, v, _)| {
                        (
                            k.to_string(),
                            v.clone().map_or(serde_json::Value::Null, Into::into),
                        )
                    })
                    .collect();
                out.print_json(&map);
            } else {
                for (key, value, takes) in values {
                    let shown = value.map_or_else(|| "(unset)".to_string(), |v| format!("{v:?}"));
                    crate::outln!("{key:<12} {shown:<28} {takes}");
                }
            }
        }
    }
    Ok(())
}
