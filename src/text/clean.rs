//! Removes scraped boilerplate, keeping byte offsets into the original text.
//!
//! Written by hand because the boilerplate is ours: no crate knows BBC
//! Afrique teasers, OrangeSum player residue or Reuters sign-offs, and
//! readability-style extractors need HTML and rewrite the text, losing the
//! byte offsets that callers slice summaries with.

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::boilerplate::{self, opens_french_sentence, teaser_marker_len};
use super::{Lang, sentences};

/// What a segment of the original text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// The headline found at the top of a scraped page.
    Headline,
    /// Body text: what the story says.
    Body,
    /// A photo caption.
    Caption,
    /// The place of an agency dateline ("PARIS" in "PARIS (Reuters) -"):
    /// not body text, but it says where the story happens.
    Dateline,
    /// Navigation, font-size switches, credits, teasers, footers.
    Boilerplate,
}

/// A byte range of the original text and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub kind: SegmentKind,
}

/// The classified segments of a text, in document order.
#[derive(Debug, Clone, Default)]
pub struct Cleaned {
    /// Non-blank segments, in order, not overlapping.
    pub segments: Vec<Segment>,
}

impl Cleaned {
    /// The headline found in the text, if any.
    pub fn headline(&self) -> Option<Range<usize>> {
        self.segments
            .iter()
            .find(|s| s.kind == SegmentKind::Headline)
            .map(|s| s.start..s.end)
    }

    /// Dateline places ("PARIS"), in order.
    pub fn datelines(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Dateline)
            .map(|s| s.start..s.end)
    }

    /// Body spans, in order.
    pub fn body(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Body)
            .map(|s| s.start..s.end)
    }

    /// Body spans of `src` joined by newlines.
    pub fn body_text(&self, src: &str) -> String {
        let mut out = String::with_capacity(self.body().map(|r| r.len() + 1).sum());
        for r in self.body() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&src[r]);
        }
        out
    }
}

/// Longest line taken for a headline: longer ones are paragraphs.
const MAX_HEADLINE_BYTES: usize = 200;

/// Longest one-sentence paragraph taken for a dated photo caption.
const MAX_CAPTION_BYTES: usize = 300;

/// How far into a line a "(Reuters) -" dateline may end.
const MAX_DATELINE_BYTES: usize = 120;

/// Agency datelines: "PARIS (Reuters) - The ..." keeps only what follows.
const DATELINES: &[&str] = &[
    "(Reuters) -",
    "(Reuters) –",
    "(Reuters) —",
    "(AFP) -",
    "(AFP) –",
    "(AP) -",
    "(AP) –",
];

/// Openings of OrangeSum's embedded video player code.
const PLAYER_STARTS: &[&str] = &["window.pvp_", "new Pvp(", "\"dm-public\"}"];

/// Last field of OrangeSum's embedded player code.
const PLAYER_END: &str = "\"autoplay\": false";

/// Photo credits that run to the end of the line (or of their parentheses).
const PHOTO_CREDITS: &[&str] = &[
    "Photo :",
    "Photo:",
    "Photos :",
    "Crédit photo",
    "Crédits photo",
    "Crédit :",
    "Photo d'illustration",
];

/// French and English month names, for captions that end in a date.
const MONTHS: &[&str] = &[
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Splits `text` into headline, body, caption and boilerplate segments.
pub fn clean(text: &str) -> Cleaned {
    let lines = lines(text);
    let mut menu = menu_lines(text, &lines);
    for (m, teaser) in menu.iter_mut().zip(teaser_lines(text, &lines)) {
        *m |= teaser;
    }
    let mut segments = Vec::new();
    let mut first_content = true;
    let mut headline = false;
    let mut seen_body = false;
    for (idx, line) in lines.iter().enumerate() {
        let Some(range) = line.clone() else {
            continue;
        };
        let t = &text[range.clone()];
        let whole = |kind| Segment {
            start: range.start,
            end: range.end,
            kind,
        };
        if boilerplate::is_boilerplate_line(t) {
            segments.push(whole(SegmentKind::Boilerplate));
            continue;
        }
        if boilerplate::is_caption_line(t) {
            segments.push(whole(SegmentKind::Caption));
            continue;
        }
        if menu[idx] || boilerplate::is_byline(t) {
            segments.push(whole(SegmentKind::Boilerplate));
            continue;
        }
        if first_content {
            first_content = false;
            if is_headline(t, &lines, idx) {
                headline = true;
                segments.push(whole(SegmentKind::Headline));
                continue;
            }
        }
        // Only a scraped page (one with a headline) has captions between the
        // headline and the story; elsewhere a dated sentence is news.
        if headline
            && !seen_body
            && is_paragraph(&lines, idx)
            && is_dated_caption(text, range.clone())
        {
            segments.push(whole(SegmentKind::Caption));
            continue;
        }
        let before = segments.len();
        split_line(text, range, &mut segments);
        seen_body |= segments[before..]
            .iter()
            .any(|s| s.kind == SegmentKind::Body);
    }
    Cleaned { segments }
}

/// Most words a menu item ([`menu_lines`]) has.
const MAX_MENU_WORDS: usize = 4;

/// Lines that head a list of links to other stories ("Read next", "Les
/// plus lus"), compared lowercased with typographic apostrophes as straight
/// ones and without a final colon.
const TEASER_HEADERS: &[&str] = &[
    "read next",
    "read more",
    "related",
    "related article",
    "related articles",
    "related stories",
    "related content",
    "recommended",
    "recommended stories",
    "most viewed",
    "most read",
    "most popular",
    "you may also like",
    "top stories",
    "more on this story",
    "related topics",
    "sur le même sujet",
    "sur le même thème",
    "les plus lus",
    "les plus partagés",
    "lire aussi",
    "à lire aussi",
    "a lire aussi",
    "lire également",
    "à lire également",
    "à voir aussi",
    "dans la même rubrique",
];

/// Most lines [`teaser_lines`] takes after a header.
const MAX_TEASERS: usize = 6;

/// Most words of a teaser headline.
const MAX_TEASER_WORDS: usize = 16;

/// Which lines are a list of links to other stories: a header of
/// [`TEASER_HEADERS`] (or a short "More from ...", "More on ..."), and the headlines
/// right under it, up to [`MAX_TEASERS`] lines of at most
/// [`MAX_TEASER_WORDS`] words that do not end as a sentence (a headline may
/// end in a question mark); a blank line ends the list. The places and
/// words of those headlines are other stories'.
fn teaser_lines(text: &str, lines: &[Option<Range<usize>>]) -> Vec<bool> {
    let mut out = vec![false; lines.len()];
    let content: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_some()).collect();
    let line = |i: usize| lines[i].clone().map_or("", |r| &text[r]);
    for &i in &content {
        if !is_teaser_header(line(i)) {
            continue;
        }
        out[i] = true;
        // The headlines follow the header line by line: a blank line or a
        // line that ends as a sentence (closing quotes aside) ends the list.
        for j in (i + 1..lines.len()).take(MAX_TEASERS) {
            if lines[j].is_none() {
                break;
            }
            let t = line(j);
            let end = t.trim_end_matches(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '»' | '”' | '’' | '›' | ')' | ']')
            });
            let headline = t.split_whitespace().nth(MAX_TEASER_WORDS).is_none()
                && !end.ends_with(['.', '!', '…', ';', ',', ':'])
                && !is_teaser_header(t);
            if !headline {
                break;
            }
            out[j] = true;
        }
    }
    out
}

/// Whether `line` heads a list of links to other stories.
fn is_teaser_header(line: &str) -> bool {
    if line.len() > 40 {
        return false;
    }
    let mut key = line.trim_end_matches([':', ' ']).to_lowercase();
    if key.contains('’') {
        key = key.replace('’', "'");
    }
    // "More from CNN", "More From AP News": a site's name, not a sentence.
    let site_more = (key.starts_with("more from ") || key.starts_with("more on "))
        && key.split_whitespace().nth(4).is_none()
        && !key.ends_with('.');
    TEASER_HEADERS.contains(&key.as_str()) || site_more
}

/// Longest line [`menu_lines`] reads: navigation lines and menu items of
/// [`MAX_MENU_WORDS`] words are shorter.
const MAX_MENU_LINE_BYTES: usize = 80;

/// Fewest lines in a run that [`menu_lines`] takes for a menu.
const MIN_MENU_RUN: usize = 3;

/// Which lines are a page's menus, section labels and link lists: runs of
/// [`MIN_MENU_RUN`] or more lines of a few words, without digits or a final
/// stop (blank lines between them aside). A story's subheading stands
/// between paragraphs, a table row holds figures, a hard-wrapped line runs
/// on. A text made of such lines alone has no menu.
fn menu_lines(text: &str, lines: &[Option<Range<usize>>]) -> Vec<bool> {
    let content: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_some()).collect();
    // Navigation lines ("Menu", "S'abonner") join a run; a credit or a
    // sign-off ("Reuter") does not.
    let item: Vec<bool> = content
        .iter()
        .map(|&i| {
            lines[i].clone().is_some_and(|r| {
                let t = &text[r];
                // Navigation lines and menu items are short: most lines stop here.
                t.len() <= MAX_MENU_LINE_BYTES
                    && (boilerplate::is_navigation(t)
                        || (is_menu_item(t) && !boilerplate::is_boilerplate_line(t)))
            })
        })
        .collect();
    let mut menu = vec![false; lines.len()];
    let mut k = 0;
    while k < content.len() {
        let run = item[k..].iter().take_while(|&&m| m).count();
        if run >= MIN_MENU_RUN {
            for &i in &content[k..k + run] {
                menu[i] = true;
            }
        }
        k += run.max(1);
    }
    if content.iter().all(|&i| menu[i]) {
        menu.fill(false);
    }
    menu
}

/// A line [`menu_lines`] may take: one to [`MAX_MENU_WORDS`] words with a
/// letter, no digit, not ending in a stop, comma or colon, and not a
/// fixture ("Everton v Sunderland": a list of them is a sports story's).
fn is_menu_item(t: &str) -> bool {
    let words = t.split_whitespace().count();
    (1..=MAX_MENU_WORDS).contains(&words)
        && t.chars().any(char::is_alphabetic)
        && !t.chars().any(|c| c.is_numeric())
        && !t.ends_with(['.', '!', '?', '…', ',', ';', ':'])
        && !t.contains(" v ")
        && !t.contains(" vs ")
}

/// Trimmed byte range of each line of `text`; `None` for blank lines.
fn lines(text: &str) -> Vec<Option<Range<usize>>> {
    crate::work::add(text.len());
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        out.push((!trimmed.is_empty()).then(|| {
            let start = offset + (line.len() - line.trim_start().len());
            start..start + trimmed.len()
        }));
        offset += line.len();
    }
    out
}

/// A short first line without a final stop, set off by a blank line and
/// followed by more text, is a scraped page's headline. A hard-wrapped
/// first line (Reuters) is not set off, a first paragraph ends with a stop.
fn is_headline(t: &str, lines: &[Option<Range<usize>>], idx: usize) -> bool {
    let words = t.split_whitespace().count();
    let first = t.chars().next();
    let last = t.chars().last();
    t.len() <= MAX_HEADLINE_BYTES
        && (2..=30).contains(&words)
        && first.is_some_and(|c| c.is_uppercase() || c.is_numeric() || "\"«“'".contains(c))
        && !last.is_some_and(|c| ".,;:…".contains(c))
        && lines.get(idx + 1).is_some_and(Option::is_none)
        && lines[idx + 1..].iter().any(Option::is_some)
}

/// Whether the line stands alone between blank lines (or the text's ends).
fn is_paragraph(lines: &[Option<Range<usize>>], idx: usize) -> bool {
    let before = idx == 0 || lines[idx - 1].is_none();
    let after = lines.get(idx + 1).is_none_or(Option::is_none);
    before && after
}

/// One sentence ending in a date: "... à Moscou, le 23 décembre 2016.".
fn is_dated_caption(text: &str, range: Range<usize>) -> bool {
    let t = &text[range.clone()];
    if t.len() > MAX_CAPTION_BYTES || sentences::split(text, range, Lang::Und).len() != 1 {
        return false;
    }
    let words: Vec<&str> = t
        .trim_end_matches(['.', ' ', ')'])
        .split_whitespace()
        .rev()
        .take(3)
        .collect();
    let [year, b, a] = words[..] else {
        return false;
    };
    let is_year = year.len() == 4 && year.bytes().all(|c| c.is_ascii_digit());
    let is_day = |w: &str| {
        let w = w.trim_end_matches(',').trim_end_matches("er");
        (1..=2).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_digit())
    };
    let is_month = |w: &str| MONTHS.contains(&w.to_lowercase().as_str());
    // "23 décembre 2016" or "December 23, 2016".
    is_year && ((is_day(a) && is_month(b)) || (is_month(a) && is_day(b)))
}

/// Classifies the inside of one content line: inline boilerplate pieces
/// (datelines, teasers with their headlines, player code, photo credits)
/// become their own segments, the rest is body, split around them.
fn split_line(text: &str, range: Range<usize>, out: &mut Vec<Segment>) {
    let mut base = range.start;
    let mut line = &text[range];
    // "PARIS (Reuters) - ...": the place is kept apart (it says where the
    // story happens), the agency mark is boilerplate, the rest is body.
    if let Some((place_end, mark_end)) = dateline(line) {
        push_trimmed(text, base..base + place_end, SegmentKind::Dateline, out);
        push_trimmed(
            text,
            base + place_end..base + mark_end,
            SegmentKind::Boilerplate,
            out,
        );
        base += mark_end;
        line = &line[mark_end..];
    }
    let mut cuts = inline_boilerplate(line);
    cuts.sort_by_key(|r| r.start);
    let mut pos = 0;
    for cut in merge(cuts) {
        body_piece(text, base + pos, base + cut.start, out);
        push_trimmed(
            text,
            base + cut.start..base + cut.end,
            SegmentKind::Boilerplate,
            out,
        );
        pos = cut.end;
    }
    body_piece(text, base + pos, base + line.len(), out);
}

/// An agency dateline at the start of `line`: (end of the place, end of the
/// agency mark), relative to `line`.
fn dateline(line: &str) -> Option<(usize, usize)> {
    // Only a mark within the first MAX_DATELINE_BYTES counts: search there.
    let mut head = line.len().min(MAX_DATELINE_BYTES);
    while !line.is_char_boundary(head) {
        head -= 1;
    }
    let head = &line[..head];
    // Every mark opens with "(": most lines have none in their head.
    if !head.contains('(') {
        return None;
    }
    DATELINES.iter().find_map(|d| {
        head.find(d)
            .filter(|p| p + d.len() <= MAX_DATELINE_BYTES)
            .map(|p| (p, p + d.len()))
    })
}

/// The first bytes of every teaser marker and photo credit, as
/// [`inline_boilerplate`] matches them: A, L, R, V, P, C, and the first
/// byte of "À".
static OPENS_INLINE: [bool; 256] = super::byte_set(b"ALRVPC\xC3");

/// Byte ranges (relative to `line`) of boilerplate inside a content line.
fn inline_boilerplate(line: &str) -> Vec<Range<usize>> {
    crate::work::add(line.len());
    let mut cuts = Vec::new();
    if let Some(start) = player_start(line) {
        let end = line[start..].find(PLAYER_END).map_or(line.len(), |e| {
            let after = start + e + PLAYER_END.len();
            after
                + (line[after..].len()
                    - line[after..].trim_start_matches(['}', ')', ';', ' ']).len())
        });
        cuts.push(start..end);
    }
    // Byte by byte: a continuation byte never equals a first letter's
    // first byte, so every match starts a character. Bytes that open
    // nothing are skipped by a table lookup each.
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(skip) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| OPENS_INLINE[usize::from(b)]))
    {
        i += skip;
        // The first letters of every teaser marker and photo credit (À is
        // two bytes).
        let step = match bytes[i] {
            b'A' | b'L' | b'R' | b'V' | b'P' | b'C' => 1,
            0xC3 if bytes.get(i + 1) == Some(&0x80) => 2,
            _ => {
                i += 1;
                continue;
            }
        };
        if !at_sentence_start(line, i) {
            i += step;
            continue;
        }
        if let Some(m) = teaser_marker_len(&line[i..]) {
            let end = teaser_end(line, i + m);
            cuts.push(i..end);
            i = end.max(i + m);
            continue;
        }
        if PHOTO_CREDITS.iter().any(|p| line[i..].starts_with(p)) {
            let open = line[..i].trim_end().ends_with('(');
            let (start, end) = if open {
                let start = line[..i].trim_end().len() - 1;
                let end = line[i..].find(')').map_or(line.len(), |e| i + e + 1);
                (start, end)
            } else {
                (i, line.len())
            };
            cuts.push(start..end);
            i = end.max(i + step);
            continue;
        }
        i += step;
    }
    cuts
}

/// Where the first of [`PLAYER_STARTS`] starts in `line`, if any: one
/// pass over the line for all of them.
fn player_start(line: &str) -> Option<usize> {
    static STARTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(PLAYER_STARTS)
            .expect("literal patterns build")
    });
    // std's substring search is vectorised for short patterns: most lines
    // hold none of them and skip the automaton.
    if !PLAYER_STARTS.iter().any(|p| line.contains(p)) {
        return None;
    }
    STARTS.find(line).map(|m| m.start())
}

/// Whether `line[i..]` starts a sentence: line start, or after a stop,
/// a closing quote or an opening parenthesis (glued OrangeSum text too).
fn at_sentence_start(line: &str, i: usize) -> bool {
    match line[..i].trim_end().chars().last() {
        None => true,
        Some(c) => ".!?…\"»”)(:".contains(c),
    }
}

/// Longest stretch after a teaser marker searched for the teaser's headline
/// and the story sentence glued to it. Real ones are a few hundred bytes;
/// the bound keeps the cleaner linear when a line repeats markers or never
/// ends a sentence (it was quadratic: 192 CPU-s for 1 MiB of markers).
const MAX_TEASER_BYTES: usize = 2048;

/// Bytes past the searched stretch that the sentence splitter also sees, so
/// that it decides every boundary inside the stretch as it would on the
/// whole line (it looks ahead at most `QUOTE_LOOKAHEAD` bytes and a few
/// characters).
const TEASER_LOOKAHEAD: usize = sentences::QUOTE_LOOKAHEAD + 200;

/// Where the story resumes after a teaser marker ending at `from`.
///
/// The teaser's headline has no final stop, so it is glued to the next
/// story sentence: "Lire aussi : Le Soudan dévalue sa monnaie Le
/// gouvernement indien a nié ce fait." The stretch up to the first full
/// stop is searched for the last place where a French sentence visibly
/// starts (a capitalised article or pronoun after a word, or a capital after
/// "?"/"!"); the headline(s) end there. With no such place the stretch is a
/// story sentence (the teaser had no headline) unless no stop ends it.
/// Another teaser marker starting a word ends the stretch, and so does
/// [`MAX_TEASER_BYTES`].
fn teaser_end(line: &str, from: usize) -> usize {
    let from = from + (line[from..].len() - line[from..].trim_start().len());
    let (stop, marker) = next_teaser(line, from);
    let window = floor_boundary(line, stop + TEASER_LOOKAHEAD);
    let mut end = stop;
    let mut terminated = false;
    for s in sentences::split(line, from..window, Lang::Fr) {
        if s.end > stop {
            break;
        }
        let t = line[s.clone()].trim_end_matches(['"', '»', '”', ')', ' ', '\u{a0}']);
        if t.ends_with(['.', '…']) {
            end = s.end;
            terminated = true;
            break;
        }
    }
    if !terminated && marker {
        // Another teaser follows: all before it was this one's headline.
        return stop;
    }
    let tokens: Vec<(usize, &str)> = line[from..end]
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    crate::work::add(tokens.len());
    let mut cut = None;
    for k in 1..tokens.len() {
        let (at, word) = tokens[k];
        let prev = tokens[k - 1].1;
        let next = tokens.get(k + 1).map(|t| t.1);
        let after_question = prev.ends_with(['?', '!'])
            && word
                .chars()
                .next()
                .is_some_and(|c| c.is_uppercase() || "\"«“".contains(c));
        let after_word = prev
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || "\"»”)".contains(c))
            && opens_french_sentence(word, next);
        if after_question || after_word {
            cut = Some(at);
        }
    }
    match cut {
        Some(at) => at,
        None if terminated => from,
        None => end,
    }
}

/// Where the search after a teaser marker stops: at the next word (after
/// the first, which starts at `from`) that opens another teaser marker
/// (`true`), else [`MAX_TEASER_BYTES`] on, else at the end of the line.
fn next_teaser(line: &str, from: usize) -> (usize, bool) {
    let limit = floor_boundary(line, from + MAX_TEASER_BYTES);
    // `from` starts the first word; a word after a space starts each other.
    let mut prev_space = false;
    for (k, c) in line[from..limit].char_indices() {
        let space = c.is_whitespace();
        if !space && prev_space && teaser_marker_len(&line[from + k..]).is_some() {
            crate::work::add(k);
            return (from + k, true);
        }
        prev_space = space;
    }
    crate::work::add(limit - from);
    (limit, false)
}

/// The largest char boundary of `s` at or below `i` (`s.len()` if beyond).
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Merges overlapping ranges (sorted by start).
fn merge(cuts: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(cuts.len());
    for c in cuts {
        match out.last_mut() {
            Some(last) if c.start <= last.end => last.end = last.end.max(c.end),
            _ => out.push(c),
        }
    }
    out
}

/// Body text between inline cuts; sentences that are credits or footers
/// ("... a-t-il dit. Avec AFP", a trailing "Reuter") become boilerplate.
fn body_piece(text: &str, start: usize, end: usize, out: &mut Vec<Segment>) {
    if start >= end {
        return;
    }
    // Most pieces hold no credit, sign-off or footer: all body, unsplit.
    if !boilerplate::may_hold_boilerplate_sentence(&text[start..end]) {
        push_trimmed(text, start..end, SegmentKind::Body, out);
        return;
    }
    body_sentences(text, start, end, out);
}

/// [`body_piece`] sentence by sentence.
fn body_sentences(text: &str, start: usize, end: usize, out: &mut Vec<Segment>) {
    let mut run: Option<Range<usize>> = None;
    for s in sentences::split(text, start..end, Lang::Und) {
        if boilerplate::is_boilerplate_sentence(&text[s.clone()]) {
            if let Some(r) = run.take() {
                push_trimmed(text, r, SegmentKind::Body, out);
            }
            push_trimmed(text, s, SegmentKind::Boilerplate, out);
        } else {
            run = Some(run.map_or(s.clone(), |r| r.start..s.end));
        }
    }
    if let Some(r) = run {
        push_trimmed(text, r, SegmentKind::Body, out);
    }
}

fn push_trimmed(text: &str, r: Range<usize>, kind: SegmentKind, out: &mut Vec<Segment>) {
    let Some(piece) = text.get(r.clone()) else {
        return;
    };
    let lead = piece.len() - piece.trim_start().len();
    let trimmed = piece.trim();
    if !trimmed.is_empty() {
        let start = r.start + lead;
        out.push(Segment {
            start,
            end: start + trimmed.len(),
            kind,
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of body lines: credits, sign-offs and footers glued to
    /// sentences or standing alone, abbreviations, quotes and stops.
    const BODY_PARTS: &[&str] = &[
        "Le président a parlé",
        " a-t-il dit",
        "Avec AFP",
        "avec Reuters",
        "(AFP)",
        "© AFP 2016",
        "Source : AP et Reuters",
        "Reuter",
        "REUTERS",
        "Avecafp",
        "AP",
        "pa",
        "Follow BBC News on Twitter",
        " is a regular commentator on the BBC World Service programme Go Digital",
        "MM.",
        "U.S.",
        "(...)",
        "1.4",
        "jeudi.Le",
        ". ",
        ".",
        "! ",
        "? ",
        "…",
        " » ",
        " « ",
        "\"",
        "’",
        ")",
        " ",
        "\u{a0}",
        "\u{202f}",
        "\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn body_pieces_left_unsplit_are_what_splitting_finds(
            parts in prop::collection::vec(prop::sample::select(BODY_PARTS), 0..14)
        ) {
            let text = parts.concat();
            let (mut fast, mut split) = (Vec::new(), Vec::new());
            body_piece(&text, 0, text.len(), &mut fast);
            body_sentences(&text, 0, text.len(), &mut split);
            prop_assert_eq!(fast, split);
        }
    }

    /// The scraped page of tests/data/aleppo-fr.txt, abridged.
    const ALEPPO: &str = "Liens d'accessibilité\n\nPoutine et Rohani saluent la \"victoire\" à Alep\n\n\nLe président russe lors d'une conférence à Moscou en Russie, le 23 décembre 2016.\n\nLes présidents iranien et russe, Hassan Rohani et Vladimir Poutine, ont salué la \"victoire de l'armée syrienne contre les terroristes à Alep\" lors d'un entretien téléphonique samedi soir, a rapporté dimanche le site de la présidence iranienne.\n\n\"La victoire de l'armée syrienne a pour message que les terroristes ne peuvent atteindre leurs objectifs\", a déclaré le président iranien. \"Il faut empêcher que les terroristes utilisent le cessez-le-feu pour reprendre des forces et créer de nouvelles bases dans d'autres régions en Syrie\".\n\nSelon le communiqué officiel, le président Poutine a également \"salué la victoire de l'armée syrienne\" en ajoutant que \"la coopération entre Téhéran et Moscou (...) allait se poursuivre\".\n\nMM. Poutine et Rohani ont également réaffirmé que des \"négociations\" de paix inter-syriennes devaient commencer au Kazakhstan, sans donner plus de détails.\n\nAvec AFP\n\nXS\nSM\nMD\nLG";

    fn kinds(text: &str, kind: SegmentKind) -> Vec<&str> {
        clean(text)
            .segments
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| &text[s.start..s.end])
            .collect()
    }

    #[test]
    fn aleppo_page_yields_headline_body_and_no_page_furniture() {
        let cleaned = clean(ALEPPO);
        let headline = cleaned.headline().map(|r| &ALEPPO[r]);
        assert_eq!(
            headline,
            Some("Poutine et Rohani saluent la \"victoire\" à Alep")
        );
        assert_eq!(
            kinds(ALEPPO, SegmentKind::Caption),
            ["Le président russe lors d'une conférence à Moscou en Russie, le 23 décembre 2016."]
        );
        let body = cleaned.body_text(ALEPPO);
        assert!(body.starts_with("Les présidents iranien et russe"));
        assert!(body.ends_with("sans donner plus de détails."));
        for junk in [
            "Liens d'accessibilité",
            "XS",
            "LG",
            "Avec AFP",
            "Le président russe lors",
            "saluent",
        ] {
            assert!(!body.contains(junk), "{junk:?} left in body");
        }
        assert_eq!(cleaned.body().count(), 4);
    }

    #[test]
    fn segments_are_ordered_disjoint_and_slice_the_original() {
        let cleaned = clean(ALEPPO);
        let mut last = 0;
        for s in &cleaned.segments {
            assert!(s.start >= last && s.start < s.end);
            let piece = &ALEPPO[s.start..s.end];
            assert_eq!(piece, piece.trim());
            last = s.end;
        }
    }

    #[test]
    fn masakhanews_teasers_go_with_their_headlines() {
        let text = "Les faits remontent à 2012. Lire aussi : Kenya-corruption : des fonctionnaires convoqués à la police L'ex-président kényan Daniel Arap Moi condamné pour expropriation de terres La justice kényane enquête sur la façon dont l'appel d'offres a été attribué. Il y aurait eu un montant supplémentaire. A ne pas manquer sur BBC Afrique : La couche d'ozone est une fine partie de l'atmosphère.";
        assert_eq!(
            kinds(text, SegmentKind::Body),
            [
                "Les faits remontent à 2012.",
                "La justice kényane enquête sur la façon dont l'appel d'offres a été attribué. Il y aurait eu un montant supplémentaire.",
                "La couche d'ozone est une fine partie de l'atmosphère.",
            ]
        );
        let junk = kinds(text, SegmentKind::Boilerplate);
        assert!(junk[0].starts_with("Lire aussi : Kenya-corruption"));
        assert!(junk[0].ends_with("expropriation de terres"));
        assert_eq!(junk[1], "A ne pas manquer sur BBC Afrique :");
    }

    #[test]
    fn teaser_headline_ending_in_a_question_and_teaser_at_the_end() {
        let text = "Les pays doivent agir. Lire aussi : Qu'attend l'Afrique de la COP? En Europe, ces enfants qui se mobilisent pour le climat L'aide financière fait débat. Regarder :";
        assert_eq!(
            kinds(text, SegmentKind::Body),
            ["Les pays doivent agir.", "L'aide financière fait débat."]
        );
    }

    #[test]
    fn reuters_sign_off_and_dateline_are_dropped() {
        let text = "Showers continued throughout the week in\nthe Bahia cocoa zone, alleviating the drought.\n Reuter";
        assert_eq!(
            kinds(text, SegmentKind::Body),
            [
                "Showers continued throughout the week in",
                "the Bahia cocoa zone, alleviating the drought."
            ]
        );
        assert_eq!(clean(text).headline(), None);
        let wire = "LONDON (Reuters) - Shares rose on Monday.";
        assert_eq!(kinds(wire, SegmentKind::Body), ["Shares rose on Monday."]);
        assert_eq!(kinds(wire, SegmentKind::Dateline), ["LONDON"]);
    }

    #[test]
    fn bbc_footers_sign_offs_and_image_lines_are_not_body() {
        let text = "The scheme starts next month.\n\nImage caption Julie Byrne at home\n\nIt ends in March.\nFollow BBC West on Facebook, Twitter and Instagram. Send your story ideas to: bristol@bbc.co.uk\nBill Thompson is a regular commentator on the BBC World Service programme Go Digital.";
        assert_eq!(
            kinds(text, SegmentKind::Body),
            ["The scheme starts next month.", "It ends in March."]
        );
        assert_eq!(
            kinds(text, SegmentKind::Caption),
            ["Image caption Julie Byrne at home"]
        );
    }

    #[test]
    fn orangesum_player_code_and_photo_credits_are_dropped() {
        let text = "Les voyageurs portaient des masques. window.pvp_cf = new Pvp('dmpublic', {idDM: \"x7\", mediaType: \"dm-public\"}, { 'sequenceUrl': \"//pms.orange.fr/embed\", \"origin\": \"embed\", \"mute\": true, \"autoplay\": false La suite.Photo : Morgan Plus Six";
        assert_eq!(
            kinds(text, SegmentKind::Body),
            ["Les voyageurs portaient des masques.", "La suite."]
        );
    }

    #[test]
    fn a_news_sites_menus_bylines_and_notices_are_not_body() {
        let page = "Aller au contenu principal\nLe Monde\nS’abonner\nSe connecter\nRubriques\nSociété\nGrève dans les transports lyonnais : métros et trams à l’arrêt\nLecture du Monde en cours sur un autre appareil.\nPar Richard Schittly (Lyon, correspondant)\n\nLes conducteurs de métro étaient en grève jeudi.\n\nLa direction a proposé une hausse de 3,2 %.\n\nMentions légales\nGestion des cookies\nNous contacter";
        assert_eq!(
            kinds(page, SegmentKind::Body),
            [
                "Grève dans les transports lyonnais : métros et trams à l’arrêt",
                "Les conducteurs de métro étaient en grève jeudi.",
                "La direction a proposé une hausse de 3,2 %.",
            ]
        );
        let junk = kinds(page, SegmentKind::Boilerplate);
        for line in [
            "Le Monde",
            "Société",
            "Lecture du Monde en cours sur un autre appareil.",
            "Par Richard Schittly (Lyon, correspondant)",
            "Nous contacter",
        ] {
            assert!(junk.contains(&line), "{line:?} not boilerplate");
        }
    }

    #[test]
    fn a_subheading_a_table_and_a_list_of_fixtures_stay_body() {
        // A subheading stands between paragraphs; a table row holds figures.
        let story = "Shares rose on Monday.\n\nWhat comes next\n\nAnalysts expect more.\nNine mths\nShr 1.20 dlrs vs 1.10\nPar ailleurs, le ministre a parlé.";
        assert_eq!(
            kinds(story, SegmentKind::Body),
            [
                "Shares rose on Monday.",
                "What comes next",
                "Analysts expect more.",
                "Nine mths",
                "Shr 1.20 dlrs vs 1.10",
                "Par ailleurs, le ministre a parlé.",
            ]
        );
        // A text of short lines alone has no menu to drop.
        let fixtures = "Everton v Sunderland\nOldham v Bolton\nWest Brom v Tottenham";
        assert_eq!(kinds(fixtures, SegmentKind::Body).len(), 3);
    }

    #[test]
    fn links_to_other_stories_are_not_body() {
        let page = "Rivers burst their banks in Sylhet on Monday.\n\nSur le même sujet\nTempête Boris : la Pologne et la République tchèque sous les eaux\nWhy is Bangladesh so prone to flooding?\n\nThe army was deployed on Tuesday.\n\nMore From AP News\nBiden signs climate and health bill into law";
        assert_eq!(
            kinds(page, SegmentKind::Body),
            [
                "Rivers burst their banks in Sylhet on Monday.",
                "The army was deployed on Tuesday.",
            ]
        );
        // The list ends at the story's next paragraph, and a story's own
        // sentence that opens "More on" is no header.
        let story = "Lire aussi\nRetraites : ce que prévoit le projet\nLa manifestation s'est déroulée dans le calme jusqu'à l'arrivée du cortège place de la Nation, vers 16h30 ce jeudi\nMore on this story here.";
        assert_eq!(
            kinds(story, SegmentKind::Body),
            [
                "La manifestation s'est déroulée dans le calme jusqu'à l'arrivée du cortège place de la Nation, vers 16h30 ce jeudi",
                "More on this story here.",
            ]
        );
    }

    #[test]
    fn captions_that_end_in_a_photo_credit_are_captions() {
        for caption in [
            "Supporters celebrate in Eldoret, Kenya, after he was declared the winner. (AP Photo/Brian Inganga)",
            "Sur le quai de la station Perrache, à Lyon, le 14 mars 2024. JEFF PACHOUD / AFP",
            "Un patient est soigné à Port-au-Prince, le 10 novembre 2024. AFP - RICHARD PIERRIN",
            "Le chalutier avait quitté le port du Guilvinec lundi soir. | ARCHIVES OUEST-FRANCE",
            "Former treasurer Gary Hensley leaves the courthouse after the verdict. JIM NOELKER/STAFF",
            "Samsung's headquarters in Seoul. Photograph: Jung Yeon-je/AFP/Getty Images",
            "Rescuers search the rubble in Malatya, Turkey, March 14, 2025. REUTERS/Umit Bektas",
            "Declan Rice celebrates scoring his second free-kick (Getty Images)",
        ] {
            let text = format!("{caption}\n\nThe story starts here.");
            assert_eq!(kinds(&text, SegmentKind::Caption), [caption]);
            assert_eq!(kinds(&text, SegmentKind::Body), ["The story starts here."]);
        }
        // A sentence that ends in capitals, a headline with its source, a
        // Reuters legend: not captions.
        for body in [
            "The deal was approved by the EU and the US.",
            "think the new york times covered it differently ? yes and no . | the knife media",
            "NC - NO COMPARISON  UA - UNAVAILABLE",
            "Talks resumed in Geneva. UN - US",
        ] {
            assert_eq!(
                kinds(body, SegmentKind::Caption),
                Vec::<&str>::new(),
                "{body:?}"
            );
        }
    }

    #[test]
    fn clean_text_comes_through_unchanged() {
        let text = "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m).\n\nThe firm, which is now one of the biggest investors in Google, benefited from sales.\n\nAvec lui, la France a gagné le 23 décembre 2016.";
        let body: Vec<&str> = text.split("\n\n").collect();
        assert_eq!(kinds(text, SegmentKind::Body), body);
        let one_line = "M. Guyot a rappelé qu'en 2019, elles s'étaient élevées à 839.000 euros.Alors que les estives ont commencé, l'aide arrive.";
        assert_eq!(kinds(one_line, SegmentKind::Body), [one_line]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        let huge = "x".repeat(1 << 20);
        for text in [
            "",
            "\n\n",
            "Lire aussi :",
            "Lire aussi : ",
            "(Photo :",
            "window.pvp_",
            "😀\n\n😀 😀",
            "\u{202e}مرحبا\n\nعالم.",
            "A\0B\n\x01",
            &huge,
        ] {
            for s in clean(text).segments {
                assert!(text.get(s.start..s.end).is_some());
            }
        }
    }
}
