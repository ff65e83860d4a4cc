//! Languages a campaign can speak, and the default text of each system message in each.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    En,
    Fr,
    De,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    Greeting,
    Queue,
    Transfer,
    Offline,
}

impl Message {
    pub const ALL: [Message; 4] = [Message::Greeting, Message::Queue, Message::Transfer, Message::Offline];
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::De => "Deutsch",
        }
    }

    /// The proactive invitation's text when the campaign sets none.
    pub fn default_invitation(self) -> &'static str {
        match self {
            Lang::En => "Hi! Can we help you with anything?",
            Lang::Fr => "Bonjour ! Pouvons-nous vous aider ?",
            Lang::De => "Hallo! Können wir Ihnen helfen?",
        }
    }

    pub fn default_message(self, m: Message) -> &'static str {
        use Message::*;
        match (self, m) {
            (Lang::En, Greeting) => "Hello! How can we help you today?",
            (Lang::En, Queue) => "All our agents are busy. You are in the queue; an agent will be with you shortly.",
            (Lang::En, Transfer) => "You are being transferred to another agent. Please wait a moment.",
            (Lang::En, Offline) => "Nobody is available right now. Leave us a message and we will get back to you.",
            (Lang::Fr, Greeting) => "Bonjour ! Comment pouvons-nous vous aider ?",
            (Lang::Fr, Queue) => {
                "Tous nos conseillers sont occupés. Vous êtes dans la file d'attente ; un conseiller va vous répondre."
            }
            (Lang::Fr, Transfer) => "Vous êtes transféré vers un autre conseiller. Merci de patienter un instant.",
            (Lang::Fr, Offline) => {
                "Personne n'est disponible pour le moment. Laissez-nous un message et nous vous répondrons."
            }
            (Lang::De, Greeting) => "Hallo! Wie können wir Ihnen helfen?",
            (Lang::De, Queue) => {
                "Alle Mitarbeiter sind im Gespräch. Sie sind in der Warteschlange; gleich ist jemand für Sie da."
            }
            (Lang::De, Transfer) => {
                "Sie werden an einen anderen Mitarbeiter weitergeleitet. Bitte einen Moment Geduld."
            }
            (Lang::De, Offline) => {
                "Gerade ist niemand erreichbar. Hinterlassen Sie uns eine Nachricht, wir melden uns."
            }
        }
    }
}

impl Message {
    pub fn key(self) -> &'static str {
        match self {
            Message::Greeting => "greeting",
            Message::Queue => "queue",
            Message::Transfer => "transfer",
            Message::Offline => "offline",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Message::Greeting => "Greeting",
            Message::Queue => "Queue message",
            Message::Transfer => "Transfer notice",
            Message::Offline => "Offline message",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_own_text_for_every_message() {
        for m in Message::ALL {
            let texts: Vec<_> = Lang::ALL.iter().map(|l| l.default_message(m)).collect();
            assert!(texts.iter().all(|t| !t.is_empty()));
            assert_ne!(texts[0], texts[1]);
            assert_ne!(texts[1], texts[2]);
        }
    }

    #[test]
    fn codes_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
        assert_eq!(Lang::from_code("xx"), None);
    }
}
