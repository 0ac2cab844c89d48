//! The language PrivateBin answers in, and its translations of the messages the emulator emits.
//!
//! PrivateBin translates its refusals (`I18n::_`) into one language per request, chosen by
//! `Controller::_setDefaultLanguage` and `I18n::loadTranslations`: an instance with
//! `languageselection` off and a `languagedefault` set always uses that language; otherwise a
//! `lang` cookie naming an installed language wins, then the best match for `Accept-Language`,
//! then `languagedefault` (English when empty). The emulator has two languages installed, English
//! and German; the German texts are those of PrivateBin's `i18n/de.json`.

use super::php;

/// A language the emulated instance has installed (a file `i18n/<code>.json` on the real one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `en`: the message ids themselves; PrivateBin loads no translation file for it.
    English,
    /// `de`: `i18n/de.json`.
    German,
}

impl Language {
    /// The installed languages, in the order the emulator considers them.
    const INSTALLED: [Self; 2] = [Self::English, Self::German];

    /// The two-letter code PrivateBin names the language by.
    pub const fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::German => "de",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Self::INSTALLED
            .into_iter()
            .find(|language| language.code() == code)
    }
}

/// The parts of a request that decide its language, and the instance's settings.
#[derive(Debug, Clone, Copy)]
pub struct LanguageChoice<'a> {
    /// `[main] languagedefault`; `None` for PrivateBin's empty default.
    pub default: Option<Language>,
    /// `[main] languageselection`.
    pub selection: bool,
    /// The request's `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The request's `Accept-Language` header.
    pub accept_language: Option<&'a str>,
}

impl LanguageChoice<'_> {
    /// The language PrivateBin answers this request in.
    pub fn resolve(&self) -> Language {
        if let (false, Some(forced)) = (self.selection, self.default) {
            // `_setDefaultLanguage` overwrites the request's `lang` cookie with the default.
            return forced;
        }
        if let Some(language) = self
            .cookie
            .and_then(lang_cookie)
            .and_then(Language::from_code)
        {
            return language;
        }
        let fallback = self.default.unwrap_or(Language::English);
        self.accept_language
            .and_then(best_match)
            .unwrap_or(fallback)
    }
}

fn lang_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "lang")
        .map(|(_, value)| value.trim())
}

/// `I18n::getBrowserLanguages` and `_getMatchingLanguage`: each language range scores its quality
/// times how much of it matches an installed language (`de-DE` matches `de` by half); the best
/// score wins, the earlier range on a tie; `*` alone picks the first installed language.
fn best_match(header: &str) -> Option<Language> {
    let mut best: Option<(f64, Language)> = None;
    let mut any = false;
    for range in header.split(',') {
        let mut fields = range.split(';');
        let tag = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let quality = fields
            .find_map(|field| field.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if quality <= 0.0 || tag.is_empty() {
            continue;
        }
        if tag == "*" {
            any = true;
            continue;
        }
        let subtags: Vec<&str> = tag.split('-').collect();
        for language in Language::INSTALLED {
            if subtags[0] != language.code() {
                continue;
            }
            #[allow(clippy::cast_precision_loss)]
            let score = quality / subtags.len() as f64;
            if best.is_none_or(|(top, _)| score > top) {
                best = Some((score, language));
            }
        }
    }
    best.map(|(_, language)| language)
        .or_else(|| any.then_some(Language::INSTALLED[0]))
}

/// One entry of a translation file: a plain text, or plural forms picked by `_getPluralForm`.
enum Translation {
    Text(&'static str),
    Plural(&'static [&'static str]),
}

/// `i18n/de.json`, the entries for the messages the emulator emits (keyed by the English id).
const GERMAN: &[(&str, Translation)] = &[
    (
        "Document does not exist, has expired or has been deleted.",
        Translation::Text("Dieses Dokument gibt es nicht, es ist abgelaufen oder wurde gelöscht."),
    ),
    (
        "Please wait %d seconds between each post.",
        Translation::Plural(&[
            "Bitte warte eine Sekunde zwischen dem Absenden zweier Beiträge.",
            "Bitte warte %d Sekunden zwischen dem Absenden zweier Beiträge.",
        ]),
    ),
    (
        "Document is limited to %s of encrypted data.",
        Translation::Text("Texte sind auf %s verschlüsselte Datenmenge beschränkt."),
    ),
    ("Invalid data.", Translation::Text("Ungültige Daten.")),
    (
        "You are unlucky. Try again.",
        Translation::Text("Du hast Pech. Versuchs nochmal."),
    ),
    (
        "Invalid document ID.",
        Translation::Text("Ungültige Dokument-ID."),
    ),
    (
        "Wrong deletion token. Document was not deleted.",
        Translation::Text("Falscher Lösch-Code. Dokument wurde nicht gelöscht."),
    ),
    (
        "Document was properly deleted.",
        Translation::Text("Dokument wurde erfolgreich gelöscht."),
    ),
];

/// `I18n::_($id)` for a message without placeholders.
pub fn translate(language: Language, id: &'static str) -> String {
    match lookup(language, id) {
        Some(Translation::Text(text)) => (*text).to_owned(),
        Some(Translation::Plural(forms)) => forms[0].to_owned(),
        None => id.to_owned(),
    }
}

/// `I18n::_($id, $n)` for a message with one `%d`: the plural form for `n`, then `sprintf`.
pub fn translate_count(language: Language, id: &'static str, count: u64) -> String {
    let template = match lookup(language, id) {
        Some(Translation::Plural(forms)) => {
            forms[plural_form(language, count).min(forms.len() - 1)]
        }
        Some(Translation::Text(text)) => text,
        None => id,
    };
    template.replacen("%d", &count.to_string(), 1)
}

/// `I18n::_($id, $text)` for a message with one `%s`; PrivateBin HTML-encodes the argument.
pub fn translate_text(language: Language, id: &'static str, argument: &str) -> String {
    translate(language, id).replacen("%s", &php::html_escape(argument), 1)
}

fn lookup(language: Language, id: &str) -> Option<&'static Translation> {
    match language {
        // PrivateBin loads no file for English: the id is the text.
        Language::English => None,
        Language::German => GERMAN
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, translation)| translation),
    }
}

/// `I18n::_getPluralForm` for the installed languages (both use "one" and "other").
fn plural_form(language: Language, count: u64) -> usize {
    match language {
        Language::English | Language::German => usize::from(count != 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(
        default: Option<Language>,
        selection: bool,
        accept_language: Option<&str>,
    ) -> LanguageChoice<'_> {
        LanguageChoice {
            default,
            selection,
            cookie: None,
            accept_language,
        }
    }

    #[test]
    fn a_fixed_default_ignores_the_request() {
        let mut fixed = choice(Some(Language::German), false, Some("en"));
        fixed.cookie = Some("lang=en");
        assert_eq!(fixed.resolve(), Language::German);
    }

    #[test]
    fn without_a_fixed_default_the_browser_decides() {
        assert_eq!(
            choice(None, false, Some("de-DE,de;q=0.9,en;q=0.8")).resolve(),
            Language::German
        );
        assert_eq!(
            choice(Some(Language::German), true, Some("en")).resolve(),
            Language::English
        );
        assert_eq!(
            choice(Some(Language::German), true, None).resolve(),
            Language::German,
            "no preference falls back to the default"
        );
        assert_eq!(
            choice(None, false, Some("fr")).resolve(),
            Language::English,
            "an uninstalled language falls back to English"
        );
        let mut cookie = choice(None, true, Some("en"));
        cookie.cookie = Some("theme=dark; lang=de");
        assert_eq!(cookie.resolve(), Language::German, "the cookie wins");
    }

    #[test]
    fn a_full_match_beats_a_partial_one_of_higher_quality() {
        assert_eq!(
            choice(None, true, Some("de-AT;q=1, en;q=0.6")).resolve(),
            Language::English
        );
    }

    #[test]
    fn german_refusals_are_the_translation_files_texts() {
        assert_eq!(
            translate_count(
                Language::German,
                "Please wait %d seconds between each post.",
                10
            ),
            "Bitte warte 10 Sekunden zwischen dem Absenden zweier Beiträge."
        );
        assert_eq!(
            translate_count(
                Language::German,
                "Please wait %d seconds between each post.",
                1
            ),
            "Bitte warte eine Sekunde zwischen dem Absenden zweier Beiträge."
        );
        assert_eq!(
            translate_count(
                Language::English,
                "Please wait %d seconds between each post.",
                1
            ),
            "Please wait 1 seconds between each post."
        );
        assert_eq!(
            translate_text(
                Language::German,
                "Document is limited to %s of encrypted data.",
                "2.00 MB"
            ),
            "Texte sind auf 2.00 MB verschlüsselte Datenmenge beschränkt."
        );
    }
}
