//! Sparse L2-regularised binary logistic regression (L-BFGS, per-sample
//! weights) behind linfa's `Fit`/`PredictInplace`, and one-vs-rest over labels.
//!
//! linfa-logistic only takes dense `Array2`; our corpora (~40k documents x
//! 100k features) must stay sparse. The objective is scikit-learn's:
//! `0.5 ||w||^2 + C sum_i s_i log(1 + exp(-y_i (x_i.w + b)))`, intercept not
//! penalised, so `C` means the same in bench/peer_sklearn.py.

use std::collections::VecDeque;

use linfa::dataset::Records;
use linfa::prelude::*;
use ndarray::Array1;
use rayon::prelude::*;

use super::vocab::Features;
use crate::model::calibrate::sigmoid;

/// Sparse records for linfa: a borrowed CSR matrix (linfa implements
/// `Records` only for ndarray types, and the orphan rule forbids `CsMat`).
#[derive(Debug, Clone, Copy)]
pub struct SparseRecords<'a>(pub &'a Features);

impl Records for SparseRecords<'_> {
    type Elem = f32;

    fn nsamples(&self) -> usize {
        self.0.rows()
    }

    fn nfeatures(&self) -> usize {
        self.0.cols()
    }
}

/// Why a fit was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolverError {
    /// `C` must be a positive finite number.
    #[error("C is {0}; use a positive number")]
    InvalidC(f64),
    /// `max_iter` must be positive.
    #[error("max_iter is 0; use at least 1")]
    InvalidMaxIter,
    /// `tol` must be a positive finite number.
    #[error("tol is {0}; use a positive number")]
    InvalidTol(f64),
    /// Targets, weights and records disagree in length.
    #[error("{what} has {got} entries for {rows} samples")]
    Shape {
        /// Which array.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Samples.
        rows: usize,
    },
    /// An error from linfa (kept as text so the error stays `Clone + Eq`).
    #[error("{0}")]
    Linfa(String),
}

impl From<linfa::Error> for SolverError {
    fn from(e: linfa::Error) -> Self {
        SolverError::Linfa(e.to_string())
    }
}

/// Checked hyperparameters of [`LogisticParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidLogisticParams {
    c: f64,
    max_iter: usize,
    tol: f64,
    memory: usize,
}

/// Unchecked hyperparameters; `fit` checks them (linfa `ParamGuard`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticParams(ValidLogisticParams);

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams(ValidLogisticParams {
            c: 1.0,
            max_iter: 300,
            tol: 1e-4,
            memory: 10,
        })
    }
}

impl LogisticParams {
    /// Defaults: C = 1, 300 iterations, tol 1e-4 (gradient norm relative to
    /// its start), 10 L-BFGS pairs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inverse regularisation strength.
    pub fn c(mut self, c: f64) -> Self {
        self.0.c = c;
        self
    }

    /// Most L-BFGS iterations.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }

    /// Stop when `|grad| <= tol * |grad at start|`.
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
}

impl ParamGuard for LogisticParams {
    type Checked = ValidLogisticParams;
    type Error = SolverError;

    fn check_ref(&self) -> Result<&ValidLogisticParams, SolverError> {
        let p = &self.0;
        if !(p.c.is_finite() && p.c > 0.0) {
            return Err(SolverError::InvalidC(p.c));
        }
        if p.max_iter == 0 {
            return Err(SolverError::InvalidMaxIter);
        }
        if !(p.tol.is_finite() && p.tol > 0.0) {
            return Err(SolverError::InvalidTol(p.tol));
        }
        Ok(p)
    }

    fn check(self) -> Result<ValidLogisticParams, SolverError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted binary model: `P(y) = sigmoid(x.w + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLogistic {
    /// One weight per feature.
    pub weights: Vec<f32>,
    /// Intercept.
    pub intercept: f32,
    /// L-BFGS iterations run.
    pub iterations: usize,
    /// Whether the gradient tolerance was reached.
    pub converged: bool,
}

/// `log(1 + exp(t))` without overflow.
fn log1pexp(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The weighted objective and its gradient at `w` (last entry = intercept).
struct Problem<'a> {
    x: &'a Features,
    y: Vec<f64>,
    s: Vec<f64>,
    c: f64,
}

impl Problem<'_> {
    fn eval(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.x.cols();
        let b = w[d];
        let indptr = self.x.indptr();
        let indptr = indptr.raw_storage();
        let indices = self.x.indices();
        let data = self.x.data();
        grad[..d].copy_from_slice(&w[..d]);
        grad[d] = 0.0;
        let mut f = 0.5 * dot(&w[..d], &w[..d]);
        for i in 0..self.x.rows() {
            let s = self.s[i];
            if s == 0.0 {
                continue;
            }
            let (lo, hi) = (indptr[i], indptr[i + 1]);
            let mut z = b;
            for k in lo..hi {
                z += f64::from(data[k]) * w[indices[k] as usize];
            }
            let y = self.y[i];
            let t = -y * z;
            f += self.c * s * log1pexp(t);
            // d loss / dz = -y * sigmoid(t)
            let sig = 1.0 / (1.0 + (-t).exp());
            let r = self.c * s * (-y) * sig;
            if r != 0.0 {
                for k in lo..hi {
                    grad[indices[k] as usize] += r * f64::from(data[k]);
                }
                grad[d] += r;
            }
        }
        f
    }
}

impl<'a> Fit<SparseRecords<'a>, Array1<bool>, SolverError> for ValidLogisticParams {
    type Object = FittedLogistic;

    fn fit(
        &self,
        dataset: &DatasetBase<SparseRecords<'a>, Array1<bool>>,
    ) -> Result<FittedLogistic, SolverError> {
        let x = dataset.records.0;
        let rows = x.rows();
        let targets = dataset.targets();
        if targets.len() != rows {
            return Err(SolverError::Shape {
                what: "targets",
                got: targets.len(),
                rows,
            });
        }
        let s: Vec<f64> = match dataset.weights() {
            Some(w) if w.len() != rows => {
                return Err(SolverError::Shape {
                    what: "weights",
                    got: w.len(),
                    rows,
                });
            }
            Some(w) => w.iter().map(|&v| f64::from(v.max(0.0))).collect(),
            None => vec![1.0; rows],
        };
        let y = targets
            .iter()
            .map(|&t| if t { 1.0 } else { -1.0 })
            .collect();
        let problem = Problem { x, y, s, c: self.c };
        Ok(self.lbfgs(&problem))
    }
}

/// L-BFGS memory: (step, gradient change, 1 / their dot product), oldest
/// first.
type History = VecDeque<(Vec<f64>, Vec<f64>, f64)>;

/// The L-BFGS descent direction `-H g` by the two-loop recursion; `gn` is
/// the gradient norm, which scales the first step.
fn direction(hist: &History, g: &[f64], gn: f64) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(hist.len());
    for (sv, yv, rho) in hist.iter().rev() {
        let a = rho * dot(sv, &q);
        for (qi, yi) in q.iter_mut().zip(yv) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    let gamma = match hist.back() {
        Some((sv, yv, _)) => dot(sv, yv) / dot(yv, yv),
        None => 1.0 / gn,
    };
    for qi in &mut q {
        *qi *= gamma;
    }
    for ((sv, yv, rho), a) in hist.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(yv, &q);
        for (qi, si) in q.iter_mut().zip(sv) {
            *qi += (a - b) * si;
        }
    }
    q.into_iter().map(|v| -v).collect()
}

impl ValidLogisticParams {
    /// Minimises the problem with L-BFGS and Armijo backtracking.
    fn lbfgs(&self, p: &Problem<'_>) -> FittedLogistic {
        let n = p.x.cols() + 1;
        let mut w = vec![0.0f64; n];
        let mut g = vec![0.0f64; n];
        let mut f = p.eval(&w, &mut g);
        let g0 = dot(&g, &g).sqrt();
        let mut hist: History = VecDeque::new();
        let mut w_new = vec![0.0f64; n];
        let mut g_new = vec![0.0f64; n];
        let mut converged = false;
        let mut iterations = 0;
        for it in 0..self.max_iter {
            iterations = it;
            let gn = dot(&g, &g).sqrt();
            if gn <= self.tol * g0.max(1e-12) {
                converged = true;
                break;
            }
            let mut d = direction(&hist, &g, gn);
            let mut gd = dot(&g, &d);
            if gd >= 0.0 {
                hist.clear();
                d = g.iter().map(|v| -v / gn).collect();
                gd = dot(&g, &d);
            }
            let mut step = 1.0;
            let mut accepted = false;
            for _ in 0..40 {
                for i in 0..n {
                    w_new[i] = w[i] + step * d[i];
                }
                let f_new = p.eval(&w_new, &mut g_new);
                if f_new <= f + 1e-4 * step * gd {
                    f = f_new;
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                // No descent possible at float precision: we are at the optimum.
                converged = true;
                break;
            }
            let sv: Vec<f64> = w_new.iter().zip(&w).map(|(a, b)| a - b).collect();
            let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
            let sy = dot(&sv, &yv);
            if sy > 1e-12 {
                if hist.len() == self.memory {
                    hist.pop_front();
                }
                hist.push_back((sv, yv, 1.0 / sy));
            }
            std::mem::swap(&mut w, &mut w_new);
            std::mem::swap(&mut g, &mut g_new);
            iterations = it + 1;
        }
        let d = n - 1;
        FittedLogistic {
            weights: w[..d].iter().map(|&v| v as f32).collect(),
            intercept: w[d] as f32,
            iterations,
            converged,
        }
    }
}

impl FittedLogistic {
    /// Probability of the positive class for one sparse row.
    pub fn proba_row(&self, indices: &[u32], values: &[f32]) -> f32 {
        let z: f32 = indices
            .iter()
            .zip(values)
            .map(|(&j, &v)| self.weights.get(j as usize).copied().unwrap_or(0.0) * v)
            .sum();
        sigmoid(z + self.intercept)
    }
}

impl PredictInplace<SparseRecords<'_>, Array1<f32>> for FittedLogistic {
    fn predict_inplace(&self, x: &SparseRecords<'_>, y: &mut Array1<f32>) {
        for (i, row) in x.0.outer_iterator().enumerate() {
            if let Some(out) = y.get_mut(i) {
                *out = self.proba_row(row.indices(), row.data());
            }
        }
    }

    fn default_target(&self, x: &SparseRecords<'_>) -> Array1<f32> {
        Array1::zeros(x.0.rows())
    }
}

impl<'a> Predict<&SparseRecords<'a>, Array1<f32>> for FittedLogistic {
    /// Positive-class probabilities.
    fn predict(&self, x: &SparseRecords<'a>) -> Array1<f32> {
        let mut y = self.default_target(x);
        self.predict_inplace(x, &mut y);
        y
    }
}

/// One binary problem of a one-vs-rest fit: targets and per-sample weights
/// (weight 0 leaves a sample out, e.g. positive-only gold for other labels).
#[derive(Debug, Clone)]
pub struct BinaryTask {
    /// Positive or not, per row.
    pub targets: Array1<bool>,
    /// Weight per row.
    pub weights: Array1<f32>,
    /// Inverse regularisation strength of this label.
    pub c: f64,
}

/// Fits every label's binary model, in parallel over labels; results come
/// back in label order and each fit is sequential, so they are deterministic.
pub fn fit_one_vs_rest(
    x: &Features,
    tasks: Vec<BinaryTask>,
    params: &LogisticParams,
) -> Result<Vec<FittedLogistic>, SolverError> {
    tasks
        .into_par_iter()
        .map(|t| {
            let ds = DatasetBase::new(SparseRecords(x), t.targets).with_weights(t.weights);
            params.clone().c(t.c).fit(&ds)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Features, Array1<bool>) {
        // Feature 0 marks positives, feature 1 negatives, feature 2 is noise.
        let x = Features::new(
            (6, 3),
            vec![0, 2, 4, 5, 7, 9, 10],
            vec![0, 2, 0, 2, 0, 1, 2, 1, 2, 1],
            vec![1.0, 0.5, 1.0, 0.2, 1.0, 1.0, 0.5, 1.0, 0.3, 1.0],
        );
        (x, Array1::from(vec![true, true, true, false, false, false]))
    }

    #[test]
    fn converges_on_a_separable_problem() {
        let (x, y) = toy();
        let ds = DatasetBase::new(SparseRecords(&x), y.clone());
        let model = LogisticParams::new().c(10.0).tol(1e-6).fit(&ds).unwrap();
        assert!(model.converged, "{model:?}");
        let p: Array1<f32> = model.predict(&SparseRecords(&x));
        for (pi, yi) in p.iter().zip(y.iter()) {
            assert_eq!(*pi > 0.5, *yi, "{p:?}");
        }
        assert!(model.weights[0] > 1.0 && model.weights[1] < -1.0);
    }

    #[test]
    fn zero_weight_samples_are_ignored() {
        let (x, mut y) = toy();
        // Flip a label but give it no weight: the fit must not move.
        let base = LogisticParams::new()
            .c(10.0)
            .fit(
                &DatasetBase::new(SparseRecords(&x), y.clone())
                    .with_weights(Array1::from(vec![1., 1., 1., 1., 1., 0.])),
            )
            .unwrap();
        y[5] = true;
        let flipped = LogisticParams::new()
            .c(10.0)
            .fit(
                &DatasetBase::new(SparseRecords(&x), y)
                    .with_weights(Array1::from(vec![1., 1., 1., 1., 1., 0.])),
            )
            .unwrap();
        assert_eq!(base, flipped);
    }

    #[test]
    fn bad_hyperparameters_are_refused_at_fit() {
        let (x, y) = toy();
        let ds = DatasetBase::new(SparseRecords(&x), y);
        let err = LogisticParams::new().c(0.0).fit(&ds).unwrap_err();
        assert_eq!(err, SolverError::InvalidC(0.0));
        assert!(LogisticParams::new().max_iter(0).fit(&ds).is_err());
        assert!(LogisticParams::new().tol(-1.0).fit(&ds).is_err());
    }

    #[test]
    fn autotraits() {
        fn has_autotraits<T: Send + Sync + Sized + Unpin>() {}
        has_autotraits::<FittedLogistic>();
        has_autotraits::<LogisticParams>();
        has_autotraits::<ValidLogisticParams>();
        has_autotraits::<SolverError>();
        has_autotraits::<crate::model::Model>();
    }
}
