//! Fitting the TF-IDF vocabulary: document frequencies over hashed terms,
//! the kept terms' strings and idf, the place keys; and the training matrix.
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

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use sprs::CsMatI;

use crate::geo::Gazetteer;
use crate::model::features::{self, FeatureParams, TfIdf, for_each_term, place_values};
use crate::prepare::ModelInput;
use crate::text::Lang;

/// Sparse matrix type of the features: CSR, f32 values, u32 column indices.
pub type Features = CsMatI<f32, u32, usize>;

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
    let slot: HashMap<u64, usize> = kept.iter().enumerate().map(|(j, &(h, _))| (h, j)).collect();
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
    let lang_odds = lang_odds(params, docs, &slot);
    let idf = kept
        .iter()
        .map(|&(_, c)| (((1 + n) as f64 / (1 + c) as f64).ln() + 1.0) as f32)
        .collect();
    let places: BTreeSet<String> = docs
        .iter()
        .flat_map(|d| place_values(d.places, d.lang, gazetteer, params.place_countries).into_keys())
        .collect();
    Ok(TfIdf::from_parts(
        params.clone(),
        terms,
        idf,
        places.into_iter().collect(),
        lang_odds,
    ))
}

/// Each kept term's lean to English or French ([`TfIdf::language_of`]):
/// the ratio of the shares of each language's documents that use it; none
/// when the documents are all of one language.
fn lang_odds(
    params: &FeatureParams,
    docs: &[ModelInput<'_>],
    slot: &HashMap<u64, usize>,
) -> Vec<i8> {
    // Per column, documents in English and in French using the term; then
    // the documents in each language.
    let (df, n) = docs
        .par_iter()
        .fold(
            || (vec![[0u32; 2]; slot.len()], [0usize; 2]),
            |(mut df, mut n), d| {
                let k = match d.lang {
                    Lang::En => 0,
                    Lang::Fr => 1,
                    Lang::Und => return (df, n),
                };
                n[k] += 1;
                let mut seen = std::collections::HashSet::new();
                for_each_term(d, params, |h, _, _, _| {
                    if let Some(&j) = slot.get(&h)
                        && seen.insert(j)
                    {
                        df[j][k] += 1;
                    }
                });
                (df, n)
            },
        )
        .reduce(
            || (vec![[0u32; 2]; slot.len()], [0usize; 2]),
            |(mut a, mut na), (b, nb)| {
                for (x, y) in a.iter_mut().zip(b) {
                    x[0] += y[0];
                    x[1] += y[1];
                }
                na[0] += nb[0];
                na[1] += nb[1];
                (a, na)
            },
        );
    // A vocabulary of one language cannot tell the two apart.
    if n.contains(&0) {
        return Vec::new();
    }
    df.iter()
        .map(|&[en, fr]| features::lang_odds(en, fr, n[0], n[1]))
        .collect()
}

/// Rows of many documents as one CSR matrix (rows in input order).
pub fn matrix(tfidf: &TfIdf, docs: &[ModelInput<'_>], gazetteer: &Gazetteer) -> Features {
    let rows: Vec<(Vec<u32>, Vec<f32>)> = docs
        .par_iter()
        .map(|d| tfidf.transform(d, gazetteer))
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
    Features::new((docs.len(), tfidf.n_features()), indptr, indices, data)
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
    fn each_terms_language_lean_comes_from_the_documents_of_each_language() {
        let doc = |lang, body| ModelInput {
            lang,
            title: "",
            body,
            places: &[],
        };
        let docs = [
            doc(Lang::En, "sales boost profit warner"),
            doc(Lang::En, "sales fall warner"),
            doc(Lang::En, "profit warning"),
            doc(Lang::Fr, "ventes hausse warner"),
            doc(Lang::Fr, "ventes baisse bénéfice"),
            doc(Lang::Fr, "hausse bénéfice warner"),
        ];
        let params = FeatureParams {
            min_df: 1,
            max_df: 1.0,
            place_weight: 0.0,
            ..FeatureParams::default()
        };
        let v = fit(&params, &docs, &Gazetteer::default()).unwrap();
        let lean = |t: &str| {
            let j = (0..v.n_terms()).find(|&j| v.name(j) == t).unwrap();
            v.lang_odds[j]
        };
        assert!(lean("sales") > 0 && lean("profit") > 0, "English words");
        assert!(lean("ventes") < 0 && lean("bénéfice") < 0, "French words");
        // Used by as many documents of each language: no lean.
        assert_eq!(lean("warner"), 0);
        assert_eq!(v.language_of("Sales and profit boost"), Some(Lang::En));
        // Trained on one language, a vocabulary has no leans.
        let v = fit(&params, &docs[..3], &Gazetteer::default()).unwrap();
        assert!(v.lang_odds.is_empty());
        assert_eq!(v.language_of("Sales and profit boost"), None);
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
        let v = fit(&params, &docs, &g).unwrap();
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
        let m = matrix(&v, &docs, &g);
        assert_eq!(m.rows(), 3);
    }
}
