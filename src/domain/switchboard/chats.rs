//! Chats: starting one, messages and notes (exactly once), ending, the survey, event numbering.

use super::*;

impl Switchboard {
    // ---- chats ----

    pub(super) fn start_chat(&mut self, req: StartChat, now: Millis, fx: &mut Fx) {
        let StartChat { conn, site, campaign, department, visitor, info, texts } = req;
        if let Some(c) = self.open_by_visitor.get(&(visitor, campaign)).and_then(|id| self.chats.get(id)) {
            fx.send(Target::VisitorConn(conn), Out::Chat(c.rec.clone()));
            return;
        }
        if !self.site_available(site) {
            fx.send(Target::VisitorConn(conn), Out::Offline { chat: None });
            return;
        }
        // A department that is not (or no longer) known to the directory: the site queue.
        let department = department.filter(|d| self.queues.contains_key(&(site, Some(*d))));
        let id = ChatId(self.next_chat);
        self.next_chat += 1;
        let info = self.on_current_page(visitor, info);
        let rec = ChatRecord::queued(id, site, campaign, visitor, department, info, now);
        self.chats.insert(id, Chat::new(rec, RecentIds::default()));
        self.open_by_visitor.insert((visitor, campaign), id);
        fx.touched.insert(id);
        if !texts.greeting.is_empty() {
            self.append(id, EventKind::System { text: texts.greeting }, None, now, fx);
        }
        self.append(id, EventKind::Queued { department }, None, now, fx);
        let name = self.chats.get(&id).map(|c| c.rec.info.name.clone()).unwrap_or_default();
        let inviter = self.chat_started_by_visitor(visitor, id, &name, now, fx);
        if let Some(c) = self.chats.get(&id) {
            fx.send(Target::Visitor(visitor), Out::Chat(c.rec.clone()));
        }
        // Accepting an agent's own invitation brings the visitor to that agent when they can
        // take the chat now; otherwise the chat waits in the queue like any other.
        if let Some(agent) = inviter.filter(|a| self.agents.get(a).is_some_and(allocation::eligible)) {
            self.assign(id, agent, now, fx);
            return;
        }
        self.queue_mut((site, department)).waiting.push_back(id);
        self.dispatch(site, now, fx);
        if self.chats.get(&id).is_some_and(|c| c.rec.status() == ChatStatus::Queued) {
            if !texts.queue.is_empty() {
                self.append(id, EventKind::System { text: texts.queue }, None, now, fx);
            }
            if self.cfg.max_queue_wait_ms > 0 {
                fx.out.push(Effect::SetTimer(TimerKey::QueueWait(id), now + self.cfg.max_queue_wait_ms));
            }
            self.announce_queue((site, department), fx);
        }
    }

    /// Check that `party` may act on `chat`: the chat's visitor, or its agent.
    pub(super) fn check_party(&self, chat: ChatId, party: Party) -> Result<(), ErrorCode> {
        let c = self.chats.get(&chat).ok_or(ErrorCode::ChatNotFound)?;
        let ok = match party {
            Party::Visitor(v) => c.rec.visitor == v,
            Party::Agent(a) => c.rec.agent() == Some(a),
        };
        if ok { Ok(()) } else { Err(ErrorCode::ChatNotFound) }
    }

    pub(super) fn message(&mut self, m: NewMessage, now: Millis, fx: &mut Fx) {
        let NewMessage { conn, from, chat, client_id, text, note, file } = m;
        let err = |fx: &mut Fx, code| {
            fx.send(
                Target::reply(from, conn),
                Out::Error { code, client_id: Some(client_id.clone()), chat: Some(chat) },
            )
        };
        if let Err(code) = self.check_party(chat, from) {
            return err(fx, code);
        }
        let Some(c) = self.chats.get(&chat) else { return err(fx, ErrorCode::ChatNotFound) };
        let key = client_key(from, &client_id);
        if let Some(seq) = c.client_ids.get(&key) {
            // A resend: acknowledge again, store nothing.
            fx.send(Target::reply(from, conn), Out::Ack { chat, client_id, seq });
            return;
        }
        if c.rec.status() == ChatStatus::Ended {
            return err(fx, ErrorCode::ChatEnded);
        }
        let text = text.trim().to_string();
        if text.is_empty() && file.is_none() {
            return err(fx, ErrorCode::EmptyMessage);
        }
        if text.len() > self.cfg.max_message_bytes {
            return err(fx, ErrorCode::MessageTooLong);
        }
        let kind = match from {
            Party::Visitor(_) if note => return err(fx, ErrorCode::NotAllowed),
            Party::Visitor(_) => EventKind::Message { author: Author::Visitor, text, file },
            Party::Agent(a) => {
                let name = self.agents.get(&a).map(|x| x.profile.name.clone()).unwrap_or_default();
                if note {
                    EventKind::Note { agent: a, name, text }
                } else {
                    EventKind::Message { author: Author::Agent { agent: a, name }, text, file }
                }
            }
        };
        let replied = matches!(kind, EventKind::Message { author: Author::Agent { .. }, .. });
        let seq = self.append(chat, kind, Some(client_id.clone()), now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.client_ids.insert(key, seq);
            c.owner_replied |= replied;
        }
        fx.send(Target::reply(from, conn), Out::Ack { chat, client_id, seq });
    }

    pub(super) fn survey(&mut self, answer: SurveyAnswer, now: Millis, fx: &mut Fx) {
        let SurveyAnswer { conn, visitor, chat, rating, comment } = answer;
        let err = |fx: &mut Fx, code| {
            fx.send(Target::VisitorConn(conn), Out::Error { code, client_id: None, chat: Some(chat) })
        };
        let Some(c) = self.chats.get(&chat).filter(|c| c.rec.visitor == visitor) else {
            return err(fx, ErrorCode::ChatNotFound);
        };
        if c.rec.status() != ChatStatus::Ended || c.rec.survey.is_some() {
            return err(fx, ErrorCode::NotAllowed);
        }
        if !(1..=5).contains(&rating) {
            return err(fx, ErrorCode::InvalidRating);
        }
        let comment: String = comment.trim().chars().take(1000).collect();
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.survey = Some(crate::domain::chat::Survey { rating, comment: comment.clone() });
        }
        self.append(chat, EventKind::Survey { rating, comment }, None, now, fx);
    }

    /// Append an event with the chat's next sequence number and send it to who may see it.
    pub(super) fn append(
        &mut self,
        chat: ChatId,
        kind: EventKind,
        client_id: Option<String>,
        now: Millis,
        fx: &mut Fx,
    ) -> u64 {
        let Some(c) = self.chats.get_mut(&chat) else { return 0 };
        c.rec.last_seq += 1;
        c.conversation += u64::from(kind.is_conversation());
        let event = ChatEvent { chat, seq: c.rec.last_seq, at: now, client_id, kind };
        if event.kind.visible_to_visitor() {
            fx.send(Target::Visitor(c.rec.visitor), Out::Event(event.clone()));
        }
        if let Some(a) = c.rec.agent() {
            fx.send(Target::Agent(a), Out::Event(event.clone()));
        }
        fx.touched.insert(chat);
        let seq = event.seq;
        fx.out.push(Effect::Append(event));
        seq
    }

    pub(super) fn end(&mut self, chat: ChatId, by: EndedBy, now: Millis, fx: &mut Fx) {
        let Some(c) = self.chats.get_mut(&chat) else { return };
        if c.rec.status() == ChatStatus::Ended {
            return;
        }
        let key = (c.rec.site, c.rec.department);
        let (visitor, campaign, agent) = (c.rec.visitor, c.rec.campaign, c.rec.agent());
        // In its queue (not a chat just released by a transfer, which is in none).
        let was_queued = self.queues.get(&key).is_some_and(|q| q.waiting.contains(&chat));
        // An offer still open is stopped first, so its step ("cancelled", "chat ended") is in
        // the chat's history before its end.
        self.transfers_end(chat, now, fx);
        self.append(chat, EventKind::Ended { by }, None, now, fx);
        if let Some(c) = self.chats.get_mut(&chat) {
            c.rec.state = ChatState::Ended { at: now, by, agent: c.rec.agent() };
        }
        if self.open_by_visitor.get(&(visitor, campaign)) == Some(&chat) {
            self.open_by_visitor.remove(&(visitor, campaign));
        }
        if let Some(c) = self.chats.get_mut(&chat) {
            // Only a resend of the last few messages can still come for an ended chat.
            c.client_ids.keep_latest(ENDED_RESEND_WINDOW);
        }
        let aliases = self.chats.get_mut(&chat).map(|c| std::mem::take(&mut c.also_open_as)).unwrap_or_default();
        for alias in aliases {
            if self.open_by_visitor.get(&alias) == Some(&chat) {
                self.open_by_visitor.remove(&alias);
            }
        }
        self.ended.push_back(chat);
        while self.ended.len() > KEEP_ENDED {
            if let Some(old) = self.ended.pop_front() {
                self.chats.remove(&old);
            }
        }
        if was_queued {
            if let Some(q) = self.queues.get_mut(&key) {
                q.waiting.retain(|id| *id != chat);
            }
            fx.out.push(Effect::CancelTimer(TimerKey::QueueWait(chat)));
            self.announce_queue(key, fx);
        }
        // Colleagues are told of status changes only: a count per assignment would send
        // (chats × agents) frames in a rush; the picker (`targets`) reads current counts.
        if let Some(a) = agent.and_then(|a| self.agents.get_mut(&a)) {
            a.chats.remove(&chat);
        }
        self.visitor_touched(visitor, now, fx);
    }
}
