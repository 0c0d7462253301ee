//! `todo config list|get|set|path`: the settings in config.toml.

use todo_client::config::{self, Config, KEYS};

use crate::args::ConfigCommand;
use crate::exit::CliError;
use crate::io::Io;

pub fn run(command: ConfigCommand, loaded: &Config, io: &mut Io) -> Result<(), CliError> {
    match command {
        ConfigCommand::Path => crate::outln!(io, "{}", config::path().display()),
        ConfigCommand::Get { key } => {
            let value = config::get(loaded, &key).map_err(CliError::Usage)?;
            if let Some(value) = value {
                crate::outln!(io, "{value}");
            }
        }
        ConfigCommand::Set { key, value } => {
            config::set(&key, &value).map_err(CliError::Usage)?;
            io.note(&format!("{key} = {value:?} in {}", config::path().display()));
        }
        ConfigCommand::List => {
            let values: Vec<(&str, Option<String>, &str)> = KEYS
                .iter()
                .map(|(key, takes)| (*key, config::get(loaded, key).ok().flatten(), *takes))
                .collect();
            if io.json() {
                let map: serde_json::Map<String, serde_json::Value> = values
                    .iter()
                    .map(|(k, v, _)| {
                        (
                            k.to_string(),
                            v.clone().map_or(serde_json::Value::Null, Into::into),
                        )
                    })
                    .collect();
                io.print_json(&map);
            } else {
                for (key, value, takes) in values {
                    let shown = value.map_or_else(|| "(unset)".to_string(), |v| format!("{v:?}"));
                    crate::outln!(io, "{key:<12} {shown:<28} {takes}");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Format;

    #[test]
    fn list_shows_every_setting_with_its_value_or_unset_and_json_gives_nulls() {
        let loaded = Config {
            server: Some("http://todo.lan:8000".into()),
            ..Config::default()
        };
        let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
        run(ConfigCommand::List, &loaded, &mut io).expect("list");
        let out = seen.stdout.text();
        assert_eq!(out.lines().count(), KEYS.len(), "{out}");
        assert!(out.starts_with("server       \"http://todo.lan:8000\""), "{out}");
        assert!(out.contains("tui.theme    (unset)"), "{out}");

        let json = Format {
            json: true,
            ..Format::default()
        };
        let (mut io, seen) = Io::memory(json, "", false, &[]);
        run(ConfigCommand::List, &loaded, &mut io).expect("list");
        let map: serde_json::Value = serde_json::from_str(&seen.stdout.text()).expect("json");
        assert_eq!(map["server"], "http://todo.lan:8000");
        assert!(map["list.sort"].is_null());
    }

    #[test]
    fn get_of_an_unknown_key_is_a_usage_error_naming_the_known_ones() {
        let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
        let wrong = run(
            ConfigCommand::Get { key: "colour".into() },
            &Config::default(),
            &mut io,
        )
        .expect_err("unknown");
        assert_eq!(wrong.code(), crate::exit::USAGE);
        assert!(wrong.to_string().contains("known: server"), "{wrong}");
        assert!(seen.stdout.text().is_empty());
    }
}
