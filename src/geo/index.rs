//! Word-sequence index of place names: the longest name starting at a word.

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::scan::{Word, Words};

/// How a name must be written in the text to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Case {
    /// Any case: French demonyms and adjectives are lowercase ("le président
    /// russe").
    Any,
    /// The head word capitalised: names, capitals, cities and English
    /// demonyms, so that "inde", "niger" or "turkey" stay common words.
    Capital,
    /// Capitalised and directly followed by a dot: "Calif.", "Tex.".
    Abbrev,
    /// Every word in capitals: acronyms ("UAE", "RDC", "U.S.").
    Upper,
    /// An acronym that is also a word ("US"/"us", "EAU"/"eau"): in capitals,
    /// and in a shouted headline only when written with dots.
    UpperWord,
}

/// One name of the gazetteer as a sequence of lowercased words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Lowercased words, as [`super::scan::words`] produces them.
    pub words: Vec<String>,
    /// Index into the country table; `None` for blocked forms, which still
    /// match (so that no shorter name inside them does) but count for nobody.
    pub country: Option<u16>,
    /// Case rule.
    pub case: Case,
    /// The word whose case decides: the first that is not an article, so
    /// that "de la Haye" and "La Haye" both match "La Haye".
    pub head: u8,
    /// A state or province ("Texas", "Ontario", "Calif."): a place name
    /// just before it, after a comma, is a town of its country ("Paris,
    /// Texas").
    pub state: bool,
}

/// The longest name found at a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    /// Index into the country table; `None` for a blocked form.
    pub country: Option<u16>,
    /// Words it covers.
    pub len: usize,
    /// Whether it is a state or province ([`Entry::state`]).
    pub state: bool,
}

impl Entry {
    fn matches_case(&self, words: &Words, at: usize) -> bool {
        let span = || (at..at + self.words.len()).filter_map(|k| words.get(k));
        let head = words.get(at + usize::from(self.head));
        match self.case {
            Case::Any => true,
            Case::Capital => head.is_some_and(|w| w.capital),
            Case::Abbrev => {
                head.is_some_and(|w| w.capital) && span().next_back().is_some_and(|w| w.dot_after)
            }
            Case::Upper => span().all(|w| w.upper),
            Case::UpperWord => span().all(|w: &Word| w.upper && (w.dotted || !w.shouting)),
        }
    }
}

/// Entries keyed by their first word, longest first within a key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
    by_first: FxHashMap<String, Vec<u32>>,
}

impl Index {
    /// Indexes `entries` (which must each have at least one word).
    pub fn new(entries: Vec<Entry>) -> Self {
        let mut by_first: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        for (i, e) in (0u32..).zip(&entries) {
            if let Some(first) = e.words.first() {
                by_first.entry(first.clone()).or_default().push(i);
            }
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|&i| {
                std::cmp::Reverse(entries.get(i as usize).map_or(0, |e| e.words.len()))
            });
        }
        Self { entries, by_first }
    }

    /// All entries, in the order they were given.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The longest entry matching at word `at`. Inlined: the place scan
    /// calls it at every word of a text, and most words start no name.
    #[inline]
    pub fn longest(&self, words: &Words, at: usize) -> Option<Match> {
        let candidates = self.by_first.get(words.key(at))?;
        candidates
            .iter()
            .filter_map(|&i| self.entries.get(i as usize))
            .find(|e| {
                crate::work::add(e.words.len());
                at + e.words.len() <= words.len()
                    && e.words
                        .iter()
                        .enumerate()
                        .skip(1)
                        .all(|(k, w)| words.key(at + k) == w)
                    && e.matches_case(words, at)
            })
            .map(|e| Match {
                country: e.country,
                len: e.words.len(),
                state: e.state,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::scan::words;
    use super::*;

    fn entry(text: &str, country: u16, case: Case) -> Entry {
        Entry {
            words: words(text).keys(),
            country: Some(country),
            case,
            head: 0,
            state: false,
        }
    }

    fn found(index: &Index, w: &Words, at: usize) -> Option<(Option<u16>, usize)> {
        index.longest(w, at).map(|m| (m.country, m.len))
    }

    #[test]
    fn longest_match_wins_and_case_rules_hold() {
        let index = Index::new(vec![
            entry("Guinée", 1, Case::Capital),
            entry("Guinée équatoriale", 2, Case::Capital),
            entry("US", 3, Case::UpperWord),
            entry("Calif", 3, Case::Abbrev),
        ]);
        let w = words("la Guinée équatoriale et la Guinée, guinée");
        assert_eq!(found(&index, &w, 1), Some((Some(2), 2)));
        assert_eq!(found(&index, &w, 5), Some((Some(1), 1)));
        assert_eq!(found(&index, &w, 6), None);
        let w = words("tell us, the US and U.S. in Calif. or Calif");
        assert_eq!(found(&index, &w, 1), None);
        assert_eq!(found(&index, &w, 3), Some((Some(3), 1)));
        assert_eq!(found(&index, &w, 5), Some((Some(3), 1)));
        assert_eq!(found(&index, &w, 7), Some((Some(3), 1)));
        assert_eq!(found(&index, &w, 9), None);
    }
}
