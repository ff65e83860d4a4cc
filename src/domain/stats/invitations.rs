//! What an invitation (or a without-invite alert) contributes to the statistics.

use super::super::proactive::{InvitationOutcome, InvitationRecord};
use super::facts::InvitationFacts;

/// An invitation's contribution, reported under the moment it was sent. Add it once it is
/// settled (its outcome is no longer pending): at most 10 minutes after it was sent, or when the
/// visitor leaves.
pub fn invitation_facts(inv: &InvitationRecord) -> InvitationFacts {
    let answered = matches!(inv.outcome, InvitationOutcome::Accepted | InvitationOutcome::Refused);
    InvitationFacts {
        site: inv.site,
        campaign: inv.campaign,
        agent: inv.agent,
        mode: inv.mode,
        at: inv.sent_at,
        outcome: inv.outcome,
        chat: inv.chat,
        answer_ms: inv.answered_at.filter(|_| answered).map(|a| a.saturating_sub(inv.sent_at)),
    }
}
