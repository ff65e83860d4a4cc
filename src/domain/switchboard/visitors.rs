//! Visitors on the site and proactive chat: who is on each site now (for the agents' live
//! list), the campaign's invitation or agent alert once a visitor has been long enough on the
//! site, manual invitations, and an agent opening a chat with a visitor.
//!
//! Rules (unit-tested in `visitor_tests.rs`):
//! - A visit goes on across pages and tabs while the visitor is never away longer than
//!   `VISIT_GAP_MS`; time on site counts from its first connection.
//! - A visitor leaves the live list `LEAVE_MS` after their last tab closed, not at once: the
//!   next page of the site usually connects within that time.
//! - The live list goes only to consoles that asked for it, in one batch per site at most
//!   every `FLUSH_MS`: a busy site's arrivals never flood the consoles.
//! - With invite: one automatic invitation per visit, once the visitor has been `after_secs`
//!   on the site, on a page the campaign's URL rules match, without an open chat, while an
//!   agent of the site is Online; after a refusal another only after `reinvite_after_mins`
//!   (never when 0).
//! - Without invite: at the same moment the first available agent is alerted; an alert not
//!   acted on in `ALERT_MS` goes to the next available agent, each agent once per visit.
//! - Every invitation and alert is stored with its outcome and the chat it led to.

use super::*;
use crate::domain::model::ProactiveMode;
use crate::domain::proactive::{AlertEnd, InvitationMode, InvitationOutcome, InvitationRecord};
use crate::domain::validate::url_rule_matches;

/// A visitor whose last tab closed this long ago has left.
pub(crate) const LEAVE_MS: u64 = 10_000;
/// Away longer than this, a visitor's next connection starts a new visit.
pub(crate) const VISIT_GAP_MS: u64 = 30 * 60_000;
/// An invitation not answered in this time is "ignored".
pub(crate) const INVITATION_MS: u64 = 10 * 60_000;
/// An agent alert not acted on in this time goes to the next agent.
pub(crate) const ALERT_MS: u64 = 60_000;
/// Live-list changes are sent at most this often.
pub(crate) const FLUSH_MS: u64 = 1_000;
/// With nobody Online, an automatic invitation is tried again this much later.
pub(crate) const RECHECK_MS: u64 = 30_000;
/// Pages of a visit kept for the live list.
const MAX_PAGES: usize = 20;
/// Longest invitation text an agent may send.
const MAX_INVITATION_CHARS: usize = 500;

#[derive(Debug)]
pub(crate) struct LiveVisitor {
    pub(crate) site: SiteId,
    pub(crate) campaign: VisitorCampaign,
    pub(crate) conns: BTreeSet<ConnId>,
    pub(crate) visit_started_at: Millis,
    /// When the last tab closed (while no tab is open).
    pub(crate) left_at: Option<Millis>,
    /// Off the live list (no tab for `LEAVE_MS`).
    pub(crate) gone: bool,
    pub(crate) referrer: String,
    pub(crate) client: ClientInfo,
    pub(crate) pages: VecDeque<PageSeen>,
    pub(crate) name: String,
    /// The latest invitation or alert of the visit.
    pub(crate) invitation: Option<InvitationRecord>,
    /// An automatic invitation was made in this visit.
    pub(crate) auto_invited: bool,
    pub(crate) refused_at: Option<Millis>,
    /// Agents alerted in this visit (each once).
    pub(crate) alerted: Vec<UserId>,
}

/// Live-list changes of a site not sent yet.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    pub(crate) changed: BTreeSet<VisitorId>,
    pub(crate) left: BTreeSet<VisitorId>,
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn pending(v: &LiveVisitor) -> Option<&InvitationRecord> {
    v.invitation.as_ref().filter(|i| i.outcome == InvitationOutcome::Pending)
}

impl Switchboard {
    pub(super) fn visitor_connected(&mut self, arrival: VisitorArrival, now: Millis, fx: &mut Fx) {
        let VisitorArrival { conn, visitor, site, campaign, page, name, client } = arrival;
        let campaign = *campaign;
        let fresh = match self.visitors.get(&visitor) {
            None => true,
            Some(v) => v.site != site || v.left_at.is_some_and(|t| now.saturating_sub(t) > VISIT_GAP_MS),
        };
        if fresh {
            self.visitors.insert(
                visitor,
                LiveVisitor {
                    site,
                    campaign: campaign.clone(),
                    conns: BTreeSet::new(),
                    visit_started_at: now,
                    left_at: None,
                    gone: false,
                    referrer: clip(&page.referrer, 2000),
                    client: ClientInfo::default(),
                    pages: VecDeque::new(),
                    name: String::new(),
                    invitation: None,
                    auto_invited: false,
                    refused_at: None,
                    alerted: vec![],
                },
            );
        }
        fx.out.push(Effect::CancelTimer(TimerKey::VisitorLeave(visitor)));
        fx.out.push(Effect::CancelTimer(TimerKey::VisitorForget(visitor)));
        let Some(v) = self.visitors.get_mut(&visitor) else { return };
        v.conns.insert(conn);
        v.client = *client;
        v.left_at = None;
        v.gone = false;
        v.campaign = campaign;
        if !name.is_empty() {
            v.name = clip(&name, 200);
        }
        add_page(v, &page, now);
        if let Some(i) = pending(v).filter(|i| i.mode != InvitationMode::Alert) {
            // A new tab shows the invitation the others show.
            let out = invitation_frame(i, &self.agents);
            fx.send(Target::VisitorConn(conn), out);
        }
        self.visitor_touched(visitor, now, fx);
        self.schedule_proactive(visitor, now, fx);
    }

    pub(super) fn visitor_page(
        &mut self,
        conn: ConnId,
        visitor: VisitorId,
        page: PageReport,
        now: Millis,
        fx: &mut Fx,
    ) {
        let Some(v) = self.visitors.get_mut(&visitor).filter(|v| v.conns.contains(&conn)) else { return };
        add_page(v, &page, now);
        self.visitor_touched(visitor, now, fx);
        self.schedule_proactive(visitor, now, fx);
    }

    pub(super) fn visitor_disconnected(&mut self, conn: ConnId, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        let Some(v) = self.visitors.get_mut(&visitor) else { return };
        if !v.conns.remove(&conn) {
            return;
        }
        if v.conns.is_empty() {
            v.left_at = Some(now);
            fx.out.push(Effect::SetTimer(TimerKey::VisitorLeave(visitor), now + LEAVE_MS));
        } else {
            self.visitor_touched(visitor, now, fx);
        }
    }

    /// The visitor's last tab has been closed for `LEAVE_MS`: off the live list; an open
    /// invitation or alert was ignored.
    pub(super) fn visitor_leave(&mut self, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        let Some(v) = self.visitors.get_mut(&visitor).filter(|v| v.conns.is_empty() && !v.gone) else { return };
        v.gone = true;
        let (site, left_at) = (v.site, v.left_at.unwrap_or(now));
        fx.out.push(Effect::CancelTimer(TimerKey::Proactive(visitor)));
        fx.out.push(Effect::SetTimer(TimerKey::VisitorForget(visitor), left_at + VISIT_GAP_MS));
        self.close_invitation(visitor, InvitationOutcome::Ignored, Some(AlertEnd::Left), now, fx);
        self.mark(site, visitor, true, now, fx);
    }

    pub(super) fn visitor_forget(&mut self, visitor: VisitorId) {
        if self.visitors.get(&visitor).is_some_and(|v| v.conns.is_empty()) {
            self.visitors.remove(&visitor);
        }
    }

    /// Something the live list shows of this visitor changed (page, tabs, chat, invitation).
    pub(super) fn visitor_touched(&mut self, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        if let Some(site) = self.visitors.get(&visitor).filter(|v| !v.gone).map(|v| v.site) {
            self.mark(site, visitor, false, now, fx);
        }
    }

    /// Note a live-list change for the site's watching consoles (none watching: nothing to do).
    fn mark(&mut self, site: SiteId, visitor: VisitorId, left: bool, now: Millis, fx: &mut Fx) {
        if self.watchers.get(&site).is_none_or(|w| w.is_empty()) {
            return;
        }
        let d = self.dirty.entry(site).or_default();
        let was_empty = d.changed.is_empty() && d.left.is_empty();
        if left {
            d.changed.remove(&visitor);
            d.left.insert(visitor);
        } else {
            d.left.remove(&visitor);
            d.changed.insert(visitor);
        }
        if was_empty {
            fx.out.push(Effect::SetTimer(TimerKey::VisitorFlush(site), now + FLUSH_MS));
        }
    }

    pub(super) fn visitor_flush(&mut self, site: SiteId, fx: &mut Fx) {
        let Some(d) = self.dirty.remove(&site) else { return };
        let visitors: Vec<VisitorView> = d.changed.iter().filter_map(|v| self.visitor_view(*v)).collect();
        let left: Vec<VisitorId> = d.left.into_iter().collect();
        if visitors.is_empty() && left.is_empty() {
            return;
        }
        for conn in self.watchers.get(&site).into_iter().flatten() {
            fx.send(
                Target::AgentConn(*conn),
                Out::Visitors { full: false, visitors: visitors.clone(), left: left.clone() },
            );
        }
    }

    pub(super) fn watch_visitors(&mut self, conn: ConnId, agent: UserId, on: bool, fx: &mut Fx) {
        let Some(site) = self.agents.get(&agent).filter(|a| a.conns.contains(&conn)).map(|a| a.profile.site) else {
            return;
        };
        if !on {
            self.unwatch(conn);
            return;
        }
        self.watchers.entry(site).or_default().insert(conn);
        fx.send(
            Target::AgentConn(conn),
            Out::Visitors { full: true, visitors: self.site_visitors(site), left: vec![] },
        );
    }

    pub(super) fn unwatch(&mut self, conn: ConnId) {
        for w in self.watchers.values_mut() {
            w.remove(&conn);
        }
    }

    // ---- proactive chat ----

    /// Set the timer for the moment the visitor may qualify for the campaign's proactive rule.
    fn schedule_proactive(&mut self, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        let Some(v) = self.visitors.get(&visitor) else { return };
        let p = &v.campaign.proactive;
        if p.mode == ProactiveMode::Disabled {
            fx.out.push(Effect::CancelTimer(TimerKey::Proactive(visitor)));
            return;
        }
        let mut at = v.visit_started_at + u64::from(p.after_secs) * 1000;
        if let Some(refused) = v.refused_at.filter(|_| p.reinvite_after_mins > 0) {
            at = at.max(refused + u64::from(p.reinvite_after_mins) * 60_000);
        }
        fx.out.push(Effect::SetTimer(TimerKey::Proactive(visitor), at.max(now)));
    }

    /// The proactive timer fired: invite the visitor or alert an agent when the rule says so.
    pub(super) fn proactive_due(&mut self, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        let Some(v) = self.visitors.get(&visitor).filter(|v| !v.conns.is_empty()) else { return };
        let p = v.campaign.proactive.clone();
        if p.mode == ProactiveMode::Disabled || now < v.visit_started_at + u64::from(p.after_secs) * 1000 {
            return;
        }
        if pending(v).is_some() || self.open_by_visitor.contains_key(&(visitor, v.campaign.id)) {
            return;
        }
        let url = v.pages.back().map(|pg| pg.url.as_str()).unwrap_or("");
        if !p.url_rules.is_empty() && !p.url_rules.iter().any(|r| url_rule_matches(r, url)) {
            return;
        }
        let site = v.site;
        match p.mode {
            ProactiveMode::Disabled => {}
            ProactiveMode::WithInvite => {
                let again = match v.refused_at {
                    Some(t) => p.reinvite_after_mins > 0 && now >= t + u64::from(p.reinvite_after_mins) * 60_000,
                    None => false,
                };
                if v.auto_invited && !again {
                    return;
                }
                let online = self
                    .agents
                    .values()
                    .any(|a| a.profile.site == site && a.profile.active && a.presence == Presence::Online);
                if !online {
                    fx.out.push(Effect::SetTimer(TimerKey::Proactive(visitor), now + RECHECK_MS));
                    return;
                }
                let text = v.campaign.invitation_text.clone();
                self.make_invitation(visitor, InvitationMode::Auto, None, text, now, fx);
            }
            ProactiveMode::WithoutInvite => {
                let key = (site, v.campaign.department.filter(|d| self.queues.contains_key(&(site, Some(*d)))));
                let alerted = v.alerted.clone();
                let agent =
                    self.queues.get(&key).and_then(|q| allocation::pick(self, key, q, &alerted)).or_else(|| {
                        // A site queue is made on first use; without one, any eligible agent of the site.
                        let mut all: Vec<&Agent> = self
                            .agents
                            .values()
                            .filter(|a| a.profile.site == site && allocation::eligible(a))
                            .filter(|a| !alerted.contains(&a.profile.id))
                            .collect();
                        all.sort_by_key(|a| (a.chats.len(), a.last_assigned, a.profile.id));
                        all.first().map(|a| a.profile.id).filter(|_| key.1.is_none())
                    });
                match agent {
                    Some(agent) => {
                        if let Some(v) = self.visitors.get_mut(&visitor) {
                            v.alerted.push(agent);
                        }
                        self.make_invitation(visitor, InvitationMode::Alert, Some(agent), String::new(), now, fx);
                    }
                    // Nobody free now: look again a little later (those alerted already are not asked twice).
                    None => fx.out.push(Effect::SetTimer(TimerKey::Proactive(visitor), now + RECHECK_MS)),
                }
            }
        }
    }

    fn make_invitation(
        &mut self,
        visitor: VisitorId,
        mode: InvitationMode,
        agent: Option<UserId>,
        text: String,
        now: Millis,
        fx: &mut Fx,
    ) {
        let id = InvitationId(self.next_invitation);
        self.next_invitation += 1;
        let Some(v) = self.visitors.get_mut(&visitor) else { return };
        let rec = InvitationRecord {
            id,
            site: v.site,
            campaign: v.campaign.id,
            visitor,
            mode,
            agent,
            text,
            page_url: v.pages.back().map(|p| p.url.clone()).unwrap_or_default(),
            sent_at: now,
            outcome: InvitationOutcome::Pending,
            answered_at: None,
            chat: None,
        };
        if mode == InvitationMode::Auto {
            v.auto_invited = true;
        }
        v.invitation = Some(rec.clone());
        fx.out.push(Effect::PutInvitation(rec.clone()));
        match (mode, agent) {
            (InvitationMode::Alert, Some(agent)) => {
                fx.out.push(Effect::SetTimer(TimerKey::InvitationExpiry(visitor), now + ALERT_MS));
                if let Some(view) = self.visitor_view(visitor) {
                    fx.send(
                        Target::Agent(agent),
                        Out::ProactiveAlert { visitor: Box::new(view), invitation: id, expires_at: now + ALERT_MS },
                    );
                }
            }
            _ => {
                fx.out.push(Effect::SetTimer(TimerKey::InvitationExpiry(visitor), now + INVITATION_MS));
                fx.send(Target::Visitor(visitor), invitation_frame(&rec, &self.agents));
            }
        }
        self.visitor_touched(visitor, now, fx);
    }

    /// End the visitor's open invitation or alert with `outcome` (an alert's agent is told why:
    /// `alert_end`; `None` where the invitation cannot be an alert).
    fn close_invitation(
        &mut self,
        visitor: VisitorId,
        outcome: InvitationOutcome,
        alert_end: Option<AlertEnd>,
        now: Millis,
        fx: &mut Fx,
    ) -> Option<InvitationRecord> {
        let v = self.visitors.get_mut(&visitor)?;
        let inv = v.invitation.as_mut().filter(|i| i.outcome == InvitationOutcome::Pending)?;
        inv.outcome = outcome;
        inv.answered_at = Some(now);
        let rec = inv.clone();
        if outcome == InvitationOutcome::Refused {
            v.refused_at = Some(now);
        }
        fx.out.push(Effect::CancelTimer(TimerKey::InvitationExpiry(visitor)));
        fx.out.push(Effect::PutInvitation(rec.clone()));
        match (rec.mode, rec.agent) {
            (InvitationMode::Alert, Some(agent)) => {
                let reason = alert_end.unwrap_or(AlertEnd::Expired);
                fx.send(Target::Agent(agent), Out::ProactiveAlertWithdrawn { visitor, invitation: rec.id, reason })
            }
            _ => fx.send(Target::Visitor(visitor), Out::InvitationClosed { invitation: rec.id, outcome }),
        }
        self.visitor_touched(visitor, now, fx);
        Some(rec)
    }

    pub(super) fn invitation_expired(&mut self, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        let was_alert = self.close_invitation(visitor, InvitationOutcome::Ignored, Some(AlertEnd::Expired), now, fx);
        if was_alert.is_some_and(|r| r.mode == InvitationMode::Alert) {
            // The next available agent, if any.
            self.proactive_due(visitor, now, fx);
        }
    }

    pub(super) fn answer_invitation(
        &mut self,
        conn: ConnId,
        visitor: VisitorId,
        invitation: InvitationId,
        accept: bool,
        now: Millis,
        fx: &mut Fx,
    ) {
        let current = self.visitors.get(&visitor).and_then(|v| v.invitation.as_ref()).filter(|i| i.id == invitation);
        match current {
            Some(i) if i.outcome == InvitationOutcome::Pending && i.mode != InvitationMode::Alert => {
                let outcome = if accept { InvitationOutcome::Accepted } else { InvitationOutcome::Refused };
                self.close_invitation(visitor, outcome, None, now, fx);
                if !accept {
                    self.schedule_proactive(visitor, now, fx);
                }
            }
            // Answered in another tab, or ran out: tell this tab how it ended.
            Some(i) if i.mode != InvitationMode::Alert => {
                fx.send(Target::VisitorConn(conn), Out::InvitationClosed { invitation, outcome: i.outcome })
            }
            _ => fx.send(
                Target::VisitorConn(conn),
                Out::Error { code: ErrorCode::NotAllowed, client_id: None, chat: None },
            ),
        }
    }

    /// Check that `agent` may reach `visitor`: of the agent's site, on it now, not chatting.
    fn reachable(&self, agent: UserId, visitor: VisitorId) -> Result<(), ErrorCode> {
        let site = self.agents.get(&agent).map(|a| a.profile.site).ok_or(ErrorCode::NotAllowed)?;
        let v = self.visitors.get(&visitor).filter(|v| v.site == site && !v.gone).ok_or(ErrorCode::VisitorGone)?;
        if self.open_by_visitor.contains_key(&(visitor, v.campaign.id)) {
            return Err(ErrorCode::AlreadyChatting);
        }
        Ok(())
    }

    pub(super) fn invite(
        &mut self,
        conn: ConnId,
        agent: UserId,
        visitor: VisitorId,
        text: Option<String>,
        now: Millis,
        fx: &mut Fx,
    ) {
        let check = self.reachable(agent, visitor).and_then(|()| match self.visitors.get(&visitor) {
            Some(v) if pending(v).is_some() => Err(ErrorCode::InvitationPending),
            _ => Ok(()),
        });
        if let Err(code) = check {
            return fx.send(Target::AgentConn(conn), Out::Error { code, client_id: None, chat: None });
        }
        let default = self.visitors.get(&visitor).map(|v| v.campaign.invitation_text.clone()).unwrap_or_default();
        let text = text.map(|t| clip(t.trim(), MAX_INVITATION_CHARS)).filter(|t| !t.is_empty()).unwrap_or(default);
        self.make_invitation(visitor, InvitationMode::Manual, Some(agent), text, now, fx);
    }

    /// An agent opens a chat with a visitor on the site: assigned to them at once, no pre-chat
    /// form; the visitor's widget receives it and opens.
    pub(super) fn open_chat_with(&mut self, conn: ConnId, agent: UserId, visitor: VisitorId, now: Millis, fx: &mut Fx) {
        if let Err(code) = self.reachable(agent, visitor) {
            return fx.send(Target::AgentConn(conn), Out::Error { code, client_id: None, chat: None });
        }
        let Some(v) = self.visitors.get(&visitor) else { return };
        let (site, campaign) = (v.site, v.campaign.clone());
        let page = v.pages.back().cloned();
        let info = VisitorInfo {
            name: v.name.clone(),
            page_url: page.as_ref().map(|p| p.url.clone()).unwrap_or_default(),
            page_title: page.map(|p| p.title).unwrap_or_default(),
            ..VisitorInfo::default()
        };
        let department = campaign.department.filter(|d| self.queues.contains_key(&(site, Some(*d))));
        let id = ChatId(self.next_chat);
        self.next_chat += 1;
        let rec = ChatRecord::queued(id, site, campaign.id, visitor, department, info, now);
        self.chats.insert(id, Chat::new(rec, RecentIds::default()));
        self.open_by_visitor.insert((visitor, campaign.id), id);
        fx.touched.insert(id);
        // No greeting: the agent's first message opens the visitor's window.
        self.assign(id, agent, now, fx);
        if let Some(c) = self.chats.get(&id) {
            fx.send(Target::Visitor(visitor), Out::Chat(c.rec.clone()));
        }
        let alert = self.visitors.get(&visitor).and_then(pending).map(|i| i.mode == InvitationMode::Alert);
        match alert {
            Some(true) => {
                if let Some(rec) =
                    self.close_invitation(visitor, InvitationOutcome::Accepted, Some(AlertEnd::Opened), now, fx)
                {
                    self.link_invitation(visitor, rec.id, id, fx);
                }
            }
            Some(false) => {
                self.close_invitation(visitor, InvitationOutcome::Ignored, None, now, fx);
            }
            None => {}
        }
        self.visitor_touched(visitor, now, fx);
    }

    /// A chat started by the visitor: count it for their accepted invitation, and return the
    /// inviting agent of a manual one (who gets the chat when they can take it).
    pub(super) fn chat_started_by_visitor(
        &mut self,
        visitor: VisitorId,
        chat: ChatId,
        name: &str,
        now: Millis,
        fx: &mut Fx,
    ) -> Option<UserId> {
        let v = self.visitors.get_mut(&visitor)?;
        if !name.is_empty() {
            v.name = clip(name, 200);
        }
        let accepted = v
            .invitation
            .as_ref()
            .filter(|i| i.outcome == InvitationOutcome::Accepted && i.chat.is_none() && i.mode != InvitationMode::Alert)
            .map(|i| (i.id, i.mode, i.agent));
        self.visitor_touched(visitor, now, fx);
        let (id, mode, agent) = accepted?;
        self.link_invitation(visitor, id, chat, fx);
        agent.filter(|_| mode == InvitationMode::Manual)
    }

    /// The page the visitor is on now (a single-page site may have moved on since `hello`).
    pub(super) fn on_current_page(&self, visitor: VisitorId, mut info: VisitorInfo) -> VisitorInfo {
        if let Some(p) = self.visitors.get(&visitor).and_then(|v| v.pages.back()) {
            info.page_url = p.url.clone();
            info.page_title = p.title.clone();
        }
        info
    }

    fn link_invitation(&mut self, visitor: VisitorId, invitation: InvitationId, chat: ChatId, fx: &mut Fx) {
        let Some(inv) =
            self.visitors.get_mut(&visitor).and_then(|v| v.invitation.as_mut()).filter(|i| i.id == invitation)
        else {
            return;
        };
        inv.chat = Some(chat);
        fx.out.push(Effect::PutInvitation(inv.clone()));
    }

    // ---- views ----

    pub fn visitor_view(&self, visitor: VisitorId) -> Option<VisitorView> {
        let v = self.visitors.get(&visitor).filter(|v| !v.gone)?;
        let current = v.pages.back();
        Some(VisitorView {
            id: visitor,
            campaign: v.campaign.id,
            name: v.name.clone(),
            page_url: current.map(|p| p.url.clone()).unwrap_or_default(),
            page_title: current.map(|p| p.title.clone()).unwrap_or_default(),
            referrer: v.referrer.clone(),
            pages: v.pages.iter().cloned().collect(),
            visit_started_at: v.visit_started_at,
            client: v.client.clone(),
            tabs: v.conns.len() as u32,
            chat: self.open_by_visitor.get(&(visitor, v.campaign.id)).copied(),
            invitation: v.invitation.as_ref().map(|i| InvitationBrief { id: i.id, mode: i.mode, outcome: i.outcome }),
        })
    }

    /// The site's visitors now, longest on the site first.
    pub fn site_visitors(&self, site: SiteId) -> Vec<VisitorView> {
        let mut ids: Vec<(Millis, VisitorId)> = self
            .visitors
            .iter()
            .filter(|(_, v)| v.site == site && !v.gone)
            .map(|(id, v)| (v.visit_started_at, *id))
            .collect();
        ids.sort();
        ids.into_iter().filter_map(|(_, id)| self.visitor_view(id)).collect()
    }

    /// The next invitation id (the store's counter at start).
    pub fn set_next_invitation(&mut self, next: u64) {
        self.next_invitation = self.next_invitation.max(next);
    }
}

fn add_page(v: &mut LiveVisitor, page: &PageReport, now: Millis) {
    let url = clip(&page.url, 2000);
    if url.is_empty() || v.pages.back().is_some_and(|p| p.url == url) {
        if let Some(last) = v.pages.back_mut().filter(|_| !page.title.is_empty()) {
            last.title = clip(&page.title, 500);
        }
        return;
    }
    v.pages.push_back(PageSeen { url, title: clip(&page.title, 500), at: now });
    while v.pages.len() > MAX_PAGES {
        v.pages.pop_front();
    }
}

fn invitation_frame(i: &InvitationRecord, agents: &HashMap<UserId, Agent>) -> Out {
    let agent = i.agent.filter(|_| i.mode == InvitationMode::Manual).and_then(|a| agents.get(&a));
    Out::Invitation {
        invitation: i.id,
        text: i.text.clone(),
        mode: i.mode,
        agent: agent.map(|a| a.profile.name.clone()),
    }
}
