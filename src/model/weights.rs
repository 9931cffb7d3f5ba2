//! A head's weights as the model file stores them (f16, feature by
//! feature, both heads side by side) and the logits they give a document.

use std::sync::Arc;

use half::f16;

use super::Head;

/// A head's weights, stored feature by feature: the weights of every label
/// for feature column `j` are `data[j * stride + offset..][..labels]`. The
/// two heads of a model share one `data` ([`Weights::joint`]): a feature's
/// topic weights, then its region weights, so that scoring a feature reads
/// both from the same few cache lines (72 bytes for the 36 labels of the
/// default model). They are kept as the model file stores them, in f16
/// (training rounds them so before it builds a head:
/// `crate::model::file::quantize`), which widens to f32 exactly.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    labels: usize,
    features: usize,
    /// Floats per feature in `data`.
    stride: usize,
    /// Where this head's weights start within a feature's floats.
    offset: usize,
    data: Arc<[f16]>,
    /// No weight of `data` is infinite or NaN, so [`widen_finite`] widens
    /// every one of them.
    finite: bool,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            labels: 0,
            features: 0,
            stride: 0,
            offset: 0,
            data: Arc::from(Vec::new()),
            finite: true,
        }
    }
}

impl PartialEq for Weights {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.features == other.features
            && (0..self.features).all(|j| self.column(j) == other.column(j))
    }
}

impl Weights {
    /// From one row per label, each with one weight per feature (a shorter
    /// row's missing weights are 0), rounded to f16.
    pub(crate) fn from_rows(rows: &[Vec<f32>]) -> Weights {
        let [w, _] = Weights::joint([rows, &[]], f16::from_f32);
        w
    }

    /// The weights of two heads in one shared table, each head from one row
    /// per label (as [`Weights::from_rows`]), converted by `to_f16`.
    pub(crate) fn joint<T: Copy>(heads: [&[Vec<T>]; 2], to_f16: impl Fn(T) -> f16) -> [Weights; 2] {
        let labels = heads.map(<[Vec<T>]>::len);
        let features = heads.map(|rows| rows.iter().map(Vec::len).max().unwrap_or(0));
        let stride = labels[0] + labels[1];
        let offsets = [0, labels[0]];
        let mut data = vec![f16::ZERO; stride * features[0].max(features[1])];
        for (rows, offset) in heads.iter().zip(offsets) {
            for (l, row) in rows.iter().enumerate() {
                for (j, &w) in row.iter().enumerate() {
                    data[j * stride + offset + l] = to_f16(w);
                }
            }
        }
        let finite = data.iter().all(|w| w.is_finite());
        let data: Arc<[f16]> = Arc::from(data);
        [0, 1].map(|h| Weights {
            labels: labels[h],
            features: features[h],
            stride,
            offset: offsets[h],
            data: Arc::clone(&data),
            finite,
        })
    }

    /// One row per label, each with one weight per feature.
    pub(crate) fn rows(&self) -> Vec<Vec<f32>> {
        (0..self.labels)
            .map(|l| {
                (0..self.features)
                    .map(|j| self.get(l, j).unwrap_or(0.0))
                    .collect()
            })
            .collect()
    }

    /// The weights of every label for feature column `j`.
    fn column(&self, j: usize) -> Option<&[f16]> {
        let start = j * self.stride + self.offset;
        (j < self.features)
            .then(|| self.data.get(start..start + self.labels))
            .flatten()
    }

    /// Reads the first and last weight of the columns `idx` (answering a
    /// value made of them, for `black_box`), so that the sums that follow
    /// find them in cache.
    fn read_ahead(&self, idx: &[u32]) -> u32 {
        idx.iter()
            .filter_map(|&j| self.column(j as usize))
            .fold(0, |acc, c| {
                acc ^ u32::from(c.first().map_or(0, |w| w.to_bits()))
                    ^ u32::from(c.last().map_or(0, |w| w.to_bits()))
            })
    }

    /// The weight of label `l` for feature column `j`.
    pub(super) fn get(&self, l: usize, j: usize) -> Option<f32> {
        (l < self.labels)
            .then(|| self.column(j).map(|c| widen(c[l])))
            .flatten()
    }
}

/// `h` as f32, exactly as [`f16::to_f32`] (but for the payload bits of a
/// NaN), inline and without its run-time CPU feature check: the exponent
/// and mantissa moved into place, then scaled by 2^112 (the difference of
/// the exponent biases), which is exact for zeros, subnormals and normals
/// alike.
#[inline]
fn widen(h: f16) -> f32 {
    let bits = u32::from(h.to_bits());
    let sign = (bits & 0x8000) << 16;
    let magnitude = bits & 0x7fff;
    let v = if magnitude >= 0x7c00 {
        // Infinity or NaN.
        f32::from_bits(0x7f80_0000 | (magnitude & 0x3ff) << 13)
    } else {
        f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000)
    };
    f32::from_bits(v.to_bits() | sign)
}

/// [`widen`] of a finite `h`: without the test for infinity and NaN, so
/// that a loop over a column's weights is straight-line code.
#[inline]
fn widen_finite(h: f16) -> f32 {
    let bits = u32::from(h.to_bits());
    let v = f32::from_bits((bits & 0x7fff) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(v.to_bits() | (bits & 0x8000) << 16)
}

/// Adds `v` times each weight of `col` (widened by `widen`) to `z`, or
/// `v * 0.0` to each of `z` for a column the table does not hold.
#[inline]
fn add_column(z: &mut [f32], v: f32, col: Option<&[f16]>, widen: impl Fn(f16) -> f32) {
    match col {
        Some(col) => {
            for (z, &w) in z.iter_mut().zip(col) {
                *z += v * widen(w);
            }
        }
        None => z.iter_mut().for_each(|z| *z += v * 0.0),
    }
}

impl Weights {
    /// Adds `v` times each weight of `col`, a column of this table, to `z`
    /// ([`add_column`]), widened without the infinity and NaN test when the
    /// table has neither.
    #[inline]
    fn add(&self, z: &mut [f32], v: f32, col: Option<&[f16]>) {
        if self.finite {
            add_column(z, v, col, widen_finite);
        } else {
            add_column(z, v, col, widen);
        }
    }
}

/// Feature columns read ahead at a time: a few cache lines each, all of
/// them fit in L1 with room to spare.
const READ_AHEAD: usize = 32;

/// Logits of each of `heads` for one document's features `(idx, val)`, in
/// label order: each label's terms added in feature order, as a dot
/// product per label would add them, so the logits are the same to the
/// bit; reading the weights feature by feature (and the heads of a feature
/// together) touches a few adjacent cache lines per feature instead of one
/// per label and feature.
pub(super) fn logits<const N: usize>(heads: [&Head; N], idx: &[u32], val: &[f32]) -> [Vec<f32>; N] {
    // -0.0: what `Iterator::sum` starts a float sum from.
    let mut z = heads.map(|h| vec![-0.0f32; h.weights.labels]);
    for (idx, val) in idx.chunks(READ_AHEAD).zip(val.chunks(READ_AHEAD)) {
        // The columns are scattered over megabytes: read those of a chunk
        // once before its sums, in a loop with no branch, so that their
        // cache misses overlap instead of coming one column at a time (a
        // chunk at a time, so that they are still in L1 for the sums).
        for h in heads {
            std::hint::black_box(h.weights.read_ahead(idx));
        }
        for (&j, &v) in idx.iter().zip(val) {
            for (z, h) in z.iter_mut().zip(heads) {
                h.weights.add(z, v, h.weights.column(j as usize));
            }
        }
    }
    for (z, h) in z.iter_mut().zip(heads) {
        for (z, &b) in z.iter_mut().zip(&h.bias) {
            *z += b;
        }
    }
    z
}

/// [`logits`] of the topic and region heads when they share one table side
/// by side ([`Weights::joint`]): a feature's weights for both heads are one
/// run of `stride` floats, summed into one vector of logits that is then
/// split, so the loop over labels runs once per feature over all of them.
/// Each label's terms are added in feature order, as in [`logits`], so the
/// logits are the same to the bit.
pub(super) fn logits_pair(
    [topics, regions]: [&Head; 2],
    idx: &[u32],
    val: &[f32],
) -> [Vec<f32>; 2] {
    let (t, r) = (&topics.weights, &regions.weights);
    let side_by_side = Arc::ptr_eq(&t.data, &r.data)
        && t.offset == 0
        && r.offset == t.labels
        && t.stride == t.labels + r.labels
        && t.features == r.features;
    if !side_by_side {
        return logits([topics, regions], idx, val);
    }
    let stride = t.stride;
    // -0.0: what `Iterator::sum` starts a float sum from.
    let mut z = vec![-0.0f32; stride];
    for (idx, val) in idx.chunks(READ_AHEAD).zip(val.chunks(READ_AHEAD)) {
        // Read ahead as in [`logits`].
        std::hint::black_box(t.read_ahead(idx) ^ r.read_ahead(idx));
        for (&j, &v) in idx.iter().zip(val) {
            let j = j as usize;
            let start = j * stride;
            let col = t.data.get(start..start + stride).filter(|_| j < t.features);
            t.add(&mut z, v, col);
        }
    }
    let mut zr = z.split_off(t.labels);
    for (z, &b) in z.iter_mut().zip(&topics.bias) {
        *z += b;
    }
    for (z, &b) in zr.iter_mut().zip(&regions.bias) {
        *z += b;
    }
    [z, zr]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_widen_to_f32_exactly() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            if h.is_nan() {
                assert!(widen(h).is_nan(), "{bits:#x}");
            } else {
                assert_eq!(widen(h).to_bits(), h.to_f32().to_bits(), "{bits:#x}");
            }
            if h.is_finite() {
                assert_eq!(widen_finite(h).to_bits(), widen(h).to_bits(), "{bits:#x}");
            }
        }
    }
}
