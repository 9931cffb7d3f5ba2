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

    /// Platt map of the softmax over the labels `kept` marks; every other
    /// label gets 0. Generic in `kept`, so the call that keeps every label
    /// compiles without a per-label test.
    fn calibrated(&self, z: &[f32], kept: impl Fn(usize) -> bool + Copy) -> Vec<f32> {
        softmax_shifted(z, &self.offsets, self.t, kept)
            .into_iter()
            .enumerate()
            .map(|(k, q)| {
                if kept(k) {
                    platt(self.a, self.b, q)
                } else {
                    0.0
                }
            })
            .collect()
    }
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
        self.apply_among(lang, z, None)
    }

    /// [`Calibration::apply`] for a document known to be about one of the
    /// labels `among` marks (in label order; `None` = every label): the
    /// softmax runs over those labels only, so their probabilities are
    /// conditional on that knowledge, and every other label gets 0.
    pub fn apply_among(&self, lang: Lang, z: &[f32], among: Option<&[bool]>) -> Vec<f32> {
        let g = self.group(lang);
        match among {
            None => g.calibrated(z, |_| true),
            Some(among) => g.calibrated(z, |k| among.get(k).copied().unwrap_or(false)),
        }
    }
}

/// softmax(t z).
pub(crate) fn softmax(z: &[f32], t: f32) -> Vec<f32> {
    softmax_shifted(z, &[], t, |_| true)
}

/// softmax(t (z + d)) over the labels `kept` marks, the others 0 (all of
/// them when none is kept); `d` the offsets, and no offsets (or a count
/// that does not match, which a loaded model never has) is no shift.
fn softmax_shifted(z: &[f32], d: &[f32], t: f32, kept: impl Fn(usize) -> bool) -> Vec<f32> {
    let d = |k: usize| if d.len() == z.len() { d[k] } else { 0.0 };
    let mut e: Vec<f32> = z.iter().enumerate().map(|(k, &v)| t * (v + d(k))).collect();
    let max = e
        .iter()
        .enumerate()
        .filter(|&(k, _)| kept(k))
        .fold(f32::NEG_INFINITY, |m, (_, &v)| m.max(v));
    if max == f32::NEG_INFINITY {
        return vec![0.0; e.len()];
    }
    for (k, v) in e.iter_mut().enumerate() {
        *v = if kept(k) { (*v - max).exp() } else { 0.0 };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration() -> Calibration {
        let g = GroupCalibration {
            offsets: vec![0.3, -0.2, 0.0, 0.1],
            t: 0.8,
            a: 0.7,
            b: 0.2,
            n: 100,
        };
        Calibration {
            fr: g.clone(),
            en: g.clone(),
            und: g,
        }
    }

    #[test]
    fn every_label_among_the_candidates_is_no_restriction() {
        let z = [1.5, -0.3, 0.2, 2.0];
        let c = calibration();
        let all = c.apply(Lang::Fr, &z);
        assert_eq!(c.apply_among(Lang::Fr, &z, Some(&[true; 4])), all);
        assert_eq!(c.apply_among(Lang::Fr, &z, None), all);
    }

    #[test]
    fn candidates_share_the_softmax_and_keep_their_order() {
        let z = [1.5, -0.3, 0.2, 2.0];
        let mut c = calibration();
        let all = c.apply(Lang::En, &z);
        let among = c.apply_among(Lang::En, &z, Some(&[true, false, true, false]));
        assert_eq!((among[1], among[3]), (0.0, 0.0));
        assert!(among[0] > all[0] && among[2] > all[2], "{among:?}");
        assert!(among[0] > among[2]);
        // With the identity Platt map the candidates' probabilities add up to 1.
        c.en.a = 1.0;
        c.en.b = 0.0;
        let q = c.apply_among(Lang::En, &z, Some(&[true, false, true, false]));
        assert!((q[0] + q[2] - 1.0).abs() < 1e-6, "{q:?}");
        // No candidate at all: nothing scores.
        assert_eq!(c.apply_among(Lang::En, &z, Some(&[false; 4])), [0.0; 4]);
    }
}
