//! Reports from a scripted day played through the real server: the page's figures and the CSV
//! against the numbers the rules give (docs/statistics.md).

use crate::harness::*;
use serde_json::{Value, json};

/// The rows of a CSV download, cells unquoted.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    body.lines()
        .map(|line| {
            line.trim_end_matches('\r').split("\",\"").map(|c| c.trim_matches('"').replace("\"\"", "\"")).collect()
        })
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter().find(|r| r[0] == first).unwrap_or_else(|| panic!("no row {first} in {rows:?}"))
}

#[tokio::test]
async fn a_scripted_day_gives_the_expected_report_and_csv() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (bob_id, bob) = colleague(&s.base, &owner, &o, "Bob").await;
    let (mut ann, _) = agent(&o.agent, json!([])).await;
    let (mut bobc, _) = agent(&bob, json!([])).await;
    bobc.send(json!({"type": "presence", "presence": "away"})).await;
    bobc.until(|f: &Value| f["type"] == "presence" && f["agent"] == bob_id && f["presence"] == "away").await;

    // 1. The seed's case: Ann receives, transfers to Bob before replying; Bob answers; the
    //    visitor ends the chat and rates 4.
    let (mut v1, _) = visitor(&s.base, o.campaign, None, None).await;
    v1.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat1 = ann.until_type("assigned").await["chat"]["id"].as_u64().expect("chat");
    ann.send(json!({"type": "transfer", "chat": chat1, "target": {"kind": "agent", "agent": bob_id, "mode": "cold"}}))
        .await;
    bobc.until_type("assigned").await;
    bobc.send(json!({"type": "message", "chat": chat1, "id": "b1", "text": "Hello, Bob here."})).await;
    v1.until(|f: &Value| f["type"] == "event" && f["kind"] == "message").await;
    v1.send(json!({"type": "end", "chat": chat1})).await;
    v1.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    v1.send(json!({"type": "survey", "chat": chat1, "rating": 4})).await;
    v1.until(|f: &Value| f["type"] == "event" && f["kind"] == "survey").await;

    // 2. Ann answers a chat and ends it.
    let (mut v2, _) = visitor(&s.base, o.campaign, None, None).await;
    v2.send(json!({"type": "start", "fields": {"name": "Wim"}})).await;
    let chat2 = ann.until_type("assigned").await["chat"]["id"].as_u64().expect("chat");
    ann.send(json!({"type": "message", "chat": chat2, "id": "a2", "text": "Hi Wim"})).await;
    ann.until(|f: &Value| f["type"] == "ack" && f["id"] == "a2").await;
    ann.send(json!({"type": "end", "chat": chat2})).await;
    v2.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;

    // 3. Everyone is away: a visitor waits, then gives up.
    ann.send(json!({"type": "presence", "presence": "away"})).await;
    ann.until(|f: &Value| f["type"] == "presence" && f["presence"] == "away").await;
    let (mut v3, _) = visitor(&s.base, o.campaign, None, None).await;
    v3.send(json!({"type": "start", "fields": {"name": "Xia"}})).await;
    let chat3 = v3.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    v3.until_type("queue").await;
    v3.send(json!({"type": "end", "chat": chat3})).await;
    v3.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;

    let base = format!("/admin/sites/{}/reports", o.site);
    let page = owner.get(&base).await;
    page.assert_ok().assert_contains("Chats by day").assert_contains("Acme Agent").assert_contains("<svg");

    let agents = csv_rows(&owner.get(&format!("{base}?csv=agents")).await.body);
    assert_eq!(agents[0][..6], ["Agent", "Offered", "Accepted", "Answered", "Unanswered", "Last contact"]);
    // Ann: two chats received, one answered, one transferred before replying; one last contact.
    assert_eq!(row(&agents, "Acme Agent")[1..6], ["2", "2", "1", "1", "1"]);
    assert_eq!(row(&agents, "Acme Agent")[10], "1", "one transfer out");
    assert_eq!(row(&agents, "Acme Agent")[12], "4.00 (1)", "the rating counts for Ann too");
    assert_eq!(row(&agents, "Bob")[1..6], ["1", "1", "1", "0", "1"]);
    assert_eq!(row(&agents, "Bob")[11], "1", "one transfer in");
    assert_eq!(row(&agents, "Bob")[12], "4.00 (1)");

    let over_time = csv_rows(&owner.get(&format!("{base}?csv=over-time")).await.body);
    let today = over_time.last().expect("today");
    // Chats, answered, missed; abandoned in the queue; transfers out.
    assert_eq!(today[1..4], ["3", "2", "1"]);
    assert_eq!(today[7], "1");
    assert_eq!(today[8], "1");

    let transfers = csv_rows(&owner.get(&format!("{base}?csv=transfers")).await.body);
    assert_eq!(row(&transfers, "Cold")[1], "1", "accepted");

    // The owner's comparison lists the site; a site admin of another site cannot read this one.
    let org_csv = csv_rows(&owner.get("/admin/reports?csv=sites").await.body);
    assert_eq!(row(&org_csv, "Acme")[1..4], ["3", "2", "1"]);
    o.agent.get(&base).await.assert_status(403);
    owner.get(&format!("{base}?from=2026-02-30")).await.assert_status(422).assert_contains("not a date");
    owner.get(&format!("{base}?csv=nope")).await.assert_status(404);

    // The transcript browser finds the chats of the day by words and agent.
    let chats = format!("/admin/sites/{}/chats", o.site);
    let found = owner.get(&format!("{chats}?q=bob+HERE")).await;
    found.assert_ok().assert_contains(&format!("/chats/{chat1}\"")).assert_contains("Vera");
    assert!(!found.body.contains(&format!("/chats/{chat2}\"")), "only the chat with both words");
    let by_bob = owner.get(&format!("{chats}?agent={bob_id}")).await;
    by_bob.assert_ok().assert_contains(&format!("/chats/{chat1}\""));
    assert!(!by_bob.body.contains(&format!("/chats/{chat2}\"")));
    owner.get(&format!("{chats}?from=2020-13-01")).await.assert_status(422);
    let transcript = owner.get(&format!("{chats}/{chat1}")).await;
    transcript
        .assert_ok()
        .assert_contains("cold transfer by Acme Agent to Bob: completed")
        .assert_contains("Hello, Bob here.")
        .assert_contains("4 / 5");
    // Another site's admin finds nothing of this site.
    let other = org(&s.base, &owner, "Other").await;
    let admin_id = create_person(&owner, other.site, "Otto", "otto@other.example", "admin", "otto-password-1").await;
    assert!(admin_id > 0);
    let otto = s.client();
    otto.login_ok("otto@other.example", "otto-password-1").await;
    otto.get(&format!("{chats}/{chat1}")).await.assert_status(404);
    otto.get(&format!("/admin/sites/{}/chats/{chat1}", other.site)).await.assert_status(404);
}
