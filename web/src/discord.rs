//! What the web view asks Discord: the OAuth2 code exchange, who signed in, and whether they
//! are staff (the support role, an administrator's role, or the guild's owner), read with the
//! bot token.

use serde::Deserialize;
use ticketbot_common::config::{DiscordSignIn, WebSettings};

const API: &str = "https://discord.com/api/v10";
const AUTHORIZE: &str = "https://discord.com/oauth2/authorize";
/// Discord's ADMINISTRATOR permission bit.
const ADMINISTRATOR: u64 = 1 << 3;

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("cannot reach Discord ({0})")]
    Unreachable(String),
    #[error("Discord answered {status} to {what}")]
    Status { status: u16, what: &'static str },
    #[error("Discord's answer to {0} could not be read")]
    Answer(&'static str),
    #[error("DISCORD_CA_FILE: {0}")]
    Ca(String),
}

/// What [`DiscordError::Status`] names for the exchange of a sign-in's code.
pub const EXCHANGE: &str = "the code exchange";

/// A signed-in Discord user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub name: String,
}

/// Where a user stands in the guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Staff,
    NotStaff,
    NotMember,
}

pub struct Client {
    http: reqwest::Client,
    pub(crate) sign_in: DiscordSignIn,
}

fn unreachable(e: reqwest::Error) -> DiscordError {
    // reqwest's message names the URL, which holds no secret; the reason is what helps.
    DiscordError::Unreachable(e.without_url().to_string())
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct UserAnswer {
    id: String,
    username: String,
    global_name: Option<String>,
}

#[derive(Deserialize)]
struct MemberAnswer {
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct RoleAnswer {
    id: String,
    permissions: String,
}

#[derive(Deserialize)]
struct GuildAnswer {
    owner_id: String,
    #[serde(default)]
    roles: Vec<RoleAnswer>,
}

impl Client {
    pub fn new(sign_in: DiscordSignIn, settings: &WebSettings) -> Result<Client, DiscordError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(std::time::Duration::from_secs(10));
        if let Some(ip) = settings.api_addr {
            builder = builder.resolve("discord.com", std::net::SocketAddr::new(ip, 443));
        }
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| DiscordError::Ca(format!("cannot read {}: {e}", path.display())))?;
            let ca = reqwest::Certificate::from_pem(&pem).map_err(|_| {
                DiscordError::Ca(format!("{} is not a PEM certificate", path.display()))
            })?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder
            .build()
            .map_err(|e| DiscordError::Unreachable(e.to_string()))?;
        Ok(Client { http, sign_in })
    }

    /// Discord's consent page for `identify`, coming back with `state`.
    pub fn authorize_url(&self, state: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.sign_in.client_id.to_string())
            .append_pair("scope", "identify")
            .append_pair("redirect_uri", &self.sign_in.redirect_uri())
            .append_pair("state", state)
            .append_pair("prompt", "none")
            .finish();
        format!("{AUTHORIZE}?{query}")
    }

    /// The user who approved, from the code Discord sent back.
    pub async fn user_from_code(&self, code: &str) -> Result<User, DiscordError> {
        let redirect = self.sign_in.redirect_uri();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
        ];
        let answer = self
            .http
            .post(format!("{API}/oauth2/token"))
            .basic_auth(
                self.sign_in.client_id,
                Some(self.sign_in.client_secret.expose()),
            )
            .form(&form)
            .send()
            .await
            .map_err(unreachable)?;
        let token: TokenAnswer = read(answer, EXCHANGE).await?;
        let answer = self
            .http
            .get(format!("{API}/users/@me"))
            .bearer_auth(&token.access_token)
            .send()
            .await
            .map_err(unreachable)?;
        let user: UserAnswer = read(answer, "users/@me").await?;
        Ok(User {
            id: user
                .id
                .parse()
                .map_err(|_| DiscordError::Answer("users/@me"))?,
            name: user.global_name.unwrap_or(user.username),
        })
    }

    /// `GET {API}/{path}` as the bot.
    async fn bot_get(&self, path: &str) -> Result<reqwest::Response, DiscordError> {
        self.http
            .get(format!("{API}/{path}"))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bot {}", self.sign_in.bot_token.expose()),
            )
            .send()
            .await
            .map_err(unreachable)
    }

    /// Whether `user` is staff of the configured guild now.
    pub async fn standing(&self, user: u64) -> Result<Standing, DiscordError> {
        let guild = self.sign_in.guild_id;
        let answer = self
            .bot_get(&format!("guilds/{guild}/members/{user}"))
            .await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Standing::NotMember);
        }
        let member: MemberAnswer = read(answer, "the member lookup").await?;
        let support = self.sign_in.support_role_id.to_string();
        if member.roles.contains(&support) {
            return Ok(Standing::Staff);
        }
        let answer = self.bot_get(&format!("guilds/{guild}")).await?;
        let g: GuildAnswer = read(answer, "the guild lookup").await?;
        let everyone = guild.to_string();
        let admin = g.roles.iter().any(|r| {
            (r.id == everyone || member.roles.contains(&r.id))
                && r.permissions.parse::<u64>().unwrap_or(0) & ADMINISTRATOR != 0
        });
        Ok(if admin || g.owner_id == user.to_string() {
            Standing::Staff
        } else {
            Standing::NotStaff
        })
    }
}

async fn read<T: serde::de::DeserializeOwned>(
    answer: reqwest::Response,
    what: &'static str,
) -> Result<T, DiscordError> {
    let status = answer.status();
    if !status.is_success() {
        return Err(DiscordError::Status {
            status: status.as_u16(),
            what,
        });
    }
    answer.json().await.map_err(|_| DiscordError::Answer(what))
}
