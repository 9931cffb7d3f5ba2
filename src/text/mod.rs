//! Text pipeline: cleaning, language, sentence and word segmentation, all
//! keeping byte offsets into the caller's original text.

pub mod boilerplate;
pub mod clean;
pub mod lang;
pub mod sentences;
pub mod words;

pub use clean::{Cleaned, Segment, SegmentKind, clean};
pub use lang::Lang;
