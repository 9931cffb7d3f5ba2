//! Language of a dispatch: the caller's hint, or detection.

use serde::{Deserialize, Serialize};

/// Languages the service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
    /// Undetermined: detection was unsure.
    Und,
}

impl Lang {
    /// ISO 639-1 code ("fr", "en") or "und".
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Und => "und",
        }
    }

    /// Parses a caller's hint: "" means none; "fr"/"en" (any case) a language.
    pub fn from_hint(hint: &str) -> crate::Result<Option<Lang>> {
        match hint.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "fr" => Ok(Some(Lang::Fr)),
            "en" => Ok(Some(Lang::En)),
            other => Err(crate::Error::invalid(format!(
                "language hint {other:?} is not supported: use \"fr\", \"en\" or leave it empty to detect"
            ))),
        }
    }
}

/// Below this whatlang confidence the guess is too close to call.
///
/// whatlang's own `is_reliable` (0.9) rejects many clean two-line French
/// dispatches; 0.5 keeps those while still refusing one-word inputs.
const MIN_CONFIDENCE: f64 = 0.5;

/// Fewer words than this never settle a language: "Paris" or "Le Mans" are
/// valid in both.
const MIN_WORDS: usize = 3;

/// Detects French or English; [`Lang::Und`] when unsure.
pub fn detect(text: &str) -> Lang {
    // Detection cost grows with length; the first 4 KiB settle it.
    let sample = prefix(text, 4096);
    crate::work::add(sample.len());
    let words = sample
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(MIN_WORDS)
        .count();
    if words < MIN_WORDS {
        return Lang::Und;
    }
    let Some(info) = whatlang::detect(sample) else {
        return Lang::Und;
    };
    if info.confidence() < MIN_CONFIDENCE {
        return Lang::Und;
    }
    match info.lang() {
        whatlang::Lang::Fra => Lang::Fr,
        whatlang::Lang::Eng => Lang::En,
        _ => Lang::Und,
    }
}

/// The longest prefix of `text` of at most `max` bytes ending on a char
/// boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_dispatches_are_recognised() {
        let fr = "Les présidents iranien et russe ont salué la victoire de l'armée syrienne à Alep lors d'un entretien téléphonique samedi soir.";
        let en = "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn for the three months to December.";
        assert_eq!(detect(fr), Lang::Fr);
        assert_eq!(detect(en), Lang::En);
    }

    #[test]
    fn other_languages_and_scraps_are_undetermined() {
        assert_eq!(detect(""), Lang::Und);
        assert_eq!(detect("Paris"), Lang::Und);
        assert_eq!(detect("12 345 !!"), Lang::Und);
        assert_eq!(
            detect(
                "Der Bundestag hat am Donnerstag das neue Gesetz mit großer Mehrheit beschlossen."
            ),
            Lang::Und
        );
        assert_eq!(
            detect("Путин и Роухани приветствовали победу сирийской армии в Алеппо."),
            Lang::Und
        );
    }

    #[test]
    fn a_huge_multibyte_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(5000) + " la victoire de l'armée";
        let _ = detect(&text);
        assert!(prefix(&text, 4095).len() <= 4095);
    }
}
