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
pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        text,
        words: WordIndices::new(text),
        pending: Vec::new(),
    }
}

/// The iterator [`tokens`] returns.
#[derive(Debug)]
pub struct Tokens<'a> {
    text: &'a str,
    words: WordIndices<'a>,
    /// Pieces of a word cut at glued full stops, last first.
    pending: Vec<Token<'a>>,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(t) = self.pending.pop() {
            return Some(t);
        }
        loop {
            let (start, w) = self.words.next()?;
            let end = start + w.len();
            crate::work::add(w.len());
            // Empty, so no allocation, unless the word has a full stop.
            let stops = sentences::glued_stops(self.text, start..end);
            if stops.is_empty() {
                if let Some(t) = piece(self.text, start, end) {
                    return Some(t);
                }
                continue;
            }
            let mut from = start;
            for stop in stops.into_iter().chain(std::iter::once(end)) {
                self.pending.extend(piece(self.text, from, stop));
                from = stop + 1;
            }
            self.pending.reverse();
            if let Some(t) = self.pending.pop() {
                return Some(t);
            }
        }
    }
}

/// The token of `text[from..to]` (a word or a piece of one cut at a glued
/// stop): trimmed, its elided article dropped; `None` if nothing is left.
fn piece(text: &str, from: usize, to: usize) -> Option<Token<'_>> {
    let piece = &text[from..to];
    // UAX#29 joins a narrow no-break space (ExtendNumLet) to the word
    // after it: French "«\u{202f}Paris" gives "\u{202f}Paris".
    let start = from + (piece.len() - piece.trim_start().len());
    let w = piece.trim();
    let skip = elision_len(w);
    let word = &w[skip..];
    (!word.is_empty()).then(|| Token {
        start: start + skip,
        end: start + w.len(),
        text: word,
    })
}

/// The UAX#29 words of `text` with their byte offsets: exactly
/// `text.unicode_word_indices()`, but faster on mostly-ASCII text.
///
/// unicode-segmentation takes its ASCII path only when the whole string is
/// ASCII; one "é" sends every word of a French dispatch through the table
/// lookups. So the text is cut into runs that are each all ASCII or not,
/// and each run is segmented on its own: an ASCII run by a scan of its
/// bytes, the others by unicode-segmentation. A cut goes only between a
/// space and an ASCII character other than a space: UAX#29 always breaks
/// there, and no rule looks across a space (it is neither ignored like
/// Extend nor part of any letter or number rule), so each run segments as
/// it does within the whole text.
pub fn word_indices(text: &str) -> WordIndices<'_> {
    WordIndices::new(text)
}

/// The iterator [`word_indices`] returns.
#[derive(Debug)]
pub struct WordIndices<'a> {
    runs: Runs<'a>,
    /// Offset of the current run in the text.
    base: usize,
    run: RunWords<'a>,
}

/// The words of one run.
#[derive(Debug)]
enum RunWords<'a> {
    Ascii { run: &'a str, pos: usize },
    Unicode(unicode_segmentation::UnicodeWordIndices<'a>),
}

impl<'a> WordIndices<'a> {
    fn new(text: &'a str) -> Self {
        WordIndices {
            runs: Runs { text, pos: 0 },
            base: 0,
            run: RunWords::Ascii { run: "", pos: 0 },
        }
    }
}

impl<'a> Iterator for WordIndices<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        loop {
            let found = match &mut self.run {
                RunWords::Ascii { run, pos } => next_ascii_word(run, pos),
                RunWords::Unicode(words) => words.next(),
            };
            if let Some((at, w)) = found {
                return Some((self.base + at, w));
            }
            let (base, run) = self.runs.next()?;
            self.base = base;
            self.run = if run.is_ascii() {
                RunWords::Ascii { run, pos: 0 }
            } else {
                RunWords::Unicode(run.unicode_word_indices())
            };
        }
    }
}

/// The next UAX#29 word of an all-ASCII `run` from byte `*pos`, moving
/// `*pos` past it. On ASCII the rules come down to: letters, digits and
/// "_" join; "." "'" ":" join two letters, "." "'" "," ";" two digits
/// (WB6, WB7, WB11, WB12); everything else is a segment of its own, and a
/// word is a segment with a letter or digit.
fn next_ascii_word<'a>(run: &'a str, pos: &mut usize) -> Option<(usize, &'a str)> {
    let bytes = run.as_bytes();
    let core = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let infix = |b: u8, prev: u8, next: u8| match b {
        b'.' | b',' | b';' | b'\'' if prev.is_ascii_digit() && next.is_ascii_digit() => true,
        b'\'' | b'.' | b':' => prev.is_ascii_alphabetic() && next.is_ascii_alphabetic(),
        _ => false,
    };
    loop {
        let start = *pos + bytes.get(*pos..)?.iter().position(|&b| core(b))?;
        let mut end = start + 1;
        while let Some(&b) = bytes.get(end) {
            let joined = core(b)
                || bytes
                    .get(end + 1)
                    .is_some_and(|&next| infix(b, bytes[end - 1], next));
            if !joined {
                break;
            }
            end += 1;
        }
        *pos = end;
        let word = &run[start..end];
        // "_" and "__" are segments without a letter or digit.
        if word.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Some((start, word));
        }
    }
}

/// Runs of a text, alternately all ASCII and not, cut only where a space
/// is followed by an ASCII character other than a space.
#[derive(Debug)]
struct Runs<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Runs<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        // The ASCII-ness of the run, known once its first piece ends.
        let mut run_ascii: Option<bool> = None;
        let (mut piece, mut piece_ascii) = (start, true);
        let mut prev = 0u8;
        for (j, &b) in (start..).zip(&bytes[start..]) {
            if prev == b' ' && b != b' ' && b.is_ascii() && j > piece {
                match run_ascii {
                    None => run_ascii = Some(piece_ascii),
                    Some(a) if a != piece_ascii => break,
                    Some(_) => {}
                }
                (piece, piece_ascii) = (j, true);
            }
            piece_ascii &= b.is_ascii();
            prev = b;
        }
        // The last piece looked at joins the run unless its kind differs.
        let end = match run_ascii {
            Some(a) if a != piece_ascii => piece,
            _ => bytes.len(),
        };
        self.pos = end;
        self.text.get(start..end).map(|run| (start, run))
    }
}

/// Bytes of a leading French elided article/pronoun ("l'", "qu’"), or 0.
///
/// Only the short closed set of elided words counts, so English "o'clock"
/// or Irish "O'Neill" are left alone unless their prefix is one of them.
/// Reads at most the first few bytes: every prefix is six ASCII letters or
/// fewer, so a word is settled by its first letters and first apostrophe.
pub fn elision_len(word: &str) -> usize {
    const PREFIXES: [&str; 12] = [
        "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu",
    ];
    const LONGEST: usize = 6;
    let bytes = word.as_bytes();
    // Most words are settled by their first two bytes: every prefix starts
    // with one of these letters and goes on with an apostrophe, or with the
    // "u" of "qu", "jusqu", "puisqu" or the "o" of "lorsqu".
    let (Some(first), Some(second)) = (bytes.first(), bytes.get(1)) else {
        return 0;
    };
    if !matches!(
        first.to_ascii_lowercase(),
        b'c' | b'd' | b'j' | b'l' | b'm' | b'n' | b'p' | b'q' | b's' | b't'
    ) || !matches!(second.to_ascii_lowercase(), b'\'' | 0xE2 | b'u' | b'o')
    {
        return 0;
    }
    let mut found = None;
    for (pos, &b) in bytes.iter().enumerate().take(LONGEST + 1) {
        if b == b'\'' {
            found = Some((pos, 1));
        } else if b == 0xE2 && bytes[pos..].starts_with("\u{2019}".as_bytes()) {
            found = Some((pos, "\u{2019}".len()));
        } else if b.is_ascii_alphabetic() {
            continue;
        }
        break;
    }
    let Some((pos, apostrophe)) = found else {
        return 0;
    };
    let head = &word[..pos];
    if !PREFIXES.iter().any(|p| head.eq_ignore_ascii_case(p)) {
        return 0;
    }
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
    normalize_push(word, out);
}

/// [`normalize`] appended to `out`, for hot loops that keep every word of
/// a text in one buffer.
pub fn normalize_push(word: &str, out: &mut String) {
    let word = &word[elision_len(word)..];
    if word.is_ascii() {
        // ASCII fast path: no Unicode case tables, no apostrophe folding.
        let start = out.len();
        out.push_str(word);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == '\u{2019}' {
            out.push('\'');
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    /// Characters where UAX#29 has a rule: letters and digits of several
    /// scripts, every ASCII mid-word and mid-number mark, spaces of several
    /// kinds, line ends, combining marks, format characters, joiners,
    /// regional indicators and emoji.
    fn segmentation_text() -> impl Strategy<Value = String> {
        let chars: Vec<char> = "aZ09 ..,,;:''\"_-/\t\n\r\u{b}é\u{301}\u{345}\u{ad}\u{200d}\u{2019}\
             \u{202f}\u{a0}\u{3000}\u{2028}\u{85}\u{b7}\u{5d0}\u{5f4}\u{30ab}\u{ff10}\
             \u{1f1eb}\u{1f1f7}\u{1f469}\u{1f3fd}\u{660}\u{e01}"
            .chars()
            .collect();
        prop_oneof![
            prop::collection::vec(prop::sample::select(chars), 0..40)
                .prop_map(|v| v.into_iter().collect::<String>()),
            any::<String>(),
        ]
    }

    /// [`tokens`] as first written: unicode-segmentation's words, each
    /// cut at its glued stops.
    fn tokens_reference(text: &str) -> Vec<Token<'_>> {
        text.unicode_word_indices()
            .flat_map(move |(start, w)| {
                let end = start + w.len();
                let stops = sentences::glued_stops(text, start..end);
                let mut from = start;
                stops
                    .into_iter()
                    .chain(std::iter::once(end))
                    .filter_map(move |stop| {
                        let piece = &text[from..stop];
                        let start = from + (piece.len() - piece.trim_start().len());
                        from = stop + 1;
                        let w = piece.trim();
                        let skip = elision_len_reference(w);
                        let word = &w[skip..];
                        (!word.is_empty()).then(|| Token {
                            start: start + skip,
                            end: start + w.len(),
                            text: word,
                        })
                    })
            })
            .collect()
    }

    /// [`elision_len`] as first written: the first apostrophe anywhere.
    fn elision_len_reference(word: &str) -> usize {
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
        if rest.chars().next().is_some_and(char::is_alphabetic) {
            pos + apostrophe
        } else {
            0
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn elision_len_reads_only_the_head_and_agrees_with_a_full_search(
            word in "(l|L|qu|Qu|jusqu|LORSQU|puisqu|o|ab|lorsqux|é|)(['’]|’’|'')?[a-zA-Zé’' 1\u{2019}\u{e2}]{0,8}"
        ) {
            prop_assert_eq!(elision_len(&word), elision_len_reference(&word));
        }

        #[test]
        fn tokens_are_the_first_writings_tokens(
            text in prop_oneof![
                segmentation_text(),
                "([A-Za-zé]{1,6}[.’' ]{0,2}(l'|d’|Qu'|jusqu’)?){0,12}",
            ]
        ) {
            let fast: Vec<Token<'_>> = tokens(&text).collect();
            prop_assert_eq!(fast, tokens_reference(&text));
        }

        #[test]
        fn word_indices_are_unicode_segmentations_words(text in segmentation_text()) {
            let fast: Vec<(usize, &str)> = word_indices(&text).collect();
            let reference: Vec<(usize, &str)> = text.unicode_word_indices().collect();
            prop_assert_eq!(fast, reference);
        }
    }

    #[test]
    fn mixed_ascii_and_accented_runs_segment_as_one_text() {
        // A combining mark after a space belongs to the space (WB4), so no
        // run may start at it.
        for text in [
            "L'armée a repris 1,4 km. Le  café\u{301} d’Alep, e.g. U.S. a_b « Paris » 3.5",
            "a \u{345}b c",
        ] {
            let fast: Vec<_> = word_indices(text).collect();
            let reference: Vec<_> = text.unicode_word_indices().collect();
            assert_eq!(fast, reference);
        }
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
