//! Words as a reader sees them: what a scraped page writes inside a word
//! that no reader sees, or sees as one letter, folded away before the text
//! is cleaned and read.
//!
//! Three such writings are common in scraped copy: soft hyphens, the
//! hyphenation points of a web page ("Collec\u{ad}ti\u{ad}vité",
//! "Hally\u{ad}day"), which Unicode word segmentation keeps inside the word
//! so that it matches no vocabulary term, gazetteer name, function word or
//! caption pattern; letters written with combining accents ("e" followed
//! by U+0301, as macOS and some CMSs store text), which match none of the
//! composed forms the vocabulary and the tables hold; and HTML character
//! references a scraper left undecoded ("Beyonc&#233;", "l&#39;arm&eacute;e",
//! as in some BBC and RSS copy), which cut a word in three. Folding drops
//! the first, composes each letter with the accents that follow it
//! (Unicode NFC of that letter) and decodes the third (`html-escape`), so
//! that such a dispatch gets the tags and the summary of the same text
//! written plainly.
//!
//! A page scraped with its markup is read the same way: its HTML tags
//! (`text::markup`) are dropped, a paragraph or line break left where a
//! block or a `<br>` ends, and scripts, styles, navigation, footers and
//! figure captions go with what they hold, so that the cleaning sees the
//! lines a reader sees.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::markup::{self, Effect, Tags};

/// Soft hyphen: a hyphenation point, invisible unless a line breaks there.
const SOFT_HYPHEN: char = '\u{ad}';

/// Whether `c` belongs to the letter before it: a soft hyphen or a
/// combining accent of the Combining Diacritical Marks block.
fn joins_previous(c: char) -> bool {
    c == SOFT_HYPHEN || ('\u{300}'..='\u{36f}').contains(&c)
}

/// Longest character reference decoded, ";" included ("&CounterClockwiseContourIntegral;" is 33 bytes).
const MAX_REFERENCE: usize = 33;

/// The character reference starting at byte `at` of `s` ("&#233;",
/// "&eacute;", "&amp;"): its length and what it stands for; `None` where
/// `s` has no reference there ("AT&T", "&foo;", "&amp" without its ";").
fn reference_at(s: &str, at: usize) -> Option<(usize, String)> {
    let rest = s.get(at..)?;
    if !rest.starts_with('&') {
        return None;
    }
    let end = rest.bytes().take(MAX_REFERENCE).position(|b| b == b';')?;
    // "&" and ";" are ASCII: both ends are character boundaries.
    let reference = rest.get(..=end)?;
    match html_escape::decode_html_entities(reference) {
        Cow::Owned(decoded) => Some((reference.len(), decoded)),
        Cow::Borrowed(_) => None,
    }
}

/// Whether `s` holds a soft hyphen, a combining accent or a character
/// reference, found by vectorised byte searches: a soft hyphen is encoded
/// C2 AD, the bytes CC and CD only ever open a character of
/// U+0300-U+037F, and a reference opens with "&". Most dispatches hold
/// none and are not copied.
fn needs_folding(s: &str) -> bool {
    let bytes = s.as_bytes();
    memchr::memchr3_iter(0xad, 0xcc, 0xcd, bytes)
        .any(|i| bytes[i] != 0xad || (i > 0 && bytes[i - 1] == 0xc2))
        || memchr::memchr_iter(b'&', bytes).any(|i| reference_at(s, i).is_some())
}

/// What stands in the folded text for a tag of this effect.
fn replacement(effect: Effect) -> &'static str {
    match effect {
        Effect::Inline => "",
        Effect::Line => "\n",
        Effect::Block | Effect::Skip => "\n\n",
    }
}

/// A text as folded, with the way back to the caller's byte offsets.
#[derive(Debug, Clone)]
pub struct Folded<'a> {
    text: Cow<'a, str>,
    /// `(folded offset, original offset)` where the distance between the
    /// two changes: at the first character after each folded letter. Empty
    /// when nothing was folded.
    shifts: Vec<(usize, usize)>,
}

impl Folded<'_> {
    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The offset in the original text of `at`, an offset of the folded
    /// text that starts a character other than an accent (or ends the
    /// text): where the same character starts there.
    pub fn original(&self, at: usize) -> usize {
        let k = self.shifts.partition_point(|&(folded, _)| folded <= at);
        match k.checked_sub(1).and_then(|k| self.shifts.get(k)) {
            Some(&(folded, original)) => original + (at - folded),
            None => at,
        }
    }
}

/// `s` without soft hyphens or HTML tags, with each letter composed with
/// the combining accents after it and character references decoded;
/// borrowed as it is when it holds none of them.
pub fn fold(s: &str) -> Cow<'_, str> {
    fold_mapped(s).text
}

/// [`fold`], with the offsets of the folded text mapped back to `s`.
pub fn fold_mapped(s: &str) -> Folded<'_> {
    // Tags count only in a text that is marked up (see `holds_markup`).
    let marked_up = markup::holds_markup(s);
    if !marked_up && !needs_folding(s) {
        return Folded {
            text: Cow::Borrowed(s),
            shifts: Vec::new(),
        };
    }
    let mut out = String::with_capacity(s.len());
    let mut shifts = Vec::new();
    let mut tags = Tags::new(s);
    let mut start = 0;
    while let Some(c) = s.get(start..).and_then(|rest| rest.chars().next()) {
        if let Some((len, effect)) = (marked_up && c == '<').then(|| tags.at(start)).flatten() {
            out.push_str(replacement(effect));
            start += len;
            shifts.push((out.len(), start));
            continue;
        }
        if let Some((len, decoded)) = reference_at(s, start) {
            out.extend(decoded.chars().filter(|&c| c != SOFT_HYPHEN));
            start += len;
            shifts.push((out.len(), start));
            continue;
        }
        // A letter and what joins it ("e" + U+0301 + U+AD), as one piece.
        let mut end = start + c.len_utf8();
        while let Some(next) = s.get(end..).and_then(|rest| rest.chars().next()) {
            if !joins_previous(next) {
                break;
            }
            end += next.len_utf8();
        }
        let piece = &s[start..end];
        if piece.chars().any(joins_previous) {
            out.extend(piece.chars().filter(|&c| c != SOFT_HYPHEN).nfc());
            shifts.push((out.len(), end));
        } else {
            out.push_str(piece);
        }
        start = end;
    }
    Folded {
        text: Cow::Owned(out),
        shifts,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    use super::*;

    #[test]
    fn soft_hyphens_go_and_accents_compose() {
        assert_eq!(fold("Collec\u{ad}ti\u{ad}vité"), "Collectivité");
        assert_eq!(fold("Pe\u{301}rou, E\u{301}tats-Unis"), "Pérou, États-Unis");
        assert_eq!(fold("a\u{300} Alep"), "à Alep");
        assert_eq!(fold("\u{ad}e\u{ad}\u{301}"), "é");
    }

    #[test]
    fn character_references_are_decoded() {
        assert_eq!(fold("Beyonc&#233; &amp; Jay-Z"), "Beyoncé & Jay-Z");
        assert_eq!(fold("l&#39;arm&eacute;e syrienne"), "l'armée syrienne");
        assert_eq!(fold("Collec&shy;tivit&#xE9;"), "Collectivité");
        // Not references: kept as written.
        for s in ["AT&T", "M&A; S&P 500", "&foo;", "&amp", "a & b;"] {
            assert!(matches!(fold(s), Cow::Borrowed(_)), "{s:?}");
        }
        let s = "Beyonc&#233;. Apr&egrave;s, Jay-Z.";
        let f = fold_mapped(s);
        assert_eq!(f.as_str(), "Beyoncé. Après, Jay-Z.");
        for word in [".", "Apr", ",", "Jay"] {
            let at = f.as_str().find(word).unwrap();
            assert!(s[f.original(at)..].starts_with(word), "{word:?}");
        }
    }

    #[test]
    fn html_tags_go_and_blocks_leave_paragraph_breaks() {
        let s = "<nav><a href=\"/\">Accueil</a></nav><h1>Titre</h1>\n<p>Le <b>président</b> russe.<br>Suite.</p><script>x = '<p>';</script><p>Fin.</p>";
        let f = fold_mapped(s);
        assert_eq!(
            f.as_str(),
            "\n\n\n\nTitre\n\n\n\n\nLe président russe.\nSuite.\n\n\n\n\n\nFin.\n\n"
        );
        for word in ["Titre", "Le", "président", " russe", ".", "Suite", "Fin"] {
            let at = f.as_str().find(word).unwrap();
            assert!(s[f.original(at)..].starts_with(word), "{word:?}");
        }
        assert_eq!(f.original(f.as_str().len()), s.len());
        // Angle brackets of plain copy are not markup, nor tags of a text
        // that is not marked up (Reuters tickers).
        for s in [
            "<INFD> 4TH QTR NET SHR 12 CTS",
            "a < b > c",
            "<p",
            "Phillips Petroleum <P> said. <BR>Cheonan",
        ] {
            assert!(matches!(fold(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn text_with_nothing_to_fold_is_not_copied() {
        // "í" is C3 AD: its AD byte is no soft hyphen.
        for s in [
            "Le président russe à Alep",
            "Río de Janeiro",
            "",
            "«\u{202f}Paris\u{202f}»",
        ] {
            assert!(matches!(fold(s), Cow::Borrowed(t) if t == s), "{s:?}");
            let mapped = fold_mapped(s);
            assert_eq!(mapped.original(s.len()), s.len());
        }
    }

    #[test]
    fn offsets_map_back_to_the_same_characters() {
        let s = "Le pre\u{301}sident. La vic\u{ad}toire, a\u{300} Alep.";
        let f = fold_mapped(s);
        assert_eq!(f.as_str(), "Le président. La victoire, à Alep.");
        for word in ["Le", ".", "La", ",", "Alep", "."] {
            let at = f.as_str().find(word).unwrap();
            let back = f.original(at);
            assert!(s[back..].starts_with(word), "{word:?} at {at} -> {back}");
        }
        assert_eq!(f.original(f.as_str().len()), s.len());
    }

    /// Each character of `f` with its offset mapped back to `s`, checking
    /// that those offsets keep their order and stay within `s`, and that
    /// the folded text's end maps to `s`'s.
    fn mapped_back(s: &str, f: &Folded<'_>) -> Result<Vec<(char, usize)>, TestCaseError> {
        let mut last = 0;
        let mut out = Vec::new();
        for (at, c) in f.as_str().char_indices() {
            let back = f.original(at);
            prop_assert!(back >= last && back <= s.len());
            last = back;
            out.push((c, back));
        }
        prop_assert_eq!(f.original(f.as_str().len()), s.len());
        Ok(out)
    }

    proptest! {
        #[test]
        fn marked_up_text_folds_to_offsets_inside_the_text(
            s in "(<(/)?(p|a|br|script|nav|b|P|I)( x=\"1\")?>|<!--|-->|<!doctype x>|[a-zé <>/!=.-]){0,40}"
        ) {
            let f = fold_mapped(&s);
            // No accents to compose here: every offset starts a character.
            for (_, back) in mapped_back(&s, &f)? {
                prop_assert!(s.is_char_boundary(back));
            }
            // Letters outside tags are kept: a folded text has no more
            // letters than the text.
            let letters = |t: &str| t.chars().filter(|c| c.is_alphabetic()).count();
            prop_assert!(letters(f.as_str()) <= letters(&s));
        }

        #[test]
        fn folding_composes_and_keeps_every_other_character(
            s in "[a-zA-Zée\u{ad}\u{300}\u{301}\u{308}í Ωα.,-]{0,30}"
        ) {
            let f = fold_mapped(&s);
            // Spaces and punctuation, where sentences and words begin and
            // end, map back to themselves.
            for (c, back) in mapped_back(&s, &f)? {
                if " .,-".contains(c) {
                    prop_assert!(s[back..].starts_with(c), "{c:?} -> {back}");
                }
            }
            let folded = f.as_str();
            prop_assert!(!folded.contains(SOFT_HYPHEN));
            let nfc: String = s.chars().filter(|&c| c != SOFT_HYPHEN).nfc().collect();
            prop_assert_eq!(folded, nfc.as_str());
        }
    }
}
