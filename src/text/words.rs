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
        self.next_shaped().map(|(t, _)| t)
    }
}

impl<'a> Tokens<'a> {
    /// The next token with what the word scan learned of its bytes:
    /// [`Shape::plain`] only for a token that is a whole word.
    pub(crate) fn next_shaped(&mut self) -> Option<(Token<'a>, Shape)> {
        if let Some(t) = self.pending.pop() {
            return Some((t, Shape::OTHER));
        }
        loop {
            let (start, w, shape) = self.words.next_shaped()?;
            let end = start + w.len();
            crate::work::add(w.len());
            if shape.plain() {
                // No full stop to cut at, no apostrophe to end an elided
                // article, and no space to trim: the word is the token.
                return Some((
                    Token {
                        start,
                        end,
                        text: w,
                    },
                    shape,
                ));
            }
            // Empty, so no allocation, unless the word has a full stop.
            let stops = sentences::glued_stops(self.text, start..end);
            if stops.is_empty() {
                if let Some(t) = piece(self.text, start, end) {
                    return Some((t, Shape::OTHER));
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
                return Some((t, Shape::OTHER));
            }
        }
    }
}

/// What the word scan learned about the bytes of a word, so that the steps
/// after it need not read them again: bit flags, set for what the word
/// holds, so that the scan only ORs them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape(u8);

impl Shape {
    /// A lowercase ASCII letter.
    const LOWER: u8 = 1;
    /// An uppercase ASCII letter.
    const UPPER: u8 = 2;
    /// An ASCII digit: no question asks for it, but the scan's byte loop
    /// goes on while a byte has a flag.
    const DIGIT: u8 = 4;
    /// A full stop or an apostrophe (MidNumLet).
    const STOP: u8 = 8;
    /// A byte beyond ASCII.
    const WIDE: u8 = 16;

    /// Nothing known: every step reads the word itself.
    const OTHER: Shape = Shape(Self::UPPER | Self::STOP | Self::WIDE);

    /// Letters, digits and joiners of the known classes only, with no
    /// full stop or apostrophe (no MidNumLet): a word with no glued stop,
    /// no elided article and nothing to trim.
    pub(crate) fn plain(self) -> bool {
        self.0 & Self::STOP == 0
    }

    /// Only ASCII bytes.
    pub(crate) fn ascii(self) -> bool {
        self.0 & Self::WIDE == 0
    }

    /// No ASCII capital letter.
    pub(crate) fn lower(self) -> bool {
        self.0 & Self::UPPER == 0
    }
}

/// The token of `text[from..to]` (a word or a piece of one cut at a glued
/// stop): trimmed, its elided article dropped; `None` if nothing is left.
fn piece(text: &str, from: usize, to: usize) -> Option<Token<'_>> {
    let piece = &text[from..to];
    // UAX#29 joins a narrow no-break space (ExtendNumLet) to the word
    // after it: French "«\u{202f}Paris" gives "\u{202f}Paris". A word that
    // starts and ends with an ASCII character other than a space (most
    // words) has nothing to trim.
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii() && !b.is_ascii_whitespace());
    let bytes = piece.as_bytes();
    let (start, w) = if plain(bytes.first()) && plain(bytes.last()) {
        (from, piece)
    } else {
        (
            from + (piece.len() - piece.trim_start().len()),
            piece.trim(),
        )
    };
    let skip = elision_len(w);
    let word = &w[skip..];
    (!word.is_empty()).then(|| Token {
        start: start + skip,
        end: start + w.len(),
        text: word,
    })
}

/// The UAX#29 words of `text` with their byte offsets: exactly
/// `text.unicode_word_indices()`, but faster on Latin-script text.
///
/// unicode-segmentation looks every character up in its tables unless the
/// whole string is ASCII, so one "é" sends every word of a French dispatch
/// through them. Here the text is cut into runs that each either hold only
/// characters whose word-break class is known without tables
/// (`fast_class`: ASCII, Latin letters, the usual quotes, dashes and
/// spaces of news copy) or not, and each run is segmented on its own: a
/// known run by a scan that applies the UAX#29 rules to those classes, the
/// others by unicode-segmentation. A cut goes only between a space and an
/// ASCII character other than a space: UAX#29 always breaks there, and no
/// rule looks across a space (it is neither ignored like Extend nor part
/// of any letter or number rule), so each run segments as it does within
/// the whole text.
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
    Known { run: &'a str, pos: usize },
    Unicode(unicode_segmentation::UnicodeWordIndices<'a>),
}

impl<'a> WordIndices<'a> {
    fn new(text: &'a str) -> Self {
        // Most dispatches are one known run: settle that in one pass and
        // skip the cutting into runs.
        let known = all_known(text);
        let (pos, run) = if known { (text.len(), text) } else { (0, "") };
        WordIndices {
            runs: Runs { text, pos },
            base: 0,
            run: RunWords::Known { run, pos: 0 },
        }
    }
}

impl<'a> Iterator for WordIndices<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        self.next_shaped().map(|(at, w, _)| (at, w))
    }
}

impl<'a> WordIndices<'a> {
    /// The next word with its [`Shape`] (always [`Shape::OTHER`] in a run
    /// left to unicode-segmentation).
    fn next_shaped(&mut self) -> Option<(usize, &'a str, Shape)> {
        loop {
            let found = match &mut self.run {
                RunWords::Known { run, pos } => next_known_word(run, pos),
                RunWords::Unicode(words) => words.next().map(|(at, w)| (at, w, Shape::OTHER)),
            };
            if let Some((at, w, shape)) = found {
                return Some((self.base + at, w, shape));
            }
            let (base, run, known) = self.runs.next()?;
            self.base = base;
            self.run = if known {
                RunWords::Known { run, pos: 0 }
            } else {
                RunWords::Unicode(run.unicode_word_indices())
            };
        }
    }
}

/// The UAX#29 word-break classes of the characters [`fast_class`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wb {
    /// ALetter.
    Letter,
    /// Numeric.
    Digit,
    /// ExtendNumLet ("_").
    Joiner,
    /// MidLetter (":").
    MidLetter,
    /// MidNum ("," ";").
    MidNum,
    /// MidNumLet ("." and the curly single quotes) and Single_Quote ("'"),
    /// which the rules treat alike outside Hebrew.
    MidNumLet,
    /// Everything no word rule names: spaces, line ends, other punctuation.
    /// A double quote only joins Hebrew letters, which are never known.
    Other,
}

/// The [`Shape`] flag of each byte that is an ASCII letter or digit, 0
/// for any other: the word scan ORs them together to learn the shape of a
/// word in the one pass that finds its end.
static ASCII_KINDS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'a'..=b'z' => Shape::LOWER,
            b'A'..=b'Z' => Shape::UPPER,
            b'0'..=b'9' => Shape::DIGIT,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// [`fast_class`] of each ASCII character.
const ASCII_CLASSES: [Wb; 128] = {
    let mut table = [Wb::Other; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => Wb::Letter,
            b'0'..=b'9' => Wb::Digit,
            b'_' => Wb::Joiner,
            b':' => Wb::MidLetter,
            b',' | b';' => Wb::MidNum,
            b'.' | b'\'' => Wb::MidNumLet,
            _ => Wb::Other,
        };
        b += 1;
    }
    table
};

/// The word-break class of `c` when it is known without tables: ASCII,
/// Latin-1 and Latin Extended-A/B letters (all ALetter), and the quotes,
/// dashes, spaces and signs of news copy that no rule names (among them
/// the pound sign of British copy and the bullet of lists, so that one "£"
/// does not send a whole dispatch to the tables). Anything else
/// (a combining mark, the soft hyphen which is Format, the narrow no-break
/// space which is ExtendNumLet, other scripts) is `None`.
#[inline]
fn fast_class(c: char) -> Option<Wb> {
    Some(match c {
        '\0'..='\x7f' => ASCII_CLASSES[c as usize],
        '\u{2018}' | '\u{2019}' => Wb::MidNumLet,
        '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{24f}' => Wb::Letter,
        '\u{a0}' | '«' | '»' | '°' | '–' | '—' | '“' | '”' | '…' | '€' | '£' | '•' => {
            Wb::Other
        }
        _ => return None,
    })
}

/// Whether every character of `text` has a [`fast_class`]. Eight bytes
/// are tested at once for a non-ASCII one, so that only the accented
/// letters and typographic signs of a text are decoded.
fn all_known(text: &str) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        let chunk = bytes
            .get(i..i + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok());
        let at = match chunk.map(|c| u64::from_le_bytes(c) & HIGH_BITS) {
            Some(0) => {
                i += 8;
                continue;
            }
            Some(high) => i + (high.trailing_zeros() / 8) as usize,
            None => match bytes
                .get(i..)
                .and_then(|t| t.iter().position(|b| !b.is_ascii()))
            {
                Some(p) => i + p,
                None => return true,
            },
        };
        match text.get(at..).and_then(|t| t.chars().next()) {
            Some(c) if fast_class(c).is_some() => i = at + c.len_utf8(),
            _ => return false,
        }
    }
}

/// Class and length of the character at byte `i` of `run` (a known run).
#[inline]
fn class_at(run: &str, i: usize) -> Option<(Wb, usize)> {
    let b = *run.as_bytes().get(i)?;
    if b.is_ascii() {
        return Some((ASCII_CLASSES[usize::from(b)], 1));
    }
    let c = run.get(i..)?.chars().next()?;
    Some((fast_class(c).unwrap_or(Wb::Other), c.len_utf8()))
}

/// The next UAX#29 word of a known `run` (every character has a
/// [`fast_class`]) from byte `*pos`, moving `*pos` past it. For these
/// classes the rules come down to: letters, digits and "_" join (WB5,
/// WB8-WB10, WB13a, WB13b); MidLetter and MidNumLet join two letters (WB6,
/// WB7), MidNum and MidNumLet two digits (WB11, WB12); everything else is
/// a segment of its own, and a word is a segment with a letter or digit.
/// The word comes with its [`Shape`].
fn next_known_word<'a>(run: &'a str, pos: &mut usize) -> Option<(usize, &'a str, Shape)> {
    let core = |k: Wb| matches!(k, Wb::Letter | Wb::Digit | Wb::Joiner);
    loop {
        let mut start = *pos;
        let (mut prev, first_len) = loop {
            let (k, len) = class_at(run, start)?;
            if core(k) {
                break (k, len);
            }
            start += len;
        };
        let mut alnum = prev != Wb::Joiner;
        let bytes = run.as_bytes();
        // The first character; the byte loop below reads the others.
        let mut flags = match bytes.get(start) {
            Some(&b) if first_len == 1 => ASCII_KINDS[usize::from(b)],
            _ => Shape::WIDE,
        };
        let mut end = start + first_len;
        loop {
            // ASCII letters and digits, most of a word, a byte at a time.
            let from = end;
            while let Some(&b) = bytes.get(end) {
                let kind = ASCII_KINDS[usize::from(b)];
                if kind == 0 {
                    break;
                }
                flags |= kind;
                end += 1;
            }
            if end > from {
                alnum = true;
                prev = ASCII_CLASSES[usize::from(bytes[end - 1])];
            }
            let Some((k, len)) = class_at(run, end) else {
                break;
            };
            let joined = if core(k) {
                true
            } else {
                let next = class_at(run, end + len).map(|(n, _)| n);
                matches!(
                    (prev, k, next),
                    (Wb::Letter, Wb::MidLetter | Wb::MidNumLet, Some(Wb::Letter))
                        | (Wb::Digit, Wb::MidNum | Wb::MidNumLet, Some(Wb::Digit))
                )
            };
            if !joined {
                break;
            }
            alnum |= matches!(k, Wb::Letter | Wb::Digit);
            if k == Wb::MidNumLet {
                flags |= Shape::STOP;
            }
            if len > 1 {
                flags |= Shape::WIDE;
            }
            prev = k;
            end += len;
        }
        *pos = end;
        // "_" and "__" are segments without a letter or digit.
        if alnum {
            return Some((start, &run[start..end], Shape(flags)));
        }
    }
}

/// Runs of a text, alternately known to [`fast_class`] and not, cut only
/// where a space is followed by an ASCII character other than a space:
/// (offset, run, known).
#[derive(Debug)]
struct Runs<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Runs<'a> {
    type Item = (usize, &'a str, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        // Whether the run is known, settled once its first piece ends.
        let mut run_known: Option<bool> = None;
        let (mut piece, mut piece_known) = (start, true);
        let mut prev = 0u8;
        let mut j = start;
        while let Some(&b) = bytes.get(j) {
            if b.is_ascii() {
                if prev == b' ' && b != b' ' && j > piece {
                    match run_known {
                        None => run_known = Some(piece_known),
                        Some(k) if k != piece_known => break,
                        Some(_) => {}
                    }
                    (piece, piece_known) = (j, true);
                }
                prev = b;
                j += 1;
                continue;
            }
            let Some(c) = self.text.get(j..).and_then(|t| t.chars().next()) else {
                break;
            };
            piece_known &= fast_class(c).is_some();
            prev = b;
            j += c.len_utf8();
        }
        // The last piece looked at joins the run unless its kind differs.
        let end = match run_known {
            Some(k) if k != piece_known => piece,
            _ => bytes.len(),
        };
        self.pos = end;
        let known = run_known.unwrap_or(piece_known);
        self.text.get(start..end).map(|run| (start, run, known))
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
        if word.bytes().any(|b| b.is_ascii_uppercase()) {
            out[start..].make_ascii_lowercase();
        }
        return;
    }
    for c in word.chars() {
        match c {
            '\u{2019}' => out.push('\''),
            _ => push_lowercase(c, out),
        }
    }
}

/// [`normalize_push`] of a token from [`Tokens::next_shaped`], which skips
/// what its [`Shape`] settles: a plain word has no elided article and no
/// curly apostrophe, and an ASCII one is lowercased by its bytes if it has
/// a capital.
pub(crate) fn normalize_shaped_push(word: &str, shape: Shape, out: &mut String) {
    if !shape.plain() {
        normalize_push(word, out);
    } else if shape.ascii() {
        let start = out.len();
        out.push_str(word);
        if !shape.lower() {
            out[start..].make_ascii_lowercase();
        }
    } else {
        for c in word.chars() {
            push_lowercase(c, out);
        }
    }
}

/// `c` lowercased onto `out`, as `char::to_lowercase` does, but without
/// its tables for ASCII and Latin-1: À-Þ (but ×) are the upper case of
/// à-þ, 32 code points on, and ß-ÿ are lower case. Always inlined: it runs
/// per character in the loops of the gazetteer scan, feature
/// normalisation and language detection.
#[inline(always)]
pub(crate) fn push_lowercase(c: char, out: &mut String) {
    match c {
        '\0'..='\x7f' => out.push(c.to_ascii_lowercase()),
        '\u{c0}'..='\u{de}' if c != '\u{d7}' => {
            out.push(char::from_u32(u32::from(c) + 32).unwrap_or(c));
        }
        '\u{df}'..='\u{ff}' => out.push(c),
        _ => out.extend(c.to_lowercase()),
    }
}

/// `char::is_alphabetic`, but without its tables for ASCII and the Latin
/// letters of U+00C0-U+024F (all letters but × and ÷).
#[inline]
pub(crate) fn is_letter(c: char) -> bool {
    match c {
        '\0'..='\x7f' => c.is_ascii_alphabetic(),
        '\u{c0}'..='\u{24f}' => c != '\u{d7}' && c != '\u{f7}',
        _ => c.is_alphabetic(),
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
    const RULE_CHARS: &str = "aZ09 ..,,;:''\"_-/\t\n\r\u{b}é\u{301}\u{345}\u{ad}\u{200d}\u{2019}\
         \u{202f}\u{a0}\u{3000}\u{2028}\u{85}\u{b7}\u{5d0}\u{5f4}\u{30ab}\u{ff10}\
         \u{1f1eb}\u{1f1f7}\u{1f469}\u{1f3fd}\u{660}\u{e01}";

    /// Characters at the edges of what the fast path knows ([`fast_class`]):
    /// Latin-1 and Latin Extended letters and the signs around them (× ÷ ª
    /// º µ · are not plain letters or are not known), French quotes,
    /// dashes and spaces, and the first characters past Latin Extended-B.
    const LATIN_CHARS: &str = "aé\u{c0}\u{d6}\u{d7}\u{d8}\u{f6}\u{f7}\u{f8}\u{ff}\u{100}œŒ\u{17f}\
         \u{180}\u{24f}\u{250}\u{2d8}ªºµ·©\u{2018}’'.:,;1_ «»–—“”…€£•°\u{a0}\u{202f}\u{ad}\u{301}";

    fn text_of(chars: &str, len: usize) -> impl Strategy<Value = String> + use<> {
        let chars: Vec<char> = chars.chars().collect();
        prop::collection::vec(prop::sample::select(chars), 0..len)
            .prop_map(|v| v.into_iter().collect::<String>())
    }

    fn segmentation_text() -> impl Strategy<Value = String> {
        prop_oneof![
            text_of(RULE_CHARS, 40),
            text_of(LATIN_CHARS, 40),
            "([A-Za-zéèàçôœÉ]{1,6}[ .,:’'_0-9«»\u{a0}\u{202f}\u{ad}\u{301}–]{0,3}){0,10}",
            any::<String>(),
        ]
    }

    #[test]
    fn all_known_reads_every_character() {
        let long = "Les présidents iranien et russe ont salué la « victoire » à Alep.";
        assert!(all_known(long) && all_known("") && all_known("abcdefgh"));
        for odd in ["\u{ad}", "\u{202f}", "e\u{301}", "\u{5d0}"] {
            for at in [0, 3, 7, 8, 9, 20, long.len()] {
                let mut text = long.to_string();
                let at = (0..=at.min(text.len()))
                    .rev()
                    .find(|&i| text.is_char_boundary(i));
                text.insert_str(at.unwrap_or(0), odd);
                assert!(!all_known(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn word_indices_agree_on_every_three_latin_characters() {
        let chars: Vec<char> = LATIN_CHARS.chars().chain("\"\n\u{85}-".chars()).collect();
        let mut text = String::new();
        for &a in &chars {
            for &b in &chars {
                for &c in &chars {
                    text.clear();
                    text.extend([a, b, c]);
                    let fast: Vec<_> = word_indices(&text).collect();
                    let reference: Vec<_> = text.unicode_word_indices().collect();
                    assert_eq!(fast, reference, "{text:?}");
                }
            }
        }
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
        fn shaped_tokens_normalise_as_normalize_says(
            text in prop_oneof![
                segmentation_text(),
                "([A-Za-zéÉÀÿĀİȺß]{1,6}[.’' ,_1]{0,2}(l'|d’|Qu'|jusqu’)?){0,12}",
            ]
        ) {
            let mut shaped = tokens(&text);
            let mut found = Vec::new();
            while let Some((t, shape)) = shaped.next_shaped() {
                found.push(t);
                let (mut fast, mut reference) = (String::from("x"), String::from("x"));
                normalize_shaped_push(t.text, shape, &mut fast);
                normalize_push(t.text, &mut reference);
                prop_assert_eq!(&fast, &reference, "{:?} {:?}", t.text, shape);
                prop_assert!(!shape.ascii() || t.text.is_ascii());
                if shape.plain() {
                    prop_assert_eq!(
                        shape.lower(),
                        !t.text.bytes().any(|b| b.is_ascii_uppercase())
                    );
                }
            }
            prop_assert_eq!(found, tokens_reference(&text));
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
            "Poutine et Rohani ont salué « la victoire » à Alep l’armée 1’000 d\u{2018}x",
            "e\u{301}te\u{301} \u{ad}Alep 1\u{202f}000 ×÷ Zürich ŒUVRE",
        ] {
            let fast: Vec<_> = word_indices(text).collect();
            let reference: Vec<_> = text.unicode_word_indices().collect();
            assert_eq!(fast, reference);
        }
    }

    #[test]
    fn latin_letters_lowercase_as_unicode_says() {
        for c in '\0'..='\u{36f}' {
            let expected: String = c.to_lowercase().collect();
            let mut lower = String::new();
            push_lowercase(c, &mut lower);
            assert_eq!(lower, expected, "{c:?}");
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
            if c != '\'' {
                assert_eq!(normalize(&c.to_string()), expected, "{c:?}");
            }
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
