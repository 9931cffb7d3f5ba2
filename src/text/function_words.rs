//! Function words: what a word means nothing about a dispatch's topic by.
//! The NLTK stop-word lists of the `stop-words` crate per language, plus
//! the words of wire convention that every desk writes whatever the story
//! (attribution verbs, agency names, weekdays, titles).

use std::sync::OnceLock;

use rustc_hash::FxHashSet as HashSet;

use super::Lang;

/// Wire conventions in English: attribution, agencies, weekdays, titles.
const WIRE_EN: &[&str] = &[
    "said",
    "says",
    "say",
    "saying",
    "told",
    "tells",
    "added",
    "adding",
    "according",
    "reported",
    "reporters",
    "reuters",
    "reuter",
    "afp",
    "ap",
    "dpa",
    "efe",
    "ansa",
    "xinhua",
    "mr",
    "mrs",
    "ms",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "yesterday",
    "today",
    "tomorrow",
    "also",
    "would",
    "could",
    "one",
    "two",
];

/// Wire conventions in French: attribution, agencies, weekdays, titles.
const WIRE_FR: &[&str] = &[
    "selon",
    "déclaré",
    "indiqué",
    "affirmé",
    "ajouté",
    "précisé",
    "expliqué",
    "estimé",
    "souligné",
    "a-t-il",
    "a-t-elle",
    "ont-ils",
    "afp",
    "reuters",
    "ap",
    "belga",
    "ats",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "hier",
    "aujourd'hui",
    "demain",
    "m",
    "mme",
    "aussi",
    "plus",
    "tout",
    "tous",
    "cette",
    "deux",
    "fait",
    "être",
    "avoir",
    "comme",
    "dont",
    "où",
    "a",
    "chez",
    "ont",
    "sont",
    "après",
    "aux",
];

fn list(lang: &'static str, wire: &[&'static str]) -> HashSet<&'static str> {
    stop_words::get(lang)
        .iter()
        .copied()
        .chain(wire.iter().copied())
        .collect()
}

fn english() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| list("en", WIRE_EN))
}

fn french() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| list("fr", WIRE_FR))
}

/// The function words of French or English (none for [`Lang::Und`]), for
/// callers that index them their own way.
pub(crate) fn function_words(lang: Lang) -> impl Iterator<Item = &'static str> {
    let set = match lang {
        Lang::En => Some(english()),
        Lang::Fr => Some(french()),
        Lang::Und => None,
    };
    set.into_iter().flatten().copied()
}

/// Whether a normalised word ([`super::words::normalize`]) is a function
/// word of `lang`; of either language when the language is undetermined.
pub fn is_function_word(word: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => english().contains(word),
        Lang::Fr => french().contains(word),
        Lang::Und => english().contains(word) || french().contains(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_per_language() {
        assert!(is_function_word("the", Lang::En) && is_function_word("said", Lang::En));
        assert!(is_function_word("les", Lang::Fr) && is_function_word("selon", Lang::Fr));
        // "son" is a French determiner and an English noun.
        assert!(is_function_word("son", Lang::Fr) && !is_function_word("son", Lang::En));
        assert!(is_function_word("son", Lang::Und));
        assert!(!is_function_word("grève", Lang::Fr) && !is_function_word("strike", Lang::En));
    }
}
