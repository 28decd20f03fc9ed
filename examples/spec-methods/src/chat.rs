//! A chat room over groups: what the `chat` example serves.

use channels_rpc::{json, rpc_method, RpcContext, RpcError};

/// Joins `room`: this connection receives the room's `chat.message` notifications.
#[rpc_method]
pub async fn join(ctx: &RpcContext, room: String) -> Result<bool, RpcError> {
    ctx.group_add(&room).await?;
    Ok(true)
}

/// Leaves `room`.
#[rpc_method]
pub async fn leave(ctx: &RpcContext, room: String) -> Result<bool, RpcError> {
    ctx.group_discard(&room).await?;
    Ok(true)
}

/// Sends `text` to every member of `room` as `chat.message({"room", "text"})`.
#[rpc_method]
pub async fn say(ctx: &RpcContext, room: String, text: String) -> Result<bool, RpcError> {
    ctx.notify_group(&room, "chat.message", &json!({"room": room, "text": text}))
        .await?;
    Ok(true)
}
