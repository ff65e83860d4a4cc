//! The words of every mail, in each language mails are written in. `{name}`-style holes are
//! filled by `compose.rs`.

use crate::domain::i18n::Lang;

pub struct Texts {
    pub left_subject: &'static str,
    pub left_intro: &'static str,
    pub left_action: &'static str,
    pub missed_subject: &'static str,
    pub missed_intro: &'static str,
    pub missed_nothing: &'static str,
    pub missed_action: &'static str,
    pub transcript_subject: &'static str,
    pub transcript_intro: &'static str,
    pub transcript_you: &'static str,
    pub transcript_outro: &'static str,
    pub invitation_subject: &'static str,
    pub invitation_intro: &'static str,
    pub invitation_action: &'static str,
    pub invitation_outro: &'static str,
    pub reset_subject: &'static str,
    pub reset_intro: &'static str,
    pub reset_action: &'static str,
    pub reset_outro: &'static str,
    pub webhook_subject: &'static str,
    pub webhook_intro: &'static str,
    pub webhook_action: &'static str,
    pub webhook_address: &'static str,
    pub webhook_error: &'static str,
    pub agent: &'static str,
    pub admin: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub page: &'static str,
    pub time: &'static str,
    pub visitor: &'static str,
    pub reply_hint: &'static str,
}

const EN: Texts = Texts {
    left_subject: "[{site}] Message from {name}",
    left_intro: "{name} left a message on {site} while nobody could chat.",
    left_action: "Open the messages",
    missed_subject: "[{site}] Missed chat from {name}",
    missed_intro: "Nobody took this chat on {site}. What the visitor wrote:",
    missed_nothing: "The visitor wrote nothing before the chat ended.",
    missed_action: "Open the chat",
    transcript_subject: "Your conversation with {org}",
    transcript_intro: "Here is a copy of your conversation of {date}, as you asked.",
    transcript_you: "You",
    transcript_outro: "This copy was sent because it was asked for in the chat window.",
    invitation_subject: "You are invited to answer chats for {site}",
    invitation_intro: "Hello {name}, you have been added as {role} of {site}. Choose your password to start.",
    invitation_action: "Choose your password",
    invitation_outro: "The link works once, for 72 hours. Your sign-in address is {email}.",
    reset_subject: "Choose a new password",
    reset_intro: "Someone, hopefully you, asked to reset the password of {email}.",
    reset_action: "Choose a new password",
    reset_outro: "The link works once, for one hour, and signs you out everywhere else. If you did not ask, ignore this mail: your password stays as it is.",
    webhook_subject: "{site}: a webhook is paused",
    webhook_intro: "The webhook endpoint below has failed since {since}, so Parley paused it. Its events wait: fix the receiver, then resume it on its page, and what waits is sent.",
    webhook_action: "Open the webhook",
    webhook_address: "Address",
    webhook_error: "Last error",
    agent: "an agent",
    admin: "an administrator",
    name: "Name",
    email: "Email",
    page: "Page",
    time: "Time",
    visitor: "Visitor",
    reply_hint: "Reply to this mail to answer the visitor.",
};

const FR: Texts = Texts {
    left_subject: "[{site}] Message de {name}",
    left_intro: "{name} a laissé un message sur {site} alors que personne ne pouvait discuter.",
    left_action: "Ouvrir les messages",
    missed_subject: "[{site}] Discussion manquée de {name}",
    missed_intro: "Personne n’a pris cette discussion sur {site}. Ce que le visiteur a écrit :",
    missed_nothing: "Le visiteur n’a rien écrit avant la fin de la discussion.",
    missed_action: "Ouvrir la discussion",
    transcript_subject: "Votre conversation avec {org}",
    transcript_intro: "Voici une copie de votre conversation du {date}, comme vous l’avez demandé.",
    transcript_you: "Vous",
    transcript_outro: "Cette copie a été envoyée à la demande faite dans la fenêtre de discussion.",
    invitation_subject: "Vous êtes invité à répondre aux discussions de {site}",
    invitation_intro: "Bonjour {name}, vous avez été ajouté comme {role} de {site}. Choisissez votre mot de passe pour commencer.",
    invitation_action: "Choisir mon mot de passe",
    invitation_outro: "Le lien fonctionne une fois, pendant 72 heures. Votre adresse de connexion est {email}.",
    reset_subject: "Choisissez un nouveau mot de passe",
    reset_intro: "Quelqu’un, vous sans doute, a demandé à réinitialiser le mot de passe de {email}.",
    reset_action: "Choisir un nouveau mot de passe",
    reset_outro: "Le lien fonctionne une fois, pendant une heure, et vous déconnecte partout ailleurs. Si vous n’avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.",
    webhook_subject: "{site} : un webhook est suspendu",
    webhook_intro: "Le point de terminaison ci-dessous échoue depuis {since} : Parley l’a suspendu. Ses événements attendent : réparez le récepteur, puis reprenez-le sur sa page, et ce qui attend est envoyé.",
    webhook_action: "Ouvrir le webhook",
    webhook_address: "Adresse",
    webhook_error: "Dernière erreur",
    agent: "agent",
    admin: "administrateur",
    name: "Nom",
    email: "E-mail",
    page: "Page",
    time: "Heure",
    visitor: "Visiteur",
    reply_hint: "Répondez à ce message pour répondre au visiteur.",
};

const DE: Texts = Texts {
    left_subject: "[{site}] Nachricht von {name}",
    left_intro: "{name} hat auf {site} eine Nachricht hinterlassen, als niemand chatten konnte.",
    left_action: "Nachrichten öffnen",
    missed_subject: "[{site}] Verpasster Chat von {name}",
    missed_intro: "Niemand hat diesen Chat auf {site} angenommen. Was der Besucher schrieb:",
    missed_nothing: "Der Besucher hat vor dem Ende des Chats nichts geschrieben.",
    missed_action: "Chat öffnen",
    transcript_subject: "Ihr Gespräch mit {org}",
    transcript_intro: "Hier ist wie gewünscht eine Kopie Ihres Gesprächs vom {date}.",
    transcript_you: "Sie",
    transcript_outro: "Diese Kopie wurde im Chatfenster angefordert.",
    invitation_subject: "Sie sind eingeladen, Chats für {site} zu beantworten",
    invitation_intro: "Hallo {name}, Sie wurden als {role} von {site} hinzugefügt. Wählen Sie Ihr Passwort, um zu beginnen.",
    invitation_action: "Passwort wählen",
    invitation_outro: "Der Link funktioniert einmal, 72 Stunden lang. Ihre Anmeldeadresse ist {email}.",
    reset_subject: "Wählen Sie ein neues Passwort",
    reset_intro: "Jemand, hoffentlich Sie, hat verlangt, das Passwort von {email} zurückzusetzen.",
    reset_action: "Neues Passwort wählen",
    reset_outro: "Der Link funktioniert einmal, eine Stunde lang, und meldet Sie überall sonst ab. Wenn Sie nichts verlangt haben, ignorieren Sie diese Mail: Ihr Passwort bleibt, wie es ist.",
    webhook_subject: "{site}: ein Webhook ist pausiert",
    webhook_intro: "Der Endpunkt unten schlägt seit {since} fehl, darum hat Parley ihn pausiert. Seine Ereignisse warten: Reparieren Sie den Empfänger und setzen Sie ihn auf seiner Seite fort, dann wird das Wartende gesendet.",
    webhook_action: "Webhook öffnen",
    webhook_address: "Adresse",
    webhook_error: "Letzter Fehler",
    agent: "Agent",
    admin: "Administrator",
    name: "Name",
    email: "E-Mail",
    page: "Seite",
    time: "Zeit",
    visitor: "Besucher",
    reply_hint: "Antworten Sie auf diese Mail, um dem Besucher zu antworten.",
};

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

/// `template` with each `{key}` replaced by its value (values are not searched again).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}').and_then(|end| values.iter().find(|(k, _)| *k == &after[..end]).map(|(_, v)| (end, v))) {
            Some((end, v)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn holes_are_filled_once_and_unknown_ones_stay() {
        assert_eq!(super::fill("Hi {name}, {x} {name}", &[("name", "{name}!")]), "Hi {name}!, {x} {name}!");
    }
}
