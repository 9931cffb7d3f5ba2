//! Probability calibration of the topic head, as applied to one dispatch:
//! per language group, a softmax over the one-vs-rest logits with a
//! temperature and the desks' label shifts, then Platt scaling of each
//! label's log-odds.
//!
//! ```text
//! q_l = softmax(t * z + s)_l                   (s: label shifts mixed by the desk probabilities)
//! p_l = sigmoid(a * ln(q_l / (1 - q_l)) + b)   (the language group's Platt map)
//! ```
//!
//! With per-desk maps, the Platt step is a mixture of one Platt map per
//! desk, weighted by the desk probabilities `w_d` of the dispatch:
//! `p_l = sum_d w_d sigmoid(a_d ln(q_l / (1 - q_l)) + b_d)`.
//!
//! Both maps are monotone in `z_l` for a fixed document, so the ranking of
//! a document's labels, and hence top-1 accuracy, is unchanged. How the
//! maps are fitted is `crate::train::calibrate`'s business.

use serde::{Deserialize, Serialize};

use crate::text::Lang;

/// Calibration of one language group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupCalibration {
    /// Softmax temperature factor applied to the logits.
    pub t: f32,
    /// Platt slope on the softmax log-odds.
    pub a: f32,
    /// Platt intercept.
    pub b: f32,
    /// Floor of a desk prior, which this format keeps at 1 (no prior);
    /// a file with another value is refused.
    pub floor: f32,
    /// Slice records it was fitted on.
    pub n: u32,
}

impl GroupCalibration {
    /// No change to the scores' ranking; softmax at t = 1, Platt identity.
    pub const IDENTITY: GroupCalibration = GroupCalibration {
        t: 1.0,
        a: 1.0,
        b: 0.0,
        floor: 1.0,
        n: 0,
    };
}

/// The Platt map of one desk (its top-label log-odds to a probability).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeskPlatt {
    /// Platt slope, positive.
    pub a: f32,
    /// Platt intercept.
    pub b: f32,
    /// Slice weight it was fitted on (sum of the records' desk probabilities).
    pub n: f32,
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
    /// One Platt map per desk, in desk order (empty: the
    /// language group's Platt map applies).
    pub desks: Vec<DeskPlatt>,
    /// Per desk (in its order), per label: the shift of the label's score
    /// from the desk's training label mix to the mix it publishes,
    /// `ln(dev share / training share)`, mixed by the desk probabilities
    /// (empty: no shift). Format version 5.
    pub shifts: Vec<Vec<f32>>,
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

    /// Calibrated probabilities from a document's logits (in label order)
    /// and its desk probabilities `desks` (in desk order; empty without
    /// desks).
    pub fn apply(&self, lang: Lang, z: &[f32], desks: &[f32]) -> Vec<f32> {
        let g = self.group(lang);
        let total: f32 = desks.iter().sum();
        let mixed = !(total.is_nan() || total <= 0.0);
        let q = softmax(z, g.t, &mixed_shift(&self.shifts, desks, z.len()));
        if self.desks.is_empty() || self.desks.len() != desks.len() || !mixed {
            return q.into_iter().map(|q| platt(g.a, g.b, q)).collect();
        }
        q.into_iter()
            .map(|q| {
                // One log-odds per label, whatever the number of desks.
                let x = logit(f64::from(q));
                desks
                    .iter()
                    .zip(&self.desks)
                    .map(|(&w, d)| w * platt_of_logit(d.a, d.b, x))
                    .sum::<f32>()
                    / total
            })
            .collect()
    }
}

/// softmax(t z + o); `o` may be empty (no offsets).
pub(crate) fn softmax(z: &[f32], t: f32, o: &[f32]) -> Vec<f32> {
    let s: Vec<f32> = z
        .iter()
        .enumerate()
        .map(|(k, &v)| t * v + o.get(k).copied().unwrap_or(0.0))
        .collect();
    let max = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let e: Vec<f32> = s.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

pub(crate) fn logit(q: f64) -> f64 {
    let q = q.clamp(1e-7, 1.0 - 1e-7);
    (q / (1.0 - q)).ln()
}

pub(crate) fn platt(a: f32, b: f32, q: f32) -> f32 {
    platt_of_logit(a, b, logit(f64::from(q)))
}

/// [`platt`] of a probability whose log-odds `x` are already known.
fn platt_of_logit(a: f32, b: f32, x: f64) -> f32 {
    (1.0 / (1.0 + (-(f64::from(a) * x + f64::from(b))).exp())) as f32
}

/// The label-shift offsets `apply` adds for desk probabilities `desks`:
/// each desk's shifts mixed by its probability (empty: none).
pub(crate) fn mixed_shift(shifts: &[Vec<f32>], desks: &[f32], n: usize) -> Vec<f32> {
    let total: f32 = desks.iter().sum();
    if shifts.len() != desks.len() || total.is_nan() || total <= 0.0 {
        return Vec::new();
    }
    let mut o = vec![0.0; n];
    for (&w, shift) in desks.iter().zip(shifts) {
        for (o, &s) in o.iter_mut().zip(shift) {
            *o += w * s / total;
        }
    }
    o
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
