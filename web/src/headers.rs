//! Security headers on every answer. A page that needs another policy (the report's inline
//! styles, a transcript's embedded media) sets its own `Content-Security-Policy`; the rest is
//! added here.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The web view's own pages: its stylesheet and nothing else; no script anywhere.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn security(request: Request, next: Next) -> Response {
    let mut r = next.run(request).await;
    let h = r.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The `--token` address must not leak to other sites through Referer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Staff data: not kept by shared caches or the browser's back-forward cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `policy` with `frame-ancestors 'none'` added (a page's own CSP is about what it loads).
pub(crate) fn with_frame_ancestors(policy: &str) -> String {
    format!(
        "{}; frame-ancestors 'none'",
        policy.trim_end_matches([';', ' '])
    )
}
