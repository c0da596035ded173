//! Configuration from the environment and `.env`, with the Python bot's variable names.
//!
//! Every problem is collected and reported at once, each naming its variable and the fix.
//! Secrets (the bot token, database passwords) are kept out of `Debug` and messages.

use serde::{Deserialize, Serialize};

mod bot;
mod database;
mod secret;
mod vars;
mod web;

pub use bot::{max_open_per_user, BotSettings, FeedbackMode, Shards, DEFAULT_ARCHIVE_CLOSED_AFTER};
pub use database::{DbConfig, MongoConfig, MysqlConfig, DEFAULT_SQLITE_PATH};
pub use secret::{redact_uri, Secret};
pub use vars::{read_env_file, ConfigError, EnvFileError, Problem, Vars};
pub use web::{DiscordSignIn, WebAuth, WebSettings};

/// Which backend a store is, for messages and `ticketctl status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Mysql,
    Mongodb,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Mongodb => "mongodb",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::database::database_from_uri;
    use super::*;

    #[test]
    fn shard_variables() {
        let with = |pairs: &[(&str, &str)]| {
            let mut v =
                Vars::from_pairs([("BOT_TOKEN", "aaa.bbb.ccc"), ("SUPPORT_ROLE_ID", "456")]);
            for (k, val) in pairs {
                v.set(*k, *val);
            }
            BotSettings::from_vars(&v)
        };
        let ok = |pairs: &[(&str, &str)]| with(pairs).unwrap().shards;
        assert_eq!(ok(&[]), Shards::Single);
        assert_eq!(ok(&[("SHARD_COUNT", "auto")]), Shards::Auto);
        assert_eq!(ok(&[("SHARD_COUNT", "AUTO")]), Shards::Auto);
        assert_eq!(ok(&[("SHARD_COUNT", "4")]), Shards::All { count: 4 });
        assert_eq!(
            ok(&[("SHARD_ID", "1"), ("SHARD_COUNT", "2")]),
            Shards::One { id: 1, count: 2 }
        );
        for (pairs, var) in [
            (&[("SHARD_ID", "1")][..], "SHARD_ID"),
            (&[("SHARD_ID", "2"), ("SHARD_COUNT", "2")][..], "SHARD_ID"),
            (&[("SHARD_ID", "-1"), ("SHARD_COUNT", "2")][..], "SHARD_ID"),
            (
                &[("SHARD_ID", "0"), ("SHARD_COUNT", "auto")][..],
                "SHARD_COUNT",
            ),
            (&[("SHARD_COUNT", "0")][..], "SHARD_COUNT"),
            (&[("SHARD_COUNT", "many")][..], "SHARD_COUNT"),
        ] {
            let err = with(pairs).unwrap_err();
            assert!(
                err.problems
                    .iter()
                    .any(|p| p.variable == var && p.fix.contains("SHARD_COUNT")),
                "{pairs:?}: {err}"
            );
        }
        // A guild belongs to shard (guild_id >> 22) % count.
        let guild = 1_210_000_000_000_000_100_u64;
        let mine = Shards::One {
            id: ((guild >> 22) % 2) as u32,
            count: 2,
        };
        let other = Shards::One {
            id: 1 - ((guild >> 22) % 2) as u32,
            count: 2,
        };
        assert!(mine.owns(guild) && !other.owns(guild));
        assert!(Shards::Single.owns(guild) && Shards::Auto.owns(guild));
        assert_eq!(Shards::One { id: 1, count: 2 }.to_string(), "shard 1/2");
    }

    #[test]
    fn sqlite_is_the_default() {
        let db = DbConfig::from_vars(&Vars::default()).unwrap();
        assert_eq!(
            db,
            DbConfig::Sqlite {
                path: DEFAULT_SQLITE_PATH.into()
            }
        );
    }

    #[test]
    fn mysql_defaults_are_the_python_bots() {
        let db = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "MySQL")])).unwrap();
        let DbConfig::Mysql(m) = db else {
            panic!("not mysql")
        };
        assert_eq!(
            (
                m.host.as_str(),
                m.port,
                m.user.as_str(),
                m.database.as_str()
            ),
            ("localhost", 3306, "root", "ticket_bot")
        );
        assert_eq!(m.password.expose(), "password");
    }

    #[test]
    fn passwords_never_print() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PASSWORD", "hunter2")]);
        let db = DbConfig::from_vars(&vars).unwrap();
        assert!(!format!("{db:?}").contains("hunter2"));
        assert!(!db.target().contains("hunter2"));
        let vars = Vars::from_pairs([
            ("DB_TYPE", "mongodb"),
            (
                "MONGO_URI",
                "mongodb://bob:hunter2@db.example:27017/?authSource=admin",
            ),
            ("MONGO_DB_NAME", "t"),
        ]);
        let db = DbConfig::from_vars(&vars).unwrap();
        assert_eq!(
            db.target(),
            "mongodb://bob:***@db.example:27017/?authSource=admin (database t)"
        );
        assert!(!format!("{db:?}").contains("hunter2"));
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PORT", "abc")]);
        let err = DbConfig::from_vars(&vars).unwrap_err();
        assert_eq!(err.problems[0].variable, "MYSQL_PORT");
        let err = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "postgres")])).unwrap_err();
        assert!(err.to_string().contains("DB_TYPE"), "{err}");
        let err = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "mongodb")])).unwrap_err();
        assert_eq!(err.problems[0].variable, "MONGO_URI");
        let err =
            max_open_per_user(&Vars::from_pairs([("MAX_OPEN_TICKETS_PER_USER", "0")])).unwrap_err();
        assert_eq!(err.problems[0].variable, "MAX_OPEN_TICKETS_PER_USER");
    }

    #[test]
    fn bot_settings_name_every_problem_and_hide_the_token() {
        let vars = Vars::from_pairs([
            ("BOT_TOKEN", "secret-without-dots"),
            ("GUILD_ID", "abc"),
            ("DB_TYPE", "oracle"),
        ]);
        let err = BotSettings::from_vars(&vars).unwrap_err();
        let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        for v in ["BOT_TOKEN", "GUILD_ID", "SUPPORT_ROLE_ID", "DB_TYPE"] {
            assert!(named.contains(&v), "{v} missing from {named:?}");
        }
        assert!(!err.to_string().contains("secret-without-dots"));
        let vars = Vars::from_pairs([
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ]);
        let s = BotSettings::from_vars(&vars).unwrap();
        assert_eq!(
            (s.guild_id, s.support_role_id, s.max_open_per_user),
            (Some(123), 456, 1)
        );
        assert!(!format!("{s:?}").contains("aaa.bbb.ccc"));
    }

    #[test]
    fn archive_and_transcript_settings() {
        let base = [
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ];
        let s = BotSettings::from_vars(&Vars::from_pairs(base)).unwrap();
        assert_eq!(s.archive_closed_after, Some(chrono::Duration::days(7)));
        assert!(s.transcript_dm);
        assert_eq!(s.transcript_max_file_bytes, 10 * 1024 * 1024);
        assert_eq!(s.transcript_max_total_bytes, 50 * 1024 * 1024);
        assert_eq!(s.cdn_base, "https://cdn.discordapp.com");

        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = base.to_vec();
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        let s = with(&[
            ("ARCHIVE_CLOSED_AFTER", "12h"),
            ("TRANSCRIPT_DM", "0"),
            ("TRANSCRIPT_MAX_FILE_MB", "3"),
            ("TRANSCRIPT_MAX_MB", "0"),
        ])
        .unwrap();
        assert_eq!(s.archive_closed_after, Some(chrono::Duration::hours(12)));
        assert!(!s.transcript_dm);
        assert_eq!(s.transcript_max_file_bytes, 3 * 1024 * 1024);
        assert_eq!(s.transcript_max_total_bytes, 0);
        for off in ["0", "off", "0d"] {
            let s = with(&[("ARCHIVE_CLOSED_AFTER", off)]).unwrap();
            assert_eq!(s.archive_closed_after, None, "{off}");
        }
        let err = with(&[
            ("ARCHIVE_CLOSED_AFTER", "a week"),
            ("TRANSCRIPT_MAX_MB", "-1"),
            ("TRANSCRIPT_DM", "maybe"),
            ("DISCORD_CDN_BASE", "ftp://x"),
        ])
        .unwrap_err();
        let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        for v in [
            "ARCHIVE_CLOSED_AFTER",
            "TRANSCRIPT_MAX_MB",
            "TRANSCRIPT_DM",
            "DISCORD_CDN_BASE",
        ] {
            assert!(named.contains(&v), "{v} missing from {named:?}");
        }
    }

    #[test]
    fn auto_close_is_off_unless_set_and_its_settings_are_checked() {
        let base = [
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = base.to_vec();
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        let s = with(&[]).unwrap();
        assert_eq!(s.auto_close_after, None);
        assert_eq!(s.auto_close_warning, chrono::Duration::hours(24));
        let s = with(&[("AUTO_CLOSE_AFTER", "72h"), ("AUTO_CLOSE_WARNING", "12h")]).unwrap();
        assert_eq!(s.auto_close_after, Some(chrono::Duration::hours(72)));
        assert_eq!(s.auto_close_warning, chrono::Duration::hours(12));
        let err = with(&[("AUTO_CLOSE_AFTER", "3 days")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "AUTO_CLOSE_AFTER");
        let err = with(&[("AUTO_CLOSE_AFTER", "3d"), ("AUTO_CLOSE_WARNING", "0")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "AUTO_CLOSE_WARNING");
        assert!(err.problems[0].fix.contains("e.g. 24h"));
    }

    #[test]
    fn feedback_modes() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![
                ("BOT_TOKEN", "aaa.bbb.ccc"),
                ("GUILD_ID", "123"),
                ("SUPPORT_ROLE_ID", "456"),
            ];
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        assert_eq!(with(&[]).unwrap().feedback, FeedbackMode::Channel);
        assert_eq!(
            with(&[("FEEDBACK", "DM")]).unwrap().feedback,
            FeedbackMode::Dm
        );
        assert_eq!(
            with(&[("FEEDBACK", "0")]).unwrap().feedback,
            FeedbackMode::Off
        );
        let err = with(&[("FEEDBACK", "sometimes")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "FEEDBACK");
        assert!(err.problems[0].fix.contains("dm or off"));
    }

    #[test]
    fn odd_passwords_are_hidden_whatever_their_shape() {
        for pw in ["p/ss", "p?ss", "p#ss", "p@ss", "p:ss", "a/b?c@d#e", "plain"] {
            let uri = format!("mongodb://bob:{pw}@h1:27017,h2:27018/tix?authSource=admin");
            let shown = redact_uri(&uri);
            assert_eq!(
                shown, "mongodb://bob:***@h1:27017,h2:27018/tix?authSource=admin",
                "{pw}"
            );
        }
        assert_eq!(redact_uri("mongodb://h:27017/db"), "mongodb://h:27017/db");
        assert_eq!(
            redact_uri("mongodb://h/db?appName=a@b"),
            "mongodb://h/db?appName=a@b"
        );
        assert_eq!(redact_uri("mongodb://bob@h/db"), "mongodb://bob@h/db");
        assert_eq!(
            database_from_uri("mongodb://bob:p/ss@h/tix?x=1").as_deref(),
            Some("tix")
        );
        for pw in ["p/ss", "p?ss", "p#ss", "p@ss"] {
            let uri = format!("mongodb://bob:{pw}@h/tix");
            let err = DbConfig::from_vars(&Vars::from_pairs([
                ("DB_TYPE", "mongodb"),
                ("MONGO_URI", uri.as_str()),
            ]))
            .unwrap_err();
            assert_eq!(err.problems[0].variable, "MONGO_URI");
            assert!(err.problems[0].fix.contains("percent-encoded"), "{err}");
            assert!(!err.to_string().contains(pw), "{err}");
            let err = DbConfig::from_url(&uri, None).unwrap_err();
            assert!(!err.to_string().contains(pw), "{err}");
        }
        // Encoded, it is fine.
        assert!(DbConfig::from_vars(&Vars::from_pairs([
            ("DB_TYPE", "mongodb"),
            ("MONGO_URI", "mongodb://bob:p%2Fss@h/tix"),
        ]))
        .is_ok());
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            DbConfig::from_url("sqlite://data/t.db", None).unwrap(),
            DbConfig::Sqlite {
                path: "data/t.db".into()
            }
        );
        let DbConfig::Mysql(m) =
            DbConfig::from_url("mysql://bob:p%40ss@db.local:3307/tix", None).unwrap()
        else {
            panic!("not mysql")
        };
        assert_eq!((m.user.as_str(), m.password.expose()), ("bob", "p@ss"));
        assert_eq!(
            (m.host.as_str(), m.port, m.database.as_str()),
            ("db.local", 3307, "tix")
        );
        let DbConfig::Mongo(g) = DbConfig::from_url("mongodb://h:27017", Some("x")).unwrap() else {
            panic!("not mongo")
        };
        assert_eq!(g.database, "x");
        assert!(DbConfig::from_url("mongodb://h:27017", None).is_err());
        let err = DbConfig::from_url("postgres://u:secret@h/db", None).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn mongo_database_may_come_from_the_uri() {
        let vars = Vars::from_pairs([("DB_TYPE", "mongodb"), ("MONGO_URI", "mongodb://h/tix?x=1")]);
        let DbConfig::Mongo(m) = DbConfig::from_vars(&vars).unwrap() else {
            panic!("not mongo")
        };
        assert_eq!(m.database, "tix");
    }

    #[test]
    fn dollars_stay_literal_as_in_python_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "HOME_DIR=/h\nA = \"pa$word$1 x\"  # c $x\nB=un$quoted\nC='si$ngle'\nD=\"${HOME_DIR}/x\"\nE=\"q\\\"$z\"\n",
        )
        .unwrap();
        let map = read_env_file(&path).unwrap();
        assert_eq!(map["A"], "pa$word$1 x");
        assert_eq!(map["B"], "un$quoted");
        assert_eq!(map["C"], "si$ngle");
        assert_eq!(map["D"], "/h/x");
        assert_eq!(map["E"], "q\"$z");
    }

    #[test]
    fn empty_mysql_password_means_none() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PASSWORD", "")]);
        let DbConfig::Mysql(m) = DbConfig::from_vars(&vars).unwrap() else {
            panic!("not mysql")
        };
        assert_eq!(m.password.expose(), "");
    }

    #[test]
    fn python_bot_env_file_loads_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# Ticket bot\nBOT_TOKEN = \"abc.def\"  # your token\nGUILD_ID = \"123\"\nDB_TYPE = \"mongodb\"  # sqlite, mysql or mongodb\nMONGO_URI = \"mongodb://localhost:27017\"\nMONGO_DB_NAME = \"ticketbot\"\n",
        )
        .unwrap();
        let map = read_env_file(&path).unwrap();
        assert_eq!(map.get("DB_TYPE").map(String::as_str), Some("mongodb"));
        assert_eq!(map.get("BOT_TOKEN").map(String::as_str), Some("abc.def"));
        assert_eq!(map.get("GUILD_ID").map(String::as_str), Some("123"));
    }
}
