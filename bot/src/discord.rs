//! Calling Discord's REST API: one wrapper that counts every call by [`DiscordCall`] and status
//! and turns a failure into [`BotError::Discord`], whose
//! [`DiscordProblem`](crate::error::DiscordProblem) is the one reading of Discord's error codes.
//! Handlers name the call they make; the call knows its route, its words and its metric label.

use std::future::IntoFuture;

use serde::de::DeserializeOwned;
use twilight_http::error::ErrorType;
use twilight_http::response::Response;

use crate::discord_call::DiscordCall;
use crate::error::{BotError, Result};
use crate::metrics::Metrics;

/// Sends a Discord REST request, counting it by call and status.
pub(crate) async fn send<T>(
    metrics: &Metrics,
    call: DiscordCall,
    request: impl IntoFuture<Output = Result<Response<T>, twilight_http::Error>>,
) -> Result<Response<T>> {
    match request.await {
        Ok(response) => {
            metrics.count_rest(call, Some(response.status().get()));
            Ok(response)
        }
        Err(error) => {
            let status = match error.kind() {
                ErrorType::Response { status, .. } => Some(status.get()),
                _ => None,
            };
            metrics.count_rest(call, status);
            Err(BotError::discord(call, error))
        }
    }
}

/// Sends a Discord REST request and reads the answer's body.
pub(crate) async fn send_for_model<T: DeserializeOwned + Unpin + Send + 'static>(
    metrics: &Metrics,
    call: DiscordCall,
    request: impl IntoFuture<Output = Result<Response<T>, twilight_http::Error>>,
) -> Result<T> {
    send(metrics, call, request)
        .await?
        .model()
        .await
        .map_err(|source| BotError::ReadDiscordResponse { call, source })
}
