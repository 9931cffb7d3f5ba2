//! Unicode word segmentation and normalisation for features.

use unicode_segmentation::UnicodeSegmentation;

use super::sentences;

/// A word of the text with its byte offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// First byte in the text.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The word as written.
    pub text: &'a str,
}

/// The words of `text` (letters or digits), with offsets.
///
/// French elisions are split off: "l'armée" yields "armée" and "d’Alep"
/// yields "Alep", because UAX#29 keeps "l'armée" as one word (apostrophe is
/// MidLetter) and features would otherwise see one term per article form.
/// A glued full stop where the sentence splitter ends a sentence
/// ("jeudi.Le", OrangeSum's glued paragraphs) also ends the word: UAX#29
/// keeps it whole, as a full stop between letters is MidNumLet.
pub fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    text.unicode_word_indices().flat_map(move |(start, w)| {
        let end = start + w.len();
        crate::work::add(w.len());
        // Empty, so no allocation, unless the word has a full stop.
        let stops = sentences::glued_stops(text, start..end);
        let mut from = start;
        stops
            .into_iter()
            .chain(std::iter::once(end))
            .filter_map(move |stop| {
                let piece = &text[from..stop];
                // UAX#29 joins a narrow no-break space (ExtendNumLet) to the
                // word after it: French "«\u{202f}Paris" gives "\u{202f}Paris".
                let start = from + (piece.len() - piece.trim_start().len());
                from = stop + 1;
                let w = piece.trim();
                let skip = elision_len(w);
                let word = &w[skip..];
                (!word.is_empty()).then(|| Token {
                    start: start + skip,
                    end: start + w.len(),
                    text: word,
                })
            })
    })
}

/// Bytes of a leading French elided article/pronoun ("l'", "qu’"), or 0.
///
/// Only the short closed set of elided words counts, so English "o'clock"
/// or Irish "O'Neill" are left alone unless their prefix is one of them.
pub fn elision_len(word: &str) -> usize {
    const PREFIXES: [&str; 12] = [
        "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu",
    ];
    let Some(pos) = word.find(['\'', '\u{2019}']) else {
        return 0;
    };
    let head = &word[..pos];
    if !PREFIXES.iter().any(|p| head.eq_ignore_ascii_case(p)) {
        return 0;
    }
    let apostrophe = word[pos..].chars().next().map_or(1, char::len_utf8);
    let rest = &word[pos + apostrophe..];
    // "n't" style English contractions never follow these prefixes with a
    // vowel-less tail, but "l'" must be followed by a real word to count.
    if rest.chars().next().is_some_and(char::is_alphabetic) {
        pos + apostrophe
    } else {
        0
    }
}

/// Lowercased form of a word, as features see it; elisions are dropped and
/// the curly apostrophe is folded to the straight one.
pub fn normalize(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    normalize_into(word, &mut out);
    out
}

/// [`normalize`] into a reused buffer (cleared first), for hot loops.
pub fn normalize_into(word: &str, out: &mut String) {
    out.clear();
    let word = &word[elision_len(word)..];
    if word.is_ascii() {
        // ASCII fast path: no Unicode case tables, no apostrophe folding.
        out.push_str(word);
        out.make_ascii_lowercase();
        return;
    }
    for c in word.chars() {
        if c == '\u{2019}' {
            out.push('\'');
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        tokens(text).map(|t| t.text).collect()
    }

    #[test]
    fn french_elisions_become_the_bare_word() {
        let text = "l'armée d’Alep qu'il n'a s'est j'ai c'est";
        assert_eq!(
            words(text),
            ["armée", "Alep", "il", "a", "est", "ai", "est"]
        );
        assert_eq!(normalize("L'Armée"), "armée");
        assert_eq!(normalize("d’Alep"), "alep");
        assert_eq!(normalize("Qu’il"), "il");
    }

    #[test]
    fn offsets_slice_back_to_the_word() {
        let text = "Hier, l’armée syrienne a repris 1,4 km.";
        for t in tokens(text) {
            assert_eq!(&text[t.start..t.end], t.text);
        }
        assert_eq!(
            words(text),
            ["Hier", "armée", "syrienne", "a", "repris", "1,4", "km"]
        );
    }

    #[test]
    fn glued_paragraphs_split_words_where_sentences_end() {
        // OrangeSum glues paragraphs: "jeudi.Le". The stop ends both the
        // sentence and the word, and the elision after it is still dropped.
        let text = "eu lieu jeudi.Le gouvernement paiera.L'État aussi.";
        assert_eq!(
            words(text),
            [
                "eu",
                "lieu",
                "jeudi",
                "Le",
                "gouvernement",
                "paiera",
                "État",
                "aussi"
            ]
        );
        for t in tokens(text) {
            assert_eq!(&text[t.start..t.end], t.text);
        }
        // Initials, addresses and decimals stay whole.
        assert_eq!(
            words("U.S.A www.bbc.Co.uk 1.4"),
            ["U.S.A", "www.bbc.Co.uk", "1.4"]
        );
        // Found by the property test: a two-letter capitalised word before
        // the stop still counts as a word, as it does for the splitter.
        let text = "Σⁿ.ÀaM. Dupont";
        assert_eq!(words(text), ["Σⁿ", "ÀaM", "Dupont"]);
    }

    #[test]
    fn narrow_no_break_spaces_are_not_part_of_words() {
        // French typography: « Paris » with narrow no-break spaces. UAX#29
        // makes U+202F ExtendNumLet, so it would start the word; found by
        // the property test ("?\u{202f}Ę": a word outside every sentence).
        let text = "«\u{202f}Paris\u{202f}» ?\u{202f}Ę 1\u{202f}000";
        assert_eq!(words(text), ["Paris", "Ę", "1\u{202f}000"]);
        for t in tokens(text) {
            assert_eq!(&text[t.start..t.end], t.text);
        }
    }

    #[test]
    fn english_words_keep_their_apostrophes() {
        assert_eq!(words("O'Neill's don't"), ["O'Neill's", "don't"]);
        assert_eq!(normalize("DON'T"), "don't");
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in ["", "'", "l'", "l’", "😀 l'😀", "\u{202e}عربي", "\0\x01"] {
            let _ = words(s);
            let _ = normalize(s);
        }
        assert_eq!(normalize("ÉCOLE"), "école");
    }
}
