//! French and English function words left out of sentence vectors.
//!
//! With the in-document idf fallback (a stub model) these words would be
//! weighted like content words and make every sentence look alike.

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

/// Sorted (a test checks it), lowercased, elisions already stripped by `words::normalize`.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "ai", "all", "also", "an", "and", "any", "are", "as", "at", "au",
    "aussi", "aux", "avait", "avec", "be", "been", "but", "by", "can", "ce", "cela", "ces", "cet",
    "cette", "could", "dans", "de", "des", "did", "do", "donc", "du", "elle", "elles", "en", "est",
    "et", "for", "from", "had", "has", "have", "he", "her", "his", "i", "if", "il", "ils", "in",
    "into", "is", "it", "its", "je", "la", "le", "les", "leur", "leurs", "lui", "mais", "me",
    "more", "most", "my", "ne", "no", "not", "nous", "of", "on", "one", "ont", "or", "ou", "our",
    "out", "où", "par", "pas", "plus", "pour", "qu", "que", "qui", "s", "sa", "said", "sans", "se",
    "ses", "she", "si", "so", "son", "sont", "sur", "than", "that", "the", "their", "them",
    "there", "they", "this", "those", "to", "tous", "tout", "très", "un", "une", "up", "was", "we",
    "were", "what", "when", "which", "who", "will", "with", "would", "y", "you", "été", "être",
];

/// Whether `word` (normalised) carries no topic. Asked once per distinct
/// word of every summarized document: one hash lookup, not a binary
/// search's eight string comparisons.
pub fn is_stopword(word: &str) -> bool {
    static SET: OnceLock<FxHashSet<&'static str>> = OnceLock::new();
    word.chars().count() < 2
        || SET
            .get_or_init(|| STOPWORDS.iter().copied().collect())
            .contains(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_so_binary_search_works() {
        assert!(
            STOPWORDS.windows(2).all(|w| w[0] < w[1]),
            "STOPWORDS must be sorted, without repeats"
        );
        for w in STOPWORDS {
            assert!(is_stopword(w), "{w}");
        }
        assert!(is_stopword("the") && is_stopword("les") && is_stopword("x"));
        assert!(!is_stopword("alep") && !is_stopword("profits"));
    }
}
