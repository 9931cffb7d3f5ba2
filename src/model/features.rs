//! TF-IDF over word unigrams and bigrams with the training idf stored, plus
//! gazetteer place features; rows come out as sparse CSR, never dense.
//!
//! The vocabulary is counted with a `HashMap<u64, u32>` of FNV-1a hashes of
//! the terms rather than linfa-preprocessing's `CountVectorizer`: the latter
//! builds string-keyed maps of every n-gram and then a dense-per-document
//! pass, which on ~40k documents and millions of distinct bigrams costs
//! several GB; hashing keeps one 16-byte entry per distinct term, and the
//! strings of the kept terms are recovered in a second pass. Serving looks
//! terms up by the same hash, so no string is allocated per token. Hash
//! collisions (64-bit) merge two terms' counts; at a few million terms the
//! chance of any is ~1e-7.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMatI;

use super::ModelInput;
use super::data::{FNV_OFFSET, fnv1a};
use crate::geo::{Gazetteer, PlaceCount};
use crate::text::{Lang, words};

/// Sparse matrix type of the features: CSR, f32 values, u32 column indices.
pub type Features = CsMatI<f32, u32, usize>;

/// Feature hyperparameters (from the recipe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureParams {
    /// Longest n-gram (1 or 2).
    pub ngram_max: usize,
    /// Terms in fewer training documents are dropped.
    pub min_df: u32,
    /// Terms in more than this share of documents are dropped.
    pub max_df: f64,
    /// Most frequent terms kept.
    pub max_features: usize,
    /// Title tokens count this many times in tf.
    pub title_weight: f32,
    /// Scale of place features (mention shares, summed per region).
    pub place_weight: f32,
    /// Use country-level place features ("country:SY") besides regions.
    pub place_countries: bool,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            ngram_max: 2,
            min_df: 2,
            max_df: 0.5,
            max_features: 100_000,
            title_weight: 2.0,
            place_weight: 1.0,
            place_countries: true,
        }
    }
}

impl FeatureParams {
    /// Checks the hyperparameters (ParamGuard-style, at fit).
    pub fn check(&self) -> Result<(), String> {
        if !(1..=2).contains(&self.ngram_max) {
            return Err(format!("ngram_max is {}; use 1 or 2", self.ngram_max));
        }
        if self.min_df == 0 {
            return Err("min_df is 0; use 1 or more".into());
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(format!("max_df is {}; use a share in (0, 1]", self.max_df));
        }
        if self.max_features == 0 {
            return Err("max_features is 0".into());
        }
        if !(self.title_weight.is_finite() && self.title_weight >= 0.0) {
            return Err(format!("title_weight is {}", self.title_weight));
        }
        if !(self.place_weight.is_finite() && self.place_weight >= 0.0) {
            return Err(format!("place_weight is {}", self.place_weight));
        }
        Ok(())
    }
}

/// Hash of a unigram.
fn hash1(a: &str) -> u64 {
    fnv1a(FNV_OFFSET, a.as_bytes())
}

/// Hash of the bigram "a b", without building the string.
fn hash2(a: &str, b: &str) -> u64 {
    fnv1a(fnv1a(fnv1a(FNV_OFFSET, a.as_bytes()), b" "), b.as_bytes())
}

/// The lowercased tokens of a text.
fn norm_tokens(text: &str) -> Vec<String> {
    words::tokens(text)
        .map(|t| words::normalize(t.text))
        .collect()
}

/// Calls `f(hash, weight, a, b)` for every term occurrence of the title
/// (weighted) and the body; bigrams never cross from title to body.
fn for_each_term(
    input: &ModelInput<'_>,
    params: &FeatureParams,
    mut f: impl FnMut(u64, f32, &str, Option<&str>),
) {
    for (text, weight) in [(input.title, params.title_weight), (input.body, 1.0)] {
        if weight <= 0.0 {
            continue;
        }
        let toks = norm_tokens(text);
        for (i, t) in toks.iter().enumerate() {
            f(hash1(t), weight, t, None);
            if params.ngram_max >= 2
                && let Some(next) = toks.get(i + 1)
            {
                f(hash2(t, next), weight, t, Some(next));
            }
        }
    }
}

/// Place-feature keys and values of one document: mention shares summed per
/// sub-region and region (and per country if asked). A document where the
/// gazetteer finds nothing gets "noplace:<lang>" instead, so the prior "a
/// French dispatch with no place is about France" (OrangeSum) lives in a
/// feature that is silent whenever places are named, not in the bias.
fn place_values(
    places: &[PlaceCount],
    lang: Lang,
    gazetteer: &Gazetteer,
    countries: bool,
) -> BTreeMap<String, f32> {
    let total: u32 = places.iter().map(|p| p.mentions).sum();
    let mut out = BTreeMap::new();
    if total == 0 {
        out.insert(format!("noplace:{}", lang.code()), 1.0);
        return out;
    }
    // The most mentioned country (places come most mentioned first) also
    // marks its sub-region and region as the dispatch's main place.
    if let Some(c) = places.first().and_then(|p| gazetteer.country(&p.iso2)) {
        for code in [&c.subregion, &c.region] {
            if !code.is_empty() {
                out.insert(format!("main:{code}"), 1.0);
            }
        }
    }
    for p in places {
        let share = p.mentions as f32 / total as f32;
        if countries {
            *out.entry(format!("country:{}", p.iso2)).or_insert(0.0) += share;
        }
        if let Some(c) = gazetteer.country(&p.iso2) {
            if !c.subregion.is_empty() {
                *out.entry(format!("place:{}", c.subregion)).or_insert(0.0) += share;
            }
            if !c.region.is_empty() {
                *out.entry(format!("place:{}", c.region)).or_insert(0.0) += share;
            }
        }
    }
    out
}

/// Sublinear tf, `1 + ln(c)`, kept linear below 1 so that a down-weighted
/// title term (`title_weight < 1`) never gets a negative value.
fn sublinear(c: f32) -> f32 {
    if c >= 1.0 { 1.0 + c.ln() } else { c }
}

/// A fitted TF-IDF + places vectorizer. Immutable; `Sync`.
#[derive(Debug, Clone, Default)]
pub struct TfIdf {
    pub(crate) params: FeatureParams,
    /// Kept terms; column `j` is `terms[j]`.
    pub(crate) terms: Vec<String>,
    /// Training-corpus idf per term.
    pub(crate) idf: Vec<f32>,
    /// Place-feature keys; column `terms.len() + k` is `places[k]`.
    pub(crate) places: Vec<String>,
    // Keys are already FNV hashes: Fx, not SipHash (15% of a classify call
    // went to hashing, found with callgrind).
    index: FxHashMap<u64, u32>,
    place_index: FxHashMap<String, u32>,
}

impl TfIdf {
    /// Rebuilds the lookup tables from the stored parts.
    pub(crate) fn from_parts(
        params: FeatureParams,
        terms: Vec<String>,
        idf: Vec<f32>,
        places: Vec<String>,
    ) -> Self {
        let index = terms
            .iter()
            .enumerate()
            .map(|(j, t)| {
                let h = match t.split_once(' ') {
                    Some((a, b)) => hash2(a, b),
                    None => hash1(t),
                };
                (h, j as u32)
            })
            .collect();
        let place_index = places
            .iter()
            .enumerate()
            .map(|(k, p)| (p.clone(), (terms.len() + k) as u32))
            .collect();
        TfIdf {
            params,
            terms,
            idf,
            places,
            index,
            place_index,
        }
    }

    /// Learns the vocabulary, idf and place keys from training documents.
    pub fn fit(
        params: &FeatureParams,
        docs: &[ModelInput<'_>],
        gazetteer: &Gazetteer,
    ) -> crate::Result<TfIdf> {
        params.check().map_err(crate::Error::Training)?;
        if docs.is_empty() {
            return Err(crate::Error::Training("no training documents".into()));
        }
        let n = docs.len();
        // Document frequencies; integer sums, so the merge order is irrelevant.
        let df: HashMap<u64, u32> = docs
            .par_iter()
            .fold(HashMap::new, |mut acc: HashMap<u64, u32>, d| {
                let mut seen = std::collections::HashSet::new();
                for_each_term(d, params, |h, _, _, _| {
                    seen.insert(h);
                });
                for h in seen {
                    *acc.entry(h).or_insert(0) += 1;
                }
                acc
            })
            .reduce(HashMap::new, |mut a, b| {
                let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                for (h, c) in small {
                    *big.entry(h).or_insert(0) += c;
                }
                a = big;
                a
            });
        let max_df = (params.max_df * n as f64).floor() as u32;
        let mut kept: Vec<(u64, u32)> = df
            .into_iter()
            .filter(|&(_, c)| c >= params.min_df && c <= max_df.max(params.min_df))
            .collect();
        // Deterministic: most frequent first, ties by hash.
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        kept.truncate(params.max_features);
        let slot: HashMap<u64, usize> =
            kept.iter().enumerate().map(|(j, &(h, _))| (h, j)).collect();
        let mut names: Vec<Option<String>> = vec![None; kept.len()];
        let mut missing = kept.len();
        for d in docs {
            if missing == 0 {
                break;
            }
            for_each_term(d, params, |h, _, a, b| {
                if let Some(&j) = slot.get(&h)
                    && names[j].is_none()
                {
                    names[j] = Some(match b {
                        Some(b) => format!("{a} {b}"),
                        None => a.to_string(),
                    });
                    missing -= 1;
                }
            });
        }
        let terms: Vec<String> = names.into_iter().map(Option::unwrap_or_default).collect();
        let idf = kept
            .iter()
            .map(|&(_, c)| (((1 + n) as f64 / (1 + c) as f64).ln() + 1.0) as f32)
            .collect();
        let places: BTreeSet<String> = docs
            .iter()
            .flat_map(|d| {
                place_values(d.places, d.lang, gazetteer, params.place_countries).into_keys()
            })
            .collect();
        Ok(TfIdf::from_parts(
            params.clone(),
            terms,
            idf,
            places.into_iter().collect(),
        ))
    }

    /// Number of columns (terms + places).
    pub fn n_features(&self) -> usize {
        self.terms.len() + self.places.len()
    }

    /// Number of terms.
    pub fn n_terms(&self) -> usize {
        self.terms.len()
    }

    /// The name of column `j` (a term or a place key).
    pub fn name(&self, j: usize) -> &str {
        if j < self.terms.len() {
            &self.terms[j]
        } else {
            self.places
                .get(j - self.terms.len())
                .map(String::as_str)
                .unwrap_or("")
        }
    }

    /// Training idf of a lowercased term.
    pub fn idf_of(&self, term: &str) -> Option<f32> {
        let h = match term.split_once(' ') {
            Some((a, b)) => hash2(a, b),
            None => hash1(term),
        };
        self.index.get(&h).map(|&j| self.idf[j as usize])
    }

    /// One document's sparse row: sorted column indices and values
    /// (sublinear tf x stored idf, l2-normalised; then place features).
    pub fn transform(&self, input: &ModelInput<'_>, gazetteer: &Gazetteer) -> (Vec<u32>, Vec<f32>) {
        let mut tf: FxHashMap<u32, f32> =
            FxHashMap::with_capacity_and_hasher(input.body.len() / 8, Default::default());
        for_each_term(input, &self.params, |h, w, _, _| {
            if let Some(&j) = self.index.get(&h) {
                *tf.entry(j).or_insert(0.0) += w;
            }
        });
        let mut row: Vec<(u32, f32)> = tf
            .into_iter()
            .map(|(j, c)| (j, sublinear(c) * self.idf[j as usize]))
            .collect();
        row.sort_unstable_by_key(|&(j, _)| j);
        let norm = row.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut row {
                *v /= norm;
            }
        }
        if self.params.place_weight > 0.0 {
            for (key, v) in place_values(
                input.places,
                input.lang,
                gazetteer,
                self.params.place_countries,
            ) {
                if let Some(&j) = self.place_index.get(&key) {
                    row.push((j, v * self.params.place_weight));
                }
            }
        }
        row.into_iter().unzip()
    }

    /// Rows of many documents as one CSR matrix (rows in input order).
    pub fn matrix(&self, docs: &[ModelInput<'_>], gazetteer: &Gazetteer) -> Features {
        let rows: Vec<(Vec<u32>, Vec<f32>)> = docs
            .par_iter()
            .map(|d| self.transform(d, gazetteer))
            .collect();
        let nnz: usize = rows.iter().map(|r| r.0.len()).sum();
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::with_capacity(nnz);
        let mut data = Vec::with_capacity(nnz);
        indptr.push(0);
        for (i, v) in rows {
            indices.extend(i);
            data.extend(v);
            indptr.push(indices.len());
        }
        // Indices are sorted and in range by construction, so `new` cannot fail;
        // the place block is appended after the (sorted) terms, in key order.
        Features::new((docs.len(), self.n_features()), indptr, indices, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(title: &'a str, body: &'a str) -> ModelInput<'a> {
        ModelInput {
            lang: Lang::En,
            title,
            body,
            places: &[],
        }
    }

    #[test]
    fn a_dispatch_without_places_gets_its_language_prior() {
        let g = Gazetteer::default();
        let v = place_values(&[], Lang::Fr, &g, false);
        assert_eq!(
            v.into_iter().collect::<Vec<_>>(),
            vec![("noplace:fr".to_string(), 1.0)]
        );
        // Countries unknown to the gazetteer still count as places.
        let places = [PlaceCount {
            iso2: "SY".into(),
            mentions: 3,
        }];
        let v = place_values(&places, Lang::Fr, &g, true);
        assert_eq!(v.get("country:SY"), Some(&1.0));
        assert!(!v.contains_key("noplace:fr"));
    }

    #[test]
    fn idf_is_from_training_not_the_batch() {
        let docs = [
            input("", "rates rise again"),
            input("", "rates fall"),
            input("", "team wins again"),
        ];
        let params = FeatureParams {
            min_df: 1,
            max_df: 1.0,
            place_weight: 0.0,
            ..FeatureParams::default()
        };
        let g = Gazetteer::default();
        let v = TfIdf::fit(&params, &docs, &g).unwrap();
        let rare = v.idf_of("team").unwrap();
        let common = v.idf_of("rates").unwrap();
        assert!(rare > common);
        assert!(v.idf_of("rates rise").is_some());
        // One document alone still sees the training idf.
        let (i, x) = v.transform(&input("", "team rates"), &g);
        assert_eq!(i.len(), 2);
        let team = i
            .iter()
            .position(|&j| v.name(j as usize) == "team")
            .unwrap();
        let rates = 1 - team;
        assert!(x[team] > x[rates]);
        let m = v.matrix(&docs, &g);
        assert_eq!(m.rows(), 3);
    }
}
