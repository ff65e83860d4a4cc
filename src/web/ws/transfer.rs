//! The agent socket's transfer frames: `transfer` becomes one switchboard command (the
//! switchboard resolves the campaign's texts, the site's settings and the target site's
//! cross-site campaign from its directory), and `targets` is one question to the switchboard.

use super::Socket;
use crate::domain::ids::{ChatId, SiteId, UserId};
use crate::domain::switchboard::{AgentMode, Command, TransferRequest, TransferTo};
use crate::realtime::protocol::{AgentFrame, ErrorDetail, TransferMode, TransferTarget, WireError};
use crate::web::state::now_ms;

/// The longest "transfer anyway" fallback: 24 hours.
pub const MAX_FALLBACK_MINS: u32 = 24 * 60;

/// Handle `transfer`.
pub async fn transfer(s: &mut Socket, me: UserId, chat: ChatId, target: TransferTarget, comment: String) {
    let to = match target {
        TransferTarget::Agent { fallback_mins, .. } if fallback_mins > MAX_FALLBACK_MINS => {
            let message = "fallback_mins is at most 1440 (24 hours).";
            return s
                .error(WireError::BadFrame, ErrorDetail { message: Some(message), ..ErrorDetail::chat(chat) })
                .await;
        }
        TransferTarget::Agent { agent, mode, fallback_mins } => {
            let mode = match mode {
                TransferMode::Cold => AgentMode::Cold,
                TransferMode::Warm => AgentMode::Warm,
                TransferMode::Anyway => AgentMode::Anyway,
            };
            TransferTo::Agent { agent, mode, fallback_ms: u64::from(fallback_mins) * 60_000 }
        }
        TransferTarget::Department { department, broadcast } => TransferTo::Department { department, broadcast },
        TransferTarget::Site { site, department, agent, with_transcript } => {
            TransferTo::Site { site, department, agent, with_transcript }
        }
    };
    let req = TransferRequest { conn: s.conn, agent: me, chat, to, comment };
    s.state.realtime.send(Command::Transfer(Box::new(req))).await;
}

/// Handle `targets`: the agents, departments and sites this agent may transfer to.
pub async fn targets(s: &mut Socket, me: UserId, q: String, only: Option<SiteId>) {
    let now = now_ms();
    let Some(found) = s.state.realtime.query(move |sb| sb.targets(me, &q, only, now)).await else { return };
    s.send(&AgentFrame::targets(&found).frame()).await;
}
