//! The API from the command line: `faasm-run upload|invoke --remote URL
//! --token T`, printing and exiting as the local commands do.

use super::api::RETURN_CODE;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: {source}")]
    Http { url: String, source: ureq::Error },
    /// The server's own error message (already worded like the local
    /// command's).
    #[error("{0}")]
    Server(String),
    #[error("{url}: unexpected reply {status}: {body}")]
    Unexpected {
        url: String,
        status: u16,
        body: String,
    },
}

/// A finished remote call.
#[derive(Debug)]
pub enum Invoked {
    Returned {
        code: i32,
        output: Vec<u8>,
    },
    /// Trapped, timed out or failed in the executor: the message, and
    /// what it printed before.
    Failed {
        message: String,
        printed: Vec<u8>,
    },
}

/// What the server said about an upload.
#[derive(Debug)]
pub struct Uploaded {
    pub artifact: String,
    pub artifact_bytes: u64,
    pub wasm: String,
    pub wasm_bytes: u64,
}

pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// Largest reply read (outputs are bounded by the server's own limit).
const MAX_REPLY: u64 = 1 << 30;

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            agent,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    /// Reads the reply: `(status, return code header, body)`.
    fn finish(
        &self,
        url: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Option<i32>, Vec<u8>), ClientError> {
        let http = |source| ClientError::Http {
            url: url.to_string(),
            source,
        };
        let mut r = r.map_err(http)?;
        let code = r
            .headers()
            .get(RETURN_CODE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(MAX_REPLY)
            .read_to_vec()
            .map_err(http)?;
        Ok((status, code, body))
    }

    /// A non-success reply as an error: the server's message if it gave
    /// one in JSON.
    fn error(url: &str, status: u16, body: &[u8]) -> ClientError {
        match serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
        {
            Some(msg) => ClientError::Server(msg),
            None => ClientError::Unexpected {
                url: url.to_string(),
                status,
                body: String::from_utf8_lossy(body).into_owned(),
            },
        }
    }

    pub fn upload(&self, user: &str, func: &str, wasm: &[u8]) -> Result<Uploaded, ClientError> {
        let url = self.url(&format!("/v1/functions/{user}/{func}"));
        let r = self.auth(self.agent.put(&url)).send(wasm);
        let (status, _, body) = self.finish(&url, r)?;
        if status != 201 {
            return Err(Self::error(&url, status, &body));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| Self::error(&url, status, &body))?;
        Ok(Uploaded {
            artifact: v["artifact"].as_str().unwrap_or_default().to_string(),
            artifact_bytes: v["artifact_bytes"].as_u64().unwrap_or_default(),
            wasm: v["wasm"].as_str().unwrap_or_default().to_string(),
            wasm_bytes: v["wasm_bytes"].as_u64().unwrap_or_default(),
        })
    }

    pub fn invoke(&self, user: &str, func: &str, input: &[u8]) -> Result<Invoked, ClientError> {
        let url = self.url(&format!("/v1/functions/{user}/{func}/invoke"));
        let r = self.auth(self.agent.post(&url)).send(input);
        let (status, code, body) = self.finish(&url, r)?;
        match status {
            200 => Ok(Invoked::Returned {
                code: code.unwrap_or(0),
                output: body,
            }),
            // A call that failed carries its message and what it printed.
            500 | 504 if code.is_some() => {
                let v: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|_| Self::error(&url, status, &body))?;
                Ok(Invoked::Failed {
                    message: v["error"].as_str().unwrap_or_default().to_string(),
                    printed: v["printed"]
                        .as_str()
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec(),
                })
            }
            _ => Err(Self::error(&url, status, &body)),
        }
    }
}
