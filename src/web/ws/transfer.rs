//! The agent socket's transfer frames: turning a console's `transfer` into a switchboard
//! command (with the campaign's texts, the site's settings and, across sites, the target
//! site's cross-site campaign), and the transfer picker (`targets`).

use super::Socket;
use crate::domain::i18n::Message as Text;
use crate::domain::ids::{ChatId, DepartmentId, SiteId, UserId};
use crate::domain::model::Role;
use crate::domain::switchboard::{AgentMode, Command, CrossSite, Presence, TransferTo};
use crate::realtime::protocol::{
    AgentFrame, ErrorDetail, TargetAgent, TargetDepartment, TargetSite, TransferMode, TransferTarget, WireError,
};
use crate::store::StoreError;
use crate::web::state::now_ms;

async fn fail(s: &mut Socket, chat: ChatId, e: WireError, message: Option<&str>) {
    s.error(e, ErrorDetail { message, ..ErrorDetail::chat(chat) }).await;
}

/// Handle `transfer`: resolve what the switchboard needs, then send the command.
pub async fn transfer(s: &mut Socket, me: UserId, site: SiteId, chat: ChatId, target: TransferTarget, comment: String) {
    let state = s.state.clone();
    let Some(Some(rec)) = state.realtime.query(move |sb| sb.chat(chat).cloned()).await else {
        return fail(s, chat, WireError::ChatNotFound, None).await;
    };
    if rec.site != site || rec.agent != Some(me) {
        return fail(s, chat, WireError::ChatNotFound, None).await;
    }
    let scope = state.store.site(site);
    let (Ok(site_rec), Ok(campaign)) = (scope.site(), scope.campaign(rec.campaign)) else {
        return fail(s, chat, WireError::Internal, Some("This chat's site or campaign could not be read.")).await;
    };
    let notice = campaign.notify_transfer.then(|| campaign.message(Text::Transfer).to_string());
    let waiting = campaign.message(Text::Queue).to_string();
    let offer_ms = u64::from(site_rec.transfer.warm_timeout_secs) * 1000;
    let to = match target {
        TransferTarget::Agent { agent, mode, fallback_mins } => {
            let mode = match mode {
                TransferMode::Cold => AgentMode::Cold,
                TransferMode::Warm => AgentMode::Warm,
                TransferMode::Anyway => AgentMode::Anyway,
            };
            TransferTo::Agent { agent, mode, fallback_ms: u64::from(fallback_mins.min(24 * 60)) * 60_000 }
        }
        TransferTarget::Department { department, broadcast } => TransferTo::Department { department, broadcast },
        TransferTarget::Site { site: target, department, agent, with_transcript } => {
            match cross_site(&state, &site_rec.name, target, department, agent) {
                Ok(mut t) => {
                    t.with_transcript = with_transcript.unwrap_or(site_rec.transfer.transcript_cross_site);
                    TransferTo::Site(Box::new(t))
                }
                Err(_) => {
                    let message = "That site cannot receive chats (no such site, or no campaign).";
                    return fail(s, chat, WireError::UnknownTarget, Some(message)).await;
                }
            }
        }
    };
    let conn = s.conn;
    state.realtime.send(Command::Transfer { conn, agent: me, chat, to, comment, notice, waiting, offer_ms }).await;
}

/// The target site's side of a cross-site transfer. Whether the sites share a group is the
/// switchboard's check (it answers `not_in_group`).
fn cross_site(
    state: &crate::web::state::AppState,
    from_site_name: &str,
    target: SiteId,
    department: Option<crate::domain::ids::DepartmentId>,
    agent: Option<UserId>,
) -> Result<CrossSite, StoreError> {
    let scope = state.store.site(target);
    let site = scope.site()?;
    let campaigns = scope.campaigns()?;
    let id = site.cross_site_campaign(&campaigns).ok_or(StoreError::NotFound)?;
    let campaign = campaigns.into_iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?;
    Ok(CrossSite {
        site: target,
        from_site_name: from_site_name.to_string(),
        campaign: campaign.id,
        department: department.or(campaign.department),
        agent,
        with_transcript: true,
        queue_text: campaign.message(Text::Queue).to_string(),
        welcome_text: campaign
            .message(if campaign.notify_transfer { Text::Transfer } else { Text::Greeting })
            .to_string(),
    })
}

/// One site's live state for the picker: can it receive, its agents (presence, active chats),
/// its queues (waiting, oldest queued at).
type SiteLive = (SiteId, bool, Vec<(UserId, Presence, u32)>, Vec<(Option<DepartmentId>, u32, Option<u64>)>);

/// Handle `targets`: the agents, departments and sites this agent may transfer to.
pub async fn targets(s: &mut Socket, me: UserId, site: SiteId, q: String, only: Option<SiteId>) {
    let state = s.state.clone();
    let Some(live) = state
        .realtime
        .query(move |sb| {
            let mut sites = vec![site];
            sites.extend(sb.group_sites(site));
            let live: Vec<SiteLive> = sites
                .iter()
                .map(|s| {
                    let depts = sb.queue_keys(*s).into_iter().map(|d| {
                        let (n, oldest) = sb.queue_stats(*s, d);
                        (d, n, oldest)
                    });
                    (*s, sb.can_receive(*s), sb.site_agents(*s), depts.collect())
                })
                .collect();
            live
        })
        .await
    else {
        return;
    };
    let q = q.trim().to_lowercase();
    let now = now_ms();
    let (mut agents, mut departments, mut sites) = (Vec::new(), Vec::new(), Vec::new());
    for (sid, can_receive, presence, queues) in live {
        if only.is_some_and(|o| o != sid) {
            continue;
        }
        let scope = state.store.site(sid);
        let (Ok(site_rec), Ok(users), Ok(depts)) = (scope.site(), scope.users(), scope.departments()) else { continue };
        if sid != site {
            sites.push(TargetSite { id: sid, name: site_rec.name.clone(), can_receive, with_transcript_default: true });
        }
        for d in &depts {
            let (waiting, oldest) =
                queues.iter().find(|(k, _, _)| *k == Some(d.id)).map(|(_, n, o)| (*n, *o)).unwrap_or((0, None));
            let available = d
                .members
                .iter()
                .filter(|m| presence.iter().any(|(id, p, _)| id == *m && *p != Presence::Offline))
                .count() as u32;
            let hit = q.is_empty() || d.name.to_lowercase().contains(&q);
            if hit {
                departments.push(TargetDepartment {
                    id: d.id,
                    name: d.name.clone(),
                    site: sid,
                    waiting,
                    longest_wait_secs: oldest.map(|o| now.saturating_sub(o) / 1000).unwrap_or(0),
                    available,
                });
            }
        }
        for u in users.iter().filter(|u| u.active && u.id != me && matches!(u.role, Role::Agent | Role::Admin)) {
            let dept_names: Vec<String> =
                depts.iter().filter(|d| d.members.contains(&u.id)).map(|d| d.name.clone()).collect();
            let hit = q.is_empty()
                || u.name.to_lowercase().contains(&q)
                || u.email.contains(&q)
                || dept_names.iter().any(|d| d.to_lowercase().contains(&q))
                || u.skills.iter().any(|k| k.to_lowercase().contains(&q));
            if !hit {
                continue;
            }
            let (p, n) = presence
                .iter()
                .find(|(id, _, _)| *id == u.id)
                .map(|(_, p, n)| (*p, *n))
                .unwrap_or((Presence::Offline, 0));
            agents.push(TargetAgent {
                id: u.id,
                name: u.name.clone(),
                email: u.email.clone(),
                site: sid,
                presence: p,
                active_chats: n,
                max_chats: u.max_chats,
                departments: dept_names,
                skills: u.skills.clone(),
            });
        }
    }
    let own = state.store.site(site).site().map(|s| s.transfer.transcript_cross_site).unwrap_or(true);
    for t in &mut sites {
        t.with_transcript_default = own;
    }
    s.send(&AgentFrame::Targets { agents: &agents, departments: &departments, sites: &sites }.frame()).await;
}
