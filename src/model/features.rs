//! TF-IDF over word unigrams and bigrams with the training idf stored, plus
//! gazetteer place features; a document's row comes out sparse, never dense.
//!
//! Terms are looked up by the 64-bit FNV-1a hash the vocabulary was
//! counted with (`crate::train::vocab`), so no string is allocated per token.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::meta::{FNV_OFFSET, fnv1a};
use crate::geo::{Gazetteer, PlaceCount};
use crate::prepare::ModelInput;
use crate::text::function_words::{function_words, is_function_word};
use crate::text::{Lang, words};

/// Feature hyperparameters (from the recipe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureParams {
    /// Longest n-gram (1 or 2).
    pub ngram_max: usize,
    /// Terms in fewer training documents are dropped.
    pub min_df: u32,
    /// Terms in more than this share of documents are dropped.
    pub max_df: f64,
    /// Most frequent terms kept.
    pub max_features: usize,
    /// Title tokens count this many times in tf.
    pub title_weight: f32,
    /// Scale of place features (mention shares, summed per region).
    pub place_weight: f32,
    /// Use country-level place features ("country:SY") besides regions.
    pub place_countries: bool,
    /// Leave out function words of the dispatch's language
    /// ([`crate::text::function_words`]): they say which desk wrote a
    /// story, not what it is about.
    #[serde(default)]
    pub stop_words: bool,
    /// Also count every word of at least this many letters by its first
    /// `cognates` letters folded to ASCII (at 6, "touris…" for both
    /// "tourisme" and "tourism", "religi…" for "religieux" and "religious"): a French word
    /// and its English cognate share that feature, so what one language's
    /// labelled stories teach reaches the other's. 0: no such features.
    #[serde(default)]
    pub cognates: usize,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            ngram_max: 2,
            min_df: 2,
            max_df: 0.5,
            max_features: 100_000,
            title_weight: 2.0,
            place_weight: 1.0,
            place_countries: true,
            stop_words: false,
            cognates: 0,
        }
    }
}

impl FeatureParams {
    /// Checks the hyperparameters (ParamGuard-style, at fit).
    pub fn check(&self) -> Result<(), String> {
        if !(1..=2).contains(&self.ngram_max) {
            return Err(format!("ngram_max is {}; use 1 or 2", self.ngram_max));
        }
        if self.min_df == 0 {
            return Err("min_df is 0; use 1 or more".into());
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(format!("max_df is {}; use a share in (0, 1]", self.max_df));
        }
        if self.max_features == 0 {
            return Err("max_features is 0".into());
        }
        if !(self.title_weight.is_finite() && self.title_weight >= 0.0) {
            return Err(format!("title_weight is {}", self.title_weight));
        }
        if !(self.place_weight.is_finite() && self.place_weight >= 0.0) {
            return Err(format!("place_weight is {}", self.place_weight));
        }
        Ok(())
    }
}

/// What ends a cognate key: tokens never hold it, so no word collides
/// with a key.
const COGNATE_MARK: char = '…';

/// The cognate key of a lowercased word into `key` ([`FeatureParams::cognates`]):
/// its first `n` letters with French diacritics dropped, then
/// [`COGNATE_MARK`]; false (and `key` unspecified) when the word is shorter
/// or holds anything but letters of `a`-`z` and French accented letters.
fn cognate_key(word: &str, n: usize, key: &mut String) -> bool {
    key.clear();
    // Every letter takes a byte or more: a shorter word has too few.
    if word.len() < n {
        return false;
    }
    // Most words are plain ASCII: their key is their first `n` bytes.
    if word.bytes().all(|b| b.is_ascii_lowercase()) {
        key.push_str(&word[..n]);
        key.push(COGNATE_MARK);
        return true;
    }
    let mut letters = 0;
    for c in word.chars() {
        let c = match c {
            'a'..='z' => c,
            'à' | 'â' | 'ä' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' | 'œ' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ÿ' => 'y',
            _ => return false,
        };
        if letters < n {
            key.push(c);
        }
        letters += 1;
    }
    key.push(COGNATE_MARK);
    letters >= n
}

/// The [`hash1`] of the cognate key of `word` when the word is plain ASCII
/// lower-case letters, at least `n` of them (the key is then its first `n`
/// bytes and [`COGNATE_MARK`]), computed without writing the key; `None`
/// for any other word, whose key [`cognate_key`] decides.
fn ascii_cognate_hash(word: &str, n: usize) -> Option<u64> {
    (word.len() >= n && word.bytes().all(|b| b.is_ascii_lowercase())).then(|| {
        let mut mark = [0; 4];
        let mark = COGNATE_MARK.encode_utf8(&mut mark);
        fnv1a(fnv1a(FNV_OFFSET, &word.as_bytes()[..n]), mark.as_bytes())
    })
}

/// Hash of a unigram.
fn hash1(a: &str) -> u64 {
    fnv1a(FNV_OFFSET, a.as_bytes())
}

/// Hash of the bigram "a b", without building the string: the hash of
/// "a" continued with " " and "b" (FNV-1a reads bytes in order).
fn hash2(a: &str, b: &str) -> u64 {
    fnv1a(fnv1a(fnv1a(FNV_OFFSET, a.as_bytes()), b" "), b.as_bytes())
}

/// The function words of French and English by the hash of their term
/// ([`hash1`]), which the features compute for every token anyway: a token
/// is then tested by one integer lookup, and its text compared only when
/// the hash is a function word's.
struct FunctionWordHashes {
    fr: FxHashMap<u64, &'static str>,
    en: FxHashMap<u64, &'static str>,
}

impl FunctionWordHashes {
    fn get() -> &'static FunctionWordHashes {
        static HASHES: OnceLock<FunctionWordHashes> = OnceLock::new();
        HASHES.get_or_init(|| {
            let by_hash = |lang| function_words(lang).map(|w| (hash1(w), w)).collect();
            FunctionWordHashes {
                fr: by_hash(Lang::Fr),
                en: by_hash(Lang::En),
            }
        })
    }

    /// [`is_function_word`] of `word`, whose [`hash1`] is `h`. Inlined:
    /// the features test every token of a dispatch with it.
    #[inline(always)]
    fn contains(&self, word: &str, h: u64, lang: Lang) -> bool {
        let hit = |map: &FxHashMap<u64, &str>| map.get(&h).is_some_and(|&w| w == word);
        match lang {
            Lang::Fr => hit(&self.fr),
            Lang::En => hit(&self.en),
            Lang::Und => hit(&self.en) || hit(&self.fr),
        }
    }
}

/// Where [`norm_tokens`] keeps a lowercased token: a range of the text
/// itself when the token is already its own normal form, else of the
/// buffer; with the token's [`hash1`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    hash: u64,
    in_text: bool,
}

impl Span {
    /// The lowercased token, from `text` or `buf` as the span says.
    fn get<'a>(&self, text: &'a str, buf: &'a str) -> &'a str {
        let from = if self.in_text { text } else { buf };
        &from[self.start..self.end]
    }
}

/// The lowercased tokens of a text, without the function words of `lang`
/// when `stop_words` is set, as [`Span`]s of the text or of `buf` (which
/// holds every token that lowercasing changes, so that a document costs
/// two allocations, not one per token) with their [`hash1`].
fn norm_tokens(text: &str, lang: Lang, stop_words: bool, buf: &mut String, spans: &mut Vec<Span>) {
    buf.clear();
    spans.clear();
    let function_words = FunctionWordHashes::get();
    let mut tokens = words::tokens(text);
    while let Some((t, shape)) = tokens.next_shaped() {
        let start = buf.len();
        // Lowercase ASCII letters and digits are their own normal form:
        // such a word stays in the text, not copied.
        let in_text = shape.plain() && shape.ascii() && shape.lower();
        let word = if in_text {
            t.text
        } else {
            words::normalize_shaped_push(t.text, shape, buf);
            &buf[start..]
        };
        let hash = hash1(word);
        if stop_words && function_words.contains(word, hash, lang) {
            buf.truncate(start);
            continue;
        }
        let (start, end) = if in_text {
            (t.start, t.end)
        } else {
            (start, buf.len())
        };
        spans.push(Span {
            start,
            end,
            hash,
            in_text,
        });
    }
}

/// Calls `f(hash, weight, a, b)` for every term occurrence of the title
/// (weighted) and the body; bigrams never cross from title to body.
pub(crate) fn for_each_term(
    input: &ModelInput<'_>,
    params: &FeatureParams,
    f: impl FnMut(u64, f32, &str, Option<&str>),
) {
    each_term::<true>(input, params, f);
}

/// [`for_each_term`], with every cognate key's text when `NAMES`; without
/// (for a caller that reads no term's text) a cognate key of a plain ASCII
/// word is hashed without being written, and `f` gets "" for it.
fn each_term<const NAMES: bool>(
    input: &ModelInput<'_>,
    params: &FeatureParams,
    mut f: impl FnMut(u64, f32, &str, Option<&str>),
) {
    let mut buf = String::with_capacity(input.title.len() + input.body.len());
    let mut spans = Vec::with_capacity(input.body.len() / 5);
    let mut key = String::new();
    for (text, weight) in [(input.title, params.title_weight), (input.body, 1.0)] {
        if weight <= 0.0 {
            continue;
        }
        norm_tokens(text, input.lang, params.stop_words, &mut buf, &mut spans);
        let tok = |i: usize| spans.get(i).map(|s| (s.get(text, &buf), s.hash));
        for i in 0..spans.len() {
            let Some((t, h)) = tok(i) else { continue };
            f(h, weight, t, None);
            if params.cognates > 0 {
                if !NAMES && let Some(hash) = ascii_cognate_hash(t, params.cognates) {
                    f(hash, weight, "", None);
                } else if cognate_key(t, params.cognates, &mut key) {
                    f(hash1(&key), weight, &key, None);
                }
            }
            if params.ngram_max >= 2
                && let Some((next, _)) = tok(i + 1)
            {
                // `hash2(t, next)`, continuing from `t`'s own hash.
                f(
                    fnv1a(fnv1a(h, b" "), next.as_bytes()),
                    weight,
                    t,
                    Some(next),
                );
            }
        }
    }
}

/// A place feature of one document, by the kind of its key and the code
/// after the key's prefix ("main:145", "place:145", "country:SY",
/// "noplace:fr").
#[derive(Debug, Clone, Copy)]
enum PlaceKey<'a> {
    /// The most mentioned country's sub-region or region: set, not summed.
    Main(&'a str),
    /// A sub-region or region, summed over the countries in it.
    Place(&'a str),
    /// A country, summed over its mentions' share.
    Country(&'a str),
    /// No place at all, for a document in this language: set.
    NoPlace(Lang),
}

/// Calls `f(key, value)` for every place feature of one document, in the
/// one order both [`place_values`] and the serving row sum them in.
fn each_place_value(
    places: &[PlaceCount],
    lang: Lang,
    gazetteer: &Gazetteer,
    countries: bool,
    mut f: impl FnMut(PlaceKey<'_>, f32),
) {
    let total: u32 = places.iter().map(|p| p.mentions).sum();
    if total == 0 {
        f(PlaceKey::NoPlace(lang), 1.0);
        return;
    }
    // The most mentioned country (places come most mentioned first) also
    // marks its sub-region and region as the dispatch's main place.
    if let Some(c) = places.first().and_then(|p| gazetteer.country(&p.iso2)) {
        for code in [&c.subregion, &c.region] {
            if !code.is_empty() {
                f(PlaceKey::Main(code), 1.0);
            }
        }
    }
    for p in places {
        let share = p.mentions as f32 / total as f32;
        if countries {
            f(PlaceKey::Country(&p.iso2), share);
        }
        if let Some(c) = gazetteer.country(&p.iso2) {
            if !c.subregion.is_empty() {
                f(PlaceKey::Place(&c.subregion), share);
            }
            if !c.region.is_empty() {
                f(PlaceKey::Place(&c.region), share);
            }
        }
    }
}

/// Place-feature keys and values of one document: mention shares summed per
/// sub-region and region (and per country if asked). A document where the
/// gazetteer finds nothing gets "noplace:<lang>" instead, so the prior "a
/// French dispatch with no place is about France" (OrangeSum) lives in a
/// feature that is silent whenever places are named, not in the bias.
pub(crate) fn place_values(
    places: &[PlaceCount],
    lang: Lang,
    gazetteer: &Gazetteer,
    countries: bool,
) -> BTreeMap<String, f32> {
    let mut out = BTreeMap::new();
    each_place_value(places, lang, gazetteer, countries, |key, v| match key {
        PlaceKey::Main(code) => {
            out.insert(format!("main:{code}"), v);
        }
        PlaceKey::NoPlace(lang) => {
            out.insert(format!("noplace:{}", lang.code()), v);
        }
        PlaceKey::Place(code) => *out.entry(format!("place:{code}")).or_insert(0.0) += v,
        PlaceKey::Country(code) => *out.entry(format!("country:{code}")).or_insert(0.0) += v,
    });
    out
}

/// One entry of [`TermIndex`]: a term's hash with its column and idf, 16
/// bytes, so that a lookup reads one cache line for all three.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    /// [`TermIndex::EMPTY`] where no term is stored.
    column: u32,
    idf: f32,
}

/// Term hash -> (column, idf), by open addressing with linear probing in
/// one flat array of [`Slot`]s, at most half full, so that the slot a hash
/// starts at can be read ahead of the lookup ([`TermIndex::read_ahead`]).
#[derive(Debug, Clone, Default)]
struct TermIndex {
    slots: Vec<Slot>,
    /// Bits of the slot number (the table has `1 << bits` slots).
    bits: u32,
}

impl TermIndex {
    const EMPTY: u32 = u32::MAX;

    /// The table of `(hash, column, idf)` entries; of two equal hashes the
    /// later one's column and idf are kept.
    fn new(entries: impl ExactSizeIterator<Item = (u64, u32, f32)>) -> TermIndex {
        let n = (entries.len() * 2).next_power_of_two().max(16);
        let empty = Slot {
            hash: 0,
            column: Self::EMPTY,
            idf: 0.0,
        };
        let mut index = TermIndex {
            slots: vec![empty; n],
            bits: n.trailing_zeros(),
        };
        for (hash, column, idf) in entries {
            let mut i = index.slot(hash);
            while index.slots[i].column != Self::EMPTY && index.slots[i].hash != hash {
                i = (i + 1) & (n - 1);
            }
            index.slots[i] = Slot { hash, column, idf };
        }
        index
    }

    /// The slot where the search for `h` starts (FNV's low bits mixed
    /// into the high ones by a Fibonacci multiply).
    fn slot(&self, h: u64) -> usize {
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bits)) as usize
    }

    /// The column and idf of the term hashed `h`.
    fn get(&self, h: u64) -> Option<(u32, f32)> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = self.slot(h);
        loop {
            let s = self.slots.get(i)?;
            if s.column == Self::EMPTY {
                return None;
            }
            if s.hash == h {
                return Some((s.column, s.idf));
            }
            i = (i + 1) & mask;
        }
    }

    /// Reads the first slot of every hash in `hashes` (and answers a value
    /// made of them, for `black_box`), so that the lookups that follow find
    /// them in cache.
    fn read_ahead(&self, hashes: impl Iterator<Item = u64>) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        hashes.fold(0, |acc, h| acc ^ self.slots[self.slot(h)].hash)
    }
}

/// Terms whose slots are read ahead at a time (one cache line each).
const READ_AHEAD: usize = 64;

/// Units of [`TfIdf::lang_odds`] per nat.
pub(crate) const LANG_ODDS_SCALE: f64 = 16.0;
/// Largest lean of one word, in nats: one word never outweighs the rest.
pub(crate) const LANG_ODDS_CLIP: f64 = 4.0;
/// Lean of a function word of one language only, in nats: as strong as a
/// word can be.
const LANG_FUNCTION_WORD: f64 = LANG_ODDS_CLIP;
/// Words leaning one way by a nat or more that settle a language.
const LANG_MIN_WORDS: usize = 2;
/// Summed lean, in nats, that settles a language.
const LANG_MIN_LEAN: i32 = 4;

/// [`TfIdf::lang_odds`] of a term from its document frequencies in each
/// language and those languages' document counts (each at least one).
pub(crate) fn lang_odds(df_en: u32, df_fr: u32, n_en: usize, n_fr: usize) -> i8 {
    let share = |df: u32, n: usize| (f64::from(df) + 0.5) / n.max(1) as f64;
    let nats = (share(df_en, n_en) / share(df_fr, n_fr)).ln();
    (nats.clamp(-LANG_ODDS_CLIP, LANG_ODDS_CLIP) * LANG_ODDS_SCALE).round() as i8
}

/// Sublinear tf, `1 + ln(c)`, kept linear below 1 so that a down-weighted
/// title term (`title_weight < 1`) never gets a negative value.
fn sublinear(c: f32) -> f32 {
    if c >= 1.0 { 1.0 + c.ln() } else { c }
}

/// A fitted TF-IDF + places vectorizer. Immutable; `Sync`.
#[derive(Debug, Clone, Default)]
pub struct TfIdf {
    pub(crate) params: FeatureParams,
    /// Kept terms; column `j` is `terms[j]`.
    pub(crate) terms: Vec<String>,
    /// Training-corpus idf per term.
    pub(crate) idf: Vec<f32>,
    /// Place-feature keys; column `terms.len() + k` is `places[k]`.
    pub(crate) places: Vec<String>,
    /// Per term, how much more often the training documents in English use
    /// it than those in French: the log of the ratio of its document shares,
    /// in [`LANG_ODDS_SCALE`]ths of a nat, clipped to ±[`LANG_ODDS_CLIP`]
    /// nats; empty when the training documents were all of one language.
    /// Settles the language of a text whose function words do not
    /// ([`TfIdf::language_of`]).
    pub(crate) lang_odds: Vec<i8>,
    /// Smallest idf of the vocabulary: what a left-out function word gets.
    min_idf: f32,
    /// Column of each term, by the term's FNV hash.
    index: TermIndex,
    /// Column of each place key, by the kind of key and the code after its
    /// prefix, so that a document's place columns are found without
    /// formatting a key.
    place_columns: PlaceColumns,
}

/// The columns of the place features by the code their key names:
/// "main:<M49>", "place:<M49>", "country:<ISO>" and "noplace:<lang>".
#[derive(Debug, Clone, Default)]
struct PlaceColumns {
    main: FxHashMap<String, u32>,
    place: FxHashMap<String, u32>,
    country: FxHashMap<String, u32>,
    noplace: FxHashMap<String, u32>,
}

impl PlaceColumns {
    fn new<'a>(keys: impl Iterator<Item = (&'a str, u32)>) -> PlaceColumns {
        let mut columns = PlaceColumns::default();
        for (key, j) in keys {
            let Some((kind, code)) = key.split_once(':') else {
                continue;
            };
            let map = match kind {
                "main" => &mut columns.main,
                "place" => &mut columns.place,
                "country" => &mut columns.country,
                "noplace" => &mut columns.noplace,
                _ => continue,
            };
            map.insert(code.to_owned(), j);
        }
        columns
    }
}

/// Adds `v` to the value of column `j` in `row[start..]` (appending it
/// when new).
fn add_to(row: &mut Vec<(u32, f32)>, start: usize, j: Option<&u32>, v: f32) {
    let Some(&j) = j else { return };
    match row[start..].iter_mut().find(|(k, _)| *k == j) {
        Some((_, sum)) => *sum += v,
        None => row.push((j, v)),
    }
}

impl TfIdf {
    /// Rebuilds the lookup tables from the stored parts.
    pub(crate) fn from_parts(
        params: FeatureParams,
        terms: Vec<String>,
        idf: Vec<f32>,
        places: Vec<String>,
        lang_odds: Vec<i8>,
    ) -> Self {
        let index = TermIndex::new(terms.iter().zip(&idf).enumerate().map(|(j, (t, &idf))| {
            let h = match t.split_once(' ') {
                Some((a, b)) => hash2(a, b),
                None => hash1(t),
            };
            (h, j as u32, idf)
        }));
        let place_columns = PlaceColumns::new(
            places
                .iter()
                .enumerate()
                .map(|(k, p)| (p.as_str(), (terms.len() + k) as u32)),
        );
        let min_idf = idf.iter().copied().fold(f32::INFINITY, f32::min);
        TfIdf {
            params,
            terms,
            idf,
            places,
            lang_odds,
            min_idf,
            index,
            place_columns,
        }
    }

    /// Number of columns (terms + places).
    pub fn n_features(&self) -> usize {
        self.terms.len() + self.places.len()
    }

    /// Number of terms.
    pub fn n_terms(&self) -> usize {
        self.terms.len()
    }

    /// The name of column `j` (a term or a place key).
    pub fn name(&self, j: usize) -> &str {
        if j < self.terms.len() {
            &self.terms[j]
        } else {
            self.places
                .get(j - self.terms.len())
                .map(String::as_str)
                .unwrap_or("")
        }
    }

    /// Training idf of a lowercased term; a function word the features
    /// leave out counts as the most common term.
    pub fn idf_of(&self, term: &str) -> Option<f32> {
        if self.params.stop_words && is_function_word(term, Lang::Und) && self.min_idf.is_finite() {
            return Some(self.min_idf);
        }
        let h = match term.split_once(' ') {
            Some((a, b)) => hash2(a, b),
            None => hash1(term),
        };
        self.index.get(h).map(|(_, idf)| idf)
    }

    /// English or French by the words of `text`, `None` when they do not
    /// settle it: a function word of one language only counts as a word of
    /// that language, any other word as the training documents of each
    /// language use it (the model's per-term leans, stored with the
    /// vocabulary). A headline such as "Ad sales boost Time Warner profit"
    /// has too few function words for [`crate::text::lang::detect`], but
    /// "sales", "boost" and "profit" are English words. It takes two words
    /// or more that lean one way by a nat or more, making up half the words
    /// or more, and a summed lean of four nats: names and numbers lean
    /// neither way, and the words of another language are mostly in
    /// neither vocabulary, so such text stays unsettled.
    pub fn language_of(&self, text: &str) -> Option<Lang> {
        if self.lang_odds.len() != self.terms.len() {
            return None;
        }
        let mut buf = String::new();
        let mut spans = Vec::new();
        norm_tokens(text, Lang::Und, false, &mut buf, &mut spans);
        let function_words = FunctionWordHashes::get();
        let strong = LANG_ODDS_SCALE as i32;
        let function_word = (LANG_FUNCTION_WORD * LANG_ODDS_SCALE) as i32;
        let (mut words, mut lean, mut en, mut fr) = (0usize, 0i32, 0usize, 0usize);
        for s in &spans {
            let word = s.get(text, &buf);
            if !word.chars().any(char::is_alphabetic) {
                continue;
            }
            words += 1;
            // A function word of one language only leans to it; one of
            // both ("a", "on") to neither.
            let v = match (
                function_words.contains(word, s.hash, Lang::En),
                function_words.contains(word, s.hash, Lang::Fr),
            ) {
                (true, false) => function_word,
                (false, true) => -function_word,
                (true, true) => 0,
                (false, false) => match self.index.get(s.hash) {
                    Some((j, _)) => i32::from(self.lang_odds[j as usize]),
                    None => continue,
                },
            };
            lean += v;
            if v >= strong {
                en += 1;
            } else if v <= -strong {
                fr += 1;
            }
        }
        crate::work::add(text.len());
        let min_lean = LANG_MIN_LEAN * strong;
        let settles = |n: usize| n >= LANG_MIN_WORDS && 2 * n >= words;
        if lean >= min_lean && settles(en) {
            Some(Lang::En)
        } else if lean <= -min_lean && settles(fr) {
            Some(Lang::Fr)
        } else {
            None
        }
    }

    /// One document's sparse row: sorted column indices and values
    /// (sublinear tf x stored idf, l2-normalised; then place features).
    pub fn transform(&self, input: &ModelInput<'_>, gazetteer: &Gazetteer) -> (Vec<u32>, Vec<f32>) {
        let mut terms: Vec<(u64, f32)> =
            Vec::with_capacity((input.title.len() + input.body.len()) / 3);
        each_term::<false>(input, &self.params, |h, w, _, _| terms.push((h, w)));
        // Column -> (summed tf weight, idf).
        let mut tf: FxHashMap<u32, (f32, f32)> =
            FxHashMap::with_capacity_and_hasher(terms.len(), Default::default());
        for chunk in terms.chunks(READ_AHEAD) {
            // The table is megabytes and each term reads a slot of it at
            // random: read a chunk's slots first, in a loop with no branch,
            // so that their cache misses overlap instead of coming one term
            // at a time (a chunk at a time, so that they are still in L1
            // for the lookups).
            std::hint::black_box(self.index.read_ahead(chunk.iter().map(|&(h, _)| h)));
            for &(h, w) in chunk {
                if let Some((j, idf)) = self.index.get(h) {
                    tf.entry(j).or_insert((0.0, idf)).0 += w;
                }
            }
        }
        let mut row: Vec<(u32, f32)> = tf
            .into_iter()
            .map(|(j, (c, idf))| (j, sublinear(c) * idf))
            .collect();
        row.sort_unstable_by_key(|&(j, _)| j);
        let norm = row.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut row {
                *v /= norm;
            }
        }
        if self.params.place_weight > 0.0 {
            let start = row.len();
            self.place_row(input.places, input.lang, gazetteer, &mut row);
            for (_, v) in &mut row[start..] {
                *v *= self.params.place_weight;
            }
        }
        row.into_iter().unzip()
    }

    /// Appends the document's known place features to `row`: the values of
    /// [`place_values`], each summed in the same order, in column order
    /// (the columns of the place keys follow the keys' sorted order).
    fn place_row(
        &self,
        places: &[PlaceCount],
        lang: Lang,
        gazetteer: &Gazetteer,
        row: &mut Vec<(u32, f32)>,
    ) {
        let columns = &self.place_columns;
        let start = row.len();
        each_place_value(
            places,
            lang,
            gazetteer,
            self.params.place_countries,
            |key, v| match key {
                // A key set twice (a sub-region code equal to its region's)
                // keeps its value, as the map's insert leaves it.
                PlaceKey::Main(code) => {
                    if let Some(&j) = columns.main.get(code)
                        && !row[start..].iter().any(|&(k, _)| k == j)
                    {
                        row.push((j, v));
                    }
                }
                PlaceKey::NoPlace(lang) => add_to(row, start, columns.noplace.get(lang.code()), v),
                PlaceKey::Place(code) => add_to(row, start, columns.place.get(code), v),
                PlaceKey::Country(code) => add_to(row, start, columns.country.get(code), v),
            },
        );
        row[start..].sort_unstable_by_key(|&(j, _)| j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_french_word_and_its_english_cognate_share_a_key() {
        let key = |w: &str| {
            let mut k = String::new();
            cognate_key(w, 6, &mut k).then_some(k)
        };
        assert_eq!(key("tourisme"), key("tourism"));
        assert_eq!(key("religieux").as_deref(), Some("religi…"));
        assert_eq!(key("élection"), key("election"));
        assert_eq!(key("économie"), key("economy"));
        // Short words, numbers and elisions get none.
        assert_eq!(key("grève"), None);
        assert_eq!(key("covid19"), None);
        assert_eq!(key("aujourd'hui"), None);
        assert_eq!(key("été"), None);
        assert_eq!(key("déjàvu").as_deref(), Some("dejavu…"));
        assert_eq!(key("naïve"), None);
        assert_eq!(key("abcdef").as_deref(), Some("abcdef…"));
        // The key of a plain ASCII word hashes as written out.
        for w in [
            "tourism",
            "abcdef",
            "religious",
            "abcde",
            "covid19",
            "élection",
            "Paris",
        ] {
            assert_eq!(
                ascii_cognate_hash(w, 6).is_some(),
                w.len() >= 6 && w.bytes().all(|b| b.is_ascii_lowercase())
            );
            if let Some(h) = ascii_cognate_hash(w, 6) {
                assert_eq!(Some(h), key(w).map(|k| hash1(&k)), "{w}");
            }
        }
    }

    #[test]
    fn function_words_by_hash_are_the_function_words() {
        let hashes = FunctionWordHashes::get();
        // No two function words of a language share a hash, so none is lost.
        assert_eq!(hashes.fr.len(), function_words(Lang::Fr).count());
        assert_eq!(hashes.en.len(), function_words(Lang::En).count());
        let example = include_str!("../../tests/data/aleppo-fr.txt");
        let mut word = String::new();
        let words = function_words(Lang::Fr)
            .chain(function_words(Lang::En))
            .map(str::to_owned)
            .chain(words::tokens(example).map(|t| {
                words::normalize_into(t.text, &mut word);
                word.clone()
            }))
            .chain(["", "x", "theyre", "lesx", "aujourd’hui", "son"].map(String::from));
        for w in words {
            for lang in [Lang::Fr, Lang::En, Lang::Und] {
                assert_eq!(
                    hashes.contains(&w, hash1(&w), lang),
                    is_function_word(&w, lang),
                    "{w:?} {lang:?}"
                );
            }
        }
    }

    #[test]
    fn normalised_tokens_are_the_normalised_words_with_their_hashes() {
        let example = include_str!("../../tests/data/aleppo-fr.txt");
        let texts = [
            example,
            "The FIRM's revenue, 1,4 U.S. £86m e_g jeudi.Le L'ARMÉE d’Alep Élysée ĀB x",
            "Ask Jeeves has become the third leading online search firm this week",
        ];
        let (mut buf, mut spans, mut word) = (String::new(), Vec::new(), String::new());
        for text in texts {
            for (lang, stop_words) in [(Lang::Fr, true), (Lang::En, true), (Lang::Und, false)] {
                norm_tokens(text, lang, stop_words, &mut buf, &mut spans);
                let got: Vec<(&str, u64)> =
                    spans.iter().map(|s| (s.get(text, &buf), s.hash)).collect();
                let mut want = Vec::new();
                for t in words::tokens(text) {
                    words::normalize_into(t.text, &mut word);
                    if !(stop_words && is_function_word(&word, lang)) {
                        want.push((word.clone(), hash1(&word)));
                    }
                }
                let want: Vec<(&str, u64)> = want.iter().map(|(w, h)| (w.as_str(), *h)).collect();
                assert_eq!(got, want, "{lang:?} {stop_words}");
            }
        }
    }

    #[test]
    fn a_bigram_hash_continues_its_first_words_hash() {
        for (a, b) in [("armée", "syrienne"), ("", "x"), ("l'état", "")] {
            assert_eq!(fnv1a(fnv1a(hash1(a), b" "), b.as_bytes()), hash2(a, b));
            assert_eq!(hash2(a, b), hash1(&format!("{a} {b}")));
        }
    }

    #[test]
    fn the_term_index_finds_every_term_and_nothing_else() {
        // Many more hashes than one probe run, so that runs wrap past the
        // end of the table; of two equal hashes the later column wins, as
        // with a map built by `collect`.
        let hashes: Vec<u64> = (0..5000u64).map(|i| hash1(&i.to_string())).collect();
        let entries = hashes.iter().zip(0u32..).map(|(&h, j)| (h, j, j as f32));
        let index = TermIndex::new(
            entries
                .chain([(hashes[7], 9999, 0.5)])
                .collect::<Vec<_>>()
                .into_iter(),
        );
        for (j, &h) in (0u32..).zip(&hashes) {
            let want = if j == 7 { (9999, 0.5) } else { (j, j as f32) };
            assert_eq!(index.get(h), Some(want));
        }
        assert_eq!(index.get(hash1("absent")), None);
        assert_eq!(TermIndex::default().get(hash1("x")), None);
    }

    /// A vocabulary whose words lean as their language's documents use them.
    fn leaning(words: &[(&str, u32, u32)]) -> TfIdf {
        let terms = words.iter().map(|&(w, _, _)| w.to_string()).collect();
        let odds = words
            .iter()
            .map(|&(_, en, fr)| lang_odds(en, fr, 1000, 1000))
            .collect();
        TfIdf::from_parts(
            FeatureParams::default(),
            terms,
            vec![1.0; words.len()],
            Vec::new(),
            odds,
        )
    }

    #[test]
    fn words_of_one_language_settle_a_headline_without_function_words() {
        let v = leaning(&[
            ("sales", 300, 2),
            ("boost", 120, 1),
            ("profit", 200, 3),
            ("ventes", 1, 250),
            ("hausse", 2, 400),
            ("bénéfice", 0, 150),
            ("warner", 20, 15),
            ("time", 400, 30),
        ]);
        assert_eq!(
            v.language_of("Ad sales boost Time Warner profit"),
            Some(Lang::En)
        );
        assert_eq!(
            v.language_of("Ventes en hausse, bénéfice record"),
            Some(Lang::Fr)
        );
        // One leaning word is not enough, nor names alone, nor words the
        // vocabulary has never seen (another language).
        assert_eq!(v.language_of("Warner sales"), None);
        assert_eq!(v.language_of("Time Warner Warner"), None);
        assert_eq!(
            v.language_of("Serikali yatangaza bajeti mpya ya elimu"),
            None
        );
        // Leaning words must be half the words or more.
        assert_eq!(
            v.language_of("sales profit kumi elfu wanafunzi mtihani taifa"),
            None
        );
        // Words of both languages cancel out.
        assert_eq!(v.language_of("sales profit ventes hausse"), None);
        // A model without leans settles nothing.
        let none = TfIdf::from_parts(
            FeatureParams::default(),
            vec!["sales".into(), "profit".into()],
            vec![1.0, 1.0],
            Vec::new(),
            Vec::new(),
        );
        assert_eq!(none.language_of("sales profit sales profit"), None);
    }

    #[test]
    fn a_words_lean_is_the_log_ratio_of_its_document_shares_clipped() {
        assert_eq!(lang_odds(10, 10, 100, 100), 0);
        // Twice the share in English, in one language's documents as in
        // the other's: ln 2 nats.
        let ln2 = (2f64.ln() * LANG_ODDS_SCALE).round() as i8;
        assert_eq!(lang_odds(2000, 1000, 10_000, 10_000), ln2);
        assert_eq!(lang_odds(4000, 1000, 20_000, 10_000), ln2);
        assert_eq!(lang_odds(1000, 2000, 10_000, 10_000), -ln2);
        assert!(lang_odds(19, 9, 100, 100) > 0 && lang_odds(9, 19, 100, 100) < 0);
        let clip = (LANG_ODDS_CLIP * LANG_ODDS_SCALE) as i8;
        assert_eq!(lang_odds(5000, 0, 10_000, 10_000), clip);
        assert_eq!(lang_odds(0, 5000, 10_000, 10_000), -clip);
    }

    #[test]
    fn a_dispatch_without_places_gets_its_language_prior() {
        let g = Gazetteer::default();
        let v = place_values(&[], Lang::Fr, &g, false);
        assert_eq!(
            v.into_iter().collect::<Vec<_>>(),
            vec![("noplace:fr".to_string(), 1.0)]
        );
        // Countries unknown to the gazetteer still count as places.
        let places = [PlaceCount {
            iso2: "SY".into(),
            mentions: 3,
        }];
        let v = place_values(&places, Lang::Fr, &g, true);
        assert_eq!(v.get("country:SY"), Some(&1.0));
        assert!(!v.contains_key("noplace:fr"));
    }

    #[test]
    fn a_rows_place_features_are_the_known_keys_of_place_values() {
        let taxonomy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/taxonomy");
        let g = Gazetteer::from_taxonomy(std::path::Path::new(taxonomy)).expect("taxonomy");
        let lists: Vec<Vec<(&str, u32)>> = vec![
            vec![],
            vec![("SY", 3), ("RU", 2), ("IR", 1), ("KZ", 1)],
            vec![("FR", 1), ("DE", 1), ("ZZ", 4)],
            vec![("US", 5)],
        ];
        let docs: Vec<Vec<PlaceCount>> = lists
            .iter()
            .map(|l| {
                l.iter()
                    .map(|&(iso2, mentions)| PlaceCount {
                        iso2: iso2.into(),
                        mentions,
                    })
                    .collect()
            })
            .collect();
        for countries in [false, true] {
            // Every key the documents give but one, as a vocabulary would
            // keep them (sorted, after the terms).
            let mut keys: Vec<String> = docs
                .iter()
                .flat_map(|d| place_values(d, Lang::En, &g, countries).into_keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            keys.remove(1);
            let terms = vec!["un".to_string(), "deux".to_string()];
            let params = FeatureParams {
                place_countries: countries,
                ..FeatureParams::default()
            };
            let tfidf = TfIdf::from_parts(params, terms, vec![1.0, 1.0], keys.clone(), Vec::new());
            for (d, lang) in docs.iter().zip([Lang::Fr, Lang::En, Lang::Und, Lang::En]) {
                let mut row = Vec::new();
                tfidf.place_row(d, lang, &g, &mut row);
                let expected: Vec<(u32, f32)> = place_values(d, lang, &g, countries)
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let k = keys.iter().position(|p| *p == k)?;
                        Some((2 + k as u32, v))
                    })
                    .collect();
                assert_eq!(row, expected, "{d:?}");
            }
        }
    }
}
