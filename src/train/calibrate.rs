//! Fitting the topic head's calibration (`crate::model::calibrate`): the
//! language groups' temperature and Platt maps on a slice of the training
//! splits held out of the head's fit, the per-desk Platt maps, and the
//! desks' label shifts.
//!
//! Every source in a group weighs the same in the fit, so OrangeSum's
//! thousands of records do not set MasakhaNEWS-fr's scale. A desk's map is
//! fitted on records weighted by their probability of that desk, pulled
//! toward its records' group maps, so a desk with few records moves little.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::corpus::Corpus;
use super::data::Record;
use super::eval::ece;
use super::recipe::{CalibrationRecipe, HeadRecipe};
use crate::model::calibrate::{
    Calibration, DeskPlatt, GroupCalibration, logit, mixed_shift, softmax, top,
};
use crate::model::{Desks, Head, Model, raw_scores};
use crate::prepare::prepare;
use crate::text::Lang;

/// One held-out record: its logits, gold label index, weight and shift.
#[derive(Debug, Clone)]
pub struct SliceRecord {
    /// Raw one-vs-rest logits in label order.
    pub z: Vec<f32>,
    /// Index of the gold label.
    pub gold: usize,
    /// Weight in the fit.
    pub weight: f64,
    /// Label-shift offsets the serving adds before the softmax, mixed by the
    /// record's desk probabilities as `Calibration::apply` does (empty:
    /// none).
    pub shift: Vec<f32>,
}

/// Weighted NLL of the gold label under softmax(t z + o), and its
/// derivative in t; `o` per record: its label shift.
fn softmax_nll(recs: &[SliceRecord], t: f64) -> (f64, f64) {
    let (mut f, mut g) = (0.0, 0.0);
    for r in recs {
        let s: Vec<f64> =
            r.z.iter()
                .enumerate()
                .map(|(k, &v)| t * f64::from(v) + f64::from(r.shift.get(k).copied().unwrap_or(0.0)))
                .collect();
        let max = s.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let e: Vec<f64> = s.iter().map(|&v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        let mean_z: f64 =
            r.z.iter()
                .zip(&e)
                .map(|(&v, &w)| f64::from(v) * w / sum)
                .sum();
        let zg = f64::from(r.z[r.gold]);
        f -= r.weight * (s[r.gold] - max - sum.ln());
        g -= r.weight * (zg - mean_z);
    }
    (f, g)
}

/// Fits the softmax temperature factor by bisection on the derivative of
/// the (convex in t) NLL, in [0.01, 100].
fn fit_temperature(recs: &[SliceRecord]) -> f64 {
    let (mut lo, mut hi) = (0.01f64, 100.0f64);
    if softmax_nll(recs, lo).1 >= 0.0 {
        return lo;
    }
    if softmax_nll(recs, hi).1 <= 0.0 {
        return hi;
    }
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if softmax_nll(recs, mid).1 < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// Weighted two-parameter logistic regression of `y` on `x` (Newton, with a
/// tiny ridge so separable data stays finite).
fn fit_platt(xs: &[(f64, bool, f64)]) -> (f64, f64) {
    fit_platt_toward(xs, (1.0, 0.0), 1e-3)
}

/// [`fit_platt`] with a ridge of `strength` pulling `(a, b)` toward
/// `center`: few records move the map little.
fn fit_platt_toward(xs: &[(f64, bool, f64)], center: (f64, f64), strength: f64) -> (f64, f64) {
    // The penalized NLL, to damp the steps: a full Newton step from far
    // off can overshoot and never come back (all records at one score).
    let loss = |a: f64, b: f64| -> f64 {
        let ridge = 0.5 * strength * ((a - center.0).powi(2) + (b - center.1).powi(2));
        ridge
            + xs.iter()
                .map(|&(x, y, w)| {
                    let s = a * x + b;
                    // ln(1 + e^s) - y s, stable for large |s|.
                    w * (s.max(0.0) + (-s.abs()).exp().ln_1p() - if y { s } else { 0.0 })
                })
                .sum::<f64>()
    };
    let (mut a, mut b) = center;
    let mut f = loss(a, b);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (
            strength * (a - center.0),
            strength * (b - center.1),
            strength,
            0.0,
            strength,
        );
        for &(x, y, w) in xs {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let r = w * (p - f64::from(u8::from(y)));
            ga += r * x;
            gb += r;
            let h = w * p * (1.0 - p);
            haa += h * x * x;
            hab += h * x;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let (mut da, mut db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        let mut next = loss(a - da, b - db);
        for _ in 0..40 {
            if next <= f {
                break;
            }
            da *= 0.5;
            db *= 0.5;
            next = loss(a - da, b - db);
        }
        if next > f {
            break;
        }
        a -= da;
        b -= db;
        f = next;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

/// The top label's log-odds after the group's softmax and whether it is the
/// gold label.
fn top_logit(r: &SliceRecord, g: &GroupCalibration) -> (f64, bool) {
    let q = softmax(&r.z, g.t, &r.shift);
    let (best, qb) = top(&q);
    (logit(f64::from(qb)), best == r.gold)
}

/// Least slope a desk map may have: every map stays increasing, so a
/// mixture of them keeps the ranking of a document's labels.
const MIN_SLOPE: f64 = 0.05;

/// Fits one Platt map per desk on slice records, each given with its
/// language group's calibration and its desk probabilities: desk `d`
/// weighs a record by its weight times its probability of `d`, and its map
/// is pulled toward the weighted mean of those records' group maps with a
/// ridge of `strength`.
pub fn fit_desk_platts(
    recs: &[(&SliceRecord, &GroupCalibration, &[f32])],
    n_desks: usize,
    strength: f64,
) -> Vec<DeskPlatt> {
    // The top label under the group's map does not depend on the desk.
    let tops: Vec<(f64, bool)> = recs.iter().map(|(r, g, _)| top_logit(r, g)).collect();
    (0..n_desks)
        .map(|d| {
            let mut xs = Vec::with_capacity(recs.len());
            let (mut ca, mut cb, mut n) = (0.0, 0.0, 0.0);
            for ((r, g, p), &(x, hit)) in recs.iter().zip(&tops) {
                let w = r.weight * f64::from(p.get(d).copied().unwrap_or(0.0));
                if w <= 0.0 {
                    continue;
                }
                xs.push((x, hit, w));
                ca += w * f64::from(g.a);
                cb += w * f64::from(g.b);
                n += w;
            }
            if n <= 0.0 {
                return DeskPlatt {
                    a: 1.0,
                    b: 0.0,
                    n: 0.0,
                };
            }
            let (a, b) = fit_platt_toward(&xs, (ca / n, cb / n), strength);
            DeskPlatt {
                a: a.max(MIN_SLOPE) as f32,
                b: b as f32,
                n: n as f32,
            }
        })
        .collect()
}

/// Label shifts per desk from label counts: `train[d][l]` on the desk's
/// training rows, `dev[d][l]` on its dev split (`None`: the desk has no dev
/// split to learn its mix from). Over the labels counted in both, shares
/// are smoothed by `alpha` pseudo-counts and the shift is `ln(dev share /
/// training share)`; a label missing from either side is not shifted, so
/// a dev split that happens to lack a label never silences it.
pub fn desk_shifts(train: &[Vec<f64>], dev: &[Option<Vec<f64>>], alpha: f64) -> Vec<Vec<f32>> {
    train
        .iter()
        .zip(dev)
        .map(|(t, d)| {
            let Some(d) = d else {
                return vec![0.0; t.len()];
            };
            let both: Vec<bool> = t.iter().zip(d).map(|(&a, &b)| a > 0.0 && b > 0.0).collect();
            let k = both.iter().filter(|&&b| b).count() as f64;
            let total = |c: &[f64]| -> f64 {
                c.iter()
                    .zip(&both)
                    .filter(|(_, b)| **b)
                    .map(|(c, _)| c)
                    .sum::<f64>()
                    + alpha * k
            };
            let (tt, td) = (total(t), total(d));
            t.iter()
                .zip(d)
                .zip(&both)
                .map(|((&a, &b), &on)| {
                    if on {
                        (((b + alpha) / td) / ((a + alpha) / tt)).ln() as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Fits one group's calibration on its slice records: the softmax
/// temperature of least weighted NLL, then Platt on the top label.
pub fn fit_group(recs: &[SliceRecord]) -> GroupCalibration {
    if recs.is_empty() {
        return GroupCalibration::IDENTITY;
    }
    let mut g = GroupCalibration {
        t: fit_temperature(recs) as f32,
        n: recs.len() as u32,
        ..GroupCalibration::IDENTITY
    };
    let top: Vec<(f64, bool, f64)> = recs
        .iter()
        .map(|r| {
            let (x, hit) = top_logit(r, &g);
            (x, hit, r.weight)
        })
        .collect();
    let (a, b) = fit_platt(&top);
    g.a = a as f32;
    g.b = b as f32;
    g
}

/// The group maps fitted on the training slice, before any dev fit.
pub(crate) struct SliceFit {
    /// Group maps and the desks' label shifts; no desk maps yet.
    pub(crate) calibration: Calibration,
    /// Slice records used.
    pub(crate) records: usize,
}

/// Fits the topic head's language-group maps on the single-label records of
/// its training splits that the calibration slice held out of `head`'s fit,
/// scored as serving scores them (desk corrections, label shifts); every
/// split weighs the same within a language group.
pub(crate) fn fit_slice(
    head: &Head,
    desks: Option<&Desks>,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    corpus: &Corpus,
    shifts: Vec<Vec<f32>>,
) -> SliceFit {
    let mut slice = slice_records(head, desks, hr, cal, corpus, &shifts);
    // Importance weights average 1 within each split, so every split keeps
    // its weight in the fits.
    let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for (s, _, r) in &slice {
        let e = sums.entry(*s).or_insert((0.0, 0));
        e.0 += r.weight;
        e.1 += 1;
    }
    for (s, _, r) in &mut slice {
        let (sum, n) = sums[s];
        r.weight *= n as f64 / sum;
    }
    let group = |keep: &dyn Fn(Lang) -> bool| {
        let mut per_split: BTreeMap<usize, usize> = BTreeMap::new();
        for (s, l, _) in &slice {
            if keep(*l) {
                *per_split.entry(*s).or_insert(0) += 1;
            }
        }
        let total: usize = per_split.values().sum();
        let recs: Vec<SliceRecord> = slice
            .iter()
            .filter(|(_, l, _)| keep(*l))
            .map(|(s, _, r)| SliceRecord {
                // Each split weighs the same; mean weight 1.
                weight: r.weight * total as f64 / (per_split.len() * per_split[s]) as f64,
                ..r.clone()
            })
            .collect();
        fit_group(&recs)
    };
    SliceFit {
        calibration: Calibration {
            fr: group(&|l| l == Lang::Fr),
            en: group(&|l| l == Lang::En),
            und: group(&|_| true),
            desks: Vec::new(),
            shifts,
        },
        records: slice.len(),
    }
}

/// The slice records: (split, language, record) of each single-label
/// training record in the calibration slice, its gold among `head`'s labels.
fn slice_records(
    head: &Head,
    desks: Option<&Desks>,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    corpus: &Corpus,
    shifts: &[Vec<f32>],
) -> Vec<(usize, Lang, SliceRecord)> {
    let field = hr.field.as_str();
    let mut slice = Vec::new();
    for (i, r) in corpus.records.iter().enumerate() {
        let split = corpus.split_of[i];
        if !hr.train.contains(&corpus.splits[split])
            || !r.is_labelled(field)
            || !cal.held_out(&r.id)
        {
            continue;
        }
        let [gold] = r.labels(field) else { continue };
        let Some(gold) = head.labels().iter().position(|l| &l.code == gold) else {
            continue;
        };
        let Some(row) = corpus.x_all.outer_view(i) else {
            continue;
        };
        let lang = r.lang_hint().unwrap_or(Lang::Und);
        let raw = raw_scores(head, desks, lang, (row.indices(), row.data()));
        // The slice carries the training label mix; the serving shifts the
        // scores to the desk's published mix. Shifted scores, and records
        // weighted by the shift's ratio for their own desk (published share
        // / training share of their gold label), make the slice look like
        // what the desk publishes (importance weighting under label shift).
        let own = desks.and_then(|d| {
            let name = corpus.desk_of(i);
            d.head().labels().iter().position(|l| l.code == name)
        });
        let weight = own
            .and_then(|k| shifts.get(k))
            .map_or(1.0, |s| f64::from(s[gold]).exp());
        slice.push((
            split,
            lang,
            SliceRecord {
                shift: mixed_shift(shifts, &raw.desks, raw.z.len()),
                z: raw.z,
                gold,
                weight,
            },
        ));
    }
    slice
}

/// One single-label dev record as the serving head scores it.
struct DevScored {
    /// Index of its split in the dev list.
    split: usize,
    /// Language the serving reads.
    lang: Lang,
    /// Logits, shift and gold, as a slice record.
    rec: SliceRecord,
    /// Desk probabilities.
    desks: Vec<f32>,
    /// Which half of dev it falls in.
    half: bool,
}

/// The single-label dev records of the head's dev splits, scored by
/// `model` as it serves; and per dev split whether all its records are
/// single-label.
fn score_dev(
    model: &Model,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    dev: &[(String, Vec<Record>)],
) -> (Vec<DevScored>, Vec<bool>) {
    let field = hr.field.as_str();
    let Some(calibration) = model.topic_head().calibration() else {
        return (Vec::new(), vec![false; dev.len()]);
    };
    let halves = CalibrationRecipe {
        fraction: 0.5,
        ..cal.clone()
    };
    let labels = model.topic_head().labels();
    let mut scored: Vec<DevScored> = Vec::new();
    let mut single: Vec<bool> = Vec::new();
    for (k, (s, recs)) in dev.iter().enumerate() {
        let used = hr.dev.contains(s);
        single.push(used && recs.iter().all(|r| r.labels(field).len() <= 1));
        if !used {
            continue;
        }
        scored.par_extend(recs.par_iter().filter_map(|r| {
            let [gold] = r.labels(field) else {
                return None;
            };
            let gold = labels.iter().position(|l| &l.code == gold)?;
            let prepared = prepare(&r.title, &r.text, r.lang_hint(), model.gazetteer());
            let raw = model.raw_topics(&prepared.input());
            Some(DevScored {
                split: k,
                lang: raw.lang,
                rec: SliceRecord {
                    shift: mixed_shift(&calibration.shifts, &raw.desks, raw.z.len()),
                    z: raw.z,
                    gold,
                    weight: 1.0,
                },
                desks: raw.desks,
                half: halves.held_out(&r.id),
            })
        }));
    }
    (scored, single)
}

/// Desk maps fitted on the single-label records of the head's dev splits,
/// scored by `model` (the head that serves) under its language groups'
/// maps; and, per dev split whose records are all single-label, its ECE
/// with the maps fitted on the other half of dev. Empty without desks or
/// calibration.
pub(crate) fn dev_desk_maps(
    model: &Model,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    dev: &[(String, Vec<Record>)],
) -> (Vec<DeskPlatt>, Vec<(String, f64)>) {
    let (Some(desks), Some(calibration)) = (model.desks(), model.topic_head().calibration()) else {
        return (Vec::new(), Vec::new());
    };
    let (scored, single) = score_dev(model, hr, cal, dev);
    let n_desks = desks.head().labels().len();
    let fit = |keep: &dyn Fn(&DevScored) -> bool| {
        let recs: Vec<(&SliceRecord, &GroupCalibration, &[f32])> = scored
            .iter()
            .filter(|d| keep(d))
            .map(|d| (&d.rec, calibration.group(d.lang), d.desks.as_slice()))
            .collect();
        fit_desk_platts(&recs, n_desks, cal.desk_platt)
    };
    let maps = fit(&|_| true);
    let mut pairs: Vec<Vec<(f32, bool)>> = vec![Vec::new(); dev.len()];
    for half in [false, true] {
        let other = Calibration {
            desks: fit(&|d| d.half != half),
            ..calibration.clone()
        };
        for d in scored.iter().filter(|d| d.half == half) {
            let q = other.apply(d.lang, &d.rec.z, &d.desks);
            let (best, score) = top(&q);
            pairs[d.split].push((score, best == d.rec.gold));
        }
    }
    let cross = dev
        .iter()
        .zip(&pairs)
        .zip(&single)
        .filter(|((_, p), one)| **one && !p.is_empty())
        .map(|(((s, _), p), _)| (s.clone(), ece(p, 10)))
        .collect();
    (maps, cross)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two labels; the gold is label 0 with a 3:1 chance whatever the
    /// logits say, so the logits are overconfident by a factor.
    fn overconfident() -> Vec<SliceRecord> {
        (0..400)
            .map(|i| SliceRecord {
                z: vec![4.0, -4.0],
                gold: usize::from(i % 4 == 0),
                weight: 1.0,
                shift: Vec::new(),
            })
            .collect()
    }

    /// Every record at one confident score, right 3 times in 4: a full
    /// Newton step overshoots; the damped fit lands on the hit rate.
    #[test]
    fn a_map_of_records_at_one_score_lands_on_their_hit_rate() {
        let xs: Vec<(f64, bool, f64)> = (0..200).map(|i| (4.28, i % 4 != 0, 1.0)).collect();
        let (a, b) = fit_platt_toward(&xs, (0.7, 0.4), 1.0);
        let p = 1.0 / (1.0 + (-(a * 4.28 + b)).exp());
        assert!((p - 0.75).abs() < 0.01, "{a} {b} {p}");
    }

    #[test]
    fn calibrated_top_score_matches_the_hit_rate() {
        let recs = overconfident();
        let g = fit_group(&recs);
        let c = Calibration {
            fr: g,
            en: GroupCalibration::IDENTITY,
            und: GroupCalibration::IDENTITY,
            desks: Vec::new(),
            shifts: Vec::new(),
        };
        let p = c.apply(Lang::Fr, &[4.0, -4.0], &[]);
        assert!((p[0] - 0.75).abs() < 0.01, "{p:?} {g:?}");
        // Ranking is kept.
        assert!(p[0] > p[1]);
        // The uncalibrated group is a plain softmax.
        let p = c.apply(Lang::En, &[0.0, 0.0], &[]);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    /// Two desks share one language group: desk 0's top label is right 3
    /// times in 4, desk 1's always. The group map averages them; each desk's
    /// map follows its own hit rate, and a dispatch between the desks gets
    /// a score between theirs without its labels changing order.
    #[test]
    fn each_desk_map_follows_its_own_hit_rate() {
        let recs: Vec<SliceRecord> = (0..800)
            .map(|i| SliceRecord {
                z: vec![4.0, -4.0],
                gold: usize::from(i < 400 && i % 4 == 0),
                weight: 1.0,
                shift: Vec::new(),
            })
            .collect();
        let g = fit_group(&recs);
        let probs: Vec<[f32; 2]> = (0..800)
            .map(|i| if i < 400 { [1.0, 0.0] } else { [0.0, 1.0] })
            .collect();
        let with: Vec<(&SliceRecord, &GroupCalibration, &[f32])> = recs
            .iter()
            .zip(&probs)
            .map(|(r, p)| (r, &g, p.as_slice()))
            .collect();
        let desks = fit_desk_platts(&with, 2, 1e-3);
        assert!(desks.iter().all(|d| d.a > 0.0 && d.n == 400.0), "{desks:?}");
        let c = Calibration {
            fr: g,
            en: g,
            und: g,
            desks,
            shifts: Vec::new(),
        };
        let z = [4.0, -4.0];
        let group = c.apply(Lang::Fr, &z, &[])[0];
        let a = c.apply(Lang::Fr, &z, &[1.0, 0.0])[0];
        let b = c.apply(Lang::Fr, &z, &[0.0, 1.0])[0];
        let mid = c.apply(Lang::Fr, &z, &[0.5, 0.5]);
        assert!((group - 0.875).abs() < 0.01, "{group}");
        assert!((a - 0.75).abs() < 0.01, "{a}");
        assert!(b > 0.97, "{b}");
        assert!(a < mid[0] && mid[0] < b && mid[1] < mid[0], "{mid:?}");
        // A desk with no slice records keeps the identity map; desk
        // probabilities that do not match the maps fall back to the group.
        assert_eq!(fit_desk_platts(&with, 3, 1.0)[2].n, 0.0);
        assert_eq!(c.apply(Lang::Fr, &z, &[1.0, 0.0, 0.0])[0], group);
    }

    /// A desk trained on a balanced sample (50 stories per label) that
    /// publishes few of label 2 and none of label 3.
    #[test]
    fn a_desk_shift_follows_the_mix_the_desk_publishes() {
        let train = vec![vec![50.0, 50.0, 50.0, 50.0, 0.0], vec![10.0; 5]];
        let dev = vec![Some(vec![50.0, 50.0, 5.0, 0.0, 7.0]), None];
        let s = desk_shifts(&train, &dev, 1.0);
        // Shares over the three labels counted on both sides: train 1/3
        // each, dev 51/108, 51/108, 6/108.
        let want = |c: f64| ((c / 108.0) / (51.0 / 153.0)).ln() as f32;
        assert!((s[0][0] - want(51.0)).abs() < 1e-6, "{s:?}");
        assert!((s[0][2] - want(6.0)).abs() < 1e-6, "{s:?}");
        assert!(s[0][2] < -1.5 && s[0][0] > 0.3, "{s:?}");
        // Missing from the dev split or from training: never silenced.
        assert_eq!((s[0][3], s[0][4]), (0.0, 0.0));
        // No dev split: no shift.
        assert_eq!(s[1], vec![0.0; 5]);

        // Serving: economy (0) and science (1) nearly tie; the shift of the
        // desk the dispatch reads like decides, mixed by its probability.
        let c = Calibration {
            fr: GroupCalibration::IDENTITY,
            en: GroupCalibration::IDENTITY,
            und: GroupCalibration::IDENTITY,
            desks: Vec::new(),
            shifts: vec![vec![0.0, 0.0], vec![0.4, -1.3]],
        };
        let z = [1.0, 1.2];
        let other = c.apply(Lang::Fr, &z, &[1.0, 0.0]);
        assert!(other[1] > other[0], "{other:?}");
        let own = c.apply(Lang::Fr, &z, &[0.0, 1.0]);
        assert!(own[0] > own[1], "{own:?}");
        let half = c.apply(Lang::Fr, &z, &[0.5, 0.5]);
        assert!(own[0] > half[0] && half[0] > other[0], "{half:?}");
        // Desk probabilities that do not match the shifts are ignored.
        assert_eq!(c.apply(Lang::Fr, &z, &[0.0, 1.0, 0.0]), other);
    }

    #[test]
    fn identity_on_empty_slices() {
        assert_eq!(fit_group(&[]), GroupCalibration::IDENTITY);
    }

    /// Desk a's dev stories all read like desk a and the model calls them
    /// all politics, but a quarter are sport: fitted on dev, desk a's map
    /// brings the served score down to the hit rate, and `train` reports
    /// the split's ECE with the maps fitted on the other half.
    #[test]
    fn a_desk_map_fitted_on_dev_follows_the_desk_hit_rate() {
        let model = crate::model::file::tests::tiny();
        let hr: HeadRecipe = toml::from_str(
            r#"field = "topics"
            train = ["a-fr-train"]
            dev = ["a-fr-dev"]
            c = 1.0
            max_iter = 10
            tol = 1e-4
            [calibration]
            fraction = 0.2
            seed = 7
            desk_platt = 1.0"#,
        )
        .unwrap();
        let cal = hr.calibration.clone().unwrap();
        let records: Vec<Record> = (0..200)
            .map(|i| {
                let topic = if i % 4 == 0 {
                    "medtop:15000000"
                } else {
                    "medtop:11000000"
                };
                serde_json::from_value(serde_json::json!({
                    "id": format!("a:{i}"), "lang": "fr", "source": "a",
                    "title": "Alep", "text": "alep alep", "topics": [topic],
                    "labelled": ["topics"],
                }))
                .unwrap()
            })
            .collect();
        let input = crate::prepare::ModelInput {
            lang: Lang::Fr,
            title: "Alep",
            body: "alep alep",
            places: &[],
        };
        let before = model.predict(&input, 0).topics[0].clone();
        assert_eq!(before.code, "medtop:11000000");
        let dev = vec![("a-fr-dev".to_string(), records)];
        let (maps, cross) = dev_desk_maps(&model, &hr, &cal, &dev);
        assert_eq!(maps.len(), 2, "{maps:?}");
        let model = model.with_desk_maps(maps);
        let after = model.predict(&input, 0).topics[0].clone();
        assert_eq!(after.code, before.code, "maps keep the ranking");
        assert!((after.score - 0.75).abs() < 0.03, "{before:?} -> {after:?}");
        let [(split, ece)] = cross.as_slice() else {
            panic!("{cross:?}");
        };
        assert_eq!(split, "a-fr-dev");
        assert!(*ece < 0.05, "{ece}");
        // A split that is not the head's dev is left out.
        let (none, cross) = dev_desk_maps(&model, &hr, &cal, &[("b-en-dev".into(), Vec::new())]);
        assert!(none.iter().all(|d| d.n == 0.0) && cross.is_empty());
    }
}
