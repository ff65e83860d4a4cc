//! Webhook endpoints and their delivery outbox. A delivery is written in the transaction of
//! its event (`record`, called by the switchboard's writes, the message left, the invitation
//! answered), one per endpoint that wants it, with its due time in `WEBHOOK_DUE`; the sender
//! (`src/webhooks.rs`) takes what is due, posts it and records the outcome. A delivery is
//! marked delivered only after the receiver answered 2xx, so a crash in between posts it again
//! (at least once, with the same event id).

use super::codec::{decode, encode};
use super::tables::{CHATS, WEBHOOK_DELIVERIES, WEBHOOK_DUE, WEBHOOKS};
use super::{ChatWrite, SiteStore, Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::chat::{ChatEvent, ChatRecord};
use crate::domain::ids::{SiteId, VisitorId};
use crate::domain::mail::MailKind;
use crate::domain::proactive::InvitationRecord;
use crate::domain::webhooks::{Delivery, DeliveryStatus, Endpoint, EventType, Hook, backoff_ms};
use redb::{ReadableTable, WriteTransaction};
use std::collections::BTreeMap;

/// What a batch of the switchboard's writes may tell endpoints, noted while it is written (by
/// position in the batch: nothing is copied on the way of every message) and turned into
/// deliveries at its end, with the chats as the batch leaves them.
#[derive(Default)]
pub(super) struct Sources {
    /// New chats: positions of their records.
    started: Vec<usize>,
    /// Positions of events that have a webhook type, with their site.
    events: Vec<(SiteId, usize)>,
    /// Invitations that may have been answered, with what was stored before.
    invitations: Vec<(Option<InvitationRecord>, usize)>,
    sites: Vec<SiteId>,
}

impl Sources {
    pub(super) fn chat(&mut self, at: usize, old: Option<&ChatRecord>, c: &ChatRecord) {
        if old.is_none() {
            self.started.push(at);
            self.sites.push(c.site);
        }
    }

    pub(super) fn event(&mut self, at: usize, site: SiteId, e: &ChatEvent) {
        if crate::domain::webhooks::event_type_of(&e.kind).is_some() {
            self.events.push((site, at));
            self.sites.push(site);
        }
    }

    pub(super) fn invitation(&mut self, at: usize, old: Option<&InvitationRecord>, i: &InvitationRecord) {
        if old.is_none_or(|o| o.outcome != i.outcome) {
            self.invitations.push((old.cloned(), at));
            self.sites.push(i.site);
        }
    }

    /// Write the deliveries for every endpoint that wants one of these events (`writes`: the
    /// batch the positions point into).
    pub(super) fn record(mut self, txn: &WriteTransaction, writes: &[ChatWrite]) -> Result<(), StoreError> {
        self.sites.sort();
        self.sites.dedup();
        let mut endpoints = BTreeMap::new();
        for &site in &self.sites {
            let list = site_endpoints(txn, site)?;
            if !list.is_empty() {
                endpoints.insert(site, list);
            }
        }
        if endpoints.is_empty() {
            return Ok(());
        }
        let wants = |site: SiteId, e: EventType| endpoints.get(&site).is_some_and(|l| l.iter().any(|p| p.wants(e)));
        let mut hooks = Vec::new();
        for &at in &self.started {
            if let Some(ChatWrite::Chat(c)) = writes.get(at)
                && wants(c.site, EventType::ChatStarted)
                && let Some(h) = crate::domain::webhooks::chat_record_hook(None, c)
            {
                hooks.push(h);
            }
        }
        {
            let chats = txn.open_table(CHATS)?;
            for &(site, at) in &self.events {
                let Some(ChatWrite::Event(_, e)) = writes.get(at) else { continue };
                let Some(kind) = crate::domain::webhooks::event_type_of(&e.kind) else { continue };
                if !wants(site, kind) {
                    continue;
                }
                let Some(v) = chats.get((site.0, e.chat.0))? else { continue };
                let chat: ChatRecord = decode(v.value())?;
                hooks.extend(crate::domain::webhooks::event_hook(&chat, e));
            }
        }
        for (old, at) in &self.invitations {
            if let Some(ChatWrite::Invitation(i)) = writes.get(*at)
                && wants(i.site, EventType::InvitationAnswered)
            {
                hooks.extend(crate::domain::webhooks::invitation_hook(old.as_ref(), i));
            }
        }
        for hook in hooks {
            let list = endpoints.get(&hook.site).map(Vec::as_slice).unwrap_or_default();
            deliver_to(txn, list, &hook)?;
        }
        Ok(())
    }
}

/// The endpoints of `site`.
fn site_endpoints(txn: &WriteTransaction, site: SiteId) -> Result<Vec<Endpoint>, StoreError> {
    txn.open_table(WEBHOOKS)?.range((site.0, 0)..=(site.0, u64::MAX))?.map(|e| decode(e?.1.value())).collect()
}

/// A delivery of `hook` for each of `endpoints` that wants it, due at once (or waiting, for a
/// paused endpoint).
fn deliver_to(txn: &WriteTransaction, endpoints: &[Endpoint], hook: &Hook) -> Result<(), StoreError> {
    for p in endpoints.iter().filter(|p| p.wants(hook.event) || hook.event == EventType::Test) {
        let d = Delivery {
            id: next_id(txn, "webhook_delivery")?,
            site: hook.site,
            endpoint: p.id,
            event_id: hook.event_id.clone(),
            event: hook.event,
            body: hook.body(),
            visitor: hook.visitor,
            created_at: hook.at,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_at: hook.at,
            done_at: None,
            last_code: None,
            last_error: None,
            last_attempt_at: None,
        };
        put_delivery(txn, None, &d, p.paused_at.is_none())?;
    }
    Ok(())
}

/// Write a delivery (replacing `old`), keeping the due index in step: a pending delivery is
/// due unless its endpoint is paused.
fn put_delivery(txn: &WriteTransaction, old: Option<&Delivery>, d: &Delivery, due_now: bool) -> Result<(), StoreError> {
    let mut due = txn.open_table(WEBHOOK_DUE)?;
    if let Some(o) = old {
        due.remove((o.next_at, o.site.0, o.id))?;
    }
    if d.status == DeliveryStatus::Pending && due_now {
        due.insert((d.next_at, d.site.0, d.id), ())?;
    }
    txn.open_table(WEBHOOK_DELIVERIES)?.insert((d.site.0, d.id), encode(d).as_slice())?;
    Ok(())
}

/// Write the deliveries of a hook outside the switchboard (a message left).
pub(super) fn record_hook(txn: &WriteTransaction, hook: &Hook) -> Result<(), StoreError> {
    let list = site_endpoints(txn, hook.site)?;
    if list.iter().any(|p| p.wants(hook.event)) {
        deliver_to(txn, &list, hook)?;
    }
    Ok(())
}

/// Remove the deliveries `gone` says of `site`, with their due entries.
fn remove_deliveries(
    txn: &WriteTransaction,
    site: SiteId,
    gone: impl Fn(&Delivery) -> bool,
) -> Result<usize, StoreError> {
    let mut keys = Vec::new();
    txn.open_table(WEBHOOK_DELIVERIES)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, v| {
        match decode::<Delivery>(v) {
            Ok(d) if gone(&d) => {
                keys.push((d.next_at, d.site.0, d.id));
                false
            }
            _ => true,
        }
    })?;
    let mut due = txn.open_table(WEBHOOK_DUE)?;
    for k in &keys {
        due.remove(*k)?;
    }
    Ok(keys.len())
}

/// Remove a deleted site's endpoints and deliveries.
pub(super) fn erase_site_webhooks(txn: &WriteTransaction, site: SiteId) -> Result<(), StoreError> {
    remove_deliveries(txn, site, |_| true)?;
    txn.open_table(WEBHOOKS)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, _| false)?;
    Ok(())
}

/// Remove every delivery carrying `visitor`'s data (erasure).
pub(super) fn erase_deliveries_of(txn: &WriteTransaction, site: SiteId, visitor: VisitorId) -> Result<(), StoreError> {
    remove_deliveries(txn, site, |d| d.visitor == Some(visitor)).map(|_| ())
}

/// What an admin sets on an endpoint.
#[derive(Debug)]
pub struct EndpointDraft {
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
}

/// When to try a failed delivery again, give it up, and pause its endpoint
/// (`[webhooks] retry_secs`, `give_up_hours`, `pause_after_hours`).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub retry_ms: Millis,
    pub give_up_ms: Millis,
    pub pause_after_ms: Millis,
}

/// How an attempt went, for `Store::finish_delivery`.
pub struct Attempt {
    pub at: Millis,
    /// 2xx from the receiver.
    pub ok: bool,
    pub code: Option<u16>,
    pub error: Option<String>,
}

/// Deliveries due now with their endpoints, and when the next one after them is due.
pub type Due = (Vec<(Delivery, Endpoint)>, Option<Millis>);

impl Store {
    /// Up to `limit` pending deliveries due at `now`, first due first; and when the next one
    /// after them is due.
    pub fn due_deliveries(&self, now: Millis, limit: usize) -> Result<Due, StoreError> {
        self.read(|r| {
            let due = r.open_table(WEBHOOK_DUE)?;
            let deliveries = r.open_table(WEBHOOK_DELIVERIES)?;
            let endpoints = r.open_table(WEBHOOKS)?;
            let mut out = Vec::new();
            for e in due.iter()? {
                let (at, site, id) = e?.0.value();
                if at > now || out.len() == limit {
                    return Ok((out, Some(at)));
                }
                let Some(d) = deliveries.get((site, id))? else { continue };
                let d: Delivery = decode(d.value())?;
                let Some(p) = endpoints.get((site, d.endpoint))? else { continue };
                out.push((d, decode(p.value())?));
            }
            Ok((out, None))
        })
    }

    /// Record an attempt: the delivery delivered, due again after its back-off, or given up
    /// after the policy's time of failures; the endpoint working again, failing, or paused once
    /// it has failed for the policy's time. Returns the endpoint when this attempt paused it.
    pub async fn finish_delivery(
        &self,
        site: SiteId,
        id: u64,
        attempt: Attempt,
        policy: Policy,
    ) -> Result<Option<Endpoint>, StoreError> {
        let mail = self.mail_enabled();
        self.write(move |txn| {
            let old: Delivery = {
                let t = txn.open_table(WEBHOOK_DELIVERIES)?;
                let v = t.get((site.0, id))?.ok_or(StoreError::NotFound)?;
                decode(v.value())?
            };
            let mut d = old.clone();
            d.attempts += 1;
            d.last_attempt_at = Some(attempt.at);
            d.last_code = attempt.code;
            d.last_error = attempt.error.clone();
            if attempt.ok {
                d.status = DeliveryStatus::Delivered;
                d.done_at = Some(attempt.at);
            } else if attempt.at.saturating_sub(d.created_at) >= policy.give_up_ms {
                d.status = DeliveryStatus::Failed;
                d.done_at = Some(attempt.at);
            } else {
                d.next_at = attempt.at + backoff_ms(d.attempts, policy.retry_ms);
            }
            let mut endpoints = txn.open_table(WEBHOOKS)?;
            let found: Option<Endpoint> =
                endpoints.get((site.0, d.endpoint))?.map(|v| decode(v.value())).transpose()?;
            let mut paused = None;
            let mut active = false;
            if let Some(mut p) = found {
                if attempt.ok {
                    p.failing_since = None;
                    p.last_success_at = Some(attempt.at);
                } else {
                    let since = *p.failing_since.get_or_insert(attempt.at);
                    if p.paused_at.is_none() && attempt.at.saturating_sub(since) >= policy.pause_after_ms {
                        p.paused_at = Some(attempt.at);
                        p.paused_by_failures = true;
                        paused = Some(p.clone());
                    }
                }
                active = p.paused_at.is_none();
                endpoints.insert((site.0, p.id), encode(&p).as_slice())?;
            }
            drop(endpoints);
            put_delivery(txn, Some(&old), &d, active)?;
            if let Some(p) = &paused {
                // Its other deliveries wait for it to be resumed.
                let waiting: Vec<Delivery> = pending_of(txn, site, p.id)?;
                let mut due = txn.open_table(WEBHOOK_DUE)?;
                for w in waiting {
                    due.remove((w.next_at, w.site.0, w.id))?;
                }
                drop(due);
                if mail {
                    super::mail::enqueue(txn, MailKind::WebhookPaused { site, endpoint: p.id }, attempt.at)?;
                }
            }
            Ok(paused)
        })
        .await
    }

    /// Remove deliveries delivered or given up before `cutoff` (retention); how many.
    pub async fn delete_deliveries_before(&self, cutoff: Millis) -> Result<usize, StoreError> {
        self.write(move |txn| {
            let sites: Vec<u64> = {
                let t = txn.open_table(WEBHOOKS)?;
                let mut s: Vec<u64> =
                    t.iter()?.map(|e| Ok::<_, StoreError>(e?.0.value().0)).collect::<Result<_, _>>()?;
                let d = txn.open_table(WEBHOOK_DELIVERIES)?;
                s.extend(d.iter()?.map(|e| Ok::<_, StoreError>(e?.0.value().0)).collect::<Result<Vec<_>, _>>()?);
                s.sort();
                s.dedup();
                s
            };
            let mut n = 0;
            for site in sites {
                n += remove_deliveries(txn, SiteId(site), |d| d.done_at.is_some_and(|at| at < cutoff))?;
            }
            Ok(n)
        })
        .await
    }
}

/// The pending deliveries of an endpoint.
fn pending_of(txn: &WriteTransaction, site: SiteId, endpoint: u64) -> Result<Vec<Delivery>, StoreError> {
    let t = txn.open_table(WEBHOOK_DELIVERIES)?;
    let mut out = Vec::new();
    for e in t.range((site.0, 0)..=(site.0, u64::MAX))? {
        let d: Delivery = decode(e?.1.value())?;
        if d.endpoint == endpoint && d.status == DeliveryStatus::Pending {
            out.push(d);
        }
    }
    Ok(out)
}

impl SiteStore {
    pub fn webhooks(&self) -> Result<Vec<Endpoint>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            r.open_table(WEBHOOKS)?.range((site.0, 0)..=(site.0, u64::MAX))?.map(|e| decode(e?.1.value())).collect()
        })
    }

    pub fn webhook(&self, id: u64) -> Result<Endpoint, StoreError> {
        let site = self.id();
        self.store().read(|r| decode(r.open_table(WEBHOOKS)?.get((site.0, id))?.ok_or(StoreError::NotFound)?.value()))
    }

    pub async fn create_webhook(
        &self,
        draft: EndpointDraft,
        secret: String,
        now: Millis,
    ) -> Result<Endpoint, StoreError> {
        let site = self.id();
        // From now on the switchboard's writes look for endpoints (set before the endpoint is
        // stored: no event stored after it can be missed).
        self.store().webhook_made();
        self.store()
            .write(move |txn| {
                super::site::check_site_exists(txn, site)?;
                let p = Endpoint {
                    id: next_id(txn, "webhook")?,
                    site,
                    url: draft.url,
                    description: draft.description,
                    events: draft.events,
                    secret,
                    created_at: now,
                    failing_since: None,
                    paused_at: None,
                    paused_by_failures: false,
                    last_success_at: None,
                };
                txn.open_table(WEBHOOKS)?.insert((site.0, p.id), encode(&p).as_slice())?;
                Ok(p)
            })
            .await
    }

    /// Change an endpoint: its address, description and events, or (`secret`) its secret.
    pub async fn update_webhook(
        &self,
        id: u64,
        draft: Option<EndpointDraft>,
        secret: Option<String>,
    ) -> Result<Endpoint, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let mut t = txn.open_table(WEBHOOKS)?;
                let mut p: Endpoint = decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?;
                if let Some(d) = draft {
                    p.url = d.url;
                    p.description = d.description;
                    p.events = d.events;
                }
                if let Some(s) = secret {
                    p.secret = s;
                }
                t.insert((site.0, id), encode(&p).as_slice())?;
                Ok(p)
            })
            .await
    }

    /// Pause an endpoint (nothing is posted; its deliveries wait), or resume it: what waits
    /// is due at once.
    pub async fn set_webhook_paused(&self, id: u64, paused: bool, now: Millis) -> Result<Endpoint, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let mut p: Endpoint = {
                    let t = txn.open_table(WEBHOOKS)?;
                    decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?
                };
                let waiting = pending_of(txn, site, id)?;
                if paused && p.paused_at.is_none() {
                    p.paused_at = Some(now);
                    p.paused_by_failures = false;
                    let mut due = txn.open_table(WEBHOOK_DUE)?;
                    for w in &waiting {
                        due.remove((w.next_at, w.site.0, w.id))?;
                    }
                } else if !paused && p.paused_at.is_some() {
                    p.paused_at = None;
                    p.paused_by_failures = false;
                    p.failing_since = None;
                    for w in waiting {
                        let mut d = w.clone();
                        d.next_at = now;
                        put_delivery(txn, Some(&w), &d, true)?;
                    }
                }
                txn.open_table(WEBHOOKS)?.insert((site.0, id), encode(&p).as_slice())?;
                Ok(p)
            })
            .await
    }

    /// Delete an endpoint with its deliveries.
    pub async fn delete_webhook(&self, id: u64) -> Result<(), StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                if txn.open_table(WEBHOOKS)?.remove((site.0, id))?.is_none() {
                    return Err(StoreError::NotFound);
                }
                remove_deliveries(txn, site, |d| d.endpoint == id)?;
                Ok(())
            })
            .await
    }

    /// An endpoint's deliveries, newest first, with ids below `before`.
    pub fn deliveries(&self, endpoint: u64, before: Option<u64>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let site = self.id();
        self.store().read(|r| {
            let t = r.open_table(WEBHOOK_DELIVERIES)?;
            let mut out = Vec::new();
            for e in t.range((site.0, 0)..(site.0, before.unwrap_or(u64::MAX)))?.rev() {
                let d: Delivery = decode(e?.1.value())?;
                if d.endpoint == endpoint {
                    out.push(d);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    /// Try a failed (or waiting) delivery of `endpoint` again now.
    pub async fn retry_delivery(&self, endpoint: u64, id: u64, now: Millis) -> Result<Delivery, StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let old: Delivery = {
                    let t = txn.open_table(WEBHOOK_DELIVERIES)?;
                    decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?
                };
                if old.endpoint != endpoint {
                    return Err(StoreError::NotFound);
                }
                let paused = {
                    let t = txn.open_table(WEBHOOKS)?;
                    let p: Endpoint = decode(t.get((site.0, old.endpoint))?.ok_or(StoreError::NotFound)?.value())?;
                    p.paused_at.is_some()
                };
                if old.status == DeliveryStatus::Delivered {
                    return Err(StoreError::conflict("delivery", "It was delivered already."));
                }
                let mut d = old.clone();
                d.status = DeliveryStatus::Pending;
                d.done_at = None;
                d.next_at = now;
                // Counted from now for giving up again.
                d.created_at = now;
                put_delivery(txn, Some(&old), &d, !paused)?;
                Ok(d)
            })
            .await
    }

    /// Queue a `webhook.test` event for one endpoint.
    pub async fn test_webhook(&self, id: u64, now: Millis) -> Result<(), StoreError> {
        let site = self.id();
        self.store()
            .write(move |txn| {
                let p: Endpoint = {
                    let t = txn.open_table(WEBHOOKS)?;
                    decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?
                };
                let n = next_id(txn, "webhook_test")?;
                let hook = Hook {
                    site,
                    event: EventType::Test,
                    event_id: format!("{}.test.{n}", site.0),
                    visitor: None,
                    at: now,
                    data: serde_json::json!({ "endpoint": id, "message": "A test from the endpoint's page." }),
                };
                deliver_to(txn, std::slice::from_ref(&p), &hook)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(at: Millis) -> Attempt {
        Attempt { at, ok: false, code: Some(503), error: Some("HTTP 503".into()) }
    }

    /// An endpoint that keeps failing is paused (its other deliveries wait, a mail tells the
    /// site's people), a delivery failing long enough is given up, and resuming makes what
    /// waited due at once; a success clears the failing state.
    #[tokio::test]
    async fn a_failing_endpoint_is_paused_and_its_admins_told_then_resumed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        store.enable_mail();
        let site = store.create_site("A".into(), 0).await.expect("site").id;
        let scope = store.site(site);
        let draft =
            EndpointDraft { url: "https://crm.example.com/".into(), description: String::new(), events: vec![] };
        let p = scope.create_webhook(draft, "whsec_x".into(), 0).await.expect("endpoint");
        scope.test_webhook(p.id, 1_000).await.expect("first");
        scope.test_webhook(p.id, 1_000).await.expect("second");
        let (due, _) = store.due_deliveries(1_000, 10).expect("due");
        assert_eq!(due.len(), 2);
        let policy = Policy { retry_ms: 1_000, give_up_ms: 10_000, pause_after_ms: 5_000 };
        let (first, second) = (due[0].0.id, due[1].0.id);
        assert!(store.finish_delivery(site, first, failed(1_000), policy).await.expect("stored").is_none());
        let (due, next) = store.due_deliveries(1_500, 10).expect("due");
        assert_eq!((due.len(), next), (1, Some(2_000)), "the failed one waits its back-off; the other is due");
        assert_eq!(scope.webhook(p.id).expect("endpoint").status(), "failing");
        let paused = store.finish_delivery(site, second, failed(6_000), policy).await.expect("stored");
        assert_eq!(paused.map(|p| p.paused_by_failures), Some(true), "failing for 5 s: paused");
        assert!(store.due_deliveries(u64::MAX - 1, 10).expect("due").0.is_empty(), "nothing is due while paused");
        let mails = store.mails(None, None, 10).expect("mails");
        assert!(mails.iter().any(|m| m.kind == MailKind::WebhookPaused { site, endpoint: p.id }), "{mails:?}");
        scope.set_webhook_paused(p.id, false, 7_000).await.expect("resumed");
        let (due, _) = store.due_deliveries(7_000, 10).expect("due");
        assert_eq!(due.len(), 2, "both wait no more");
        store.finish_delivery(site, first, failed(12_000), policy).await.expect("stored");
        let log = scope.deliveries(p.id, None, 10).expect("log");
        let given_up = log.iter().find(|d| d.id == first).expect("first");
        assert_eq!((given_up.status, given_up.attempts), (DeliveryStatus::Failed, 2), "failing 11 s: given up");
        let ok = Attempt { at: 12_500, ok: true, code: Some(204), error: None };
        store.finish_delivery(site, second, ok, policy).await.expect("stored");
        let endpoint = scope.webhook(p.id).expect("endpoint");
        assert_eq!((endpoint.status(), endpoint.last_success_at), ("active", Some(12_500)));
        scope.retry_delivery(p.id, first, 13_000).await.expect("retried by hand");
        assert_eq!(store.due_deliveries(13_000, 10).expect("due").0.len(), 1);
        assert!(scope.retry_delivery(p.id + 1, first, 13_000).await.is_err(), "only through its own endpoint");
        assert_eq!(store.delete_deliveries_before(13_000).await.expect("retention"), 1, "the delivered one");
    }
}
