//! The API's paths: a request line becomes a [`Route`], or an error
//! before anything else (authentication included) looks at it.
//!
//! Names in paths are checked with the function store's own rule
//! ([`validate_name`]), so `..`, `%2e%2e`, empty segments and any byte
//! outside letters, digits, `_`, `.` and `-` never reach the store.

use crate::executor::store::validate_name;
use faasm_hostif::faasm::CallId;
use hyper::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Metrics,
    ListFunctions,
    Upload { user: String, func: String },
    Delete { user: String, func: String },
    Invoke { user: String, func: String },
    Call { id: CallId },
    GetState { user: String, key: String },
    SetState { user: String, key: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no such path: {0}")]
    NotFound(String),
    #[error("method {method} not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}")]
    BadName(String),
    #[error("invalid call id {0:?}")]
    BadCallId(String),
}

fn name(kind: &'static str, s: &str) -> Result<String, RouteError> {
    validate_name(kind, s)
        .map(|()| s.to_string())
        .map_err(|e| RouteError::BadName(e.to_string()))
}

/// The route of `method` on `path` (the path without its query).
pub fn parse(method: &Method, path: &str) -> Result<Route, RouteError> {
    let not_found = || RouteError::NotFound(path.to_string());
    let bad_method = || RouteError::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_string(),
    };
    let segments: Vec<&str> = path
        .strip_prefix('/')
        .ok_or_else(not_found)?
        .split('/')
        .collect();
    // Whatever the route, a `..`, `.`, empty or oddly spelt segment is a
    // bad request, not an unknown path: say so before matching.
    if path != "/" {
        for seg in &segments {
            validate_name("path segment", seg).map_err(|e| RouteError::BadName(e.to_string()))?;
        }
    }
    let is = |m: &Method| method == m;
    match segments.as_slice() {
        ["healthz"] if is(&Method::GET) => Ok(Route::Health),
        ["metrics"] if is(&Method::GET) => Ok(Route::Metrics),
        ["healthz"] | ["metrics"] => Err(bad_method()),
        ["v1", "functions"] if is(&Method::GET) => Ok(Route::ListFunctions),
        ["v1", "functions"] => Err(bad_method()),
        ["v1", "functions", user, func] => {
            let (user, func) = (name("user", user)?, name("function", func)?);
            match *method {
                Method::PUT => Ok(Route::Upload { user, func }),
                Method::DELETE => Ok(Route::Delete { user, func }),
                _ => Err(bad_method()),
            }
        }
        ["v1", "functions", user, func, "invoke"] => {
            let (user, func) = (name("user", user)?, name("function", func)?);
            if is(&Method::POST) {
                Ok(Route::Invoke { user, func })
            } else {
                Err(bad_method())
            }
        }
        ["v1", "calls", id] => {
            let id = id
                .parse::<CallId>()
                .map_err(|_| RouteError::BadCallId(id.to_string()))?;
            if is(&Method::GET) {
                Ok(Route::Call { id })
            } else {
                Err(bad_method())
            }
        }
        ["v1", "state", user, key] => {
            let (user, key) = (name("user", user)?, name("state key", key)?);
            match *method {
                Method::GET => Ok(Route::GetState { user, key }),
                Method::PUT => Ok(Route::SetState { user, key }),
                _ => Err(bad_method()),
            }
        }
        _ => Err(not_found()),
    }
}

/// Whether the query string asks for an async call (`async=true` or `1`).
pub fn wants_async(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|kv| matches!(kv, "async=true" | "async=1" | "async"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_routes() {
        let f = |m: Method, p: &str| parse(&m, p);
        assert_eq!(f(Method::GET, "/healthz"), Ok(Route::Health));
        assert_eq!(f(Method::GET, "/v1/functions"), Ok(Route::ListFunctions));
        assert_eq!(
            f(Method::POST, "/v1/functions/alice/echo/invoke"),
            Ok(Route::Invoke {
                user: "alice".into(),
                func: "echo".into()
            })
        );
        assert_eq!(f(Method::GET, "/v1/calls/42"), Ok(Route::Call { id: 42 }));
        assert_eq!(
            f(Method::PUT, "/v1/state/bob/k.1"),
            Ok(Route::SetState {
                user: "bob".into(),
                key: "k.1".into()
            })
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        for p in [
            "/v1/functions/../echo",
            "/v1/functions/alice/..",
            "/v1/functions/al%2e%2e/echo",
            "/v1/functions/al ice/echo",
            "/v1/functions//echo",
            "/v1/state/alice/a%2Fb",
            "/v1/functions/../alice/echo/invoke",
            "/v1/./functions",
        ] {
            assert!(
                matches!(parse(&Method::PUT, p), Err(RouteError::BadName(_))),
                "{p}"
            );
        }
        assert!(matches!(
            parse(&Method::GET, "/v1/calls/x"),
            Err(RouteError::BadCallId(_))
        ));
        assert!(matches!(
            parse(&Method::GET, "/v1/nothing"),
            Err(RouteError::NotFound(_))
        ));
        assert!(matches!(
            parse(&Method::GET, "/v1/functions/alice/echo"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
    }

    #[test]
    fn async_is_a_query_flag() {
        assert!(wants_async(Some("async=true")));
        assert!(wants_async(Some("x=1&async=1")));
        assert!(!wants_async(Some("async=false")));
        assert!(!wants_async(None));
    }
}
