//! Fitting the sentence scorer on reference summaries.
//!
//! Each training document is analysed exactly as the service analyses a
//! request ([`super::analyse`]); every body sentence gets a label from the
//! reference summary, and a logistic regression over the features is fitted
//! per language by Newton's method (IRLS, L2-penalised, on standardised
//! features). Labels are one of three kinds ([`Labels`]): the greedy ROUGE
//! oracle of the summary length, the unbounded greedy oracle, or a soft
//! per-sentence ROUGE score. The kind, the redundancy threshold and the
//! floor under which a summary stops short of its sentence budget are
//! chosen on a held-out tenth of the training split (every tenth document)
//! by the mean ROUGE-1/2/L F of the selected summaries, then the weights are
//! refitted on the whole split. One feature, `summary_words`, rests on
//! per-word log-odds of being kept in a reference ([`term_log_odds`]),
//! learned on the fitting part only. Nothing here reads a dev split.
//!
//! ROUGE here is computed on lowercased letter/digit tokens without
//! stemming: close to, not identical with, the bench's rouge-score figures.
//!
//! The recipe is `cargo run --release --example train_summarizer`.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::text::{self, Lang};

use super::scorer::TermLogOdds;
use super::{
    Budget, FEATURE_NAMES, N_FEATURES, Scorer, TermWeights, analyse, content_words, select,
};

/// One training document, analysed.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Features of each body sentence.
    pub x: Vec<[f32; N_FEATURES]>,
    /// Sentence-by-sentence cosine similarities (row-major).
    pub sim: Vec<f32>,
    /// Characters of each sentence.
    pub chars: Vec<usize>,
    /// Hash of each sentence's text (exact repeats).
    pub text_hash: Vec<u64>,
    /// Whether each sentence is a bare quotation ([`super::is_bare_quote`]).
    pub bare_quote: Vec<bool>,
    /// ROUGE tokens of each sentence.
    pub tokens: Vec<Vec<u64>>,
    /// ROUGE tokens of the reference summary.
    pub reference: Vec<u64>,
}

/// How a sentence's training label is derived from the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// 1 for the sentences of the greedy ROUGE-1+2 oracle of at most this
    /// many sentences, else 0.
    Oracle(usize),
    /// Soft label: the sentence's own ROUGE-1+2 F over the best of its
    /// document's.
    Soft,
}

impl std::fmt::Display for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Labels::Oracle(usize::MAX) => write!(f, "greedy ROUGE oracle, as long as it gains"),
            Labels::Oracle(k) => write!(f, "greedy ROUGE oracle of at most {k} sentences"),
            Labels::Soft => write!(f, "soft per-sentence ROUGE-1+2 F"),
        }
    }
}

/// Mean ROUGE F x 100 of a set of summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rouge {
    /// ROUGE-1.
    pub r1: f64,
    /// ROUGE-2.
    pub r2: f64,
    /// ROUGE-L (longest common subsequence).
    pub rl: f64,
}

impl Rouge {
    /// The model selection criterion: the mean of the three.
    pub fn mean(&self) -> f64 {
        (self.r1 + self.r2 + self.rl) / 3.0
    }
}

impl std::fmt::Display for Rouge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "R1/R2/RL {:.2}/{:.2}/{:.2}", self.r1, self.r2, self.rl)
    }
}

/// Articles a word must occur in to get a learned log-odds.
pub const TERM_MIN_DOCS: u32 = 20;

/// Words kept in the weights file, the most frequent first.
pub const TERM_MAX: usize = 6000;

/// Pseudo-documents of smoothing toward the average keep rate.
const TERM_SMOOTHING: f64 = 10.0;

/// Learns, from (article, reference) pairs, the log-odds that a content
/// word of an article is also in its reference, relative to the average
/// content word: `logit(p_w) - logit(p)` with `p_w` smoothed toward `p`.
/// Words in fewer than [`TERM_MIN_DOCS`] articles are left out, and only the
/// [`TERM_MAX`] most frequent are kept.
pub fn term_log_odds<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> TermLogOdds {
    // word -> (articles with it, of which references with it too)
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    for (article, reference) in pairs {
        // Read as the service reads a dispatch (`text::fold`).
        let (article, reference) = (text::fold::fold(article), text::fold::fold(reference));
        let mut words = content_words(&article);
        words.sort_unstable();
        words.dedup();
        let kept: std::collections::HashSet<String> =
            content_words(&reference).into_iter().collect();
        for w in words {
            let hit = kept.contains(&w);
            let e = seen.entry(w).or_default();
            e.0 += 1;
            e.1 += u32::from(hit);
        }
    }
    let (docs, hits) = seen.values().fold((0u64, 0u64), |(d, h), &(a, b)| {
        (d + u64::from(a), h + u64::from(b))
    });
    if docs == 0 || hits == 0 {
        return TermLogOdds::default();
    }
    let p = hits as f64 / docs as f64;
    let logit = |q: f64| (q / (1.0 - q)).ln();
    let mut frequent: Vec<(String, u32, u32)> = seen
        .into_iter()
        .filter(|(_, (d, _))| *d >= TERM_MIN_DOCS)
        .map(|(w, (d, h))| (w, d, h))
        .collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    frequent.truncate(TERM_MAX);
    frequent
        .into_iter()
        .map(|(w, d, h)| {
            let q = (f64::from(h) + TERM_SMOOTHING * p) / (f64::from(d) + TERM_SMOOTHING);
            (w, (logit(q.clamp(1e-6, 1.0 - 1e-6)) - logit(p)) as f32)
        })
        .collect()
}

/// ROUGE tokens: lowercased runs of letters and digits, hashed.
pub fn rouge_tokens(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut h = DefaultHasher::new();
            w.to_lowercase().hash(&mut h);
            h.finish()
        })
        .collect()
}

/// Analyses one record for training with the term log-odds of `terms`;
/// `None` when it has no body sentence or no reference tokens.
pub fn prepare(
    text: &str,
    title: &str,
    lang: Lang,
    reference: &str,
    weights: &dyn TermWeights,
    terms: &Scorer,
) -> Option<Doc> {
    // Read as the service reads a dispatch (`text::fold`).
    let (text, title) = (text::fold::fold(text), text::fold::fold(title));
    let (text, title) = (text.as_ref(), title.as_ref());
    let cleaned = text::clean(text);
    let analysis = analyse(text, &cleaned, lang, weights, Some(title), terms);
    let n = analysis.features.len();
    let reference = rouge_tokens(&text::fold::fold(reference));
    if n == 0 || reference.is_empty() {
        return None;
    }
    let mut sim = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            sim[i * n + j] = analysis.similarity(i, j);
        }
    }
    let sentences: Vec<&str> = analysis
        .features
        .iter()
        .map(|f| &text[f.range.clone()])
        .collect();
    Some(Doc {
        x: analysis.features.iter().map(|f| f.x).collect(),
        sim,
        chars: analysis.features.iter().map(|f| f.chars).collect(),
        bare_quote: analysis.features.iter().map(|f| f.bare_quote).collect(),
        text_hash: sentences
            .iter()
            .map(|s| {
                let mut h = DefaultHasher::new();
                s.hash(&mut h);
                h.finish()
            })
            .collect(),
        tokens: sentences.iter().map(|s| rouge_tokens(s)).collect(),
        reference,
    })
}

fn counts(tokens: &[u64], n: usize) -> HashMap<u64, u32> {
    let mut out = HashMap::new();
    for w in tokens.windows(n) {
        let key = if n == 1 {
            w[0]
        } else {
            w[0].rotate_left(17) ^ w[1]
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn f_measure(overlap: u32, hyp: usize, reference: usize) -> f64 {
    if overlap == 0 || hyp == 0 || reference == 0 {
        return 0.0;
    }
    let p = f64::from(overlap) / hyp as f64;
    let r = f64::from(overlap) / reference as f64;
    2.0 * p * r / (p + r)
}

fn rouge_n(hyp: &[u64], reference: &HashMap<u64, u32>, ref_len: usize, n: usize) -> f64 {
    let h = counts(hyp, n);
    let overlap: u32 = h
        .iter()
        .map(|(k, &c)| c.min(reference.get(k).copied().unwrap_or(0)))
        .sum();
    f_measure(overlap, hyp.len().saturating_sub(n - 1), ref_len)
}

fn lcs(a: &[u64], b: &[u64]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Reference n-gram counts of a document, computed once.
struct Reference {
    unigrams: HashMap<u64, u32>,
    bigrams: HashMap<u64, u32>,
    len: usize,
}

impl Reference {
    fn new(tokens: &[u64]) -> Reference {
        Reference {
            unigrams: counts(tokens, 1),
            bigrams: counts(tokens, 2),
            len: tokens.len(),
        }
    }

    fn r12(&self, hyp: &[u64]) -> f64 {
        rouge_n(hyp, &self.unigrams, self.len, 1)
            + rouge_n(hyp, &self.bigrams, self.len.saturating_sub(1), 2)
    }
}

/// The tokens of sentences `picked` (document order) joined.
fn joined(doc: &Doc, picked: &[usize]) -> Vec<u64> {
    let mut sorted = picked.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .flat_map(|&i| doc.tokens[i].iter().copied())
        .collect()
}

/// ROUGE-1/2/L F x 100 of sentences `picked` against the reference.
pub fn score(doc: &Doc, picked: &[usize]) -> Rouge {
    let hyp = joined(doc, picked);
    let reference = Reference::new(&doc.reference);
    let l = lcs(&hyp, &doc.reference);
    let rl = if l == 0 {
        0.0
    } else {
        let p = l as f64 / hyp.len() as f64;
        let r = l as f64 / doc.reference.len() as f64;
        2.0 * p * r / (p + r)
    };
    Rouge {
        r1: 100.0 * rouge_n(&hyp, &reference.unigrams, reference.len, 1),
        r2: 100.0 * rouge_n(&hyp, &reference.bigrams, reference.len.saturating_sub(1), 2),
        rl: 100.0 * rl,
    }
}

/// The greedy oracle: repeatedly adds the sentence that most raises the
/// ROUGE-1+2 F of the selection, until none does or `max` are chosen.
pub fn oracle(doc: &Doc, max: usize) -> Vec<usize> {
    let reference = Reference::new(&doc.reference);
    let mut picked: Vec<usize> = Vec::new();
    let mut best = 0.0;
    while picked.len() < max {
        let mut step: Option<(usize, f64)> = None;
        for i in 0..doc.tokens.len() {
            if picked.contains(&i) {
                continue;
            }
            picked.push(i);
            let f = reference.r12(&joined(doc, &picked));
            picked.pop();
            if f > best + 1e-12 && step.is_none_or(|(_, s)| f > s) {
                step = Some((i, f));
            }
        }
        let Some((i, f)) = step else { break };
        picked.push(i);
        best = f;
    }
    picked.sort_unstable();
    picked
}

/// Per-sentence training labels of `doc`.
pub fn labels(doc: &Doc, kind: Labels) -> Vec<f64> {
    let n = doc.tokens.len();
    match kind {
        Labels::Oracle(k) => {
            let mut y = vec![0.0; n];
            for i in oracle(doc, k) {
                y[i] = 1.0;
            }
            y
        }
        Labels::Soft => {
            let reference = Reference::new(&doc.reference);
            let f: Vec<f64> = doc.tokens.iter().map(|t| reference.r12(t)).collect();
            let max = f.iter().copied().fold(0.0, f64::max);
            f.into_iter()
                .map(|v| if max > 0.0 { v / max } else { 0.0 })
                .collect()
        }
    }
}

/// The summary `scorer` picks in a training document (`k` sentences).
pub fn pick(doc: &Doc, scorer: &Scorer, k: usize) -> Vec<usize> {
    let n = doc.x.len();
    let scores: Vec<f32> = doc.x.iter().map(|x| scorer.score(x)).collect();
    select(
        &scores,
        |i| doc.bare_quote[i],
        |i| doc.chars[i],
        |i, j| doc.sim[i * n + j],
        |i, j| doc.text_hash[i] == doc.text_hash[j],
        scorer,
        Budget::sentences(k),
    )
}

/// Mean ROUGE of `scorer`'s `k`-sentence summaries over `docs`.
pub fn evaluate(docs: &[&Doc], scorer: &Scorer, k: usize) -> Rouge {
    mean(docs.iter().map(|d| score(d, &pick(d, scorer, k))))
}

/// Mean ROUGE of the first `k` body sentences over `docs`.
pub fn evaluate_lead(docs: &[&Doc], k: usize) -> Rouge {
    mean(
        docs.iter()
            .map(|d| score(d, &(0..k.min(d.x.len())).collect::<Vec<_>>())),
    )
}

fn mean(it: impl Iterator<Item = Rouge>) -> Rouge {
    let (mut sum, mut n) = (Rouge::default(), 0usize);
    for r in it {
        sum.r1 += r.r1;
        sum.r2 += r.r2;
        sum.rl += r.rl;
        n += 1;
    }
    let n = n.max(1) as f64;
    Rouge {
        r1: sum.r1 / n,
        r2: sum.r2 / n,
        rl: sum.rl / n,
    }
}

/// L2 penalty on the standardised weights (not on the intercept).
const L2: f64 = 1.0;

/// Coefficients of the logistic regression: one per feature, then the
/// intercept.
const COEFS: usize = N_FEATURES + 1;

/// Newton iterations at most; they stop early once no coefficient moves by
/// [`NEWTON_TOLERANCE`] or more.
const NEWTON_ITERATIONS: usize = 50;
const NEWTON_TOLERANCE: f64 = 1e-7;

/// One training sentence: its features and its label.
type Row<'a> = (&'a [f32; N_FEATURES], f64);

/// Fits a logistic regression of `labels` (in 0..1) on the sentences of
/// `docs`, leaving feature `without` out (weight 0) if given; returns the
/// intercept and raw-feature weights.
pub fn fit_logistic(
    docs: &[&Doc],
    labels: &[Vec<f64>],
    without: Option<usize>,
) -> (f32, [f32; N_FEATURES]) {
    let rows: Vec<Row> = docs
        .iter()
        .zip(labels)
        .flat_map(|(d, y)| d.x.iter().zip(y.iter().copied()))
        .collect();
    let scale = Standardiser::new(&rows, without);
    let beta = newton(&rows, &scale);
    scale.raw_weights(&beta)
}

/// Feature means and standard deviations over the training rows; a feature
/// whose deviation is (near) 0 is left out of the fit.
struct Standardiser {
    mean: [f64; N_FEATURES],
    sd: Vec<f64>,
}

impl Standardiser {
    /// Statistics of `rows`, with feature `without` (if given) treated as
    /// constant.
    fn new(rows: &[Row], without: Option<usize>) -> Standardiser {
        let count = rows.len().max(1) as f64;
        let mut mean = [0.0f64; N_FEATURES];
        let mut sd = [0.0f64; N_FEATURES];
        for (x, _) in rows {
            for j in 0..N_FEATURES {
                mean[j] += f64::from(x[j]) / count;
            }
        }
        for (x, _) in rows {
            for j in 0..N_FEATURES {
                sd[j] += (f64::from(x[j]) - mean[j]).powi(2) / count;
            }
        }
        let mut sd: Vec<f64> = sd.iter().map(|v| v.sqrt()).collect();
        if let Some(j) = without {
            sd[j] = 0.0;
        }
        Standardiser { mean, sd }
    }

    /// Standardised row with a trailing 1 for the intercept; constant
    /// features are zeroed (their weight stays 0).
    fn z(&self, x: &[f32; N_FEATURES]) -> [f64; COEFS] {
        let mut z = [1.0; COEFS];
        for j in 0..N_FEATURES {
            z[j] = if self.sd[j] > 1e-9 {
                (f64::from(x[j]) - self.mean[j]) / self.sd[j]
            } else {
                0.0
            };
        }
        z
    }

    /// The intercept and raw-feature weights equivalent to coefficients
    /// `beta` on standardised features.
    fn raw_weights(&self, beta: &[f64; COEFS]) -> (f32, [f32; N_FEATURES]) {
        let mut weights = [0.0f32; N_FEATURES];
        let mut bias = beta[N_FEATURES];
        for j in 0..N_FEATURES {
            if self.sd[j] > 1e-9 {
                let w = beta[j] / self.sd[j];
                weights[j] = w as f32;
                bias -= w * self.mean[j];
            }
        }
        (bias as f32, weights)
    }
}

/// Coefficients on standardised features by Newton's method (IRLS), from
/// all zeros.
fn newton(rows: &[Row], scale: &Standardiser) -> [f64; COEFS] {
    let mut beta = [0.0f64; COEFS];
    for _ in 0..NEWTON_ITERATIONS {
        let (grad, hess) = derivatives(rows, scale, &beta);
        let step = solve(hess, grad);
        let mut largest = 0.0f64;
        for a in 0..COEFS {
            beta[a] -= step[a];
            largest = largest.max(step[a].abs());
        }
        if largest < NEWTON_TOLERANCE {
            break;
        }
    }
    beta
}

/// Gradient and Hessian at `beta` of the negative log-likelihood plus the
/// [`L2`] penalty; the Hessian's diagonal gets 1e-9 more so it stays
/// positive definite.
fn derivatives(
    rows: &[Row],
    scale: &Standardiser,
    beta: &[f64; COEFS],
) -> ([f64; COEFS], [[f64; COEFS]; COEFS]) {
    let mut grad = [0.0f64; COEFS];
    let mut hess = [[0.0f64; COEFS]; COEFS];
    for (x, y) in rows {
        let z = scale.z(x);
        let eta: f64 = z.iter().zip(beta).map(|(a, b)| a * b).sum();
        let p = 1.0 / (1.0 + (-eta).exp());
        let w = (p * (1.0 - p)).max(1e-9);
        for a in 0..COEFS {
            grad[a] += (p - y) * z[a];
            for b in 0..=a {
                hess[a][b] += w * z[a] * z[b];
            }
        }
    }
    for a in 1..COEFS {
        // Mirror the lower triangle: row b < a gets hess[a][b].
        let (upper, lower) = hess.split_at_mut(a);
        for (b, row) in upper.iter_mut().enumerate() {
            row[a] = lower[0][b];
        }
    }
    for a in 0..COEFS {
        if a < N_FEATURES {
            grad[a] += L2 * beta[a];
            hess[a][a] += L2;
        }
        hess[a][a] += 1e-9;
    }
    (grad, hess)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`a` is
/// symmetric positive definite here, so it never meets a zero pivot).
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> [f64; D] {
    for col in 0..D {
        let pivot = (col..D)
            .max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        let pivot_row = a[col];
        for r in col + 1..D {
            let f = a[r][col] / p;
            if f != 0.0 {
                for (x, y) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * y;
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = [0.0; D];
    for r in (0..D).rev() {
        let s: f64 = (r + 1..D).map(|c| a[r][c] * x[c]).sum();
        x[r] = if a[r][r].abs() < 1e-300 {
            0.0
        } else {
            (b[r] - s) / a[r][r]
        };
    }
    x
}

/// What fitting one language produced.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The scorer refitted on every document.
    pub scorer: Scorer,
    /// The label kind chosen on the held-out tenth.
    pub labels: Labels,
    /// Its held-out ROUGE (fitted without the held-out tenth).
    pub held_out: Rouge,
    /// The best first-`j` baseline (`j` in 1..=k) on the held-out tenth.
    pub lead: (usize, Rouge),
    /// Every candidate tried.
    pub tried: Vec<Tried>,
}

/// One candidate setting and its held-out ROUGE.
#[derive(Debug, Clone, Copy)]
pub struct Tried {
    /// Label kind.
    pub labels: Labels,
    /// Whether the `summary_words` feature was used.
    pub word_odds: bool,
    /// Redundancy threshold.
    pub redundancy: f32,
    /// Floor.
    pub floor: f32,
    /// Held-out ROUGE.
    pub rouge: Rouge,
}

impl std::fmt::Display for Tried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, word log-odds {}, redundancy {}, floor {}: {}",
            self.labels,
            if self.word_odds { "on" } else { "off" },
            self.redundancy,
            self.floor,
            self.rouge
        )
    }
}

/// Redundancy thresholds tried (1 = off: cosines never exceed 1).
pub const REDUNDANCY: [f32; 3] = [0.5, 0.7, 1.0];

/// Floor value that never stops a summary.
pub const NO_FLOOR: f32 = -100.0;

/// Floors tried: off, and the deciles of the second-best sentence's
/// log-odds over `docs` (so the scale follows the fitted weights).
fn floors(docs: &[&Doc], bias: f32, weights: &[f32; N_FEATURES]) -> Vec<f32> {
    let s = Scorer {
        bias,
        weights: *weights,
        redundancy: 1.0,
        floor: NO_FLOOR,
        terms: TermLogOdds::default(),
    };
    let mut second: Vec<f32> = docs
        .iter()
        .filter_map(|d| {
            let mut v: Vec<f32> = d.x.iter().map(|x| s.score(x)).collect();
            v.sort_by(|a, b| b.total_cmp(a));
            v.get(1).copied()
        })
        .collect();
    second.sort_by(f32::total_cmp);
    let mut out = vec![NO_FLOOR];
    if !second.is_empty() {
        out.extend((1..10).map(|q| second[q * second.len() / 10]));
    }
    out
}

/// Fits the scorer of one language for `k`-sentence summaries on `train`:
/// label kind, redundancy and floor chosen on `held` (documents not in
/// `train`), the weights then refitted on both. `terms` (learned on `train`
/// only, and already used in the documents' features) is carried into the
/// scorer.
pub fn fit(train: &[&Doc], held: &[&Doc], k: usize, terms: TermLogOdds) -> Fitted {
    let held = held.to_vec();
    let train = train.to_vec();
    let all: Vec<&Doc> = train.iter().chain(&held).copied().collect();
    let kinds = [Labels::Oracle(k), Labels::Oracle(usize::MAX), Labels::Soft];
    let summary_words = FEATURE_NAMES.iter().position(|&f| f == "summary_words");
    let mut tried = Vec::new();
    let mut best: Option<(Labels, Option<usize>, Scorer, Rouge)> = None;
    for kind in kinds {
        let y: Vec<Vec<f64>> = train.iter().map(|d| labels(d, kind)).collect();
        for without in [None, summary_words] {
            let (bias, weights) = fit_logistic(&train, &y, without);
            for redundancy in REDUNDANCY {
                for floor in floors(&held, bias, &weights) {
                    let scorer = Scorer {
                        bias,
                        weights,
                        redundancy,
                        floor,
                        terms: TermLogOdds::default(),
                    };
                    let r = evaluate(&held, &scorer, k);
                    tried.push(Tried {
                        labels: kind,
                        word_odds: without.is_none(),
                        redundancy,
                        floor,
                        rouge: r,
                    });
                    if best.as_ref().is_none_or(|b| r.mean() > b.3.mean()) {
                        best = Some((kind, without, scorer, r));
                    }
                }
            }
        }
    }
    let (kind, without, chosen, held_out) =
        best.unwrap_or((Labels::Soft, None, Scorer::default(), Rouge::default()));
    let y: Vec<Vec<f64>> = all.iter().map(|d| labels(d, kind)).collect();
    let (bias, weights) = fit_logistic(&all, &y, without);
    // Word log-odds the scorer does not use are not written out.
    let terms = if without.is_none() {
        terms
    } else {
        TermLogOdds::default()
    };
    let lead = (1..=k)
        .map(|j| (j, evaluate_lead(&held, j)))
        .max_by(|a, b| a.1.r1.total_cmp(&b.1.r1))
        .unwrap_or((1, Rouge::default()));
    Fitted {
        scorer: Scorer {
            bias,
            weights,
            terms,
            ..chosen
        },
        labels: kind,
        held_out,
        lead,
        tried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summarize::NoWeights;

    const TEXT: &str = "Le maire a inauguré mardi le nouveau pont sur la Loire.\n\nLe chantier a duré trois ans et coûté 40 millions d'euros.\n\nLes riverains se plaignaient du bruit depuis des mois.\n\nLe pont sur la Loire ouvrira aux voitures le 1er juin, a dit le maire.";

    fn doc() -> Doc {
        prepare(
            TEXT,
            "Un pont sur la Loire",
            Lang::Fr,
            "Le nouveau pont sur la Loire, inauguré mardi par le maire, ouvrira aux voitures le 1er juin.",
            &NoWeights,
            &Scorer::default(),
        )
        .expect("doc")
    }

    #[test]
    fn rouge_matches_hand_counts() {
        let d = doc();
        let r = score(&d, &[0]);
        // "le maire a inauguré mardi le nouveau pont sur la loire" (11) vs
        // the 17-token reference: 10 unigrams shared (one "le" of the two
        // in the sentence is matched twice by the reference's two).
        assert!(r.r1 > 60.0 && r.r1 < 80.0, "{r}");
        assert_eq!(score(&d, &[]), Rouge::default());
        let perfect = Doc {
            tokens: vec![d.reference.clone()],
            ..d.clone()
        };
        let p = score(&perfect, &[0]);
        assert!((p.r1 - 100.0).abs() < 1e-9 && (p.r2 - 100.0).abs() < 1e-9);
        assert!((p.rl - 100.0).abs() < 1e-9);
        assert_eq!(lcs(&[1, 2, 3, 4], &[2, 4, 9]), 2);
    }

    #[test]
    fn the_oracle_picks_the_sentences_the_reference_paraphrases() {
        let d = doc();
        assert_eq!(d.x.len(), 4);
        // The last sentence shares the most with the reference; the
        // complaint about noise shares nothing worth its length.
        let o = oracle(&d, 2);
        assert!(o.contains(&3) && !o.contains(&2), "{o:?}");
        assert_eq!(oracle(&d, 1), [3]);
        let soft = labels(&d, Labels::Soft);
        assert!(soft.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(soft.contains(&1.0));
        assert!(soft[2] < soft[0] && soft[2] < soft[3]);
    }

    #[test]
    fn logistic_regression_recovers_a_separating_feature() {
        // Label = "first" flag: its weight must come out positive and the
        // fitted scorer must rank the first sentences on top.
        let d = doc();
        let mut y = vec![0.0; d.x.len()];
        y[0] = 1.0;
        let docs: Vec<Doc> = (0..20).map(|_| d.clone()).collect();
        let refs: Vec<&Doc> = docs.iter().collect();
        let ys = vec![y; 20];
        let (bias, weights) = fit_logistic(&refs, &ys, None);
        let s = Scorer {
            bias,
            weights,
            redundancy: 1.0,
            floor: NO_FLOOR,
            terms: TermLogOdds::default(),
        };
        assert_eq!(pick(&d, &s, 1), [0]);
        let p0 = 1.0 / (1.0 + (-s.score(&d.x[0])).exp());
        assert!(p0 > 0.5, "{p0}");
    }

    #[test]
    fn words_kept_in_summaries_get_positive_log_odds() {
        let pairs: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("Le ministre annonce jeudi un plan. Météo numéro {i} clémente."),
                    "Le ministre a annoncé un plan jeudi.".to_string(),
                )
            })
            .collect();
        let odds = term_log_odds(pairs.iter().map(|(a, r)| (a.as_str(), r.as_str())));
        assert!(odds["jeudi"] > 0.0 && odds["ministre"] > 0.0);
        assert!(odds["météo"] < 0.0 && odds["clémente"] < 0.0);
        // Seen in too few articles.
        assert!(!odds.contains_key("17"));
        assert!(term_log_odds(std::iter::empty()).is_empty());
    }

    #[test]
    fn solve_inverts_a_small_system() {
        let a = [[4.0, 1.0], [1.0, 3.0]];
        let x = solve(a, [1.0, 2.0]);
        assert!((4.0 * x[0] + x[1] - 1.0).abs() < 1e-12);
        assert!((x[0] + 3.0 * x[1] - 2.0).abs() < 1e-12);
    }
}
