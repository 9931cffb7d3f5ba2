//! Unicode word segmentation and normalisation for features.

use unicode_segmentation::UnicodeSegmentation;

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
pub fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    text.unicode_word_indices().map(|(start, w)| Token {
        start,
        end: start + w.len(),
        text: w,
    })
}

/// Lowercased form of a word, as features see it.
pub fn normalize(word: &str) -> String {
    word.to_lowercase()
}
