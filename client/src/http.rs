//! HTTP: each call or batch is one POST.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::builder::ClientBuilder;
use crate::error::{Error, Result};
use crate::message::{parse, Incoming};

pub(crate) struct HttpTransport {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    uri: Uri,
    headers: HeaderMap,
    max_message_size: usize,
    permits: Arc<Semaphore>,
    max_pending: usize,
}

impl HttpTransport {
    pub(crate) fn new(config: &ClientBuilder) -> Result<Self> {
        let uri: Uri = config
            .url
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
                url: config.url.clone(),
                reason: e.to_string(),
            })?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        Ok(Self {
            client: HyperClient::builder(TokioExecutor::new()).build(connector),
            uri,
            headers: config.headers.clone(),
            max_message_size: config.max_message_size,
            permits: Arc::new(Semaphore::new(config.max_pending)),
            max_pending: config.max_pending,
        })
    }

    /// A permit to wait for an answer, or [`Error::TooManyPending`].
    pub(crate) fn permit(&self) -> Result<OwnedSemaphorePermit> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::TooManyPending {
                limit: self.max_pending,
            })
    }

    /// How many calls wait for their answers.
    pub(crate) fn pending(&self) -> usize {
        self.max_pending - self.permits.available_permits()
    }

    /// Posts `body`; the answer's messages.
    pub(crate) async fn post(&self, body: &Value, timeout: Duration, method: &str) -> Result<Vec<Incoming>> {
        let (status, body) = self.within(timeout, method, self.exchange(body)).await?;
        // A server may send a JSON-RPC error with a 4xx/5xx status: the error object counts.
        match parse(&body) {
            Ok(messages) => Ok(messages),
            Err(_) if !status.is_success() => Err(Error::transport(format!("HTTP status {status}"))),
            Err(error) => Err(error),
        }
    }

    /// Posts a notification: any success status will do, the body (if any) is not read as an answer.
    pub(crate) async fn post_notification(&self, body: &Value, timeout: Duration, method: &str) -> Result<()> {
        let (status, _) = self.within(timeout, method, self.exchange(body)).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::transport(format!("HTTP status {status}")))
        }
    }

    async fn within<T>(&self, timeout: Duration, method: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(timeout, work).await.map_err(|_| Error::Timeout {
            method: method.to_owned(),
            after: timeout,
        })?
    }

    async fn exchange(&self, body: &Value) -> Result<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(Error::transport)?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name, value.clone());
        }
        let response = self.client.request(request).await.map_err(Error::transport)?;
        let status = response.status();
        let body = Limited::new(response.into_body(), self.max_message_size)
            .collect()
            .await
            .map_err(Error::Transport)?
            .to_bytes();
        Ok((status, body))
    }
}
