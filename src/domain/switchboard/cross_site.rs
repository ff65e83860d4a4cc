//! Cross-site transfer: only between sites of a shared group and while the target site has
//! someone Online or Away. The chat ends on the source site; a new chat goes on at the target
//! site under its cross-site campaign, in the same visitor window, with the visitor's name and
//! email, the transcript when asked, and a transfer log for the receiving agent.

use super::transfer::{Move, Step};
use super::*;
use crate::domain::i18n::Message as Text;

impl Switchboard {
    /// The target site's side of a cross-site transfer of `chat`, from the directory: its
    /// cross-site campaign (and that campaign's department, texts and language), the source
    /// site's name and its "with transcript" default. `None` when the site has no campaign.
    pub(super) fn cross_site_target(
        &self,
        chat: ChatId,
        site: SiteId,
        department: Option<DepartmentId>,
        agent: Option<UserId>,
        with_transcript: Option<bool>,
    ) -> Option<CrossSite> {
        let source = self.sites.get(&self.chats.get(&chat)?.rec.site);
        let target = self.sites.get(&site)?;
        let campaign = target.campaigns.iter().find(|c| Some(c.id) == target.cross_site_campaign)?;
        let welcome = if campaign.notify_transfer { Text::Transfer } else { Text::Greeting };
        Some(CrossSite {
            site,
            from_site_name: source.map(|s| s.name.clone()).unwrap_or_default(),
            campaign: campaign.id,
            department: department.or(campaign.department),
            agent,
            with_transcript: with_transcript.unwrap_or_else(|| source.is_none_or(|s| s.settings.transcript_cross_site)),
            queue_text: campaign.message(Text::Queue).to_string(),
            welcome_text: campaign.message(welcome).to_string(),
        })
    }

    pub(super) fn cross_site(&mut self, m: Move, t: CrossSite, now: Millis, fx: &mut Fx) -> Result<(), ErrorCode> {
        let Move { from, chat, comment, notice, .. } = m;
        let source = self.own_chat(chat, from)?.rec.clone();
        // The windows that find the source chat now (its campaign's, and those it inherited
        // from earlier moves): they are to find the new chat.
        let windows: Vec<(VisitorId, CampaignId)> = std::iter::once((source.visitor, source.campaign))
            .chain(self.chats.get(&chat).map(|c| c.also_open_as.clone()).unwrap_or_default())
            .filter(|k| self.open_by_visitor.get(k) == Some(&chat))
            .collect();
        if t.site == source.site || !self.groups.iter().any(|g| g.contains(&source.site) && g.contains(&t.site)) {
            return Err(ErrorCode::NotInGroup);
        }
        if !self.site_available(t.site) {
            return Err(ErrorCode::SiteUnavailable);
        }
        if let Some(a) = t.agent {
            if !self.agents.get(&a).is_some_and(|x| x.profile.site == t.site && x.profile.active) {
                return Err(ErrorCode::UnknownTarget);
            }
        }
        let department = t.department.filter(|d| self.queues.contains_key(&(t.site, Some(*d))));
        if t.department.is_some() && department.is_none() {
            return Err(ErrorCode::UnknownTarget);
        }
        // The source site's chat ends here; its agent can no longer follow it.
        let mut step = Step::new(TransferKind::CrossSite, TransferOutcome::Completed, from);
        step.to_site = Some(t.site);
        step.to_agent = t.agent;
        step.to_department = department;
        step.comment = comment.clone();
        self.leave_source(chat, step, &notice, now, fx);
        self.end(chat, EndedBy::Transfer, now, fx);
        let (up_to, conversation) = self.chats.get(&chat).map(|c| (c.rec.last_seq, c.conversation)).unwrap_or((0, 0));
        let copied = if t.with_transcript { conversation } else { 0 };
        // A new chat on the target site, under its cross-site campaign, in the same window.
        let id = ChatId(self.next_chat);
        self.next_chat += 1;
        let info = VisitorInfo {
            name: source.info.name.clone(),
            email: source.info.email.clone(),
            page_url: source.info.page_url.clone(),
            page_title: source.info.page_title.clone(),
            ..Default::default()
        };
        let origin = super::super::chat::Origin {
            site: source.site,
            site_name: t.from_site_name.clone(),
            chat,
            agent: from,
            agent_name: self.agent_name(from),
            at: now,
            comment: comment.clone(),
            with_transcript: t.with_transcript,
            copied,
        };
        let mut rec = ChatRecord::queued(id, t.site, t.campaign, source.visitor, department, info, now);
        // The conversation comes along, not the source site's notes, transfer log or end.
        rec.last_seq = copied;
        rec.origin = Some(origin);
        if t.with_transcript {
            fx.out.push(Effect::CopyEvents { from: (source.site, chat), to: (t.site, id), up_to, copied });
        }
        let mut new_chat = Chat::new(rec, RecentIds::default());
        new_chat.conversation = copied;
        // The windows that found the source find it; so does the target campaign's, unless that
        // one has its own open chat already. A key held by another open chat is never taken.
        let own = (source.visitor, t.campaign);
        self.open_by_visitor.entry(own).or_insert(id);
        for key in windows.into_iter().filter(|k| *k != own) {
            if let std::collections::hash_map::Entry::Vacant(e) = self.open_by_visitor.entry(key) {
                e.insert(id);
                new_chat.also_open_as.push(key);
            }
        }
        self.chats.insert(id, new_chat);
        fx.touched.insert(id);
        let mut step = Step::new(TransferKind::CrossSite, TransferOutcome::Completed, from);
        step.to_site = Some(t.site);
        step.to_agent = t.agent;
        step.to_department = department;
        step.comment = comment;
        self.record(id, step, now, fx);
        // The receiving campaign speaks first, in its language, whether the chat is taken at
        // once or waits.
        if !t.welcome_text.is_empty() {
            self.append(id, EventKind::System { text: t.welcome_text }, None, now, fx);
        }
        match t.agent {
            Some(a) => {
                if let Some(c) = self.chats.get_mut(&id) {
                    c.rec.state = ChatState::WaitingFor(a);
                }
                if let Some(x) = self.agents.get_mut(&a) {
                    x.waiting.push_back(id);
                }
            }
            None => {
                self.append(id, EventKind::Queued { department }, None, now, fx);
                self.queue_mut((t.site, department)).waiting.push_back(id);
            }
        }
        if let Some(c) = self.chats.get(&id) {
            fx.send(Target::Visitor(source.visitor), Out::Chat(c.rec.clone()));
        }
        self.dispatch(t.site, now, fx);
        if self.chats.get(&id).is_some_and(|c| c.rec.status() == ChatStatus::Queued) {
            if !t.queue_text.is_empty() {
                self.append(id, EventKind::System { text: t.queue_text }, None, now, fx);
            }
            self.announce_queue((t.site, department), fx);
        }
        Ok(())
    }
}
