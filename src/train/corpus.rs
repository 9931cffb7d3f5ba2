//! The training corpus: a recipe's training splits read, prepared as
//! serving prepares a dispatch, each labelled story also as its brief, and
//! vectorised; and the rows and columns each head trains on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::data::{Record, VOCABULARY_SOURCE, keyword_tokens, read_split};
use super::recipe::{HeadRecipe, Recipe};
use super::vocab::{self, Features};
use crate::Result;
use crate::geo::Gazetteer;
use crate::model::{LabelSource, TfIdf};
use crate::prepare::{ModelInput, Prepared, prepare};

/// Documents of one training split.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusCount {
    /// Split name.
    pub split: String,
    /// Records read (minus the holdout).
    pub documents: usize,
    /// Records with topic gold.
    pub topic_labelled: usize,
    /// Records with region gold.
    pub region_labelled: usize,
}

/// The training corpus as both heads see it.
pub(crate) struct Corpus {
    /// Every training record's features.
    pub(crate) x_all: Features,
    /// First place-feature column.
    pub(crate) first_place: u32,
    pub(crate) records: Vec<Record>,
    /// Whether every country the gazetteer found is in the record's gold.
    pub(crate) places_in_gold: Vec<bool>,
    /// Index into `splits` per record.
    pub(crate) split_of: Vec<usize>,
    pub(crate) splits: Vec<String>,
    /// Records read per split.
    pub(crate) counts: Vec<CorpusCount>,
    /// Seconds spent reading and preparing records.
    pub(crate) prepare_seconds: f64,
    /// Seconds spent building the vocabulary and matrix.
    pub(crate) vectorize_seconds: f64,
}

/// The recipe's training records, prepared, with their split.
struct Read {
    records: Vec<Record>,
    prepared: Vec<Prepared>,
    split_of: Vec<usize>,
    splits: Vec<String>,
    counts: Vec<CorpusCount>,
}

/// Reads and prepares every training split of both heads, once each.
fn read(recipe: &Recipe, data: &Path, gazetteer: &Gazetteer) -> Result<Read> {
    let mut splits: Vec<String> = Vec::new();
    for s in recipe.topics.train.iter().chain(&recipe.regions.train) {
        if !splits.contains(s) {
            splits.push(s.clone());
        }
    }
    let mut records = Vec::new();
    let mut split_of = Vec::new();
    let mut counts = Vec::new();
    for (k, s) in splits.iter().enumerate() {
        let recs = read_split(recipe, data, s)?;
        tracing::info!(split = %s, records = recs.len(), "read");
        counts.push(CorpusCount {
            split: s.clone(),
            documents: recs.len(),
            topic_labelled: recs.iter().filter(|r| r.is_labelled("topics")).count(),
            region_labelled: recs.iter().filter(|r| r.is_labelled("regions")).count(),
        });
        split_of.extend(std::iter::repeat_n(k, recs.len()));
        records.extend(recs);
    }
    add_keyword_labels(&recipe.topics, &mut records);
    let prepared = records
        .par_iter()
        .map(|r| prepare(&r.title, &r.text, r.lang_hint(), gazetteer))
        .collect();
    Ok(Read {
        records,
        prepared,
        split_of,
        splits,
        counts,
    })
}

/// A keyword as matched: lowercased, a final "s" or "x" dropped from words
/// of five letters or more, so that singular and plural match.
fn keyword_form(word: &str) -> String {
    match word.strip_suffix(['s', 'x']) {
        Some(stem) if stem.chars().count() >= 4 => stem.to_string(),
        _ => word.to_string(),
    }
}

/// Applies the head's keyword rules to its labelled news records (not the
/// vocabulary's): a record using enough of a topic's keywords in its title
/// and text, and none of the rule's `unless` words, gets the topic too, in
/// place of the topics the rule replaces.
fn add_keyword_labels(hr: &HeadRecipe, records: &mut [Record]) {
    for rule in &hr.keyword_labels {
        for (lang, keywords) in &rule.keywords {
            let words: BTreeSet<String> = keywords.iter().map(|w| keyword_form(w)).collect();
            let unless: BTreeSet<String> = rule
                .unless
                .get(lang)
                .into_iter()
                .flatten()
                .map(|w| keyword_form(w))
                .collect();
            let mut added = 0usize;
            for r in records.iter_mut().filter(|r| {
                r.lang == *lang
                    && r.source != VOCABULARY_SOURCE
                    && r.is_labelled(&hr.field)
                    && !r.topics.contains(&rule.label)
            }) {
                let used: BTreeSet<String> = keyword_tokens(&r.title)
                    .chain(keyword_tokens(&r.text))
                    .map(|w| keyword_form(&w))
                    .filter(|w| words.contains(w) || unless.contains(w))
                    .collect();
                let found = used.iter().filter(|w| words.contains(*w)).count();
                if found >= rule.min_terms && used.iter().all(|w| !unless.contains(w)) {
                    r.topics.retain(|t| !rule.replaces.contains(t));
                    r.topics.push(rule.label.clone());
                    r.silver.push(rule.label.clone());
                    added += 1;
                }
            }
            tracing::info!(label = %rule.label, %lang, keywords = words.len(), added, "keyword labels");
        }
    }
}

impl Corpus {
    /// Per topic and language, the labelled records and IPTC vocabulary
    /// entries the head trains on as positives (briefs not counted).
    pub(crate) fn topic_sources(&self, hr: &HeadRecipe) -> Vec<LabelSource> {
        let mut by: BTreeMap<(String, String), LabelSource> = BTreeMap::new();
        for (r, &k) in self.records.iter().zip(&self.split_of) {
            if r.brief || !r.is_labelled(&hr.field) || !hr.train.contains(&self.splits[k]) {
                continue;
            }
            for code in r.labels(&hr.field) {
                let s = by
                    .entry((code.clone(), r.lang.clone()))
                    .or_insert_with(|| LabelSource {
                        code: code.clone(),
                        language: r.lang.clone(),
                        labelled: 0,
                        keyword: 0,
                        vocabulary: 0,
                        corpora: Vec::new(),
                    });
                if r.source == VOCABULARY_SOURCE {
                    s.vocabulary += 1;
                } else if r.silver.contains(code) {
                    s.keyword += 1;
                } else {
                    s.labelled += 1;
                    if !s.corpora.contains(&r.source) {
                        s.corpora.push(r.source.clone());
                    }
                }
            }
        }
        by.into_values().collect()
    }

    /// Reads, prepares and vectorises the recipe's training splits: the
    /// vocabulary is fitted on the stories, the matrix holds their briefs too.
    pub(crate) fn load(
        recipe: &Recipe,
        data: &Path,
        gazetteer: &Gazetteer,
    ) -> Result<(Corpus, TfIdf)> {
        let t0 = Instant::now();
        let mut read = read(recipe, data, gazetteer)?;
        // The vocabulary is fitted on the originals: a brief repeats words.
        let originals = read.records.len();
        if recipe.topics.briefs > 0.0 {
            add_briefs(&recipe.topics, &mut read, gazetteer);
        }
        let places_in_gold: Vec<bool> = read
            .records
            .iter()
            .zip(&read.prepared)
            .map(|(r, p)| p.places.iter().all(|pl| r.countries.contains(&pl.iso2)))
            .collect();
        let prepare_seconds = t0.elapsed().as_secs_f64();
        tracing::info!(
            documents = read.prepared.len(),
            seconds = prepare_seconds,
            "prepared"
        );

        let t1 = Instant::now();
        let inputs: Vec<ModelInput<'_>> = read.prepared.iter().map(|p| p.input()).collect();
        let features = vocab::fit(&recipe.features, &inputs[..originals], gazetteer)?;
        let x_all = vocab::matrix(&features, &inputs, gazetteer);
        drop(inputs);
        drop(read.prepared);
        let vectorize_seconds = t1.elapsed().as_secs_f64();
        tracing::info!(
            terms = features.n_terms(),
            features = features.n_features(),
            nnz = x_all.nnz(),
            seconds = vectorize_seconds,
            "vectorized"
        );
        let corpus = Corpus {
            x_all,
            first_place: features.n_terms() as u32,
            records: read.records,
            places_in_gold,
            split_of: read.split_of,
            splits: read.splits,
            counts: read.counts,
            prepare_seconds,
            vectorize_seconds,
        };
        Ok((corpus, features))
    }

    /// The head's training rows: labelled records of its training splits,
    /// minus those its source rules or `exclude` leave out.
    pub(crate) fn rows(&self, hr: &HeadRecipe, exclude: &dyn Fn(&Record) -> bool) -> Vec<usize> {
        let field = hr.field.as_str();
        (0..self.records.len())
            .filter(|&i| {
                hr.train.contains(&self.splits[self.split_of[i]])
                    && self.records[i].is_labelled(field)
            })
            .filter(|&i| {
                self.places_in_gold[i]
                    || !hr.require_places_in_gold.contains(&self.records[i].source)
            })
            .filter(|&i| !exclude(&self.records[i]))
            .collect()
    }
}

/// Adds the briefs of the head's training stories to the corpus, each in
/// its story's split.
fn add_briefs(hr: &HeadRecipe, read: &mut Read, gazetteer: &Gazetteer) {
    let briefs = brief_records(
        hr,
        &read.records,
        &read.prepared,
        &read.split_of,
        &read.splits,
    );
    let extra: Vec<_> = briefs
        .par_iter()
        .map(|(_, r)| prepare(&r.title, &r.text, r.lang_hint(), gazetteer))
        .collect();
    tracing::info!(briefs = extra.len(), "briefs added");
    for ((i, r), p) in briefs.into_iter().zip(extra) {
        read.split_of.push(read.split_of[i]);
        read.records.push(r);
        read.prepared.push(p);
    }
}

/// Briefs end with the sentence that brings them to this many characters
/// (AG News-style wire briefs run 100-250).
const BRIEF_CHARS: usize = 120;

/// The briefs of a head's training records, each with the index of its
/// record: title and lead ([`crate::text::lead`] of the cleaned body), the
/// record's id (so a brief sits on its record's side of the calibration
/// slice) and labels, gold for this head's field only. A record whose lead
/// is most of its body (over 80%) has no brief: it is one already.
fn brief_records(
    hr: &HeadRecipe,
    records: &[Record],
    prepared: &[Prepared],
    split_of: &[usize],
    splits: &[String],
) -> Vec<(usize, Record)> {
    records
        .iter()
        .zip(prepared)
        .enumerate()
        .filter(|&(i, (r, _))| hr.train.contains(&splits[split_of[i]]) && r.is_labelled(&hr.field))
        .filter_map(|(i, (r, p))| {
            brief_text(p).map(|lead| {
                // Not `..r.clone()`: that would copy the story's text into
                // 25k briefs.
                let brief = Record {
                    id: r.id.clone(),
                    lang: r.lang.clone(),
                    source: r.source.clone(),
                    title: r.title.clone(),
                    text: lead,
                    topics: r.topics.clone(),
                    countries: r.countries.clone(),
                    regions: r.regions.clone(),
                    labelled: vec![hr.field.clone()],
                    brief: true,
                    silver: r.silver.clone(),
                };
                (i, brief)
            })
        })
        .collect()
}

/// The lead of a prepared story, as its brief's text (with the story's
/// title): `None` when the lead is most of the body (over 80%), the story
/// being a brief already.
pub(crate) fn brief_text(p: &Prepared) -> Option<String> {
    let lead = crate::text::lead(&p.body, p.lang, BRIEF_CHARS);
    (lead.len() * 5 < p.body.len() * 4).then_some(lead)
}

/// The rows of `x` listed in `rows`, in that order; rows flagged in
/// `places_only` keep only the columns from `first_place` on.
pub(crate) fn select_rows(
    x: &Features,
    rows: &[usize],
    places_only: &[bool],
    first_place: u32,
    use_places: bool,
) -> Features {
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    let mut indices = Vec::new();
    let mut data = Vec::new();
    indptr.push(0);
    for (k, &i) in rows.iter().enumerate() {
        if let Some(row) = x.outer_view(i) {
            for (&j, &v) in row.indices().iter().zip(row.data()) {
                let is_place = j >= first_place;
                let masked = places_only.get(k).copied().unwrap_or(false);
                if (is_place && use_places) || (!is_place && !masked) {
                    indices.push(j);
                    data.push(v);
                }
            }
        }
        indptr.push(indices.len());
    }
    Features::new((rows.len(), x.cols()), indptr, indices, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyword_rule_labels_stories_with_its_words_but_none_of_its_unless_words() {
        let hr: HeadRecipe = toml::from_str(
            r#"field = "topics"
            train = ["orangesum-fr-train"]
            dev = []
            c = 1.0
            max_iter = 10
            tol = 1e-4
            [[keyword_labels]]
            label = "medtop:03000000"
            min_terms = 2
            replaces = ["medtop:02000000"]
            keywords.fr = ["incendie", "pompiers"]
            unless.fr = ["suspect", "enquête"]"#,
        )
        .unwrap();
        let record = |id: &str, text: &str| -> Record {
            serde_json::from_value(serde_json::json!({
                "id": id, "lang": "fr", "source": "orangesum", "title": "",
                "text": text, "topics": ["medtop:02000000"], "labelled": ["topics"],
            }))
            .unwrap()
        };
        let mut records = vec![
            record(
                "os:1",
                "Un incendie a ravagé un entrepôt ; les pompiers sont intervenus.",
            ),
            record(
                "os:2",
                "Un incendie criminel : les pompiers ont vu un suspect s'enfuir.",
            ),
            record("os:3", "Un incendie s'est déclaré dans la nuit."),
        ];
        add_keyword_labels(&hr, &mut records);
        // An accident: disaster in place of crime, marked silver.
        assert_eq!(records[0].topics, ["medtop:03000000"]);
        assert_eq!(records[0].silver, ["medtop:03000000"]);
        // Arson names a suspect; one keyword is not enough.
        assert_eq!(records[1].topics, ["medtop:02000000"]);
        assert_eq!(records[2].topics, ["medtop:02000000"]);
    }

    #[test]
    fn a_labelled_story_trains_also_as_its_brief() {
        let hr: HeadRecipe = toml::from_str(
            r#"field = "topics"
            train = ["bbc-en-train"]
            dev = []
            c = 1.0
            max_iter = 10
            tol = 1e-4
            briefs = 0.25"#,
        )
        .unwrap();
        let record = |id: &str, text: &str, labelled: &[&str]| -> Record {
            serde_json::from_value(serde_json::json!({
                "id": id, "lang": "en", "source": "bbc", "title": "Rail strike called",
                "text": text, "topics": ["medtop:04000000"], "regions": ["150"],
                "labelled": labelled,
            }))
            .unwrap()
        };
        let long = "Rail workers will strike for three days next week, their union said \
                    on Monday, after pay talks broke down.\nThe strike would close most \
                    lines in the north.\nTalks could resume on Friday, the operator said, \
                    but no date has been set.\nPassengers were told to check before travel.";
        let records = vec![
            record("bbc:1", long, &["topics", "regions"]),
            record("bbc:2", long, &["regions"]),
            record("bbc:3", "Rail workers will strike.", &["topics"]),
            record("bbc:4", long, &["topics"]),
        ];
        let splits = ["bbc-en-train".to_string(), "bbc-en-dev".to_string()];
        let split_of = [0, 0, 0, 1];
        let gazetteer = Gazetteer::default();
        let prepared: Vec<Prepared> = records
            .iter()
            .map(|r| prepare(&r.title, &r.text, r.lang_hint(), &gazetteer))
            .collect();
        let briefs = brief_records(&hr, &records, &prepared, &split_of, &splits);
        // The first sentence is 106 characters, the second brings it past
        // BRIEF_CHARS (120). Only the topic-labelled training story with more than a lead: not
        // the region-only one, not the one-sentence one, not the dev one.
        assert_eq!(briefs.len(), 1);
        let (i, b) = &briefs[0];
        assert_eq!(*i, 0);
        assert_eq!(
            b.text,
            "Rail workers will strike for three days next week, their union said \
             on Monday, after pay talks broke down. The strike would close most \
             lines in the north."
        );
        assert_eq!(
            (b.id.as_str(), b.title.as_str()),
            ("bbc:1", "Rail strike called")
        );
        assert_eq!(b.topics, ["medtop:04000000"]);
        // Gold for the topic head only: a brief cannot teach regions.
        assert!(b.brief && b.is_labelled("topics") && !b.is_labelled("regions"));
    }
}
