//! Recognisers for the repeated non-story lines and fragments of our sources.
//!
//! No crate knows these: they are the lines our datasheet counts per source
//! (BBC footers and columnist sign-offs, MasakhaNEWS teasers, OrangeSum
//! player residue, agency credits, Reuters sign-offs) plus the navigation
//! and font-size scraps of scraped French pages. Matchers are literal and
//! anchored so that a real sentence is never taken for boilerplate.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Anchored, Input, StartKind};

/// Whole lines of web navigation and accessibility links (compared
/// lowercased, typographic apostrophes as straight ones, without trailing
/// ':' or '.').
const NAVIGATION: &[&str] = &[
    "liens d'accessibilité",
    "accessibility links",
    "aller au contenu",
    "aller au contenu principal",
    "passer au contenu",
    "passer au contenu principal",
    "aller au menu",
    "aller à la recherche",
    "skip to content",
    "skip to main content",
    "menu",
    "accueil",
    "home",
    "partager",
    "partager cette page",
    "share",
    "share this page",
    "share this with",
    "copier le lien",
    "copy this link",
    "recherche",
    "rechercher",
    "search",
    "fermer",
    "close",
    "imprimer",
    "print",
    "publicité",
    "advertisement",
    "s'abonner",
    "abonnez-vous",
    "newsletter",
    "se connecter",
    "connexion",
    "sign in",
    "mon compte",
    "sujets associés",
    "related topics",
    "plus sur cette histoire",
    "more on this story",
    "top stories",
    "facebook",
    "twitter",
    "whatsapp",
    "messenger",
    "linkedin",
    "instagram",
    "youtube",
    "email",
    "e-mail",
    "published",
    "publié",
    "advertise with us",
    "why you can trust the bbc",
];

/// Font-size switches ("XS SM MD LG"), one per line or all on one line.
const FONT_SIZES: &[&str] = &[
    "XS", "SM", "MD", "LG", "XL", "XXL", "XXXL", "A-", "A+", "A−", "S", "M", "L",
];

/// News agencies named in credits ("Avec AFP", "avec Reuters").
const AGENCIES: &[&str] = &[
    "afp",
    "reuters",
    "ap",
    "associated press",
    "agence france-presse",
    "agence france presse",
    "agences",
    "anp",
    "dpa",
    "belga",
    "ats",
    "aps",
    "xinhua",
    "bloomberg",
    "relaxnews",
    "pa",
    "getty images",
];

/// Words that introduce a credit line before the agency names.
const CREDIT_LEADS: &[&str] = &[
    "avec",
    "with",
    "source :",
    "source:",
    "sources :",
    "©",
    "(c)",
];

/// Sentence or line openings of footers, calls to action and site notices:
/// BBC's, and those of news sites' pages (cookie banners, paywalls,
/// newsletter boxes, legal lines), in English and French.
const FOOTER_STARTS: &[&str] = &[
    "The BBC is not responsible for the content of external sites",
    "Read about our approach to external linking",
    "Reuters, the news and media division of Thomson Reuters",
    "We use cookies",
    "Cookies on the ",
    "Nous utilisons des cookies",
    "By using this website",
    "By using this site",
    "This site is protected by reCAPTCHA",
    "Privacy Notice:",
    "Get the latest headlines",
    "Sign up to ",
    "Comments are the responsibility",
    "All rights reserved",
    "© ",
    "Tous droits réservés",
    "Lecture du Monde en cours",
    "Vous pouvez lire Le Monde sur un seul appareil",
    "Ce message s’affichera sur l’autre appareil",
    "Ce message s'affichera sur l'autre appareil",
    "La suite est réservée aux abonnés",
    "Article réservé aux abonnés",
    "Cet article vous a été utile",
    "Sachez que vous pouvez suivre",
    "Aidez-nous à améliorer",
    "Chaque matin, retrouvez",
    "Temps de lecture",
    "Temps de Lecture",
    "Écouter cet article",
    "Texte par",
    "RFI n'est pas responsable",
    "RFI n’est pas responsable",
    "Accéder au contenu",
    "Accéder à la navigation",
    "Accéder à la recherche",
    "Follow BBC ",
    "Find BBC News",
    "Why not follow BBC ",
    "Follow Newsbeat on ",
    "Follow us on Facebook",
    "Follow us on Twitter",
    "If you are reading this page and can't see the form",
    "Please include a contact number if you are willing to speak to a BBC journalist",
    "Listen to Newsbeat live",
    "Send your story ideas to",
    "You can also send story ideas to",
    "If you have a story suggestion email",
    "More technology of business:",
    "Suivez BBC Afrique",
    "Retrouvez BBC Afrique",
];

/// Fragments of BBC columnist sign-offs ("Bill Thompson is a regular
/// commentator on the BBC World Service programme Go Digital.").
const SIGN_OFFS: &[&str] = &[
    "is a regular commentator on the BBC World Service programme Go Digital",
    "is technology correspondent for The World, a BBC World Service and WGBH-Boston co-production",
];

/// Openings of photo captions and credits that BBC pages put on their own line.
const CAPTION_STARTS: &[&str] = &[
    "Image caption",
    "Image copyright",
    "Media caption",
    "Légende :",
];

/// MasakhaNEWS-fr teaser markers; each may be followed by " sur BBC Afrique"
/// and then " :" or ":".
pub const TEASERS: &[&str] = &[
    "A ne pas surtout manquer",
    "A ne pas manquer",
    "À ne pas manquer",
    "A surtout lire",
    "À surtout lire",
    "A lire aussi",
    "À lire aussi",
    "A lire également",
    "Lire aussi",
    "Lire également",
    "A regarder",
    "À regarder",
    "Regarder",
    "A voir aussi",
    "À voir aussi",
    "Voir aussi",
];

/// Capitalised words that open a French sentence; used to find where a
/// teaser's headline (which has no final stop) ends and the story resumes.
const FRENCH_STARTERS: &[&str] = &[
    "Le",
    "La",
    "Les",
    "Un",
    "Une",
    "Des",
    "Du",
    "De",
    "Ce",
    "Cet",
    "Cette",
    "Ces",
    "Il",
    "Elle",
    "Ils",
    "Elles",
    "On",
    "Nous",
    "Vous",
    "Je",
    "Mais",
    "Et",
    "Pour",
    "Selon",
    "En",
    "Au",
    "Aux",
    "Dans",
    "Sur",
    "Par",
    "Avec",
    "Bien",
    "Si",
    "Alors",
    "Pendant",
    "Depuis",
    "Après",
    "Avant",
    "Lors",
    "Sans",
    "Seules",
    "Seuls",
    "Seule",
    "Quand",
    "Lorsque",
    "Comme",
    "Cependant",
    "Pourtant",
    "Toutefois",
    "Ainsi",
    "Enfin",
    "Parmi",
    "Plus",
    "Malgré",
    "Son",
    "Sa",
    "Ses",
    "Leur",
    "Leurs",
    "Cela",
    "Ceci",
    "Tous",
    "Tout",
    "Toutes",
    "Certains",
    "Certaines",
    "Beaucoup",
    "Aujourd'hui",
    "Actuellement",
    "Désormais",
    "Outre",
];

/// Subject pronouns may be followed by a capitalised name or number.
const FRENCH_PRONOUNS: &[&str] = &["Il", "Elle", "Ils", "Elles", "On", "Nous", "Je"];

/// Elided French articles/pronouns that open a sentence ("L'ex-président").
const FRENCH_ELIDED: &[&str] = &["L", "D", "C", "J", "Qu", "S", "N", "Lorsqu"];

/// A whole line that is navigation, font sizes, a credit or a footer.
pub fn is_boilerplate_line(line: &str) -> bool {
    is_navigation(line) || is_font_sizes(line) || is_boilerplate_sentence(line)
}

/// A sentence (or line) that is a credit, sign-off or footer.
pub fn is_boilerplate_sentence(s: &str) -> bool {
    let s = s.trim();
    is_agency_credit(s) || is_reuter_sign_off(s) || opens_with_footer(s) || holds_sign_off(s)
}

/// Whether `s` opens with one of [`FOOTER_STARTS`]: one anchored pass of
/// an automaton, not a comparison per opening.
fn opens_with_footer(s: &str) -> bool {
    static AUTOMATON: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .start_kind(StartKind::Anchored)
            .build(FOOTER_STARTS)
            .expect("footer openings are plain strings")
    });
    AUTOMATON.is_match(Input::new(s).anchored(Anchored::Yes))
}

/// Longest credit line [`is_agency_credit`] takes.
const MAX_CREDIT_BYTES: usize = 60;

/// Whether some sentence of `piece` may be boilerplate
/// ([`is_boilerplate_sentence`]); `false` is certain, so that a body piece
/// need not be split into sentences to find none.
/// The candidate cuts of the sentence splitter bound where sentences may start
/// and end: a footer opens the stretch after a candidate cut; a credit or
/// "Reuter" is a short sentence that names an agency before its first
/// stop, so the stretch from its start to the next candidate is short and
/// names one; a sign-off shows anywhere in the piece.
pub fn may_hold_boilerplate_sentence(piece: &str) -> bool {
    let cuts = super::sentences::cut_candidates(piece);
    let footer_or_credit = cuts.windows(2).any(|w| {
        let stretch = piece.get(w[0]..w[1]).unwrap_or("").trim();
        opens_with_footer(stretch)
            || (stretch.len() <= MAX_CREDIT_BYTES && credit_names().is_match(stretch))
    });
    footer_or_credit || holds_sign_off(piece)
}

/// What every one of [`SIGN_OFFS`] holds.
const SIGN_OFF_CORE: &str = "BBC World Service";

/// Whether a sign-off shows in `text`: only where [`SIGN_OFF_CORE`] shows,
/// which one pass of std's vectorised substring search finds faster than
/// the automaton rules out.
fn holds_sign_off(text: &str) -> bool {
    text.contains(SIGN_OFF_CORE) && sign_offs().is_match(text)
}

/// Agency names (and "reuter") in any ASCII case: what every credit and
/// Reuters sign-off holds. Lowercasing gives no other way to spell them:
/// no non-ASCII character lowercases to their letters.
fn credit_names() -> &'static AhoCorasick {
    static AUTOMATON: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(AGENCIES.iter().chain(&["reuter"]))
            .expect("agency names are plain strings")
    });
    &AUTOMATON
}

/// One automaton for all sign-offs: building a substring searcher per
/// pattern per sentence cost 7% of a classify call (callgrind).
fn sign_offs() -> &'static AhoCorasick {
    static AUTOMATON: LazyLock<AhoCorasick> =
        LazyLock::new(|| AhoCorasick::new(SIGN_OFFS).expect("sign-off patterns are plain strings"));
    &AUTOMATON
}

/// A byline on its own line: "By TOM ODULA and EVELYNE MUSAMBI", "Par
/// Richard Schittly (Lyon, correspondant)". Short, a capitalised name after
/// "By"/"Par", no final stop (a sentence opening "Par ailleurs," has one).
pub fn is_byline(line: &str) -> bool {
    let Some(rest) = line
        .strip_prefix("By ")
        .or_else(|| line.strip_prefix("Par "))
    else {
        return false;
    };
    // "By Friday, shares..." opens a sentence, not a byline.
    let first = rest.split_whitespace().next().unwrap_or("");
    first.chars().next().is_some_and(char::is_uppercase)
        && !first.ends_with(',')
        && line.split_whitespace().count() <= 10
        && !line.trim_end().ends_with(['.', '!', '?', '…', ':', ';'])
}

/// "Image caption ..." and similar lines, and lines that end in a photo
/// credit ([`ends_with_photo_credit`]).
pub fn is_caption_line(line: &str) -> bool {
    CAPTION_STARTS.iter().any(|c| line.starts_with(c)) || ends_with_photo_credit(line)
}

/// Openings of a photo credit inside the parentheses that end a caption
/// ("... (AP Photo/Brian Inganga)").
const CREDIT_IN_PARENTHESES: &[&str] = &["AP Photo", "AFP Photo", "Photo", "Reuters", "REUTERS"];

/// Openings of a photo credit after a caption's last sentence
/// ("... Photograph: Jung Yeon-je/AFP/Getty Images").
const CREDIT_OPENINGS: &[&str] = &[
    "Photograph:",
    "Photograph :",
    "Credit:",
    "REUTERS/",
    "Reuters/",
    "AFP/",
    "AP/",
    "EPA/",
    "EPA-EFE/",
];

/// Longest photo credit [`ends_with_photo_credit`] reads after a caption.
const MAX_PHOTO_CREDIT_BYTES: usize = 80;

/// Longest line [`ends_with_photo_credit`] takes for a caption: longer ones
/// are paragraphs (an OrangeSum story on one line ends with its "Photo :"
/// credit, which the cleaner cuts inline).
const MAX_CREDITED_CAPTION_BYTES: usize = 400;

/// Whether a line ends with a photo credit, as news sites print under a
/// picture: "(AP Photo/Brian Inganga)", "Photograph: Name/AFP", "| ARCHIVES
/// OUEST-FRANCE", or the photographer and agency in capitals after the
/// caption's last stop ("JEFF PACHOUD / AFP", "AFP - RICHARD PIERRIN",
/// "JIM NOELKER/STAFF", "REUTERS/Umit Bektas"). A story's own sentence never ends that way; a
/// line of capitals alone (a Reuters table legend) is not taken.
pub fn ends_with_photo_credit(line: &str) -> bool {
    let line = line.trim_end();
    // A line that ends as a sentence or a quotation ends with no credit.
    if line.len() > MAX_CREDITED_CAPTION_BYTES
        || line.ends_with(['.', '!', '?', '…', '"', '»', '”', ':', ';', ','])
    {
        return false;
    }
    if let Some(inner) = line
        .strip_suffix(')')
        .and_then(|l| l.rfind('(').map(|open| &l[open + 1..]))
        && ((CREDIT_IN_PARENTHESES.iter().any(|c| inner.starts_with(c)) && inner.contains('/'))
            || inner.ends_with("Getty Images"))
    {
        return true;
    }
    // The credit follows the caption's last stop (one followed by a space,
    // not the dots of "U.S./ASEAN"), after a few words; only the line's last
    // bytes can hold it.
    let bytes = line.as_bytes();
    let from = bytes.len().saturating_sub(MAX_PHOTO_CREDIT_BYTES + 2);
    let Some(stop) = (from..bytes.len().saturating_sub(1))
        .rev()
        .find(|&i| matches!(bytes[i], b'.' | b'?' | b'!') && matches!(bytes[i + 1], b' ' | b'\t'))
    else {
        return false;
    };
    let tail = line[stop + 1..].trim_start();
    if tail.is_empty()
        || tail.len() > MAX_PHOTO_CREDIT_BYTES
        || line[..stop].split_whitespace().nth(2).is_none()
    {
        return false;
    }
    if CREDIT_OPENINGS.iter().any(|c| tail.starts_with(c)) {
        return true;
    }
    // Names in capitals joined by a separator.
    let separated = tail.contains(['/', '|']) || tail.contains(" - ") || tail.contains(" – ");
    let capitals = tail.split_whitespace().all(|w| {
        w.chars().any(char::is_uppercase) && !w.chars().any(char::is_lowercase)
            || matches!(w, "/" | "-" | "–" | "|")
    });
    // A name: some word of four letters or more ("UN - US" is not one).
    let named = tail
        .split(|c: char| !c.is_alphabetic())
        .any(|w| w.chars().count() >= 4);
    separated && capitals && named
}

/// A whole line of web navigation or accessibility links ("Skip to content",
/// "S'abonner", "Newsletter").
pub fn is_navigation(line: &str) -> bool {
    if line.len() > 40 {
        return false;
    }
    let mut key = line.trim_end_matches([':', '.', ' ']).to_lowercase();
    if key.contains('’') {
        key = key.replace('’', "'");
    }
    NAVIGATION.contains(&key.as_str())
}

fn is_font_sizes(line: &str) -> bool {
    // A lone "S", "M" or "L" could be anything; the two-letter codes cannot.
    let mut strong = false;
    for w in line.split_whitespace() {
        if !FONT_SIZES.contains(&w) {
            return false;
        }
        strong |= w.len() >= 2;
    }
    strong
}

/// "Avec AFP", "avec Reuters", "(AFP)", "Source : AFP et Reuters", "© AFP 2016".
pub fn is_agency_credit(s: &str) -> bool {
    if s.len() > MAX_CREDIT_BYTES {
        return false;
    }
    let lower = s.to_lowercase();
    let mut rest = lower
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(['.', ')', ' '])
        .trim();
    for lead in CREDIT_LEADS {
        if let Some(r) = rest.strip_prefix(lead) {
            rest = r.trim();
            break;
        }
    }
    let rest = rest.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
    let parts: Vec<&str> = rest
        .split([',', '/'])
        .flat_map(|p| p.split(" et "))
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .collect();
    !rest.is_empty() && parts.iter().all(|p| AGENCIES.contains(p))
}

fn is_reuter_sign_off(s: &str) -> bool {
    matches!(s, "Reuter" | "REUTER" | "Reuters" | "REUTERS")
}

/// Byte length of a teaser marker ("Lire aussi :", "A ne pas manquer sur
/// BBC Afrique :") at the start of `s`, colon included.
pub fn teaser_marker_len(s: &str) -> Option<usize> {
    let head = TEASERS.iter().find(|t| s.starts_with(*t))?;
    let mut rest = &s[head.len()..];
    if let Some(r) = rest.strip_prefix(" sur BBC Afrique") {
        rest = r;
    }
    let rest = rest.trim_start_matches([' ', '\u{a0}', '\u{202f}']);
    let rest = rest.strip_prefix(':')?;
    Some(s.len() - rest.len())
}

/// Whether `word` (a whitespace-delimited token) followed by `next` looks
/// like the first word of a French sentence.
pub fn opens_french_sentence(word: &str, next: Option<&str>) -> bool {
    let word = word.trim_start_matches(['"', '«', '“']);
    if let Some(pos) = word.find(['\'', '’']) {
        let tail = &word[pos..];
        let tail = tail.trim_start_matches(['\'', '’']);
        return FRENCH_ELIDED.contains(&&word[..pos])
            && tail.chars().next().is_some_and(char::is_lowercase);
    }
    if !FRENCH_STARTERS.contains(&word) {
        return false;
    }
    if FRENCH_PRONOUNS.contains(&word) {
        return true;
    }
    next.and_then(|n| n.chars().next())
        .is_some_and(|c| c.is_lowercase() || c.is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sign_off_holds_the_core_searched_first() {
        assert!(SIGN_OFFS.iter().all(|p| p.contains(SIGN_OFF_CORE)));
    }

    #[test]
    fn pieces_with_a_credit_sign_off_or_footer_may_hold_boilerplate() {
        for piece in [
            "Il est parti. Avec AFP",
            "Il est parti, a-t-il dit.Avec Reuters.",
            "Reuter",
            "Prices fell. Follow BBC News on Twitter",
        ] {
            assert!(may_hold_boilerplate_sentence(piece), "{piece}");
        }
        // The AFP is named in a long sentence, never in a short one.
        for piece in [
            "MM. Poutine et Rohani ont salué la victoire (...) à Alep.",
            "Le président a parlé à l'AFP de la reprise de la moitié de la ville hier soir.",
        ] {
            assert!(!may_hold_boilerplate_sentence(piece), "{piece}");
        }
    }

    #[test]
    fn credits_and_sign_offs_are_recognised() {
        for s in [
            "Avec AFP",
            "avec Reuters",
            "(AFP)",
            "Source : AFP et Reuters",
            "© AFP 2016",
            "Reuter",
            "REUTER",
        ] {
            assert!(is_boilerplate_sentence(s), "{s}");
        }
        for s in [
            "Avec l'AFP, il a parlé.",
            "Reuters said profits rose.",
            "Avec lui",
        ] {
            assert!(!is_boilerplate_sentence(s), "{s}");
        }
    }

    #[test]
    fn navigation_and_font_sizes_but_not_words() {
        assert!(is_boilerplate_line("Liens d'accessibilité"));
        assert!(is_boilerplate_line("XS"));
        assert!(is_boilerplate_line("XS SM MD LG"));
        assert!(!is_boilerplate_line("M"));
        assert!(!is_boilerplate_line("Le menu du jour était copieux."));
    }

    #[test]
    fn teaser_markers_include_the_colon() {
        assert_eq!(teaser_marker_len("Lire aussi : X"), Some(12));
        assert_eq!(teaser_marker_len("Lire aussi: X"), Some(11));
        assert_eq!(
            teaser_marker_len("A ne pas manquer sur BBC Afrique : X"),
            Some("A ne pas manquer sur BBC Afrique :".len())
        );
        assert_eq!(teaser_marker_len("Lire aussi le livre"), None);
    }

    #[test]
    fn french_sentence_openings() {
        assert!(opens_french_sentence("L'ex-président", Some("kényan")));
        assert!(opens_french_sentence("La", Some("justice")));
        assert!(opens_french_sentence("Il", Some("a")));
        assert!(!opens_french_sentence("La", Some("Rue")));
        assert!(!opens_french_sentence("Daniel", Some("Arap")));
        assert!(!opens_french_sentence("L'", None));
    }
}
