//! Every redb table Parley has, in one place. Names are `key_value-version`; changing a key or
//! value type means a new name and a migration step. Values are `&[u8]` in the versioned codec
//! of `codec.rs`, never derived redb types.
//!
//! Tenancy: every site-owned record is keyed by `(site, id)`, so one site's records are one
//! contiguous range and a lookup with another site's id finds nothing. Organization-level
//! records (sites, groups, the sign-in index, sessions) are keyed by their own id.

use redb::TableDefinition;

/// name -> number. `schema_version`, and the id counters `next_<kind>`.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// site id -> `Site`.
pub const SITES: TableDefinition<u64, &[u8]> = TableDefinition::new("siteid_site-1");

/// group id -> `Group`. Every listed site exists (deleting a site edits its groups).
pub const GROUPS: TableDefinition<u64, &[u8]> = TableDefinition::new("groupid_group-1");

/// (site id, user id) -> `User`. The owner lives under site 0.
pub const USERS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_userid_user-1");

/// lower-cased email -> (site id, user id): the sign-in index, unique across the organization.
/// Kept in the same transaction as `USERS`.
pub const USER_EMAILS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("email_siteid_userid-1");

/// (site id, department id) -> `Department`.
pub const DEPARTMENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_departmentid_department-1");

/// (site id, campaign id) -> `Campaign`.
pub const CAMPAIGNS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_campaignid_campaign-1");

/// sha256(session token) -> `SessionRecord`. The token itself is only in the browser's cookie.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokenhash_session-1");

// ---- version 2: live chat ----

/// campaign id -> site id: where a widget's campaign lives (campaign ids are unique across the
/// organization). Kept in the same transaction as `CAMPAIGNS`. Live chat asks the switchboard's
/// directory instead; the index stays current for tools that read the file.
pub const CAMPAIGN_SITES: TableDefinition<u64, u64> = TableDefinition::new("campaignid_siteid-1");

/// (site id, visitor id) -> `VisitorRecord`.
pub const VISITORS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_visitorid_visitor-1");

/// sha256(visitor token) -> (site id, visitor id). The token is only in the visitor's browser.
pub const VISITOR_TOKENS: TableDefinition<&[u8], (u64, u64)> = TableDefinition::new("tokenhash_siteid_visitorid-1");

/// (site id, chat id) -> `ChatRecord`, rewritten on every change of the chat.
pub const CHATS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_chatid_chat-1");

/// (site id, chat id, seq) -> `ChatEvent`. Seqs of a chat are 1, 2, 3, … without gaps; the
/// chat's `last_seq` is the highest, written in the same transaction.
pub const CHAT_EVENTS: TableDefinition<(u64, u64, u64), &[u8]> = TableDefinition::new("siteid_chatid_seq_event-1");

/// (site id, chat id) -> (): the chats not ended, so a restart finds them without a scan.
pub const OPEN_CHATS: TableDefinition<(u64, u64), ()> = TableDefinition::new("siteid_chatid_open-1");

/// (site id, id) -> `LeftMessage`: messages left when nobody could chat.
pub const LEFT_MESSAGES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_id_leftmessage-1");

// ---- version 3: proactive chat, canned replies ----

/// (site id, invitation id) -> `InvitationRecord`: every proactive invitation and alert.
pub const INVITATIONS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_invitationid_invitation-1");

/// (site id, visitor id, chat id) -> (): a visitor's chats, for the console's visitor panel.
/// Written with every chat summary.
pub const VISITOR_CHATS: TableDefinition<(u64, u64, u64), ()> = TableDefinition::new("siteid_visitorid_chatid-1");

/// (site id, dimension kind, dimension id, UTC quarter-hour start in Unix ms) -> statistics
/// `Figures` (postcard, see `stats.rs`). Kinds: 0 site, 1 campaign, 2 department (id 0: the
/// "any agent" queue), 3 agent. Updated as chats end and invitations settle.
pub const STATS_QUARTERS: TableDefinition<(u64, u8, u64, i64), &[u8]> =
    TableDefinition::new("siteid_dimkind_dimid_quarter_figures-1");

/// The same figures by UTC day, so that long ranges read one cell a day.
pub const STATS_DAYS: TableDefinition<(u64, u8, u64, i64), &[u8]> =
    TableDefinition::new("siteid_dimkind_dimid_day_figures-1");

/// (site id, term, u64::MAX - chat id) -> (): the transcript search index, newest chat first.
/// Terms: lower-cased words of messages, notes, the visitor's name and email; `agent:<id>`.
/// Written when a chat ends; removed with the chat's transcript.
pub const CHAT_TERMS: TableDefinition<(u64, &str, u64), ()> = TableDefinition::new("siteid_term_revchatid-1");

/// (site id, canned reply id) -> `CannedReply`.
pub const CANNED: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_cannedid_canned-1");

// ---- version 4: mail ----

/// mail id -> `Mail`: the outbox, every mail pending, sent or given up (until retention).
pub const MAILS: TableDefinition<u64, &[u8]> = TableDefinition::new("mailid_mail-1");

/// (next attempt in Unix ms, mail id) -> (): the pending mails, the next due first. Kept in the
/// same transaction as `MAILS`.
pub const MAIL_DUE: TableDefinition<(u64, u64), ()> = TableDefinition::new("nextat_mailid_due-1");

/// sha256(link secret) -> `AccountLink`: one-time links to choose a password (invitations,
/// resets). The secret itself is only in the mail.
pub const ACCOUNT_LINKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secrethash_accountlink-1");

// ---- version 5: files ----

/// (site id, upload id) -> `Upload`: a file uploaded for a chat (complete once all its chunks
/// are stored; `sent` once a message carries it).
pub const UPLOADS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_uploadid_upload-1");

/// (site id, upload id, chunk index) -> the file's bytes, `store::files::CHUNK_BYTES` a chunk.
pub const UPLOAD_CHUNKS: TableDefinition<(u64, u64, u32), &[u8]> =
    TableDefinition::new("siteid_uploadid_index_bytes-1");

// ---- version 6: API tokens ----

/// (site id, token id) -> `ApiToken`. Site 0: the organization's tokens (the owner's).
pub const API_TOKENS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_tokenid_apitoken-1");

/// sha256(token secret) -> (site id, token id). The secret is shown once, never stored.
pub const API_TOKEN_HASHES: TableDefinition<&[u8], (u64, u64)> = TableDefinition::new("secrethash_siteid_tokenid-1");

// ---- version 7: webhooks ----

/// (site id, endpoint id) -> `Endpoint`.
pub const WEBHOOKS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_webhookid_endpoint-1");

/// (site id, delivery id) -> `Delivery` (one event for one endpoint, with its outcome).
pub const WEBHOOK_DELIVERIES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("siteid_deliveryid_delivery-1");

/// (due at, site id, delivery id) -> (): the pending deliveries of endpoints not paused.
pub const WEBHOOK_DUE: TableDefinition<(u64, u64, u64), ()> = TableDefinition::new("nextat_siteid_deliveryid-1");
