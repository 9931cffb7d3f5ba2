//! Text pipeline: cleaning, language, sentence and word segmentation, all
//! keeping byte offsets into the caller's original text.

pub mod boilerplate;
pub mod clean;
pub mod fold;
pub mod function_words;
pub mod lang;
mod markup;
pub mod sentences;
pub mod words;

pub use clean::{Cleaned, Segment, SegmentKind, clean};
pub use lang::Lang;

/// A table of which bytes are among `bytes`, for loops that skip every
/// other byte with one lookup each.
pub(crate) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        table[bytes[k] as usize] = true;
        k += 1;
    }
    table
}

/// The lead of a body: its sentences in order, up to and including the one
/// that brings the lead to `chars` characters (the whole body if shorter).
pub fn lead(body: &str, lang: Lang, chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for r in sentences::split(body, 0..body.len(), lang) {
        if !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        out.push_str(&body[r.clone()]);
        count += body[r].chars().count();
        if count >= chars {
            break;
        }
    }
    out
}

/// True when `s` has nothing a reader could see: only whitespace, control
/// characters and invisible format characters (zero-width spaces and
/// joiners, byte-order marks, soft hyphens, bidirectional controls).
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c,
                '\u{ad}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}')
    })
}

/// Properties of the whole text pipeline on generated input: whatever a
/// scraper sends, every range handed back is a valid slice of it.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{Lang, SegmentKind, clean, is_blank, sentences, words};

    #[test]
    fn a_lead_is_whole_sentences_up_to_the_length() {
        let body = "Le gouvernement a présenté mardi son budget. Il prévoit une baisse \
                    des impôts de 2 milliards d'euros pour les ménages. L'opposition \
                    dénonce un budget de campagne. Le vote aura lieu en décembre.";
        // The second sentence brings the lead past 60 characters: it ends there.
        assert_eq!(
            super::lead(body, Lang::Fr, 60),
            "Le gouvernement a présenté mardi son budget. Il prévoit une baisse \
             des impôts de 2 milliards d'euros pour les ménages."
        );
        // One sentence is enough when it is long enough; paragraphs join.
        assert_eq!(
            super::lead("Storms hit the coast.\nTrains stopped.", Lang::En, 5),
            "Storms hit the coast."
        );
        assert_eq!(
            super::lead("Storms hit the coast.\nTrains stopped.", Lang::En, 30),
            "Storms hit the coast. Trains stopped."
        );
        assert_eq!(super::lead("", Lang::En, 30), "");
    }

    #[test]
    fn invisible_characters_are_blank_and_a_letter_is_not() {
        assert!(is_blank(""));
        assert!(is_blank(
            " \t\r\n\u{a0}\u{3000}\u{200b}\u{feff}\u{0}\u{202e}"
        ));
        assert!(!is_blank("\u{200b}a"));
        assert!(!is_blank("....."));
        assert!(!is_blank("🙂"));
    }

    /// Pieces that stress the rules: boilerplate lines, abbreviations,
    /// decimals, guillemets, ellipses, URLs, multi-byte scripts, combining
    /// marks, emoji with joiners, controls and odd whitespace.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Liens d'accessibilité\n".to_string()),
            Just("XS\nSM\nMD\nLG\n".to_string()),
            Just("Avec AFP\n".to_string()),
            Just("PARIS (Reuters) - ".to_string()),
            Just("M. Dupont a dit « Il faut partir… » puis ".to_string()),
            Just("U.S. growth was 1,4 % or 3.5 percent. ".to_string()),
            Just("Voir https://example.org/a.b?c=d. ".to_string()),
            Just("J. R. R. Tolkien... ".to_string()),
            Just("مرحبا بالعالم. שלום עולם! ".to_string()),
            Just("e\u{301}te\u{301} 👩\u{200d}👩\u{200d}👧 🇫🇷 ".to_string()),
            Just("\u{0}\u{1}\u{7f}\u{feff}\u{2028}\r\n\t".to_string()),
            "[a-zA-Zéèàçô ]{1,40}[.!?]? ",
            any::<String>(),
        ]
    }

    fn dispatch() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..24).prop_map(|v| v.concat())
    }

    fn assert_slice(text: &str, start: usize, end: usize) {
        assert!(
            start <= end && end <= text.len(),
            "{start}..{end} of {}",
            text.len()
        );
        assert!(
            text.is_char_boundary(start),
            "start {start} splits a character"
        );
        assert!(text.is_char_boundary(end), "end {end} splits a character");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn segments_are_ordered_slices_of_the_text(text in dispatch()) {
            let cleaned = clean(&text);
            let mut last = 0;
            for s in &cleaned.segments {
                assert_slice(&text, s.start, s.end);
                prop_assert!(s.start >= last, "segments overlap");
                prop_assert!(!text[s.start..s.end].trim().is_empty(), "blank segment");
                last = s.end;
            }
            prop_assert!(cleaned.segments.iter().filter(|s| s.kind == SegmentKind::Headline).count() <= 1);
        }

        #[test]
        fn sentences_are_trimmed_ordered_slices_within_their_range(
            text in dispatch(),
            a in any::<usize>(),
            b in any::<usize>(),
        ) {
            // Any range, even out of bounds or mid-character, is clamped.
            let (lo, hi) = if text.is_empty() { (0, 0) } else { (a % (text.len() + 8), b % (text.len() + 8)) };
            let range = lo.min(hi)..lo.max(hi);
            // Clamped to the text, and widened to whole characters at the start.
            let floor = |mut i: usize| {
                i = i.min(text.len());
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            let (lo, hi) = (floor(range.start), floor(range.end));
            for lang in [Lang::Fr, Lang::En, Lang::Und] {
                let mut last = 0;
                for s in sentences::split(&text, range.clone(), lang) {
                    assert_slice(&text, s.start, s.end);
                    prop_assert!(s.start >= last && s.start < s.end);
                    prop_assert!(s.start >= lo && s.end <= hi);
                    let sentence = &text[s.clone()];
                    prop_assert_eq!(sentence.trim(), sentence);
                    last = s.end;
                }
            }
        }

        #[test]
        fn every_body_word_is_in_some_sentence(text in dispatch()) {
            let cleaned = clean(&text);
            for range in cleaned.body() {
                let sents = sentences::split(&text, range.clone(), Lang::Fr);
                for t in words::tokens(&text[range.clone()]) {
                    let (start, end) = (range.start + t.start, range.start + t.end);
                    prop_assert!(
                        sents.iter().any(|s| s.start <= start && end <= s.end),
                        "word {:?} at {}..{} lost by the splitter", t.text, start, end
                    );
                }
            }
        }

        #[test]
        fn tokens_are_the_slices_they_claim(text in dispatch()) {
            let mut last = 0;
            for t in words::tokens(&text) {
                assert_slice(&text, t.start, t.end);
                prop_assert_eq!(&text[t.start..t.end], t.text);
                prop_assert!(t.start >= last);
                prop_assert!(!t.text.is_empty());
                last = t.end;
            }
        }
    }
}
