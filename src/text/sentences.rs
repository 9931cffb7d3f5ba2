//! Sentence segmentation for French and English news copy.
//!
//! Hand-written because unicode-segmentation's UAX#29 sentence bounds split
//! after "M." and "Mme." in "M. Poutine", do not split OrangeSum's glued
//! "jeudi.Le gouvernement", and know no news abbreviations ("Inc.", "Jan.").

use std::ops::Range;

use super::Lang;

/// Words that take a full stop without ending a sentence (case-sensitive:
/// "Me." is Maître, "me." ends an English sentence). French and English are
/// merged because detection may be `Und` and dispatches quote each other.
const ABBREVIATIONS: &[&str] = &[
    // French titles and usual short forms.
    "M", "MM", "Mme", "Mmes", "Mlle", "Mlles", "Me", "Mgr", "Dr", "Pr", "St", "Ste", "Sts", "av",
    "apr", "cf", "env", "hab", "vol", "p", "pp", "chap", "fig", "éd", "Cie", "Gén", "Lt", "Cdt",
    "janv", "févr", "avr", "juil", "sept", "oct", "nov", "déc",
    // English titles, company forms, months.
    "Mr", "Mrs", "Ms", "Messrs", "Prof", "Jr", "Sr", "Inc", "Corp", "Co", "Ltd", "Bros", "Gen",
    "Gov", "Sen", "Rep", "Col", "Capt", "Sgt", "Rev", "Hon", "vs", "Jan", "Feb", "Mar", "Apr",
    "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "No", "Nos", "approx", "Mt", "Ft",
    "Ave", "Dept", "Univ", "Fig",
];

/// How far past a boundary candidate inside « » we look for the closing
/// guillemet; bounded so that an unbalanced « cannot make the scan quadratic.
pub(crate) const QUOTE_LOOKAHEAD: usize = 300;

/// Splits `text[range]` into sentences; returns byte ranges into `text`.
///
/// Ranges are trimmed of surrounding whitespace and never empty. A newline
/// always ends a sentence (paragraphs, list items, headlines without a
/// full stop). An out-of-bounds or mid-character `range` is clamped.
pub fn split(text: &str, range: Range<usize>, lang: Lang) -> Vec<Range<usize>> {
    // The rules are shared: a French dispatch quotes English and vice versa.
    let _ = lang;
    let range = clamp(text, range);
    let base = range.start;
    let s = &text[range];
    crate::work::add(s.len());
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut sent_start = 0;
    let mut quote_depth: u32 = 0;
    let mut i = 0;
    // Only the characters below act; the bytes between them are skipped
    // by a table lookup each ([`MAY_ACT`]).
    while let Some(skip) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&x| MAY_ACT[usize::from(x)]))
    {
        i += skip;
        let Some(c) = char_at(s, i) else { break };
        match c {
            '\n' => {
                push(&mut out, s, base, sent_start, i);
                sent_start = i + 1;
                quote_depth = 0;
                i += 1;
            }
            '«' => {
                quote_depth += 1;
                i += c.len_utf8();
            }
            '»' => {
                quote_depth = quote_depth.saturating_sub(1);
                i += c.len_utf8();
            }
            '.' | '!' | '?' | '…' => {
                let mut j = i;
                while let Some(c) = char_at(s, j).filter(|&c| is_terminator(c)) {
                    j += c.len_utf8();
                }
                let k = absorb_closers_at(s, j);
                if s[j..k].contains('»') {
                    quote_depth = quote_depth.saturating_sub(1);
                }
                if is_boundary(s, i, j, k) && !inside_quote(s, k, quote_depth) {
                    push(&mut out, s, base, sent_start, k);
                    sent_start = k;
                }
                i = k;
            }
            _ => i += c.len_utf8(),
        }
    }
    push(&mut out, s, base, sent_start, s.len());
    out
}

/// The bytes [`split`] stops at: line ends, terminators, and the first
/// byte of "«", "»" (0xC2) and "…" (0xE2). Neither lead byte occurs
/// inside a character, so every stop is a character start.
static MAY_ACT: [bool; 256] = super::byte_set(b".!?\n\xC2\xE2");

/// The bytes [`cut_candidates`] stops at: terminators, the first byte of
/// "…" and line ends.
static MAY_CUT: [bool; 256] = super::byte_set(b".!?\xE2\n");

/// Every byte offset of `s` where [`split`] may end one sentence and start
/// the next, in order, with 0 and `s.len()`: after each run of
/// terminators and the closers it absorbs, and around each line end.
/// [`split`] cuts only at some of them, so a test that holds for every
/// stretch between two neighbours holds for every sentence; this reads
/// the bytes once and allocates no character table.
pub(crate) fn cut_candidates(s: &str) -> Vec<usize> {
    let bytes = s.as_bytes();
    let mut cuts = Vec::with_capacity(16);
    cuts.push(0);
    let mut b = 0;
    // `b` may stop inside a character, but no continuation byte equals a
    // byte tested here, so every match is a character start. Bytes that
    // can end nothing are skipped by a table lookup each.
    while let Some(skip) = bytes
        .get(b..)
        .and_then(|rest| rest.iter().position(|&x| MAY_CUT[usize::from(x)]))
    {
        b += skip;
        let len = match bytes[b] {
            b'.' | b'!' | b'?' => 1,
            0xE2 if bytes[b..].starts_with("…".as_bytes()) => "…".len(),
            b'\n' => {
                cuts.extend([b, b + 1]);
                b += 1;
                continue;
            }
            _ => {
                b += 1;
                continue;
            }
        };
        let mut j = b + len;
        while let Some(c) = char_at(s, j).filter(|&c| is_terminator(c)) {
            j += c.len_utf8();
        }
        let k = absorb_closers_at(s, j);
        cuts.push(k);
        b = k;
    }
    cuts.push(s.len());
    cuts
}

/// The character starting at byte `b` of `s`, if any.
fn char_at(s: &str, b: usize) -> Option<char> {
    s.get(b..)?.chars().next()
}

/// The character ending at byte `b` of `s`, if any.
fn char_before(s: &str, b: usize) -> Option<char> {
    s.get(..b)?.chars().next_back()
}

/// Byte after the closers that follow a terminator run ending at byte `k`
/// of `s`, including a spaced French "»" (`partir. »`).
fn absorb_closers_at(s: &str, mut k: usize) -> usize {
    loop {
        while let Some(c) = char_at(s, k).filter(|&c| is_closer(c)) {
            k += c.len_utf8();
        }
        let mut m = k;
        while let Some(c) = char_at(s, m).filter(|&c| is_inline_space(c)) {
            m += c.len_utf8();
        }
        if m > k && char_at(s, m) == Some('»') {
            k = m;
            continue;
        }
        return k;
    }
}

/// Moves `range` inside `text` and onto char boundaries.
fn clamp(text: &str, range: Range<usize>) -> Range<usize> {
    let mut end = range.end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut start = range.start.min(end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    start..end
}

/// Appends `s[from..to]` trimmed, as absolute offsets, unless blank.
fn push(out: &mut Vec<Range<usize>>, s: &str, base: usize, from: usize, to: usize) {
    let Some(piece) = s.get(from..to) else {
        return;
    };
    let lead = piece.len() - piece.trim_start().len();
    let trimmed = piece.trim();
    if !trimmed.is_empty() {
        let start = base + from + lead;
        out.push(start..start + trimmed.len());
    }
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Closing marks that belong to the sentence they follow.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '»' | '”' | '’' | '\'' | ')' | ']')
}

/// Spaces French typography puts before "»" (plain, no-break, narrow).
fn is_inline_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{a0}' | '\u{202f}')
}

/// Whether the terminator run `s[i..j]` (closers up to `k`) ends a sentence.
fn is_boundary(s: &str, i: usize, j: usize, k: usize) -> bool {
    let Some(next) = char_at(s, k) else {
        return true;
    };
    // "(...)" and "[...]" mark a cut inside a quotation, never an end.
    if matches!(char_before(s, i), Some('(' | '[')) {
        return false;
    }
    let single_stop = j == i + 1 && s.as_bytes().get(i) == Some(&b'.');
    if next.is_whitespace() {
        let mut m = k;
        while let Some(c) = char_at(s, m).filter(|&c| c.is_whitespace() && c != '\n') {
            m += c.len_utf8();
        }
        return match char_at(s, m) {
            None | Some('\n') => true,
            Some(c) if !starts_sentence(c) => false,
            Some(_) => !(single_stop && is_abbreviation(s, i)),
        };
    }
    glued_boundary(s, i, k)
}

/// OrangeSum glued paragraphs: "jeudi.Le gouvernement". Only a stop after a
/// lowercase word or a number, before a capitalised word, and outside URLs
/// and e-mail addresses, so "U.S.A" or "www.BBC.co.uk" stay whole. The stop
/// is at byte `i` of `s`, and byte `k` starts the character after it and
/// its closers.
fn glued_boundary(s: &str, i: usize, k: usize) -> bool {
    let Some(next) = char_at(s, k) else {
        return false;
    };
    if !next.is_uppercase() {
        return false;
    }
    let after = char_at(s, k + next.len_utf8());
    let word_follows = after.is_some_and(|c| c.is_lowercase() || c == '\'' || c == '’');
    word_follows && glued_after_word(s, i) && !in_address(s, i)
}

/// Byte offsets of the glued stops inside the word `s[word]` at which
/// [`split`] ends a sentence ("jeudi.Le" is one UAX#29 word). The tokenizer
/// cuts words there too, so features see "jeudi" and "Le" and no word
/// straddles two sentences.
#[inline]
pub(crate) fn glued_stops(s: &str, word: Range<usize>) -> Vec<usize> {
    // Most words hold no full stop: answered here, inlined into the
    // tokenizer's loop. A byte loop: words are short, a memchr call costs more.
    match s.get(word.clone()) {
        Some(w) if w.bytes().any(|b| b == b'.') => stops_in_word(s, word),
        _ => Vec::new(),
    }
}

/// The bytes of `s` the glued-stop tests of the word `s[word]` read: from
/// the start of its whitespace-delimited token (the URL and address test
/// needs it; no further back than the splitter looks) to two characters
/// past the word (what follows a stop). `None` for a token too long to be
/// prose, where the splitter does not cut either.
fn stop_window(s: &str, word: &Range<usize>) -> Option<Range<usize>> {
    let mut from = word.start;
    for (n, c) in s[..word.start].chars().rev().enumerate() {
        if c.is_whitespace() {
            break;
        }
        if n >= TOKEN_LOOKBACK {
            return None;
        }
        from -= c.len_utf8();
    }
    let to = word.end
        + s[word.end..]
            .chars()
            .take(2)
            .map(char::len_utf8)
            .sum::<usize>();
    Some(from..to)
}

/// [`glued_stops`] of a word that holds a full stop.
fn stops_in_word(s: &str, word: Range<usize>) -> Vec<usize> {
    let Some(Range {
        start: from,
        end: to,
    }) = stop_window(s, &word)
    else {
        return Vec::new();
    };
    let window = &s[from..to];
    window
        .bytes()
        .enumerate()
        .filter(|&(b, c)| {
            c == b'.'
                && word.contains(&(from + b))
                && glued_boundary(window, b, absorb_closers_at(window, b + 1))
        })
        .map(|(b, _)| from + b)
        .collect()
}

/// Characters a sentence may start with after a space.
fn starts_sentence(c: char) -> bool {
    c.is_uppercase()
        || c.is_numeric()
        || matches!(
            c,
            '«' | '"' | '“' | '‘' | '\'' | '(' | '[' | '-' | '–' | '—' | '¿' | '¡' | '•' | '*'
        )
}

/// The alphabetic word that ends at byte `i` of `s`, as a byte range.
fn word_before(s: &str, i: usize) -> Range<usize> {
    let mut b = i;
    while let Some(c) = char_before(s, b).filter(|c| c.is_alphabetic()) {
        b -= c.len_utf8();
    }
    b..i
}

/// "M.", "Mme.", "Inc.", "Jan.", and initials: "J. K. Rowling", "U.S.".
fn is_abbreviation(s: &str, i: usize) -> bool {
    let w = word_before(s, i);
    let word = &s[w.clone()];
    let mut chars = word.chars();
    let (first, second) = (chars.next(), chars.next());
    if first.is_none() {
        return false;
    }
    let single_capital = matches!((first, second), (Some(c), None) if c.is_uppercase());
    // "e.g." or "J.-C.": a one-letter word after a dot or hyphen is an initial.
    let after_initial = second.is_none() && matches!(char_before(s, w.start), Some('.' | '-'));
    single_capital || after_initial || ABBREVIATIONS.contains(&word)
}

/// A glued stop needs a real word before it (two letters or more,
/// lowercase after its first letter, so "modèle Elise.Il y a" splits but
/// "U.S.A" does not; never a known abbreviation) or a number.
fn glued_after_word(s: &str, i: usize) -> bool {
    let Some(prev) = char_before(s, i) else {
        return false;
    };
    if prev.is_numeric() || is_closer(prev) {
        return true;
    }
    let word = &s[word_before(s, i)];
    let mut rest = word.chars().skip(1).peekable();
    rest.peek().is_some() && rest.all(char::is_lowercase) && !ABBREVIATIONS.contains(&word)
}

/// How many characters back a glued stop looks for the start of its token.
/// A longer run without a space is no prose (a URL, a path, a data blob):
/// a stop in it is not a boundary, and the scan stays linear on hostile
/// input such as 200 KB of "ab.Cd," (it was quadratic: minutes).
const TOKEN_LOOKBACK: usize = 256;

/// Whether the whitespace-delimited token around byte `i` of `s` is a URL
/// or address, or too long to be prose (see [`TOKEN_LOOKBACK`]).
fn in_address(s: &str, i: usize) -> bool {
    let mut b = i;
    let mut stepped = 0;
    while let Some(c) = char_before(s, b).filter(|c| !c.is_whitespace()) {
        crate::work::add(1);
        if stepped >= TOKEN_LOOKBACK {
            return true;
        }
        b -= c.len_utf8();
        stepped += 1;
    }
    let token = &s[b..i];
    token.contains('@') || token.contains("://") || token.starts_with("www")
}

/// Inside « », a stop is not an end when the quotation closes soon after on
/// the same line: « Il faut partir. Nous sommes prêts », a-t-il dit.
fn inside_quote(s: &str, k: usize, depth: u32) -> bool {
    if depth == 0 {
        return false;
    }
    for (b, c) in s.get(k..).unwrap_or("").char_indices() {
        crate::work::add(1);
        if b > QUOTE_LOOKAHEAD || c == '\n' || c == '«' {
            return false;
        }
        if c == '»' {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The splitter as it was written over a table of every character of
    /// the text, the reference the byte-offset splitter is held to.
    mod reference {
        #![allow(clippy::all)]
        use std::ops::Range;

        use crate::text::Lang;

        pub(super) fn split(text: &str, range: Range<usize>, lang: Lang) -> Vec<Range<usize>> {
            // The rules are shared: a French dispatch quotes English and vice versa.
            let _ = lang;
            let range = clamp(text, range);
            let base = range.start;
            let s = &text[range];
            crate::work::add(s.len());
            // One allocation: a text has at most as many characters as bytes.
            let mut cs: Vec<(usize, char)> = Vec::with_capacity(s.len());
            cs.extend(s.char_indices());
            let n = cs.len();
            let byte = |k: usize| if k < n { cs[k].0 } else { s.len() };

            let mut out = Vec::new();
            let mut sent_start = 0;
            let mut quote_depth: u32 = 0;
            let mut i = 0;
            while i < n {
                let c = cs[i].1;
                match c {
                    '\n' => {
                        push(&mut out, s, base, sent_start, cs[i].0);
                        sent_start = cs[i].0 + 1;
                        quote_depth = 0;
                        i += 1;
                    }
                    '«' => {
                        quote_depth += 1;
                        i += 1;
                    }
                    '»' => {
                        quote_depth = quote_depth.saturating_sub(1);
                        i += 1;
                    }
                    '.' | '!' | '?' | '…' => {
                        let mut j = i;
                        while j < n && is_terminator(cs[j].1) {
                            j += 1;
                        }
                        let k = absorb_closers(&cs, j);
                        if cs[j..k].iter().any(|&(_, c)| c == '»') {
                            quote_depth = quote_depth.saturating_sub(1);
                        }
                        if is_boundary(s, &cs, i, j, k) && !inside_quote(&cs, k, quote_depth) {
                            push(&mut out, s, base, sent_start, byte(k));
                            sent_start = byte(k);
                        }
                        i = k;
                    }
                    _ => i += 1,
                }
            }
            push(&mut out, s, base, sent_start, s.len());
            out
        }

        /// Index after the closers that follow a terminator run ending at `j`,
        /// including a spaced French "»" (`partir. »`).
        fn absorb_closers(cs: &[(usize, char)], mut k: usize) -> usize {
            loop {
                while k < cs.len() && is_closer(cs[k].1) {
                    k += 1;
                }
                let mut m = k;
                while m < cs.len() && is_inline_space(cs[m].1) {
                    m += 1;
                }
                if m > k && m < cs.len() && cs[m].1 == '»' {
                    k = m;
                    continue;
                }
                return k;
            }
        }

        /// Whether the terminator run `cs[i..j]` (closers up to `k`) ends a sentence.
        fn is_boundary(s: &str, cs: &[(usize, char)], i: usize, j: usize, k: usize) -> bool {
            let n = cs.len();
            if k >= n {
                return true;
            }
            // "(...)" and "[...]" mark a cut inside a quotation, never an end.
            if i > 0 && matches!(cs[i - 1].1, '(' | '[') {
                return false;
            }
            let single_stop = j == i + 1 && cs[i].1 == '.';
            let next = cs[k].1;
            if next.is_whitespace() {
                let mut m = k;
                while m < n && cs[m].1.is_whitespace() && cs[m].1 != '\n' {
                    m += 1;
                }
                if m >= n || cs[m].1 == '\n' {
                    return true;
                }
                if !starts_sentence(cs[m].1) {
                    return false;
                }
                return !(single_stop && is_abbreviation(s, cs, i));
            }
            glued_boundary(s, cs, i, k)
        }

        /// OrangeSum glued paragraphs: "jeudi.Le gouvernement". Only a stop after a
        /// lowercase word or a number, before a capitalised word, and outside URLs
        /// and e-mail addresses, so "U.S.A" or "www.BBC.co.uk" stay whole. `cs[i]`
        /// is the stop and `cs[k]` the character after it and its closers.
        fn glued_boundary(s: &str, cs: &[(usize, char)], i: usize, k: usize) -> bool {
            let Some(&(_, next)) = cs.get(k) else {
                return false;
            };
            if !next.is_uppercase() {
                return false;
            }
            let after = cs.get(k + 1).map(|&(_, c)| c);
            let word_follows = after.is_some_and(|c| c.is_lowercase() || c == '\'' || c == '’');
            word_follows && glued_after_word(s, cs, i) && !in_address(s, cs, i)
        }

        /// The alphabetic word that ends just before `cs[i]`, as char indices.
        fn word_before(cs: &[(usize, char)], i: usize) -> Range<usize> {
            let mut b = i;
            while b > 0 && cs[b - 1].1.is_alphabetic() {
                b -= 1;
            }
            b..i
        }

        /// "M.", "Mme.", "Inc.", "Jan.", and initials: "J. K. Rowling", "U.S.".
        fn is_abbreviation(s: &str, cs: &[(usize, char)], i: usize) -> bool {
            let w = word_before(cs, i);
            if w.is_empty() {
                return false;
            }
            let word = &s[cs[w.start].0..cs[i].0];
            let mut chars = word.chars();
            let single_capital =
                matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase());
            // "e.g." or "J.-C.": a one-letter word after a dot or hyphen is an initial.
            let after_initial =
                w.len() == 1 && w.start > 0 && matches!(cs[w.start - 1].1, '.' | '-');
            single_capital || after_initial || ABBREVIATIONS.contains(&word)
        }

        /// A glued stop needs a real word before it (two letters or more,
        /// lowercase after its first letter, so "modèle Elise.Il y a" splits but
        /// "U.S.A" does not; never a known abbreviation) or a number.
        fn glued_after_word(s: &str, cs: &[(usize, char)], i: usize) -> bool {
            let Some(&(_, prev)) = i.checked_sub(1).and_then(|p| cs.get(p)) else {
                return false;
            };
            if prev.is_numeric() || is_closer(prev) {
                return true;
            }
            let w = word_before(cs, i);
            w.len() >= 2
                && cs[w.start + 1..w.end]
                    .iter()
                    .all(|&(_, c)| c.is_lowercase())
                && !ABBREVIATIONS.contains(&&s[cs[w.start].0..cs[i].0])
        }

        /// How many characters back a glued stop looks for the start of its token.
        /// A longer run without a space is no prose (a URL, a path, a data blob):
        /// a stop in it is not a boundary, and the scan stays linear on hostile
        /// input such as 200 KB of "ab.Cd," (it was quadratic: minutes).
        use super::super::{
            ABBREVIATIONS, QUOTE_LOOKAHEAD, TOKEN_LOOKBACK, clamp, is_closer, is_inline_space,
            is_terminator, push, starts_sentence,
        };

        /// Whether the whitespace-delimited token around `cs[i]` is a URL or
        /// address, or too long to be prose (see [`TOKEN_LOOKBACK`]).
        fn in_address(s: &str, cs: &[(usize, char)], i: usize) -> bool {
            let mut b = i;
            while b > 0 && !cs[b - 1].1.is_whitespace() {
                crate::work::add(1);
                if i - b >= TOKEN_LOOKBACK {
                    return true;
                }
                b -= 1;
            }
            let token = &s[cs[b].0..cs[i].0];
            token.contains('@') || token.contains("://") || token.starts_with("www")
        }

        /// Inside « », a stop is not an end when the quotation closes soon after on
        /// the same line: « Il faut partir. Nous sommes prêts », a-t-il dit.
        fn inside_quote(cs: &[(usize, char)], k: usize, depth: u32) -> bool {
            if depth == 0 {
                return false;
            }
            let start = cs.get(k).map_or(0, |&(b, _)| b);
            for &(b, c) in &cs[k.min(cs.len())..] {
                crate::work::add(1);
                if b - start > QUOTE_LOOKAHEAD || c == '\n' || c == '«' {
                    return false;
                }
                if c == '»' {
                    return true;
                }
            }
            false
        }

        /// The glued stops of the word `s[word]`, read from a table of the
        /// characters of its window (`stop_window`, shared with the code
        /// under test).
        pub(super) fn glued_stops(s: &str, word: Range<usize>) -> Vec<usize> {
            let window = s
                .get(word.clone())
                .filter(|w| w.contains('.'))
                .and_then(|_| super::super::stop_window(s, &word));
            let Some(Range {
                start: from,
                end: to,
            }) = window
            else {
                return Vec::new();
            };
            let cs: Vec<(usize, char)> = s[from..to]
                .char_indices()
                .map(|(b, c)| (from + b, c))
                .collect();
            cs.iter()
                .enumerate()
                .filter(|&(i, &(b, c))| {
                    c == '.'
                        && word.contains(&b)
                        && glued_boundary(s, &cs, i, absorb_closers(&cs, i + 1))
                })
                .map(|(_, &(b, _))| b)
                .collect()
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn byte_offsets_split_as_the_character_table_did(
            text in "([A-Za-zéÉ0-9]{1,6}|[ .!?…\\n«»\"”’'()\\[\\]@:/\u{a0}\u{202f}-]|M\\.|Mme|Inc\\.|www|J\\.|U\\.S\\.|e\\.g\\.|J\\.-C\\.|[a-z]\\. ){0,40}"
        ) {
            let ours = split(&text, 0..text.len(), Lang::Fr);
            let theirs = reference::split(&text, 0..text.len(), Lang::Fr);
            proptest::prop_assert_eq!(ours, theirs);
            let mut at = 0;
            for (b, _) in text.char_indices() {
                if b >= at {
                    let end = text[b..].find(' ').map_or(text.len(), |e| b + e);
                    proptest::prop_assert_eq!(
                        glued_stops(&text, b..end),
                        reference::glued_stops(&text, b..end)
                    );
                    at = end;
                }
            }
        }
    }

    fn sentences(text: &str) -> Vec<&str> {
        split(text, 0..text.len(), Lang::Fr)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn french_titles_do_not_end_sentences() {
        let text = "MM. Poutine et Rohani ont parlé. M. Guyot a rappelé qu'en 2019, elles s'étaient élevées à 839.000 euros. Mme Dupont et Mlle Martin ont voté.";
        assert_eq!(
            sentences(text),
            [
                "MM. Poutine et Rohani ont parlé.",
                "M. Guyot a rappelé qu'en 2019, elles s'étaient élevées à 839.000 euros.",
                "Mme Dupont et Mlle Martin ont voté.",
            ]
        );
    }

    #[test]
    fn english_abbreviations_and_initials_do_not_end_sentences() {
        let text = "Mr. Smith met Dr. Jones of Acme Inc. in the U.S. on Jan. 5. J. K. Rowling was there. It rose 3.5% to $1.13bn. Mrs. Brown left.";
        assert_eq!(
            split(text, 0..text.len(), Lang::En)
                .into_iter()
                .map(|r| &text[r])
                .collect::<Vec<_>>(),
            [
                "Mr. Smith met Dr. Jones of Acme Inc. in the U.S. on Jan. 5.",
                "J. K. Rowling was there.",
                "It rose 3.5% to $1.13bn.",
                "Mrs. Brown left.",
            ]
        );
    }

    #[test]
    fn orangesum_glued_paragraphs_are_split_with_exact_offsets() {
        let text =
            "La réunion a eu lieu jeudi.Le gouvernement a 1,4 million d'euros.L'État paiera.";
        let ranges = split(text, 0..text.len(), Lang::Fr);
        assert_eq!(ranges, [0..28, 28..66, 66..text.len()]);
        assert_eq!(
            &text[ranges[1].clone()],
            "Le gouvernement a 1,4 million d'euros."
        );
        assert_eq!(&text[ranges[2].clone()], "L'État paiera.");
    }

    #[test]
    fn quotes_stay_with_their_sentence() {
        let text =
            "Il a dit : « Nous partons. » Le président a salué la \"victoire.\" Puis il est parti.";
        assert_eq!(
            sentences(text),
            [
                "Il a dit : « Nous partons. »",
                "Le président a salué la \"victoire.\"",
                "Puis il est parti.",
            ]
        );
        let quoted = "« Il faut partir. Nous sommes prêts », a-t-il dit. Fin.";
        assert_eq!(
            sentences(quoted),
            ["« Il faut partir. Nous sommes prêts », a-t-il dit.", "Fin."]
        );
    }

    #[test]
    fn ellipses_urls_and_emails() {
        let text = "La coopération entre Téhéran et Moscou (...) allait se poursuivre. Voir www.bbc.co.uk ou écrire à info@bbc.co.uk. Et puis... Rien.";
        assert_eq!(
            sentences(text),
            [
                "La coopération entre Téhéran et Moscou (...) allait se poursuivre.",
                "Voir www.bbc.co.uk ou écrire à info@bbc.co.uk.",
                "Et puis...",
                "Rien.",
            ]
        );
    }

    #[test]
    fn newlines_end_sentences_and_ranges_are_trimmed() {
        let text = "  Titre sans point\n\nPremière phrase. Deuxième ?  \nTroisième";
        let ranges = split(text, 0..text.len(), Lang::Fr);
        assert_eq!(
            ranges.iter().map(|r| &text[r.clone()]).collect::<Vec<_>>(),
            [
                "Titre sans point",
                "Première phrase.",
                "Deuxième ?",
                "Troisième"
            ]
        );
        assert_eq!(ranges[0], 2..18);
    }

    #[test]
    fn a_sub_range_yields_offsets_into_the_whole_text() {
        let text = "Ignoré. Une phrase. Une autre.";
        let ranges = split(text, 9..text.len(), Lang::Fr);
        assert_eq!(ranges, [9..20, 21..31]);
        assert_eq!(&text[ranges[0].clone()], "Une phrase.");
    }

    #[test]
    fn glued_stop_after_a_capitalised_word_splits_but_not_initials() {
        let text = "Elle posait avec le modèle Elise.Il y a 22 ans, Lotus naissait. Le groupe U.S.A. Today et M.Dupont restent.";
        assert_eq!(
            sentences(text),
            [
                "Elle posait avec le modèle Elise.",
                "Il y a 22 ans, Lotus naissait.",
                "Le groupe U.S.A. Today et M.Dupont restent.",
            ]
        );
    }

    #[test]
    fn french_decimals_percentages_and_spaced_guillemets() {
        let text = "Le PIB a progressé de 1,4 % au 3e trimestre. « C'est une bonne nouvelle. Enfin ! » a-t-il lancé. Il a cité J.-C. Decaux et l'an 52 av. J.-C. sans détour.";
        assert_eq!(
            sentences(text),
            [
                "Le PIB a progressé de 1,4 % au 3e trimestre.",
                "« C'est une bonne nouvelle. Enfin ! » a-t-il lancé.",
                "Il a cité J.-C. Decaux et l'an 52 av. J.-C. sans détour.",
            ]
        );
    }

    #[test]
    fn urls_with_paths_and_ellipsis_characters() {
        let text = "Lisez https://www.example.com/Actu.Fr/page.html pour tout savoir. Puis… Plus rien. Le site bbc.co.uk répond.";
        assert_eq!(
            sentences(text),
            [
                "Lisez https://www.example.com/Actu.Fr/page.html pour tout savoir.",
                "Puis…",
                "Plus rien.",
                "Le site bbc.co.uk répond.",
            ]
        );
    }

    #[test]
    fn english_times_decimals_curly_quotes_and_initialisms() {
        let text = "The vote is at 3 p.m. on Monday. Shares fell 1.5% to 104.3p... Analysts were surprised. \u{201c}We will win,\u{201d} he said. \u{201c}It is certain.\u{201d} The U.K. economy grew 0.4% in the third quarter. See bbc.co.uk/news for more.";
        assert_eq!(
            sentences(text),
            [
                "The vote is at 3 p.m. on Monday.",
                "Shares fell 1.5% to 104.3p...",
                "Analysts were surprised.",
                "\u{201c}We will win,\u{201d} he said.",
                "\u{201c}It is certain.\u{201d}",
                "The U.K. economy grew 0.4% in the third quarter.",
                "See bbc.co.uk/news for more.",
            ]
        );
    }

    #[test]
    fn french_exclamations_in_guillemets_times_and_ellipses() {
        let text = "« Non ! », a-t-il crié. Il est arrivé à 14h30… Puis il est reparti. Le taux est de 1,4 %. La BCE l'a confirmé. Rendez-vous sur https://www.service-public.fr/particuliers. M. et Mme Martin étaient là.";
        assert_eq!(
            sentences(text),
            [
                "« Non ! », a-t-il crié.",
                "Il est arrivé à 14h30…",
                "Puis il est reparti.",
                "Le taux est de 1,4 %.",
                "La BCE l'a confirmé.",
                "Rendez-vous sur https://www.service-public.fr/particuliers.",
                "M. et Mme Martin étaient là.",
            ]
        );
    }

    #[test]
    fn a_long_run_without_spaces_is_not_cut_at_its_glued_stops() {
        // Prose: the glued stop ends a sentence. Deep inside a run of more
        // than TOKEN_LOOKBACK characters without a space it does not, in the
        // splitter and the tokenizer alike, so both stay linear.
        let text = "Il a dit.Le gouvernement";
        assert_eq!(split(text, 0..text.len(), Lang::Fr).len(), 2);
        let blob = format!("{}ab.Cd", "x".repeat(TOKEN_LOOKBACK));
        assert_eq!(split(&blob, 0..blob.len(), Lang::Fr), vec![(0..blob.len())]);
        assert!(glued_stops(&blob, 0..blob.len()).is_empty());
        let near = format!("{}ab.Cd", "x".repeat(TOKEN_LOOKBACK / 2));
        assert_eq!(split(&near, 0..near.len(), Lang::Fr).len(), 2);
        assert_eq!(glued_stops(&near, 0..near.len()), [near.len() - 3]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        let huge = "a".repeat(1 << 20);
        for text in [
            "",
            ".",
            "...",
            "«.»",
            "é.É",
            "😀. 😀",
            "\u{202e}مرحبا. عالم",
            "\0.\x01",
            &huge,
        ] {
            for r in split(text, 0..text.len(), Lang::Und) {
                assert!(text.get(r).is_some());
            }
        }
        // Out-of-range and mid-character ranges are clamped.
        assert_eq!(split("é. A", 1..100, Lang::Fr), [0..3, 4..5]);
        assert!(split("abc", Range { start: 5, end: 2 }, Lang::Fr).is_empty());
    }
}
