//! Splits text into lowercased words with the case facts place matching needs.

// Own tokeniser rather than `text::words`: place matching needs to know
// whether a word was capitalised, all upper case, written with dots ("U.S.")
// or followed by a dot ("Calif."), and whether its line is a shouted
// headline, and it must split elisions ("d'Alep") and hyphenated names
// ("Royaume-Uni") the same way for the text and for the gazetteer.

use crate::text::words;

/// One word of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    /// Start of the lowercased word in [`Words::lower`].
    key_start: usize,
    /// End of the lowercased word in [`Words::lower`].
    key_end: usize,
    /// First letter upper case ("Alep", "US", "ÉTATS").
    pub capital: bool,
    /// Has a letter and no lower-case letter ("US", "RDC").
    pub upper: bool,
    /// Written as single letters with dots ("U.S.", "N.Z.").
    pub dotted: bool,
    /// Directly followed by a dot ("Calif.").
    pub dot_after: bool,
    /// Directly followed by a comma ("Paris, Texas").
    pub comma_after: bool,
    /// On a line written mostly in capitals (a wire headline).
    pub shouting: bool,
}

/// The words of a text, lowercased into one buffer.
#[derive(Debug, Default)]
pub(crate) struct Words {
    lower: String,
    words: Vec<Word>,
}

impl Words {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// The `i`-th word, if any.
    pub fn get(&self, i: usize) -> Option<&Word> {
        self.words.get(i)
    }

    /// Lowercased form of the `i`-th word ("" past the end).
    pub fn key(&self, i: usize) -> &str {
        self.words
            .get(i)
            .and_then(|w| self.lower.get(w.key_start..w.key_end))
            .unwrap_or("")
    }

    /// Lowercased forms of all words, for building gazetteer keys.
    pub fn keys(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.key(i).to_owned()).collect()
    }
}

/// A line with at least this many words, this share of them in capitals
/// (per ten), is a headline: "US" there may be the pronoun.
const SHOUT_MIN_WORDS: usize = 3;
const SHOUT_TENTHS: usize = 6;

/// Letters, digits and combining accents (decomposed input keeps its words
/// whole even if it then fails to match the composed gazetteer forms).
#[inline]
fn is_word_char(c: char) -> bool {
    match c {
        '\0'..='\x7f' => c.is_ascii_alphanumeric(),
        // Latin-1 and Latin Extended-A/B letters, without the tables.
        '\u{c0}'..='\u{24f}' => c != '\u{d7}' && c != '\u{f7}',
        _ => c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c),
    }
}

/// Whether `c` is a letter and whether it is lower case, with its lower
/// case pushed onto `out` ([`words::push_lowercase`]): ASCII and Latin-1
/// without the tables (À-Þ but × are upper case, ß-ÿ but ÷ lower case).
#[inline]
fn push_lower(c: char, out: &mut String) -> (bool, bool) {
    words::push_lowercase(c, out);
    match c {
        '\0'..='\x7f' => (c.is_ascii_alphabetic(), c.is_ascii_lowercase()),
        '\u{c0}'..='\u{ff}' if c != '\u{d7}' && c != '\u{f7}' => (true, c >= '\u{df}'),
        _ => (c.is_alphabetic(), c.is_lowercase()),
    }
}

/// The character at byte `i` of `text` and its length in bytes; an ASCII
/// byte is read without UTF-8 decoding.
#[inline]
fn char_at(text: &str, i: usize) -> Option<(char, usize)> {
    match *text.as_bytes().get(i)? {
        b if b.is_ascii() => Some((char::from(b), 1)),
        _ => text.get(i..)?.chars().next().map(|c| (c, c.len_utf8())),
    }
}

/// What an ASCII byte is to a word: 0 for none of it, else [`DIGIT`],
/// [`UPPER`] or [`LOWER`].
const ASCII_WORD: [u8; 128] = {
    let mut table = [0; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'0'..=b'9' => DIGIT,
            b'A'..=b'Z' => UPPER,
            b'a'..=b'z' => LOWER,
            _ => 0,
        };
        b += 1;
    }
    table
};
const DIGIT: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;

/// [`ASCII_WORD`] of byte `i` of `bytes`; 0 past the end and for the
/// bytes of non-ASCII characters.
#[inline]
fn ascii_word(bytes: &[u8], i: usize) -> u8 {
    bytes
        .get(i)
        .and_then(|&b| ASCII_WORD.get(usize::from(b)))
        .copied()
        .unwrap_or(0)
}

/// Splits `text` into words: runs of letters and digits; apostrophes,
/// hyphens and all other punctuation separate words.
///
/// One pass: each word's case facts are gathered and its lowercase form
/// written as its letters are read, ASCII a byte at a time by
/// [`ASCII_WORD`], other characters decoded.
pub(crate) fn words(text: &str) -> Words {
    let mut out = Words {
        lower: String::with_capacity(text.len()),
        words: Vec::with_capacity(text.len() / 5),
    };
    crate::work::add(text.len());
    let bytes = text.as_bytes();
    let mut line_start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let capital = if b.is_ascii() {
            let class = ascii_word(bytes, i);
            if class == 0 {
                if b == b'\n' {
                    mark_shouting(&mut out.words[line_start..]);
                    line_start = out.words.len();
                }
                i += 1;
                continue;
            }
            if class == UPPER
                && let Some(end) = dotted_acronym(bytes, i)
            {
                push_dotted(&mut out, &text[i..end]);
                i = end;
                continue;
            }
            class == UPPER
        } else {
            match char_at(text, i) {
                Some((c, _)) if is_word_char(c) => c.is_uppercase(),
                Some((_, len)) => {
                    i += len;
                    continue;
                }
                None => break,
            }
        };
        let key_start = out.lower.len();
        let (mut has_letter, mut has_lower) = (false, false);
        let mut end = i;
        loop {
            let mut seen = 0;
            while let Some(&b) = bytes.get(end) {
                let class = ASCII_WORD.get(usize::from(b)).copied().unwrap_or(0);
                if class == 0 {
                    break;
                }
                seen |= class;
                // Digits and lower-case letters have the 0x20 bit set;
                // setting it lowercases an upper-case one.
                out.lower.push(char::from(b | 0x20));
                end += 1;
            }
            has_letter |= seen & (UPPER | LOWER) != 0;
            has_lower |= seen & LOWER != 0;
            match char_at(text, end) {
                Some((c, len)) if !c.is_ascii() && is_word_char(c) => {
                    let (letter, lower) = push_lower(c, &mut out.lower);
                    has_letter |= letter;
                    has_lower |= lower;
                    end += len;
                }
                _ => break,
            }
        }
        out.words.push(Word {
            key_start,
            key_end: out.lower.len(),
            capital,
            upper: has_letter && !has_lower,
            dotted: false,
            dot_after: bytes.get(end) == Some(&b'.'),
            comma_after: bytes.get(end) == Some(&b','),
            shouting: false,
        });
        i = end;
    }
    mark_shouting(&mut out.words[line_start..]);
    out
}

/// End of a dotted acronym ("U.S.", "N.Z.", "U.S") starting at `i`: two or
/// more single capital ASCII letters each followed by a dot (the last dot
/// may be missing).
fn dotted_acronym(bytes: &[u8], i: usize) -> Option<usize> {
    let single_letter = |j: usize| {
        bytes.get(j).is_some_and(u8::is_ascii_uppercase)
            && !bytes
                .get(j + 1)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
    };
    let (mut j, mut letters) = (i, 0);
    while single_letter(j) {
        letters += 1;
        j += 1;
        if bytes.get(j) != Some(&b'.') {
            break;
        }
        j += 1;
    }
    (letters >= 2 && bytes.get(i + 1) == Some(&b'.')).then_some(j)
}

fn push_dotted(out: &mut Words, raw: &str) {
    let key_start = out.lower.len();
    out.lower.extend(
        raw.chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase()),
    );
    out.words.push(Word {
        key_start,
        key_end: out.lower.len(),
        capital: true,
        upper: true,
        dotted: true,
        dot_after: raw.ends_with('.'),
        comma_after: false,
        shouting: false,
    });
}

fn mark_shouting(line: &mut [Word]) {
    let upper = line.iter().filter(|w| w.upper).count();
    if line.len() >= SHOUT_MIN_WORDS && upper * 10 >= line.len() * SHOUT_TENTHS {
        for w in line {
            w.shouting = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The scan as it was written before its loops were fused: one
    /// character at a time, each word's case read back from its text.
    fn words_reference(text: &str) -> Words {
        let mut out = Words {
            lower: String::with_capacity(text.len()),
            words: Vec::with_capacity(text.len() / 5),
        };
        let bytes = text.as_bytes();
        let mut line_start = 0;
        let mut i = 0;
        while let Some((c, len)) = char_at(text, i) {
            if c == '\n' {
                mark_shouting(&mut out.words[line_start..]);
                line_start = out.words.len();
            }
            if !is_word_char(c) {
                i += len;
                continue;
            }
            if let Some(end) = dotted_acronym(bytes, i) {
                push_dotted(&mut out, &text[i..end]);
                i = end;
                continue;
            }
            let mut end = i + len;
            loop {
                // Letters and digits of ASCII a byte at a time; others decoded.
                while bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                    end += 1;
                }
                match char_at(text, end) {
                    Some((c, len)) if !c.is_ascii() && is_word_char(c) => end += len,
                    _ => break,
                }
            }
            push_word_reference(&mut out, &text[i..end], bytes.get(end).copied());
            i = end;
        }
        mark_shouting(&mut out.words[line_start..]);
        out
    }

    fn push_word_reference(out: &mut Words, raw: &str, after: Option<u8>) {
        let key_start = out.lower.len();
        let (mut has_letter, mut has_lower) = (false, false);
        if raw.is_ascii() {
            // An ASCII word is letters and digits only, and letters sort after
            // digits, lower case after upper case: the greatest byte tells.
            let top = raw.bytes().max().unwrap_or(0);
            has_letter = top.is_ascii_alphabetic();
            has_lower = top.is_ascii_lowercase();
            out.lower.push_str(raw);
            if raw.bytes().any(|b| b.is_ascii_uppercase()) {
                out.lower[key_start..].make_ascii_lowercase();
            }
        } else {
            for c in raw.chars() {
                let (letter, lower) = push_lower(c, &mut out.lower);
                has_letter |= letter;
                has_lower |= lower;
            }
        }
        out.words.push(Word {
            key_start,
            key_end: out.lower.len(),
            capital: raw.chars().next().is_some_and(char::is_uppercase),
            upper: has_letter && !has_lower,
            dotted: false,
            dot_after: after == Some(b'.'),
            comma_after: after == Some(b','),
            shouting: false,
        });
    }

    fn facts(w: &Words) -> Vec<(String, Word)> {
        (0..w.len())
            .filter_map(|i| Some((w.key(i).to_owned(), *w.get(i)?)))
            .collect()
    }

    proptest! {
        #[test]
        fn the_one_pass_scan_reads_as_the_reference_does(
            text in "[a-zA-Z0-9 .,'’\\-\n\u{c0}-\u{24f}\u{300}-\u{302}\u{d7}\u{f7}\u{202f}«»ΣσДд]{0,60}"
        ) {
            prop_assert_eq!(facts(&words(&text)), facts(&words_reference(&text)));
        }
    }

    #[test]
    fn the_one_pass_scan_reads_the_example_as_the_reference_does() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/aleppo-fr.txt"
        ));
        assert_eq!(facts(&words(text)), facts(&words_reference(text)));
    }

    #[test]
    fn elisions_and_hyphens_split_words() {
        let w = words("d'Alep, l’Iran et le Royaume-Uni");
        assert_eq!(
            w.keys(),
            ["d", "alep", "l", "iran", "et", "le", "royaume", "uni"]
        );
        assert!(w.get(1).is_some_and(|w| w.capital && !w.upper));
    }

    #[test]
    fn dotted_acronyms_are_one_upper_word() {
        let w = words("the U.S. and N.Z. but A. Smith and J.P.Morgan");
        assert_eq!(
            w.keys(),
            [
                "the", "us", "and", "nz", "but", "a", "smith", "and", "jp", "morgan"
            ]
        );
        assert!(w.get(1).is_some_and(|w| w.dotted && w.upper));
        assert!(w.get(5).is_some_and(|w| !w.dotted));
    }

    #[test]
    fn accents_are_kept_and_case_recorded() {
        let w = words("ÉTATS-UNIS Téhéran syrienne");
        assert_eq!(w.keys(), ["états", "unis", "téhéran", "syrienne"]);
        assert!(w.get(0).is_some_and(|w| w.upper && w.capital));
        assert!(w.get(3).is_some_and(|w| !w.capital));
    }

    #[test]
    fn headlines_are_shouting_and_body_is_not() {
        let w = words("TELL US ABOUT IT\nThe US said so.");
        assert!(w.get(1).is_some_and(|w| w.shouting));
        assert!(w.get(5).is_some_and(|w| !w.shouting && !w.dot_after));
        assert!(w.get(7).is_some_and(|w| w.dot_after));
    }

    #[test]
    fn latin_letters_read_as_unicode_says() {
        for c in '\0'..='\u{36f}' {
            let expected = c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c);
            assert_eq!(is_word_char(c), expected, "{c:?}");
            let mut lower = String::new();
            let (letter, is_lower) = push_lower(c, &mut lower);
            assert_eq!(lower, c.to_lowercase().collect::<String>(), "{c:?}");
            assert_eq!((letter, is_lower), (c.is_alphabetic(), c.is_lowercase()));
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "",
            ".",
            "U.",
            "U.S",
            "A.B.C.D.E.F.",
            "é\u{301}",
            "\u{0}\n\n",
            "'-'",
        ] {
            let _ = words(text);
        }
        assert_eq!(words("U.S").keys(), ["us"]);
    }
}
