//! Removes scraped boilerplate, keeping byte offsets into the original text.

use std::ops::Range;

/// What a segment of the original text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// The headline found at the top of a scraped page.
    Headline,
    /// Body text: what the story says.
    Body,
    /// A photo caption.
    Caption,
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

    /// Body spans, in order.
    pub fn body(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Body)
            .map(|s| s.start..s.end)
    }

    /// Body spans of `src` joined by newlines.
    pub fn body_text(&self, src: &str) -> String {
        let mut out = String::new();
        for r in self.body() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&src[r]);
        }
        out
    }
}

/// Splits `text` into headline, body, caption and boilerplate segments.
pub fn clean(text: &str) -> Cleaned {
    let mut segments = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let start = offset + (line.len() - line.trim_start().len());
            segments.push(Segment {
                start,
                end: start + trimmed.len(),
                kind: SegmentKind::Body,
            });
        }
        offset += line.len();
    }
    Cleaned { segments }
}
