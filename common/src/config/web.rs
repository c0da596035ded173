//! `ticketctl serve`'s settings: who may sign in, and how the server reaches Discord to check.

use std::fmt;
use std::path::PathBuf;

use super::vars::snowflake;
use super::{ConfigError, Problem, Secret, Vars};

/// How visitors of the web view prove they are staff.
#[derive(Clone)]
pub enum WebAuth {
    /// `--token`: one operator on this machine; a random token printed at start.
    Token,
    /// Sign in with Discord (OAuth2, `identify`), then a check with the bot token that the
    /// user holds the support role or is an administrator of the guild.
    Discord(DiscordSignIn),
}

#[derive(Clone)]
pub struct DiscordSignIn {
    /// `OAUTH_CLIENT_ID`: the application's id (Developer Portal, OAuth2).
    pub client_id: u64,
    /// `OAUTH_CLIENT_SECRET`.
    pub client_secret: Secret,
    /// `PUBLIC_URL`: where browsers reach the server, without a trailing slash; the redirect
    /// URL to register is `{PUBLIC_URL}/oauth/callback`.
    pub public_url: String,
    /// `BOT_TOKEN`: to read the signed-in user's roles in the guild.
    pub bot_token: Secret,
    pub guild_id: u64,
    pub support_role_id: u64,
    /// `WEB_SESSION_KEY`: signs session cookies. Without it each server makes one at start,
    /// so that a restart signs everyone out and several servers behind one address do not
    /// know each other's sessions.
    pub session_key: Option<Secret>,
}

/// The shortest `WEB_SESSION_KEY` accepted (characters).
pub const SESSION_KEY_MIN: usize = 32;

impl DiscordSignIn {
    pub fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.public_url)
    }

    /// Session cookies carry `Secure` when browsers come over https.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl fmt::Debug for DiscordSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSignIn")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("public_url", &self.public_url)
            .field("bot_token", &self.bot_token)
            .field("guild_id", &self.guild_id)
            .field("support_role_id", &self.support_role_id)
            .field("session_key", &self.session_key)
            .finish()
    }
}

impl fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebAuth::Token => f.write_str("Token"),
            WebAuth::Discord(d) => d.fmt(f),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub auth: WebAuth,
    /// `DISCORD_API_ADDR` / `DISCORD_CA_FILE`, as for the bot (tests and TLS gateways).
    pub api_addr: Option<std::net::IpAddr>,
    pub ca_file: Option<PathBuf>,
}

impl WebSettings {
    /// Reads and checks the variables the chosen sign-in needs, reporting every problem at once.
    pub fn from_vars(vars: &Vars, token_mode: bool) -> Result<WebSettings, ConfigError> {
        const COPY_ID: &str = "enable Developer Mode in Discord, right-click it and Copy ID";
        const OR_TOKEN: &str =
            "(or run `ticketctl serve --token` to use the web view alone on this machine)";
        let mut problems = Vec::new();
        let (api_addr, ca_file) = super::vars::discord_endpoint(vars, &mut problems);
        if token_mode {
            return if problems.is_empty() {
                Ok(WebSettings {
                    auth: WebAuth::Token,
                    api_addr,
                    ca_file,
                })
            } else {
                Err(ConfigError { problems })
            };
        }
        let mut required = |key: &str, what: &str| {
            let v = vars.get(key);
            if v.is_none() {
                problems.push(Problem::new(key, format!("is required: {what} {OR_TOKEN}")));
            }
            v.map(str::to_owned)
        };
        let client_id_raw = required(
            "OAUTH_CLIENT_ID",
            "your application's Client ID (Developer Portal, OAuth2)",
        );
        let client_secret = required(
            "OAUTH_CLIENT_SECRET",
            "your application's Client Secret (Developer Portal, OAuth2, Reset Secret)",
        );
        let public_url = required(
            "PUBLIC_URL",
            "the address browsers use to reach the web view, such as https://tickets.example.com",
        );
        let bot_token = required(
            "BOT_TOKEN",
            "the bot's token, to check that whoever signs in is staff",
        );
        let guild_raw = required("GUILD_ID", "the guild whose staff may sign in");
        let role_raw = required("SUPPORT_ROLE_ID", "the role of your support staff");
        let client_id = client_id_raw.and_then(|_| {
            snowflake(
                vars,
                "OAUTH_CLIENT_ID",
                "copy it from the Developer Portal",
                &mut problems,
            )
        });
        let guild_id = guild_raw.and_then(|_| snowflake(vars, "GUILD_ID", COPY_ID, &mut problems));
        let support_role_id =
            role_raw.and_then(|_| snowflake(vars, "SUPPORT_ROLE_ID", COPY_ID, &mut problems));
        let session_key = vars.get("WEB_SESSION_KEY").map(str::to_owned);
        if session_key
            .as_ref()
            .is_some_and(|k| k.chars().count() < SESSION_KEY_MIN)
        {
            problems.push(Problem::new(
                "WEB_SESSION_KEY",
                format!(
                    "is too short: use at least {SESSION_KEY_MIN} random characters, such as \
                     the output of `openssl rand -hex 32` (or leave it unset: sign-ins then \
                     last until the server restarts)"
                ),
            ));
        }
        let public_url = public_url.map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            let parsed = url::Url::parse(u);
            let ok = parsed.as_ref().is_ok_and(|p| {
                matches!(p.scheme(), "http" | "https")
                    && p.host().is_some()
                    && p.query().is_none()
                    && p.fragment().is_none()
            });
            if !ok {
                problems.push(Problem::new(
                    "PUBLIC_URL",
                    format!("{u:?} is not an http:// or https:// address such as https://tickets.example.com"),
                ));
            }
        }
        match (
            client_id,
            client_secret,
            public_url,
            bot_token,
            guild_id,
            support_role_id,
        ) {
            (Some(client_id), Some(secret), Some(public_url), Some(token), Some(g), Some(r))
                if problems.is_empty() =>
            {
                Ok(WebSettings {
                    auth: WebAuth::Discord(DiscordSignIn {
                        client_id,
                        client_secret: Secret::new(secret),
                        public_url,
                        bot_token: Secret::new(token),
                        guild_id: g,
                        support_role_id: r,
                        session_key: session_key.map(Secret::new),
                    }),
                    api_addr,
                    ca_file,
                })
            }
            _ => Err(ConfigError { problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_session_key_is_named_and_not_shown() {
        let vars = |key: &str| {
            Vars::from_pairs([
                ("OAUTH_CLIENT_ID", "123456789012345678"),
                ("OAUTH_CLIENT_SECRET", "s3cret"),
                ("PUBLIC_URL", "https://tickets.example.com"),
                ("BOT_TOKEN", "t.o.k"),
                ("GUILD_ID", "223456789012345678"),
                ("SUPPORT_ROLE_ID", "323456789012345678"),
                ("WEB_SESSION_KEY", key),
            ])
        };
        let err = WebSettings::from_vars(&vars("short-key-123"), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WEB_SESSION_KEY") && err.contains("openssl rand"),
            "{err}"
        );
        assert!(!err.contains("short-key-123"), "{err}");
        let long = "k".repeat(SESSION_KEY_MIN);
        let ok = WebSettings::from_vars(&vars(&long), false).unwrap();
        let WebAuth::Discord(d) = &ok.auth else {
            panic!("Discord sign-in expected");
        };
        assert_eq!(
            d.session_key.as_ref().map(|k| k.expose()),
            Some(long.as_str())
        );
        assert!(!format!("{ok:?}").contains(&long), "{ok:?}");
    }

    #[test]
    fn token_mode_needs_nothing() {
        let s = WebSettings::from_vars(&Vars::from_pairs::<_, &str, &str>([]), true).unwrap();
        assert!(matches!(s.auth, WebAuth::Token));
    }

    #[test]
    fn discord_sign_in_names_every_missing_variable_and_hides_secrets() {
        let err = WebSettings::from_vars(
            &Vars::from_pairs([("OAUTH_CLIENT_SECRET", "s3cret"), ("GUILD_ID", "abc")]),
            false,
        )
        .unwrap_err()
        .to_string();
        for var in [
            "OAUTH_CLIENT_ID",
            "PUBLIC_URL",
            "BOT_TOKEN",
            "GUILD_ID",
            "SUPPORT_ROLE_ID",
        ] {
            assert!(err.contains(var), "{var} missing from: {err}");
        }
        assert!(err.contains("--token"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn discord_sign_in_reads_a_full_configuration() {
        let s = WebSettings::from_vars(
            &Vars::from_pairs([
                ("OAUTH_CLIENT_ID", "1234"),
                ("OAUTH_CLIENT_SECRET", "shh"),
                ("PUBLIC_URL", "https://tickets.example.com/"),
                ("BOT_TOKEN", "a.b.c"),
                ("GUILD_ID", "10"),
                ("SUPPORT_ROLE_ID", "20"),
            ]),
            false,
        )
        .unwrap();
        let WebAuth::Discord(d) = &s.auth else {
            panic!("expected Discord sign-in")
        };
        assert_eq!(
            d.redirect_uri(),
            "https://tickets.example.com/oauth/callback"
        );
        assert!(d.https());
        assert!(!format!("{s:?}").contains("shh"));
        let bad = WebSettings::from_vars(
            &Vars::from_pairs([
                ("OAUTH_CLIENT_ID", "1234"),
                ("OAUTH_CLIENT_SECRET", "shh"),
                ("PUBLIC_URL", "tickets.example.com"),
                ("BOT_TOKEN", "a.b.c"),
                ("GUILD_ID", "10"),
                ("SUPPORT_ROLE_ID", "20"),
            ]),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("PUBLIC_URL"), "{bad}");
    }
}
