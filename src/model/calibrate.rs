//! Probability calibration of the topic head, as applied to one dispatch:
//! per language group, a per-label offset that takes the training corpora's
//! label mix out of the logits, a softmax with a temperature, then Platt
//! scaling of each label's log-odds.
//!
//! ```text
//! q_l = softmax(t * (z + d))_l
//! p_l = sigmoid(a * ln(q_l / (1 - q_l)) + b)
//! ```
//!
//! The offsets `d` move a label up or down for every document alike (a
//! label the corpora file often loses its head start); the two maps after
//! them are monotone in `z_l + d_l`. How the offsets and maps are fitted is
//! `crate::train::calibrate`'s business.

use serde::{Deserialize, Serialize};

use crate::text::Lang;

/// Calibration of one language group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCalibration {
    /// Offset added to each label's logit before the softmax, in label
    /// order; empty for none.
    pub offsets: Vec<f32>,
    /// Softmax temperature factor applied to the offset logits.
    pub t: f32,
    /// Platt slope on the softmax log-odds.
    pub a: f32,
    /// Platt intercept.
    pub b: f32,
    /// Slice records it was fitted on.
    pub n: u32,
}

impl GroupCalibration {
    /// No change to the scores' ranking; softmax at t = 1, Platt identity.
    pub const IDENTITY: GroupCalibration = GroupCalibration {
        offsets: Vec::new(),
        t: 1.0,
        a: 1.0,
        b: 0.0,
        n: 0,
    };
}

/// A head's calibration: per language, and a fallback for `und`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// French documents.
    pub fr: GroupCalibration,
    /// English documents.
    pub en: GroupCalibration,
    /// Undetermined language: fitted on every slice record.
    pub und: GroupCalibration,
}

impl Calibration {
    /// The group of a language.
    pub fn group(&self, lang: Lang) -> &GroupCalibration {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
            Lang::Und => &self.und,
        }
    }

    /// Calibrated probabilities from a document's logits (in label order).
    pub fn apply(&self, lang: Lang, z: &[f32]) -> Vec<f32> {
        let g = self.group(lang);
        softmax_shifted(z, &g.offsets, g.t)
            .into_iter()
            .map(|q| platt(g.a, g.b, q))
            .collect()
    }
}

/// softmax(t z).
pub(crate) fn softmax(z: &[f32], t: f32) -> Vec<f32> {
    softmax_shifted(z, &[], t)
}

/// softmax(t (z + d)), `d` the offsets; no offsets (or a count that does
/// not match, which a loaded model never has) is softmax(t z).
fn softmax_shifted(z: &[f32], d: &[f32], t: f32) -> Vec<f32> {
    let d = |k: usize| if d.len() == z.len() { d[k] } else { 0.0 };
    let mut e: Vec<f32> = z.iter().enumerate().map(|(k, &v)| t * (v + d(k))).collect();
    let max = e.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for v in &mut e {
        *v = (*v - max).exp();
    }
    let sum: f32 = e.iter().sum();
    for v in &mut e {
        *v /= sum;
    }
    e
}

pub(crate) fn logit(q: f64) -> f64 {
    let q = q.clamp(1e-7, 1.0 - 1e-7);
    (q / (1.0 - q)).ln()
}

pub(crate) fn platt(a: f32, b: f32, q: f32) -> f32 {
    (1.0 / (1.0 + (-(f64::from(a) * logit(f64::from(q)) + f64::from(b))).exp())) as f32
}

/// Index and value of the largest score (the first on ties; `(0, -inf)`
/// when empty).
pub(crate) fn top(scores: &[f32]) -> (usize, f32) {
    scores.iter().enumerate().fold(
        (0, f32::NEG_INFINITY),
        |m, (k, &v)| if v > m.1 { (k, v) } else { m },
    )
}

/// Logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}
