//! Secrets: values never printed, and URIs shown with their password hidden.

use std::fmt;

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Splits what follows `scheme://` into the user info and the hosts-and-path. The user info
/// ends at the LAST `@`: a password that holds an unescaped `/`, `?`, `#` or `@` (invalid, but
/// typed by people) must still be recognised as a password and hidden, never printed.
pub(super) fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    match rest.rfind('@') {
        // An `@` in the query of a URI without credentials has no `:` before it in a user
        // part... or it may: hiding too much is safe, showing a password is not.
        Some(at) if rest[..at].contains(':') || !rest[..at].contains(['/', '?', '#']) => {
            (Some(&rest[..at]), &rest[at + 1..])
        }
        _ => (None, rest),
    }
}

/// Hides the password of `scheme://user:password@host/...`, whatever characters the password
/// holds.
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    match split_userinfo(rest) {
        (Some(userinfo), hosts) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{hosts}")
        }
        (None, _) => uri.to_owned(),
    }
}

/// Why a MongoDB URI's user info cannot be right: characters that must be percent-encoded.
/// The driver refuses such a URI too; saying so first names the fix without printing it.
pub(super) fn mongo_userinfo_problem(uri: &str) -> Option<String> {
    userinfo_problem(uri, &['/', '?', '#', '@']).or_else(|| port_problem(uri))
}

/// `mongodb://user:password` (the `@host` forgotten) reads as a host and a port, and would be
/// shown: a port that is not a number is refused without showing it (the driver refuses it too).
fn port_problem(uri: &str) -> Option<String> {
    let hosts = split_userinfo(uri.split_once("://")?.1).1;
    let authority = hosts.split(['/', '?', '#']).next().unwrap_or_default();
    let odd = |h: &str| {
        // `host`, `host:port`, `[v6]` or `[v6]:port`.
        let after_host = match h.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((_, after)) => after,
                None => return true,
            },
            None => h,
        };
        after_host
            .split_once(':')
            .is_some_and(|(_, port)| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    };
    authority.split(',').any(odd).then(|| {
        "it names a port that is not a number (if that is a password, the URI misses @HOST); the value is not shown".to_owned()
    })
}

/// Whether the user info of `scheme://USERINFO@hosts` holds one of `odd`, characters that
/// must be percent-encoded. For a MySQL URL only `/ ? #` matter (the URL parser takes the last
/// `@`): with them a password reads as host, port and path, and shows as the database's name.
pub(super) fn userinfo_problem(uri: &str, odd: &[char]) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let userinfo = split_userinfo(rest).0?;
    userinfo.contains(odd).then(|| {
        "its user name or password holds a character that must be percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40, : in a user name as %3A); the value is not shown".to_owned()
    })
}
