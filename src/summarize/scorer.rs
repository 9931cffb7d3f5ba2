//! The learned sentence scorer: a logistic regression over the sentence
//! features, one per language, read from `models/summarizer.tsv`.
//!
//! The file is written by `cargo run --release --example train_summarizer`
//! (see [`super::learn`]) and embedded in the binary.

use rustc_hash::FxHashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::text::Lang;

use super::{FEATURE_NAMES, N_FEATURES};

/// The embedded weights file.
const EMBEDDED: &str = include_str!("../../models/summarizer.tsv");

/// Word -> learned log-odds of being kept in a reference summary. Looked
/// up once per distinct word of every summarized document, so it hashes
/// with FxHash, not SipHash: its keys come from the embedded weights file.
pub type TermLogOdds = FxHashMap<String, f32>;

/// Scores a sentence: `bias + w . x` is the log-odds that the sentence
/// belongs in the reference summary.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scorer {
    /// Intercept (does not change the ranking, only the reported score).
    pub bias: f32,
    /// One weight per feature, in [`FEATURE_NAMES`] order.
    pub weights: [f32; N_FEATURES],
    /// A sentence more similar than this (tf-idf cosine) to one already
    /// chosen is skipped.
    pub redundancy: f32,
    /// Log-odds a sentence needs to join a summary that already has one:
    /// the summary stops short of the sentence budget when the next best
    /// sentence would cost more ROUGE precision than it brings recall
    /// (`-inf`-like values, e.g. -100, turn it off).
    pub floor: f32,
    /// Learned log-odds, relative to the average word, that a content word
    /// of the article is also in its reference summary (words not listed
    /// count 0); feeds the `summary_words` feature.
    pub terms: TermLogOdds,
}

/// The English and French scorers of one weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorerSet {
    /// For English and undetermined text.
    pub en: Scorer,
    /// For French.
    pub fr: Scorer,
}

impl Scorer {
    /// Log-odds of a sentence with features `x`.
    pub fn score(&self, x: &[f32; N_FEATURES]) -> f32 {
        self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()
    }

    /// The embedded scorer for `lang`; undetermined text gets the English
    /// one.
    pub fn for_lang(lang: Lang) -> &'static Scorer {
        let set = embedded();
        match lang {
            Lang::Fr => &set.fr,
            Lang::En | Lang::Und => &set.en,
        }
    }
}

/// The weights file compiled into the binary (checked by a unit test, so
/// the parse cannot fail in a build whose tests pass).
fn embedded() -> &'static ScorerSet {
    static SET: OnceLock<ScorerSet> = OnceLock::new();
    SET.get_or_init(|| {
        ScorerSet::parse(EMBEDDED).unwrap_or_else(|e| panic!("models/summarizer.tsv: {e}"))
    })
}

impl ScorerSet {
    /// Reads the TSV weights file: `#` comments, then `lang name value`
    /// rows for `bias`, `redundancy`, `floor` and every feature, in both
    /// languages, and `lang w:word value` rows for the term log-odds.
    pub fn parse(text: &str) -> Result<ScorerSet, String> {
        let mut slots: [[Option<f32>; N_FEATURES + 3]; 2] = [[None; N_FEATURES + 3]; 2];
        let mut terms: [TermLogOdds; 2] = Default::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [lang, name, value] = cols[..] else {
                return Err(format!("line {}: expected lang, name, value", n + 1));
            };
            let l = match lang {
                "en" => 0,
                "fr" => 1,
                other => return Err(format!("line {}: unknown language {other:?}", n + 1)),
            };
            let parse = |value: &str| -> Result<f32, String> {
                let v: f32 = value
                    .parse()
                    .map_err(|e| format!("line {}: {value:?}: {e}", n + 1))?;
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(format!("line {}: {value:?} is not finite", n + 1))
                }
            };
            if let Some(word) = name.strip_prefix("w:") {
                terms[l].insert(word.to_string(), parse(value)?);
                continue;
            }
            let k = match name {
                "bias" => N_FEATURES,
                "redundancy" => N_FEATURES + 1,
                "floor" => N_FEATURES + 2,
                _ => FEATURE_NAMES
                    .iter()
                    .position(|f| *f == name)
                    .ok_or_else(|| format!("line {}: unknown feature {name:?}", n + 1))?,
            };
            slots[l][k] = Some(parse(value)?);
        }
        let scorer = |l: usize| -> Result<Scorer, String> {
            let get = |k: usize| {
                let name = match k {
                    k if k < N_FEATURES => FEATURE_NAMES[k],
                    k if k == N_FEATURES => "bias",
                    k if k == N_FEATURES + 1 => "redundancy",
                    _ => "floor",
                };
                slots[l][k].ok_or_else(|| format!("{} {name} is missing", ["en", "fr"][l]))
            };
            let mut weights = [0.0; N_FEATURES];
            for (k, w) in weights.iter_mut().enumerate() {
                *w = get(k)?;
            }
            Ok(Scorer {
                bias: get(N_FEATURES)?,
                weights,
                redundancy: get(N_FEATURES + 1)?,
                floor: get(N_FEATURES + 2)?,
                terms: terms[l].clone(),
            })
        };
        Ok(ScorerSet {
            en: scorer(0)?,
            fr: scorer(1)?,
        })
    }

    /// The TSV weights file, `header` lines first as `#` comments.
    pub fn to_tsv(&self, header: &[String]) -> String {
        let mut out = String::new();
        for line in header {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "# lang\tname\tvalue");
        for (lang, s) in [("en", &self.en), ("fr", &self.fr)] {
            let _ = writeln!(out, "{lang}\tbias\t{}", s.bias);
            let _ = writeln!(out, "{lang}\tredundancy\t{}", s.redundancy);
            let _ = writeln!(out, "{lang}\tfloor\t{}", s.floor);
            for (name, w) in FEATURE_NAMES.iter().zip(&s.weights) {
                let _ = writeln!(out, "{lang}\t{name}\t{w}");
            }
            let mut terms: Vec<(&String, &f32)> = s.terms.iter().collect();
            terms.sort_by(|a, b| a.0.cmp(b.0));
            for (word, w) in terms {
                let _ = writeln!(out, "{lang}\tw:{word}\t{w}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_weights_parse_and_round_trip() {
        let set = ScorerSet::parse(EMBEDDED).expect("embedded weights");
        assert_eq!(ScorerSet::parse(&set.to_tsv(&[])).expect("round trip"), set);
        for s in [&set.en, &set.fr] {
            assert!(s.weights.iter().any(|&w| w != 0.0));
            assert!(s.redundancy > 0.0);
        }
        assert_eq!(Scorer::for_lang(Lang::Und), Scorer::for_lang(Lang::En));
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        let good = ScorerSet::parse(EMBEDDED).expect("embedded").to_tsv(&[]);
        let missing: String = good
            .lines()
            .filter(|l| !l.starts_with("fr\tdigits"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            ScorerSet::parse(&missing)
                .unwrap_err()
                .contains("fr digits")
        );
        for bad in [
            "xx\tbias\t1",
            "en\tnope\t1",
            "en\tbias\tone",
            "en\tbias",
            "en\tbias\tNaN",
            "fr\tw:mot\tx",
        ] {
            let err = ScorerSet::parse(bad).unwrap_err();
            assert!(err.starts_with("line 1"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_score_is_bias_plus_dot_product() {
        let mut s = Scorer {
            bias: -1.0,
            weights: [0.0; N_FEATURES],
            redundancy: 0.7,
            floor: -100.0,
            terms: TermLogOdds::default(),
        };
        s.weights[0] = 2.0;
        s.weights[3] = -0.5;
        let mut x = [0.0; N_FEATURES];
        x[0] = 1.0;
        x[3] = 2.0;
        x[5] = 9.0;
        assert!((s.score(&x) - 0.0).abs() < 1e-6);
    }
}
