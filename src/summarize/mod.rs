//! Extractive summarizer: picks the sentences that carry the story.
//!
//! Each body sentence (boilerplate, captions, datelines and the headline are
//! never candidates) is described by a few features ([`FEATURE_NAMES`]):
//! position, length, TextRank centrality and similarity to the document
//! centroid over tf-idf vectors (the model's idf, or in-document statistics
//! when the model has none), similarity to the headline and to the first
//! sentence, quotes, digits, the mean idf of its words. A logistic
//! regression per language ([`Scorer`], learned from the bbcsum and
//! OrangeSum training splits by [`learn`]) scores them; the best sentences
//! that do not repeat one already chosen and fit the budget are returned in
//! document order, whole.

mod graph;
pub mod learn;
pub mod scorer;
mod stopwords;

use std::hash::BuildHasher;
use std::ops::Range;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::text::{Cleaned, Lang, sentences, words};

pub use graph::Sparse;
pub use scorer::Scorer;

/// How important a term is across the corpus (the model's idf).
pub trait TermWeights {
    /// Inverse document frequency of a lowercased word, if known.
    fn idf(&self, term: &str) -> Option<f32>;
}

/// No corpus statistics: the summarizer falls back to in-document idf.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWeights;

impl TermWeights for NoWeights {
    fn idf(&self, _term: &str) -> Option<f32> {
        None
    }
}

/// A sentence chosen for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// First byte in the original text.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Position among the body sentences (0 = first).
    pub index: usize,
    /// The scorer's probability that the sentence belongs in a reference
    /// summary (0..1; comparable within one language's scorer).
    pub score: f32,
}

/// How much summary the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sentences at most.
    pub sentences: usize,
    /// Characters at most in the sentences joined by one space; 0 = no
    /// limit. A sentence is never cut: one that does not fit is skipped, so a
    /// budget shorter than every sentence gives an empty summary.
    pub chars: usize,
}

impl Budget {
    /// Up to `n` sentences, no character limit.
    pub fn sentences(n: usize) -> Budget {
        Budget {
            sentences: n,
            chars: 0,
        }
    }
}

/// Sentences with fewer content words than this carry nothing on their
/// own ("En vain.", "Year"); the `short` feature flags them.
const MIN_WORDS: usize = 4;

/// Centrality is computed over at most this many leading sentences, which
/// bounds the quadratic similarity matrix for huge inputs (a 1 MB text).
const MAX_SENTENCES: usize = 300;

/// PageRank damping and iteration cap (converges in ~20 on news).
const DAMPING: f32 = 0.85;
const ITERATIONS: usize = 50;

/// How many features describe a sentence.
pub const N_FEATURES: usize = 21;

/// The features of a sentence, in the order of [`Features::x`] and as named
/// in the weights file.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "position",
    "first",
    "second",
    "relative",
    "log_chars",
    "log_words",
    "short",
    "centrality",
    "centroid",
    "headline",
    "lead",
    "opens_quote",
    "has_quote",
    "digits",
    "paragraph_start",
    "question",
    "mean_idf",
    "capitals",
    "headline_recall",
    "first_log_chars",
    "summary_words",
];

/// What the scorer knows about one body sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Byte range in the original text.
    pub range: Range<usize>,
    /// Feature values, named by [`FEATURE_NAMES`]: `position` is
    /// `1 / (1 + index)`, `first`/`second` flag the first two body
    /// sentences, `relative` is `index / sentences`, `log_chars` and
    /// `log_words` are `ln(1 + characters)` and `ln(1 + content words)`,
    /// `short` flags fewer than 4 content words, `centrality` is TextRank
    /// (most central = 1), `centroid`, `headline` and `lead` are cosines with
    /// the document centroid, the headline and the first body sentence (0 for
    /// that sentence), the next four flag an opening quotation mark, any
    /// quotation mark, a digit and the start of a paragraph, `question` a
    /// closing `?`, `mean_idf` is the mean idf of the content words,
    /// `capitals` the share of capitalised words after the first,
    /// `headline_recall` the share of the headline's content words the
    /// sentence contains and `first_log_chars` is `log_chars` for the first
    /// sentence (a short opening is a hook), else 0; `summary_words` is the
    /// mean over its content words of how much likelier than average each
    /// is to be kept in a reference summary (the scorer's learned term
    /// log-odds, [`Scorer::terms`]).
    pub x: [f32; N_FEATURES],
    /// Characters.
    pub chars: usize,
    /// The sentence is one quotation and nothing else ([`is_bare_quote`]):
    /// who said it is in the sentence before.
    pub bare_quote: bool,
}

/// Picks body sentences of `text` within `budget`, in document order.
///
/// `title` is the caller's headline (else the one found at the top of the
/// text is used); it is a feature, never a candidate sentence.
pub fn summarize(
    text: &str,
    cleaned: &Cleaned,
    lang: Lang,
    weights: &dyn TermWeights,
    title: Option<&str>,
    budget: Budget,
) -> Vec<Chosen> {
    summarize_with(
        text,
        cleaned,
        lang,
        weights,
        title,
        budget,
        Scorer::for_lang(lang),
    )
}

/// [`summarize`] with an explicit scorer (used to fit it).
pub fn summarize_with(
    text: &str,
    cleaned: &Cleaned,
    lang: Lang,
    weights: &dyn TermWeights,
    title: Option<&str>,
    budget: Budget,
    scorer: &Scorer,
) -> Vec<Chosen> {
    if budget.sentences == 0 {
        return Vec::new();
    }
    let analysis = analyse(text, cleaned, lang, weights, title, scorer);
    let scores: Vec<f32> = analysis
        .features
        .iter()
        .map(|f| scorer.score(&f.x))
        .collect();
    let picked = select(
        &scores,
        |i| analysis.features[i].bare_quote,
        |i| analysis.features[i].chars,
        |i, j| graph::cosine(&analysis.vectors[i], &analysis.vectors[j]),
        |i, j| text[analysis.features[i].range.clone()] == text[analysis.features[j].range.clone()],
        scorer,
        budget,
    );
    picked
        .into_iter()
        .map(|i| {
            let f = &analysis.features[i];
            Chosen {
                start: f.range.start,
                end: f.range.end,
                index: i,
                score: sigmoid(scores[i]),
            }
        })
        .collect()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Indices of the best-scoring sentences within `budget`, in document order:
/// a sentence more similar than the scorer's `redundancy` to one already
/// chosen, or equal to it, is skipped, and so is one whose characters (plus
/// one space) do not fit the character budget, and one that `follows` marks
/// (a bare quotation) unless the sentence before it is already chosen; after
/// the first, sentences scoring under the scorer's `floor` are not added.
fn select(
    scores: &[f32],
    follows: impl Fn(usize) -> bool,
    chars: impl Fn(usize) -> usize,
    similarity: impl Fn(usize, usize) -> f32,
    same_text: impl Fn(usize, usize) -> bool,
    scorer: &Scorer,
    budget: Budget,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::with_capacity(budget.sentences);
    let mut chars_used = 0;
    for i in order {
        if chosen.len() == budget.sentences || (!chosen.is_empty() && scores[i] < scorer.floor) {
            break;
        }
        if chosen
            .iter()
            .any(|&c| same_text(c, i) || similarity(c, i) > scorer.redundancy)
        {
            continue;
        }
        if follows(i) && (i == 0 || !chosen.contains(&(i - 1))) {
            continue;
        }
        // The joined summary puts one space between sentences.
        let cost = chars(i) + usize::from(!chosen.is_empty());
        if budget.chars > 0 && chars_used + cost > budget.chars {
            continue;
        }
        chars_used += cost;
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen
}

/// Every body sentence of a document, described for the scorer.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Features of each body sentence, in document order.
    pub features: Vec<Features>,
    /// Their unit tf-idf vectors (for redundancy).
    pub vectors: Vec<Sparse>,
}

impl Analysis {
    /// Cosine similarity of body sentences `i` and `j`.
    pub fn similarity(&self, i: usize, j: usize) -> f32 {
        graph::cosine(&self.vectors[i], &self.vectors[j])
    }
}

/// Features of every body sentence (document order) and their vectors;
/// `title` overrides the headline found in the text; `scorer` gives the
/// learned term log-odds (its weights are not used here).
pub fn analyse(
    text: &str,
    cleaned: &Cleaned,
    lang: Lang,
    weights: &dyn TermWeights,
    title: Option<&str>,
    scorer: &Scorer,
) -> Analysis {
    let (ranges, paragraph_starts) = body_sentences(text, cleaned, lang);
    let n = ranges.len();
    if n == 0 {
        return Analysis::default();
    }
    // Term ids are given in first-seen order: the body sentences, then the
    // headline.
    let mut vocab = Vocabulary::for_text(text.len());
    let mut bags: Vec<Bag> = ranges.iter().map(|r| vocab.bag(&text[r.clone()])).collect();
    let mut headline_bag = headline(text, cleaned, title).map(|h| vocab.bag(h));
    let idf = vocab.idf(weights, n);
    let prior = vocab.log_odds(scorer);
    let (mean_idf, summary_words) = weigh_sentences(&mut bags, &idf, &prior);
    if let Some(h) = headline_bag.as_mut() {
        weigh_headline(&mut h.terms, &idf);
    }
    let centroid = centroid(&bags, idf.len());
    let vectors: Vec<Sparse> = bags
        .iter_mut()
        .map(|b| std::mem::take(&mut b.terms))
        .collect();
    let sim = graph::similarities(&vectors);
    let rank = graph::textrank(&sim, n, DAMPING, ITERATIONS);
    let document = Document {
        text,
        bags,
        vectors: &vectors,
        centroid,
        headline: headline_bag.map(|h| h.terms),
        sim,
        rank,
        paragraph_start: paragraph_flags(&paragraph_starts, n),
        mean_idf,
        summary_words,
    };
    let features = ranges
        .into_iter()
        .enumerate()
        .map(|(i, range)| document.features(i, range))
        .collect();
    Analysis { features, vectors }
}

/// Byte ranges of the body sentences, at most [`MAX_SENTENCES`], and the
/// index of the first sentence of each body paragraph.
///
/// Only sentences that end as a sentence does ([`ends_as_sentence`]) are
/// candidates: on a scraped page, what the cleaner leaves without a final
/// stop is the site's name, a headline under the menu, a section label or a
/// menu item, never the story's lead. A text where such sentences are not
/// the most pieces (notes, a headline alone, hard-wrapped copy whose lines
/// end mid-sentence) keeps every piece.
fn body_sentences(text: &str, cleaned: &Cleaned, lang: Lang) -> (Vec<Range<usize>>, Vec<usize>) {
    // Every piece, each with its paragraph's number and whether it ends as
    // a sentence; enough are read to fill [`MAX_SENTENCES`] candidates.
    let mut pieces: Vec<(Range<usize>, usize, bool)> = Vec::new();
    let mut wholes = 0;
    for (p, span) in cleaned.body().enumerate() {
        if wholes >= MAX_SENTENCES || pieces.len() >= 4 * MAX_SENTENCES {
            break;
        }
        for s in sentences::split(text, span, lang) {
            let whole = ends_as_sentence(&text[s.clone()]);
            wholes += usize::from(whole);
            pieces.push((s, p, whole));
        }
    }
    // Hard-wrapped copy (Reuters) ends most of its lines mid-sentence: when
    // whole sentences are not the most pieces, every piece is a candidate.
    let any_whole = wholes > 0 && 2 * wholes >= pieces.len();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut paragraph_starts: Vec<usize> = Vec::new();
    let mut last_paragraph = None;
    for (s, p, whole) in pieces {
        if any_whole && !whole {
            continue;
        }
        if ranges.len() == MAX_SENTENCES {
            break;
        }
        if last_paragraph != Some(p) {
            last_paragraph = Some(p);
            paragraph_starts.push(ranges.len());
        }
        ranges.push(s);
    }
    (ranges, paragraph_starts)
}

/// Whether `sentence` ends with a full stop, question or exclamation mark
/// or an ellipsis, before any closing quotation marks and brackets.
fn ends_as_sentence(sentence: &str) -> bool {
    sentence
        .trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '»' | '”' | '’' | '›' | ')' | ']')
        })
        .ends_with(['.', '!', '?', '…'])
}

/// The caller's `title` when it has any text, else the headline found at
/// the top of `text`.
fn headline<'a>(text: &'a str, cleaned: &Cleaned, title: Option<&'a str>) -> Option<&'a str> {
    title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or_else(|| cleaned.headline().map(|r| &text[r]))
}

/// Turns each bag's term frequencies into its unit tf-idf vector; returns,
/// per sentence, the mean `idf` and the mean `prior` (term log-odds) of its
/// content words (0 when it has none).
fn weigh_sentences(bags: &mut [Bag], idf: &[f32], prior: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = bags.len();
    let mut mean_idf = vec![0.0; n];
    let mut summary_words = vec![0.0; n];
    for (i, bag) in bags.iter_mut().enumerate() {
        let (mut sum, mut count, mut kept) = (0.0, 0.0, 0.0);
        for (id, w) in bag.terms.iter_mut() {
            sum += *w * idf[*id as usize];
            kept += *w * prior[*id as usize];
            count += *w;
            *w *= idf[*id as usize];
        }
        if count > 0.0 {
            mean_idf[i] = sum / count;
            summary_words[i] = kept / count;
        }
        graph::normalise(&mut bag.terms);
    }
    (mean_idf, summary_words)
}

/// Turns the headline's term frequencies into its unit tf-idf vector.
fn weigh_headline(terms: &mut Sparse, idf: &[f32]) {
    for (id, w) in terms.iter_mut() {
        *w *= idf[*id as usize];
    }
    graph::normalise(terms);
}

/// Unit sum of the sentence vectors, dense over a vocabulary of `terms`
/// ids: every sentence is compared with it, and a lookup per term of the
/// sentence costs less than walking the whole centroid each time.
fn centroid(bags: &[Bag], terms: usize) -> Vec<f32> {
    let mut dense = vec![0.0f32; terms];
    for bag in bags {
        for &(id, w) in &bag.terms {
            dense[id as usize] += w;
        }
    }
    let norm = dense.iter().map(|&w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        dense.iter_mut().for_each(|w| *w /= norm);
    }
    dense
}

/// Per sentence, whether it opens a paragraph (`starts` may hold indices
/// past the `n` kept sentences).
fn paragraph_flags(starts: &[usize], n: usize) -> Vec<bool> {
    let mut flags = vec![false; n];
    for &p in starts {
        if p < n {
            flags[p] = true;
        }
    }
    flags
}

/// What the features of one body sentence are measured against: the whole
/// document's sentences, vectors and graph.
struct Document<'a> {
    text: &'a str,
    /// Word counts of each sentence (their terms are in `vectors`).
    bags: Vec<Bag>,
    /// Unit tf-idf vector of each sentence.
    vectors: &'a [Sparse],
    /// Unit centroid of the sentence vectors, dense by term id.
    centroid: Vec<f32>,
    /// The headline's unit tf-idf vector, if there is a headline.
    headline: Option<Sparse>,
    /// Sentence-by-sentence cosines (row-major); row 0 holds each
    /// sentence's similarity to the first.
    sim: Vec<f32>,
    /// TextRank, most central = 1.
    rank: Vec<f32>,
    paragraph_start: Vec<bool>,
    mean_idf: Vec<f32>,
    summary_words: Vec<f32>,
}

impl Document<'_> {
    /// The features of body sentence `i`, at `range`, in the order of
    /// [`FEATURE_NAMES`].
    fn features(&self, i: usize, range: Range<usize>) -> Features {
        let n = self.bags.len();
        let sentence = &self.text[range.clone()];
        let bag = &self.bags[i];
        let vector = &self.vectors[i];
        let chars = sentence.chars().count();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let x = [
            1.0 / (1.0 + i as f32),
            flag(i == 0),
            flag(i == 1),
            i as f32 / n as f32,
            (chars as f32).ln_1p(),
            (bag.words as f32).ln_1p(),
            flag(bag.words < MIN_WORDS),
            self.rank[i],
            graph::dot_dense(vector, &self.centroid),
            self.headline
                .as_ref()
                .map_or(0.0, |h| graph::cosine(vector, h)),
            if i == 0 { 0.0 } else { self.sim[i] },
            flag(sentence.starts_with(['"', '«', '“'])),
            flag(sentence.contains(['"', '«', '“', '»', '”'])),
            flag(sentence.bytes().any(|b| b.is_ascii_digit())),
            flag(self.paragraph_start[i]),
            flag(
                sentence
                    .trim_end_matches(['"', '»', '”', ' '])
                    .ends_with('?'),
            ),
            self.mean_idf[i],
            if bag.tokens > 1 {
                bag.capitals as f32 / (bag.tokens - 1) as f32
            } else {
                0.0
            },
            self.headline
                .as_ref()
                .map_or(0.0, |h| shared_share(h, vector)),
            if i == 0 { (chars as f32).ln_1p() } else { 0.0 },
            self.summary_words[i],
        ];
        Features {
            range,
            x,
            chars,
            bare_quote: is_bare_quote(sentence),
        }
    }
}

/// Whether `sentence` is a quotation and nothing else (`"Il faut empêcher
/// que...".`): it opens with a quotation mark, its only closing mark ends
/// it, before the full stop. A summary gives such a sentence only with the
/// sentence before it, which names the speaker.
pub fn is_bare_quote(sentence: &str) -> bool {
    let s = sentence.trim();
    let Some(inner) = s.strip_prefix(['"', '«', '“']) else {
        return false;
    };
    let Some(inner) = inner
        .trim_end_matches(['.', '!', '?', '…', ' '])
        .strip_suffix(['"', '»', '”'])
    else {
        return false;
    };
    !inner.contains(['"', '«', '“', '»', '”'])
}

/// The content words of `s` as the sentence vectors see them (normalised,
/// stop words left out), in text order.
pub fn content_words(s: &str) -> Vec<String> {
    let mut buf = String::new();
    words::tokens(s)
        .filter_map(|t| {
            words::normalize_into(t.text, &mut buf);
            (!stopwords::is_stopword(&buf)).then(|| buf.clone())
        })
        .collect()
}

/// Share of the terms of `of` (sorted by id) that `within` also has.
fn shared_share(of: &[(u32, f32)], within: &[(u32, f32)]) -> f32 {
    if of.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < of.len() && j < within.len() {
        match of[i].0.cmp(&within[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f32 / of.len() as f32
}

/// One sentence's terms and word counts.
struct Bag {
    /// Term frequencies, sorted by term id.
    terms: Sparse,
    /// Content words (stop words left out).
    words: usize,
    /// All words.
    tokens: usize,
    /// Words after the first that start with a capital.
    capitals: usize,
}

/// The id a stop word maps to in [`Vocabulary::table`].
const STOP: u32 = u32::MAX;

/// One distinct normalised word of a document.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Start of its bytes in [`Vocabulary::text`].
    start: u32,
    /// End of its bytes in [`Vocabulary::text`].
    end: u32,
    /// Term id, or [`STOP`] for a stop word (so each distinct word is
    /// checked against the list once).
    id: u32,
}

/// FxHash of a word: a multiply-rotate hash, much cheaper than SipHash for
/// the short words of one document; no untrusted keys are at stake since a
/// document's vocabulary is bounded by its length.
fn word_hash(word: &str) -> u64 {
    FxBuildHasher.hash_one(word)
}

/// Term ids of one document and in how many sentences each occurs. The
/// distinct words live back to back in one string and the table holds
/// their spans, so a new word costs no allocation of its own.
#[derive(Default)]
struct Vocabulary {
    text: String,
    table: HashTable<Seen>,
    /// Span in `text` of each term id.
    terms: Vec<(u32, u32)>,
    sentence_freq: Vec<u32>,
    buf: String,
}

impl Vocabulary {
    /// An empty vocabulary with room for the distinct words of a text of
    /// `bytes` bytes (about one in eight bytes starts a new one), so that
    /// the table seldom grows.
    fn for_text(bytes: usize) -> Vocabulary {
        Vocabulary {
            text: String::with_capacity(bytes / 2),
            table: HashTable::with_capacity(bytes / 8),
            ..Vocabulary::default()
        }
    }

    /// Term frequencies and word counts of a sentence.
    fn bag(&mut self, sentence: &str) -> Bag {
        let mut terms: Sparse = Vec::new();
        let (mut tokens, mut capitals) = (0, 0);
        for token in words::tokens(sentence) {
            if tokens > 0 && token.text.starts_with(char::is_uppercase) {
                capitals += 1;
            }
            tokens += 1;
            words::normalize_into(token.text, &mut self.buf);
            let id = self.id_of_buf();
            if id != STOP {
                terms.push((id, 1.0));
            }
        }
        let words = terms.len();
        terms.sort_unstable_by_key(|&(id, _)| id);
        terms.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += 1.0;
            }
            same
        });
        for &(id, _) in &terms {
            self.sentence_freq[id as usize] += 1;
        }
        Bag {
            terms,
            words,
            tokens,
            capitals,
        }
    }

    /// The id of the word in `buf`: a new term id, or [`STOP`], the first
    /// time it is seen.
    fn id_of_buf(&mut self) -> u32 {
        let Vocabulary {
            text,
            table,
            terms,
            sentence_freq,
            buf,
        } = self;
        let word = buf.as_str();
        let hash = word_hash(word);
        if let Some(seen) = table.find(hash, |s| &text[s.start as usize..s.end as usize] == word) {
            return seen.id;
        }
        let start = text.len() as u32;
        text.push_str(word);
        let end = text.len() as u32;
        let id = if stopwords::is_stopword(word) {
            STOP
        } else {
            terms.push((start, end));
            sentence_freq.push(0);
            (terms.len() - 1) as u32
        };
        table.insert_unique(hash, Seen { start, end, id }, |s| {
            word_hash(&text[s.start as usize..s.end as usize])
        });
        id
    }

    /// The text of each term, in id order.
    fn term_texts(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .map(|&(a, b)| &self.text[a as usize..b as usize])
    }

    /// The scorer's learned log-odds per term id (0 for a word it has none
    /// for).
    fn log_odds(&self, scorer: &Scorer) -> Vec<f32> {
        self.term_texts()
            .map(|t| scorer.terms.get(t).copied().unwrap_or(0.0))
            .collect()
    }

    /// Idf per term id: the model's when it knows any term of the document
    /// (unknown terms then get the rarest known weight), else in-document
    /// `ln(1 + n / sentence frequency)`.
    fn idf(&self, weights: &dyn TermWeights, sentences: usize) -> Vec<f32> {
        let model: Vec<Option<f32>> = self.term_texts().map(|t| weights.idf(t)).collect();
        let known_max = model.iter().flatten().copied().fold(f32::NAN, f32::max);
        if known_max.is_nan() {
            let n = sentences.max(1) as f32;
            return self
                .sentence_freq
                .iter()
                .map(|&sf| (1.0 + n / sf.max(1) as f32).ln())
                .collect();
        }
        model
            .into_iter()
            .map(|w| w.unwrap_or(known_max).max(0.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::clean;

    const ALEPPO: &str = "Liens d'accessibilité\n\nPoutine et Rohani saluent la \"victoire\" à Alep\n\n\nLe président russe lors d'une conférence à Moscou en Russie, le 23 décembre 2016.\n\nLes présidents iranien et russe, Hassan Rohani et Vladimir Poutine, ont salué la \"victoire de l'armée syrienne contre les terroristes à Alep\" lors d'un entretien téléphonique samedi soir, a rapporté dimanche le site de la présidence iranienne.\n\n\"La victoire de l'armée syrienne a pour message que les terroristes ne peuvent atteindre leurs objectifs\", a déclaré le président iranien. \"Il faut empêcher que les terroristes utilisent le cessez-le-feu pour reprendre des forces et créer de nouvelles bases dans d'autres régions en Syrie\".\n\nSelon le communiqué officiel, le président Poutine a également \"salué la victoire de l'armée syrienne\" en ajoutant que \"la coopération entre Téhéran et Moscou (...) allait se poursuivre\".\n\nL'Iran et la Russie, tout comme le gouvernement syrien, qualifient de \"terroristes\" tous les groupes rebelles qui se battent en Syrie.\n\nTéhéran et Moscou soutiennent politiquement, financièrement et militairement le régime du président syrien Bachar al-Assad.\n\nMM. Poutine et Rohani ont également réaffirmé que des \"négociations\" de paix inter-syriennes devaient commencer au Kazakhstan, sans donner plus de détails.\n\nAvec AFP\n\nXS\nSM\nMD\nLG";

    fn summary(text: &str, lang: Lang, n: usize) -> Vec<&str> {
        summarize(
            text,
            &clean(text),
            lang,
            &NoWeights,
            None,
            Budget::sentences(n),
        )
        .into_iter()
        .map(|c| &text[c.start..c.end])
        .collect()
    }

    #[test]
    fn aleppo_summary_is_its_lead_without_page_furniture() {
        let picked = summary(ALEPPO, Lang::Fr, 2);
        assert_eq!(picked.len(), 2);
        assert!(picked[0].starts_with("Les présidents iranien et russe, Hassan Rohani"));
        for s in &picked {
            for junk in [
                "Liens d'accessibilité",
                "saluent la",
                "Le président russe lors",
                "Avec AFP",
                "XS",
            ] {
                assert!(!s.contains(junk), "{junk:?} in summary");
            }
        }
    }

    /// Scraped pages as a scraper gives a news site's body text: menus,
    /// the site's name, bylines, a credited photo caption, paywall notices,
    /// footers.
    const SCRAPED_AP: &str = include_str!("../../tests/data/scraped-ap-en.txt");
    const SCRAPED_LE_MONDE: &str = include_str!("../../tests/data/scraped-lemonde-fr.txt");

    #[test]
    fn a_scraped_pages_summary_opens_with_its_lead_and_holds_no_page_furniture() {
        for (page, lang, lead, furniture) in [
            (
                SCRAPED_AP,
                Lang::En,
                "Kenya's Deputy President William Ruto was declared the winner",
                &[
                    "AP Logo",
                    "Supporters of Deputy President",
                    "By TOM ODULA",
                    "ADVERTISEMENT",
                    "Copyright",
                ][..],
            ),
            (
                SCRAPED_LE_MONDE,
                Lang::Fr,
                "Les syndicats des Transports en commun lyonnais réclament",
                &[
                    "Le Monde ",
                    "Lecture du Monde",
                    "Grève dans les transports",
                    "JEFF PACHOUD",
                    "Newsletter",
                    "abonnés",
                ][..],
            ),
        ] {
            let picked = summary(page, lang, 3);
            assert_eq!(picked.len(), 3);
            assert!(picked[0].starts_with(lead), "{:?}", picked[0]);
            for s in &picked {
                for junk in furniture {
                    assert!(!s.contains(junk), "{junk:?} in {s:?}");
                }
            }
        }
    }

    #[test]
    fn a_text_with_no_full_sentence_is_still_summarized() {
        // The first line is the headline; the other ends without a stop.
        let notes = "Storm warning for Brittany\n\nWinds up to 130 km/h expected";
        assert_eq!(
            summary(notes, Lang::En, 1),
            ["Winds up to 130 km/h expected"]
        );
    }

    #[test]
    fn a_quotation_alone_comes_with_the_sentence_that_names_its_speaker() {
        assert!(is_bare_quote(
            "\"Il faut empêcher que les terroristes reprennent des forces\"."
        ));
        assert!(is_bare_quote("« Nous ne céderons pas. »"));
        assert!(is_bare_quote("“We will not give up.”"));
        // Attributed in the sentence itself, or quoting a few words only.
        assert!(!is_bare_quote(
            "\"La victoire a un message\", a déclaré le président iranien."
        ));
        assert!(!is_bare_quote(
            "Il a salué la \"victoire de l'armée syrienne\"."
        ));
        assert!(!is_bare_quote("\"Non\", dit-il, \"jamais\"."));
        // The example's second quotation names its speaker in the sentence
        // before: every summary that holds it holds that sentence too, and
        // three sentences take the speaker's.
        let quote = "\"Il faut empêcher";
        let speaker = "\"La victoire de l'armée syrienne a pour message";
        for n in 1..=6 {
            let picked = summary(ALEPPO, Lang::Fr, n);
            if picked.iter().any(|s| s.starts_with(quote)) {
                assert!(
                    picked.iter().any(|s| s.starts_with(speaker)),
                    "{n}: {picked:?}"
                );
            }
        }
        assert!(
            summary(ALEPPO, Lang::Fr, 3)
                .iter()
                .any(|s| s.starts_with(speaker))
        );
    }

    #[test]
    fn chosen_sentences_are_ordered_unique_and_slice_back() {
        let cleaned = clean(ALEPPO);
        let chosen = summarize(
            ALEPPO,
            &cleaned,
            Lang::Fr,
            &NoWeights,
            None,
            Budget::sentences(4),
        );
        assert_eq!(chosen.len(), 4);
        let all: Vec<Range<usize>> = cleaned
            .body()
            .flat_map(|b| sentences::split(ALEPPO, b, Lang::Fr))
            .collect();
        for pair in chosen.windows(2) {
            assert!(pair[0].index < pair[1].index && pair[0].end <= pair[1].start);
        }
        for c in &chosen {
            assert_eq!(all[c.index], c.start..c.end);
            let s = &ALEPPO[c.start..c.end];
            assert_eq!(s, s.trim());
        }
    }

    #[test]
    fn central_sentence_wins_in_english() {
        let text = "The weather was mild on Tuesday.\n\nTimeWarner profits jumped as TimeWarner internet sales rose.\n\nAnalysts said TimeWarner internet profits beat forecasts.\n\nTimeWarner sales of internet connections and profits rose again.\n\nA spokesman declined to comment.";
        let picked = summary(text, Lang::En, 1);
        assert_eq!(picked.len(), 1);
        assert!(picked[0].contains("TimeWarner"), "{picked:?}");
    }

    #[test]
    fn duplicates_are_never_chosen_twice() {
        let text = "Le gouvernement a annoncé un plan de relance.\nLe gouvernement a annoncé un plan de relance.\nLes syndicats ont réagi vivement au plan.";
        let picked = summary(text, Lang::Fr, 3);
        assert_eq!(picked.len(), 2);
        assert_ne!(picked[0], picked[1]);
    }

    #[test]
    fn model_idf_is_used_and_unknown_terms_count_as_rare() {
        struct Idf;
        impl TermWeights for Idf {
            fn idf(&self, term: &str) -> Option<f32> {
                match term {
                    "alep" => Some(5.0),
                    "troupes" => Some(0.5),
                    _ => None,
                }
            }
        }
        let mut vocab = Vocabulary::default();
        vocab.bag("Les troupes avancent vers Alep");
        let idf = vocab.idf(&Idf, 1);
        // troupes, avancent and vers (unknown: rarest known), alep
        assert_eq!(idf, [0.5, 5.0, 5.0, 5.0]);
        let fallback = vocab.idf(&NoWeights, 1);
        assert!(fallback.iter().all(|&w| (w - 2f32.ln()).abs() < 1e-6));
    }

    #[test]
    fn a_character_budget_keeps_whole_sentences_and_is_honoured() {
        let cleaned = clean(ALEPPO);
        let all: Vec<&str> = cleaned
            .body()
            .flat_map(|b| sentences::split(ALEPPO, b, Lang::Fr))
            .map(|r| &ALEPPO[r])
            .collect();
        for chars in [150, 200, 300, 600] {
            let budget = Budget {
                sentences: 10,
                chars,
            };
            let picked = summarize(ALEPPO, &cleaned, Lang::Fr, &NoWeights, None, budget);
            assert!(!picked.is_empty(), "{chars}");
            let texts: Vec<&str> = picked.iter().map(|c| &ALEPPO[c.start..c.end]).collect();
            assert!(
                texts.join(" ").chars().count() <= chars,
                "{chars}: {texts:?}"
            );
            for t in &texts {
                assert!(all.contains(t), "not a whole sentence: {t:?}");
            }
        }
        let tiny = Budget {
            sentences: 3,
            chars: 10,
        };
        assert!(summarize(ALEPPO, &cleaned, Lang::Fr, &NoWeights, None, tiny).is_empty());
    }

    #[test]
    fn the_title_steers_the_choice_but_is_never_chosen() {
        let text = "Le conseil municipal s'est réuni mardi soir en mairie.\n\nLe maire a présenté le budget annuel de la commune aux élus.\n\nLes élus de l'opposition ont voté contre ce budget municipal.\n\nLes pompiers ont maîtrisé un violent incendie dans une usine chimique de Rouen.";
        let title = "Incendie dans une usine chimique de Rouen";
        let scores = |title: Option<&str>| -> Vec<f32> {
            let scorer = Scorer::for_lang(Lang::Fr);
            analyse(text, &clean(text), Lang::Fr, &NoWeights, title, scorer)
                .features
                .iter()
                .map(|f| scorer.score(&f.x))
                .collect()
        };
        let (without, with) = (scores(None), scores(Some(title)));
        let gain: Vec<f32> = with.iter().zip(&without).map(|(a, b)| a - b).collect();
        assert_eq!(gain.len(), 4);
        // The sentence the title paraphrases gains most (position still
        // outweighs it here: OrangeSum abstracts follow the lead).
        assert!(
            gain[3] > 0.0 && gain[..3].iter().all(|&g| g < gain[3]),
            "{gain:?}"
        );
        let with_headline = format!("{title}\n\n{text}");
        for c in summarize(
            &with_headline,
            &clean(&with_headline),
            Lang::Fr,
            &NoWeights,
            None,
            Budget::sentences(4),
        ) {
            assert_ne!(&with_headline[c.start..c.end], title, "headline chosen");
        }
    }

    #[test]
    fn quotes_are_kept_whole_and_wire_furniture_is_left_out() {
        let text = "PARIS (Reuters) - Le ministre a défendu sa réforme des retraites devant les députés mardi.\n\n« Nous ne reculerons pas. Cette réforme est juste », a déclaré le ministre des retraites.\n\nLire aussi : Les syndicats appellent à la grève\n\nLes syndicats ont appelé à une nouvelle journée de grève contre la réforme des retraites.\n\nAvec AFP";
        let picked = summary(text, Lang::Fr, 3);
        assert!(!picked.is_empty());
        for s in &picked {
            for junk in ["PARIS", "Reuters", "Lire aussi", "Avec AFP"] {
                assert!(!s.contains(junk), "{junk:?} in {s:?}");
            }
            if s.contains("Nous ne reculerons pas") {
                assert!(s.ends_with("a déclaré le ministre des retraites."), "{s:?}");
            }
            assert_ne!(
                *s,
                "Cette réforme est juste », a déclaré le ministre des retraites."
            );
        }
    }

    #[test]
    fn empty_and_odd_inputs_give_no_panic() {
        let huge = "mot ".repeat(300_000);
        for text in ["", "   ", "XS\nSM", "😀", "\u{202e}مرحبا. عالم.", &huge] {
            let chosen = summarize(
                text,
                &clean(text),
                Lang::Und,
                &NoWeights,
                None,
                Budget::sentences(3),
            );
            assert!(chosen.len() <= 3);
            for c in chosen {
                assert!(text.get(c.start..c.end).is_some());
            }
        }
        assert!(summary(ALEPPO, Lang::Fr, 0).is_empty());
    }
}
