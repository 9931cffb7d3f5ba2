//! Collects the written forms of place names and settles their conflicts.

use std::collections::BTreeMap;
use std::collections::btree_map;

use super::index::{Case, Entry};
use super::scan;

/// Where a form comes from; a more trusted source wins a conflict between
/// countries (the hand-curated table overrides the taxonomy, names override
/// demonyms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// A demonym of the taxonomy.
    Demonym,
    /// A name, alias or capital of the taxonomy.
    Name,
    /// The hand-curated table.
    Curated,
}

/// Forms shorter than this (letters and digits) are too likely to be
/// something else, unless they are acronyms or abbreviations.
const MIN_CHARS: usize = 4;

/// Words skipped when deciding which word must be capitalised.
const PARTICLES: &[&str] = &[
    "a", "al", "and", "au", "aux", "d", "de", "des", "du", "el", "en", "et", "l", "la", "le",
    "les", "of", "the",
];

/// Acronyms that are also ordinary words in upper-case headlines.
const WORDLIKE_ACRONYMS: &[&str] = &["us", "eau"];

/// What a form names and how: its country (`None`: blocked), case rule,
/// source, and whether it is a state or province ([`Entry::state`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    pub country: Option<u16>,
    pub case: Case,
    pub source: Source,
    pub state: bool,
}

#[derive(Debug, Clone)]
struct Candidate {
    country: Option<u16>,
    case: Case,
    head: u8,
    source: Source,
    state: bool,
}

/// Place-name forms keyed by their lowercased words.
#[derive(Debug, Default)]
pub(crate) struct Forms {
    by_words: BTreeMap<Vec<String>, Candidate>,
    conflicts: Vec<String>,
}

impl Forms {
    /// Adds `form` for `country` (`None`: blocked). Parenthesised parts are
    /// dropped ("Iran (Islamic Republic of)"); inverted forms with a comma
    /// ("Korea, Republic of") and too-short forms are skipped. A form that
    /// starts with an accented capital is also added without the accent, as
    /// French newsrooms often write "Etats-Unis".
    pub fn add(&mut self, form: &str, country: Option<u16>, case: Case, source: Source) {
        self.add_claim(
            form,
            Claim {
                country,
                case,
                source,
                state: false,
            },
        );
    }

    /// [`Forms::add`] with a [`Claim`], which may be a state or province.
    pub fn add_claim(&mut self, form: &str, claim: Claim) {
        let form = strip_brackets(form);
        let form = form.trim();
        if form.is_empty() || form.contains(',') {
            return;
        }
        if let Some(plain) = without_first_accent(form) {
            self.insert(&plain, claim);
        }
        self.insert(form, claim);
    }

    fn insert(&mut self, form: &str, claim: Claim) {
        let Claim {
            country,
            case,
            source,
            state,
        } = claim;
        let words = scan::words(form).keys();
        let chars: usize = words.iter().map(|w| w.chars().count()).sum();
        let short_ok = matches!(case, Case::Upper | Case::UpperWord | Case::Abbrev);
        if chars < MIN_CHARS && !short_ok && country.is_some() {
            return;
        }
        let Some(head) = words.iter().position(|w| !PARTICLES.contains(&w.as_str())) else {
            return;
        };
        let Ok(head) = u8::try_from(head) else {
            return;
        };
        let case = match case {
            Case::Upper if words.len() == 1 && WORDLIKE_ACRONYMS.contains(&words[0].as_str()) => {
                Case::UpperWord
            }
            other => other,
        };
        let new = Candidate {
            country,
            case,
            head,
            source,
            state,
        };
        match self.by_words.entry(words) {
            btree_map::Entry::Vacant(v) => {
                v.insert(new);
            }
            btree_map::Entry::Occupied(mut o) => {
                let old = o.get_mut();
                if old.country == new.country {
                    old.case = old.case.min(new.case);
                    old.source = old.source.max(new.source);
                    old.state |= new.state;
                } else if new.source > old.source {
                    *old = new;
                } else if new.source == old.source && old.country.is_some() {
                    // Two countries claim the same form with equal authority:
                    // it names neither, and blocks shorter names inside it.
                    self.conflicts.push(o.key().join(" "));
                    let old = o.get_mut();
                    old.country = None;
                    old.case = Case::Any;
                    old.state = false;
                }
            }
        }
    }

    /// Forms two countries claimed with equal authority (now blocked).
    pub fn conflicts(&self) -> &[String] {
        &self.conflicts
    }

    /// The settled forms as index entries, sorted by words.
    pub fn into_entries(self) -> Vec<Entry> {
        self.by_words
            .into_iter()
            .map(|(words, c)| Entry {
                words,
                country: c.country,
                case: c.case,
                head: c.head,
                state: c.state,
            })
            .collect()
    }
}

/// French plural of a demonym or adjective ("syrienne" -> "syriennes");
/// `None` when it is invariable ("français").
pub(crate) fn plural_fr(word: &str) -> Option<String> {
    (!word.ends_with(['s', 'x', 'z'])).then(|| format!("{word}s"))
}

/// English plural of a demonym ("Syrian" -> "Syrians", "Iraqi" -> "Iraqis");
/// `None` for the invariable ones ("Chinese", "Swiss", "Dutch").
pub(crate) fn plural_en(word: &str) -> Option<String> {
    word.ends_with(['n', 'i', 'k', 'r', 'o'])
        .then(|| format!("{word}s"))
}

fn strip_brackets(form: &str) -> String {
    let mut out = String::with_capacity(form.len());
    let mut depth = 0usize;
    for c in form.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn without_first_accent(form: &str) -> Option<String> {
    let mut chars = form.chars();
    let plain = match chars.next()? {
        'É' | 'È' | 'Ê' => 'E',
        'é' | 'è' | 'ê' => 'e',
        'À' | 'Â' => 'A',
        'à' | 'â' => 'a',
        'Î' => 'I',
        'î' => 'i',
        'Ô' => 'O',
        'ô' => 'o',
        _ => return None,
    };
    Some(std::iter::once(plain).chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(forms: Forms) -> Vec<(String, Option<u16>, Case)> {
        forms
            .into_entries()
            .into_iter()
            .map(|e| (e.words.join(" "), e.country, e.case))
            .collect()
    }

    #[test]
    fn curated_wins_and_equal_claims_block() {
        let mut f = Forms::default();
        f.add("Congo", Some(1), Case::Capital, Source::Name);
        f.add("Congo", Some(2), Case::Capital, Source::Name);
        f.add("Kingston", Some(3), Case::Capital, Source::Name);
        f.add("Kingston", Some(4), Case::Capital, Source::Name);
        f.add("Congo", Some(2), Case::Capital, Source::Curated);
        assert_eq!(f.conflicts(), ["congo", "kingston"]);
        assert_eq!(
            settle(f),
            [
                ("congo".into(), Some(2), Case::Capital),
                ("kingston".into(), None, Case::Any)
            ]
        );
    }

    #[test]
    fn same_country_keeps_the_most_lenient_case() {
        let mut f = Forms::default();
        f.add("Argentine", Some(1), Case::Capital, Source::Name);
        f.add("argentine", Some(1), Case::Any, Source::Demonym);
        assert_eq!(settle(f), [("argentine".into(), Some(1), Case::Any)]);
    }

    #[test]
    fn brackets_commas_short_forms_and_accents() {
        let mut f = Forms::default();
        f.add(
            "Iran (Islamic Republic of)",
            Some(1),
            Case::Capital,
            Source::Name,
        );
        f.add("Korea, Republic of", Some(2), Case::Capital, Source::Name);
        f.add("Lao", Some(3), Case::Capital, Source::Name);
        f.add("US", Some(4), Case::Upper, Source::Name);
        f.add("États-Unis", Some(4), Case::Capital, Source::Name);
        let keys: Vec<_> = settle(f).into_iter().map(|(k, _, c)| (k, c)).collect();
        assert_eq!(
            keys,
            [
                ("etats unis".into(), Case::Capital),
                ("iran".into(), Case::Capital),
                ("us".into(), Case::UpperWord),
                ("états unis".into(), Case::Capital),
            ]
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(plural_fr("syrienne").as_deref(), Some("syriennes"));
        assert_eq!(plural_fr("français"), None);
        assert_eq!(plural_en("Iraqi").as_deref(), Some("Iraqis"));
        assert_eq!(plural_en("Chinese"), None);
    }
}
