//! The fitted model: TF-IDF features, one-vs-rest logistic-regression heads
//! for topics and regions, the gazetteer, and the file they live in. What a
//! loaded model needs to predict, and nothing that fits one (`crate::train`).
//!
//! # Layout
//! - [`calibrate`]: per-language softmax temperature, label shifts and Platt
//!   maps, as applied to a dispatch's logits.
//! - [`features`]: vocabulary lookup, stored idf, place features.
//! - [`select`]: the one rule for which labels a caller gets.
//! - `weights`: the heads' f16 weight table and the logits it gives.
//! - [`meta`]: the header: labels, corpora, dev figures, holdout.
//! - [`file`](mod@file): the versioned, checksummed model file.

pub mod calibrate;
pub mod features;
pub mod file;
pub mod meta;
pub mod select;
mod weights;

use std::path::Path;

use half::f16;

use crate::geo::Gazetteer;
use crate::prepare::{ModelInput, prepare};
use crate::stage::Stage;
use crate::text::Lang;

pub use features::TfIdf;
pub use meta::{Carve, CorpusInfo, Label, LabelSource, MetricValue, ModelMeta};
pub use select::Choice;
use weights::{Weights, logits, logits_pair};

/// The bytes of `path`, refused past [`file::MAX_FILE_BYTES`] without
/// reading further.
fn read_bounded(path: &Path) -> crate::Result<Vec<u8>> {
    use std::io::Read;
    let fail = |reason: String| crate::Error::Model {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(file::MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > file::MAX_FILE_BYTES {
        return Err(fail(format!(
            "larger than {} MiB: not a model file",
            file::MAX_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// Lower-case hex digits of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A label with its probability for one dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    /// Label code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Probability in [0, 1].
    pub score: f32,
    /// Whether the label is among a dispatch's answers when the caller sets
    /// no floor: its score passes the label's decision threshold, or the
    /// label is [`voted`](LabelScore::voted).
    pub selected: bool,
    /// Whether the label's own one-vs-rest head says the dispatch is about
    /// it (a positive logit) where the head's labels share one probability
    /// (the topics): a story about two topics splits that probability
    /// between them, and its second topic would seldom reach a threshold.
    pub voted: bool,
    /// Strongest contributing terms (term, feature value x weight).
    pub evidence: Vec<(String, f32)>,
}

/// Scores of every label of both heads, best first.
#[derive(Debug, Clone, Default)]
pub struct Prediction {
    /// Topic labels, best first.
    pub topics: Vec<LabelScore>,
    /// Region labels, best first.
    pub regions: Vec<LabelScore>,
}

/// One head: a binary logistic model per label over the shared features.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Head {
    labels: Vec<Label>,
    /// One weight per label and feature column.
    weights: Weights,
    bias: Vec<f32>,
    /// Per-label decision thresholds, tuned on dev (on calibrated scores).
    thresholds: Vec<f32>,
    /// Maps logits to calibrated probabilities; plain sigmoids when absent.
    calibration: Option<calibrate::Calibration>,
}

impl Head {
    /// A head from its fitted parts: per label, its weights (one per
    /// feature column), bias and decision threshold.
    pub(crate) fn new(
        labels: Vec<Label>,
        weights: Vec<Vec<f32>>,
        bias: Vec<f32>,
        thresholds: Vec<f32>,
    ) -> Head {
        Head {
            labels,
            weights: Weights::from_rows(&weights),
            bias,
            thresholds,
            calibration: None,
        }
    }

    /// The same head with its probabilities mapped by `calibration`.
    pub(crate) fn calibrated(self, calibration: calibrate::Calibration) -> Head {
        Head {
            calibration: Some(calibration),
            ..self
        }
    }

    /// The labels, in weight order.
    pub(crate) fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Raw one-vs-rest logit of every label, in label order ([`logits`]).
    pub(crate) fn logits(&self, idx: &[u32], val: &[f32]) -> Vec<f32> {
        let [z] = logits([self], idx, val);
        z
    }

    /// Whether label `l` at `score` passes its decision threshold.
    fn passes(&self, l: usize, score: f32) -> bool {
        score >= self.thresholds.get(l).copied().unwrap_or(0.5)
    }

    /// Whether label `l`'s one-vs-rest logit votes for it, on a head whose
    /// calibration makes its labels share one probability (a softmax); a
    /// head of independent probabilities has its thresholds alone.
    fn votes(&self, raw: &RawScores, l: usize) -> bool {
        self.calibration.is_some() && raw.z.get(l).is_some_and(|&z| z > 0.0)
    }

    /// The strongest `n` contributions of a document's features to label `l`.
    fn evidence(
        &self,
        features: &TfIdf,
        l: usize,
        (idx, val): (&[u32], &[f32]),
        n: usize,
    ) -> Vec<(String, f32)> {
        let w = |j: u32| self.weights.get(l, j as usize).unwrap_or(0.0);
        let mut c: Vec<(u32, f32)> = idx
            .iter()
            .zip(val)
            .map(|(&j, &v)| (j, v * w(j)))
            .filter(|&(_, c)| c > 0.0)
            .collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        c.into_iter()
            .take(n)
            .map(|(j, c)| (features.name(j as usize).to_string(), c))
            .collect()
    }

    /// Every label's index and probability from a document's raw scores,
    /// best first (ties by code); with `among`, only the labels it marks,
    /// scored as the document's answer is known to be one of them
    /// ([`calibrate::Calibration::apply_among`]).
    fn ranked(&self, raw: &RawScores, among: Among<'_>) -> Vec<(usize, f32)> {
        let probs: Vec<f32> = match &self.calibration {
            Some(c) => c.apply_among(raw.lang, &raw.z, among),
            None => raw.z.iter().map(|&v| calibrate::sigmoid(v)).collect(),
        };
        let mut out: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
        if let Some(among) = among {
            out.retain(|&(l, _)| among.get(l).copied().unwrap_or(false));
        }
        out.sort_by(|&(a, pa), &(b, pb)| {
            pb.total_cmp(&pa)
                .then_with(|| self.labels[a].code.cmp(&self.labels[b].code))
        });
        out
    }

    /// Label `l`'s score `p`, with up to `explain` evidence terms.
    fn label_score(
        &self,
        features: &TfIdf,
        (raw, row): (&RawScores, (&[u32], &[f32])),
        explain: usize,
        (l, p): (usize, f32),
    ) -> LabelScore {
        let label = &self.labels[l];
        let voted = self.votes(raw, l);
        LabelScore {
            code: label.code.clone(),
            name: label.name.clone(),
            score: p,
            selected: voted || self.passes(l, p),
            voted,
            evidence: if explain == 0 {
                Vec::new()
            } else {
                self.evidence(features, l, row, explain)
            },
        }
    }

    /// Scores of every label from a document's raw scores, best first (ties
    /// by code), with up to `explain` evidence terms each.
    fn score(
        &self,
        features: &TfIdf,
        raw: &RawScores,
        row: (&[u32], &[f32]),
        explain: usize,
        among: Among<'_>,
    ) -> Vec<LabelScore> {
        self.ranked(raw, among)
            .into_iter()
            .map(|r| self.label_score(features, (raw, row), explain, r))
            .collect()
    }

    /// The scores of the labels a caller gets ([`select::chosen`] with
    /// `choice`): as [`Head::score`] followed by the choice, but only the
    /// chosen labels are copied and explained.
    fn chosen_scores(
        &self,
        features: &TfIdf,
        raw: &RawScores,
        row: (&[u32], &[f32]),
        explain: usize,
        choice: Choice,
        among: Among<'_>,
    ) -> Vec<LabelScore> {
        let ranked = self.ranked(raw, among);
        select::chosen_by(&ranked, choice, |&(l, p)| {
            (p, self.votes(raw, l) || self.passes(l, p))
        })
        .map(|&r| self.label_score(features, (raw, row), explain, r))
        .collect()
    }

    /// Recomputes `selected` of scores of this head from its thresholds.
    fn reselect(&self, scores: &mut [LabelScore]) {
        for s in scores {
            if let Some(l) = self.labels.iter().position(|l| l.code == s.code) {
                s.selected = s.voted || self.passes(l, s.score);
            }
        }
    }
}

/// The labels of a head a document is known to be about, by label index
/// (`None`: any of them).
pub type Among<'a> = Option<&'a [bool]>;

/// A document's topic scores before calibration, as serving computes them:
/// the one scoring path that serving, evaluation and training share.
#[derive(Debug, Clone)]
pub(crate) struct RawScores {
    /// Language the calibration reads.
    pub(crate) lang: Lang,
    /// One-vs-rest logits.
    pub(crate) z: Vec<f32>,
}

/// Raw scores of one document's features `(idx, val)` under `head`.
pub(crate) fn raw_scores(head: &Head, lang: Lang, (idx, val): (&[u32], &[f32])) -> RawScores {
    RawScores {
        lang,
        z: head.logits(idx, val),
    }
}

/// Raw scores of both heads for one document's features, in one pass over
/// them: as [`raw_scores`] of each, to the bit.
fn raw_scores_pair(
    (topics, regions): (&Head, &Head),
    lang: Lang,
    (idx, val): (&[u32], &[f32]),
) -> (RawScores, RawScores) {
    let [t, r] = logits_pair([topics, regions], idx, val);
    (RawScores { lang, z: t }, RawScores { lang, z: r })
}

/// A loaded, immutable model; share it with `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Model {
    meta: ModelMeta,
    gazetteer: Gazetteer,
    features: TfIdf,
    topics: Head,
    regions: Head,
    /// [`Model::pipeline_fingerprint`] at training time.
    fingerprint: u64,
    /// CRC32 of the file it was read from; 0 for a model built in memory.
    checksum: u32,
}

/// Fixed dispatches whose features fingerprint the preparation pipeline.
const PROBES: [(&str, &str, Lang); 2] = [
    (
        "Poutine et Rohani saluent la victoire à Alep",
        "Le président russe a parlé avec son homologue iranien. L'armée syrienne a repris Alep. \
         Des négociations auront lieu à Astana, au Kazakhstan. Paris a réagi.Le Kremlin \
         aussi.\n\nAvec AFP",
        Lang::Fr,
    ),
    (
        "US TRADE DEFICIT WIDENS",
        "WASHINGTON, March 3 - The U.S. trade deficit with Japan and Brazil widened in \
         January, the Commerce Department said. London traders expect more.\n Reuter",
        Lang::En,
    ),
];

/// The default model file, produced by `recipes/default.toml`.
static EMBEDDED: &[u8] = include_bytes!("../../models/default.dtm");

impl Model {
    /// A fitted model from its parts, fingerprinted with this build's text
    /// pipeline; `meta.format_version` is set when it is saved.
    pub(crate) fn new(
        meta: ModelMeta,
        gazetteer: Gazetteer,
        features: TfIdf,
        (topics, regions): (Head, Head),
    ) -> Model {
        let mut model = Model {
            meta: ModelMeta {
                topics: topics.labels.clone(),
                regions: regions.labels.clone(),
                ..meta
            },
            gazetteer,
            features,
            topics,
            regions,
            fingerprint: 0,
            checksum: 0,
        };
        let [t, r] = Weights::joint(
            [&model.topics.weights.rows(), &model.regions.weights.rows()],
            f16::from_f32,
        );
        (model.topics.weights, model.regions.weights) = (t, r);
        model.fingerprint = model.pipeline_fingerprint();
        model
    }

    /// The same model with new per-label decision thresholds (label order).
    pub(crate) fn with_thresholds(mut self, topics: Vec<f32>, regions: Vec<f32>) -> Model {
        self.topics.thresholds = topics;
        self.regions.thresholds = regions;
        self
    }

    /// The same model with its dev figures in the header.
    pub(crate) fn with_metrics(mut self, metrics: Vec<MetricValue>) -> Model {
        self.meta.metrics = metrics;
        self
    }

    /// The default model embedded in the binary (an empty model if the
    /// build has no model file yet).
    pub fn embedded() -> crate::Result<Model> {
        if EMBEDDED.is_empty() {
            return Ok(Model::default());
        }
        file::decode(EMBEDDED, Path::new("<embedded>"))
    }

    /// Reads and checks a model file (at most [`file::MAX_FILE_BYTES`]).
    pub fn load(path: &Path) -> crate::Result<Model> {
        let bytes = read_bounded(path)?;
        file::decode(&bytes, path)
    }

    /// Reads a model file to serve: as [`Model::load`], after checking its
    /// SHA-256 against `pin` when given, and refused unless
    /// [`Model::check_servable`]. Start and reload both come through here.
    pub fn load_servable(path: &Path, pin: Option<&[u8; 32]>) -> crate::Result<Model> {
        let refuse = |reason: String| crate::Error::Model {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = read_bounded(path)?;
        if let Some(pin) = pin {
            use sha2::Digest;
            let got: [u8; 32] = sha2::Sha256::digest(&bytes).into();
            if &got != pin {
                return Err(refuse(format!(
                    "SHA-256 {} is not the pinned {} (--model-sha256)",
                    hex(&got),
                    hex(pin)
                )));
            }
        }
        let model = file::decode(&bytes, path)?;
        model.check_servable().map_err(refuse)?;
        Ok(model)
    }

    /// Writes the model file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        file::save(self, path)
    }

    /// Header: version, labels, corpora, metrics.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The gazetteer the model was trained with.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The vectorizer.
    pub fn features(&self) -> &TfIdf {
        &self.features
    }

    /// The language of a text as a dispatch without a hint gets it:
    /// detection ([`crate::text::lang::detect_with`]) with this model's
    /// vocabulary for a text whose function words leave it unsettled
    /// ([`TfIdf::language_of`]).
    pub fn detect_language(&self, text: &str) -> Lang {
        crate::text::lang::detect_with(text, |sample| self.features.language_of(sample))
    }

    /// A hash of the features of fixed probe dispatches after
    /// `crate::prepare::prepare`: it changes when cleaning, tokenisation or
    /// the gazetteer change, i.e. when serving would no longer see the
    /// features the model was trained on.
    pub fn pipeline_fingerprint(&self) -> u64 {
        let mut h = meta::FNV_OFFSET;
        for (title, text, lang) in PROBES {
            let p = prepare(title, text, Some(lang), &self.gazetteer);
            let (idx, val) = self.features.transform(&p.input(), &self.gazetteer);
            for (j, v) in idx.iter().zip(&val) {
                h = meta::fnv1a(h, &j.to_le_bytes());
                h = meta::fnv1a(h, &v.to_le_bytes());
            }
            h = meta::fnv1a(h, b"|");
        }
        h
    }

    /// Whether this build prepares dispatches as the model's training did.
    pub fn pipeline_matches(&self) -> bool {
        self.fingerprint == self.pipeline_fingerprint()
    }

    /// [`Model::pipeline_fingerprint`] as it was when the model was trained.
    pub fn trained_fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// CRC32 of the model file this was read from (0 when it was built in
    /// memory): tells apart two files that carry the same version string.
    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// The same model under another version string, e.g. to mark a
    /// promoted copy; saving it writes a new header and checksum.
    pub fn with_version(mut self, version: impl Into<String>) -> Model {
        self.meta.version = version.into();
        self
    }

    /// Whether this model can replace a served one: both heads have labels
    /// and it was trained on the text pipeline of this build. Loading only
    /// warns about a pipeline mismatch; swapping a model in while serving
    /// refuses it, since the running model is known to be good. The error
    /// is a one-line reason.
    pub fn check_servable(&self) -> Result<(), String> {
        let reason = if self.meta.topics.is_empty() || self.meta.regions.is_empty() {
            "has no topic or no region labels".to_string()
        } else if !self.pipeline_matches() {
            format!(
                "was trained with another text pipeline (fingerprint {:016x}, this build {:016x}); retrain it",
                self.fingerprint,
                self.pipeline_fingerprint()
            )
        } else {
            return Ok(());
        };
        Err(reason)
    }

    /// Per-label decision thresholds of (topics, regions).
    pub fn thresholds(&self) -> (&[f32], &[f32]) {
        (&self.topics.thresholds, &self.regions.thresholds)
    }

    /// Scores every label; `explain` is how many evidence terms per label.
    pub fn predict(&self, input: &ModelInput<'_>, explain: usize) -> Prediction {
        self.predict_among(input, explain, None)
    }

    /// [`Model::predict`] for a document known to be about one of the topics
    /// `topics_among` marks (in [`ModelMeta::topics`] order; `None` = any):
    /// only those topics are scored, as [`Model::topic_mask`] explains.
    pub fn predict_among(
        &self,
        input: &ModelInput<'_>,
        explain: usize,
        topics_among: Among<'_>,
    ) -> Prediction {
        let ((idx, val), t, r) = self.raw(input, &mut |_| {});
        let row = (idx.as_slice(), val.as_slice());
        let f = &self.features;
        let (topics, regions) = self.evidence(input, &idx);
        Prediction {
            topics: if topics {
                self.topics.score(f, &t, row, explain, topics_among)
            } else {
                Vec::new()
            },
            regions: if regions {
                self.regions.score(f, &r, row, explain, None)
            } else {
                Vec::new()
            },
        }
    }

    /// Whether each head has evidence to tag a document with feature
    /// columns `idx` (sorted terms, then places): topics need a word of the
    /// vocabulary, regions a word or a place. Without any, the scores are
    /// the training corpora's priors ("lifestyle", "Europe" for a text in
    /// Arabic or Chinese), which a caller must not take for an answer.
    fn evidence(&self, input: &ModelInput<'_>, idx: &[u32]) -> (bool, bool) {
        let terms = idx
            .first()
            .is_some_and(|&j| (j as usize) < self.features.n_terms());
        (terms, terms || !input.places.is_empty())
    }

    /// The mask of [`Model::predict_among`] for topic codes: `Err` names the
    /// first code the model does not know. A caller that files under a fixed
    /// set of topics (a desk's sections) gets the best of those, with
    /// probabilities that add up over them as if the model knew only them.
    pub fn topic_mask<S: AsRef<str>>(&self, codes: &[S]) -> std::result::Result<Vec<bool>, String> {
        let labels = self.topics.labels();
        let mut mask = vec![false; labels.len()];
        for code in codes {
            let code = code.as_ref();
            match labels.iter().position(|l| l.code == code) {
                Some(k) => mask[k] = true,
                None => return Err(code.to_string()),
            }
        }
        Ok(mask)
    }

    /// The labels of each head a caller gets ([`select::chosen`] with
    /// `choice` per head, topics then regions): the same scores as
    /// [`Model::predict`] followed by the choice, without copying or
    /// explaining the labels left out; calls `done` when the features are
    /// built. `topics_among` is [`Model::predict_among`]'s.
    pub fn predict_chosen(
        &self,
        input: &ModelInput<'_>,
        explain: usize,
        (topics, regions): (Choice, Choice),
        topics_among: Among<'_>,
        done: &mut (impl FnMut(Stage) + ?Sized),
    ) -> Prediction {
        let ((idx, val), t, r) = self.raw(input, done);
        let row = (idx.as_slice(), val.as_slice());
        let f = &self.features;
        let (topic_evidence, region_evidence) = self.evidence(input, &idx);
        Prediction {
            topics: if topic_evidence {
                self.topics
                    .chosen_scores(f, &t, row, explain, topics, topics_among)
            } else {
                Vec::new()
            },
            regions: if region_evidence {
                self.regions
                    .chosen_scores(f, &r, row, explain, regions, None)
            } else {
                Vec::new()
            },
        }
    }

    /// A document's feature row and the raw scores of both heads, calling
    /// `done` when the features are built.
    fn raw(
        &self,
        input: &ModelInput<'_>,
        done: &mut (impl FnMut(Stage) + ?Sized),
    ) -> ((Vec<u32>, Vec<f32>), RawScores, RawScores) {
        let (idx, val) = self.features.transform(input, &self.gazetteer);
        done(Stage::Features);
        let (t, r) = raw_scores_pair((&self.topics, &self.regions), input.lang, (&idx, &val));
        ((idx, val), t, r)
    }

    /// Recomputes `selected` of predictions from the model's thresholds
    /// (training tunes them after predicting dev once).
    pub(crate) fn reselect(&self, preds: &mut [Prediction]) {
        for p in preds {
            self.topics.reselect(&mut p.topics);
            self.regions.reselect(&mut p.regions);
        }
    }
}

impl crate::summarize::TermWeights for Model {
    fn idf(&self, term: &str) -> Option<f32> {
        self.features.idf_of(term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opening of /work/shared/examples/aleppo-fr.txt (AFP, December 2016).
    const ALEPPO_FR: &str = "Poutine et Rohani saluent la \"victoire\" à Alep\n\n\
        Les présidents iranien et russe, Hassan Rohani et Vladimir Poutine, ont salué la \
        \"victoire de l'armée syrienne contre les terroristes à Alep\" lors d'un entretien \
        téléphonique samedi soir, a rapporté dimanche le site de la présidence iranienne.\n\n\
        L'Iran et la Russie, tout comme le gouvernement syrien, qualifient de \"terroristes\" \
        tous les groupes rebelles qui se battent en Syrie.\n\n\
        L'armée syrienne a annoncé jeudi soir la reprise de la moitié de la deuxième ville de \
        Syrie Alep qui lui échappait depuis juillet 2012.\n\n\
        Astana, la capitale du Kazakhstan a déjà abrité des rencontres entre des représentants \
        du régime de Damas et des personnalités de l'opposition tolérée par le régime.";

    #[test]
    fn the_chosen_labels_are_those_every_score_would_choose() {
        let m = Model::embedded().unwrap();
        let texts = [
            ALEPPO_FR,
            PROBES[1].1,
            "Le match de football a eu lieu samedi.",
        ];
        for (text, lang) in texts
            .into_iter()
            .zip([Some(Lang::Fr), None, Some(Lang::Fr)])
        {
            let p = prepare("", text, lang, m.gazetteer());
            for (explain, choice) in [(0, (3, None)), (4, (20, None)), (2, (5, Some(0.01)))] {
                let all = m.predict(&p.input(), explain);
                let kept =
                    m.predict_chosen(&p.input(), explain, (choice, choice), None, &mut |_| {});
                let pick = |s: &[LabelScore]| -> Vec<LabelScore> {
                    select::chosen(s, choice.0, choice.1).cloned().collect()
                };
                assert_eq!(kept.topics, pick(&all.topics), "{text:.20} {choice:?}");
                assert_eq!(kept.regions, pick(&all.regions), "{text:.20} {choice:?}");
                assert!(!kept.topics.is_empty());
            }
        }
    }

    #[test]
    fn embedded_model_loads_with_both_heads() {
        let m = Model::embedded().unwrap();

        assert!(!m.meta().topics.is_empty() && !m.meta().regions.is_empty());
        assert!(m.meta().vocabulary_size > 10_000);
    }

    #[test]
    fn embedded_model_was_trained_with_this_builds_text_and_geo() {
        let m = Model::embedded().unwrap();
        assert!(
            m.pipeline_matches(),
            "text cleaning, tokens or gazetteer changed since models/default.dtm was trained; \
             retrain: dispatch-tagger train --recipe recipes/default.toml --out models/default.dtm"
        );
    }

    #[test]
    fn a_model_of_another_pipeline_is_not_servable() {
        let good = Model::embedded().unwrap();
        good.check_servable().unwrap();
        let stale = Model {
            fingerprint: good.fingerprint ^ 1,
            ..good.clone()
        };
        let err = stale.check_servable().unwrap_err();
        assert!(err.contains("another text pipeline"), "{err}");
        let err = Model::default().check_servable().unwrap_err();
        assert!(err.contains("no topic"), "{err}");
    }

    #[test]
    fn with_version_changes_the_saved_header_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.dtm");
        let base = Model::embedded().unwrap();
        base.clone().with_version("promoted").save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        assert_eq!(back.meta().version, "promoted");
        assert_ne!(back.checksum(), base.checksum());
        assert_ne!(back.checksum(), 0);
    }

    /// Briefs from feeds like none of the training corpora: a French sport
    /// brief from France (OrangeSum, the French corpus that reads like
    /// France, has no sport section) is still sport.
    #[test]
    fn briefs_from_an_unknown_feed_get_their_topic() {
        let m = Model::embedded().unwrap();
        for (title, text, topic) in [
            (
                "Le PSG écrase l'OM au Vélodrome",
                "Le Paris Saint-Germain s'est imposé 3-0 dimanche soir à Marseille, grâce à \
                 un doublé de son attaquant.",
                "medtop:15000000",
            ),
            (
                "La BCE relève ses taux",
                "La Banque centrale européenne a relevé jeudi ses taux directeurs d'un quart \
                 de point pour lutter contre l'inflation.",
                "medtop:04000000",
            ),
            (
                "Apple unveils faster iPhone chip",
                "Apple on Tuesday unveiled a new iPhone powered by a faster processor, as it \
                 seeks to revive slowing smartphone sales.",
                "medtop:13000000",
            ),
        ] {
            let p = prepare(title, text, None, m.gazetteer());
            let pred = m.predict(&p.input(), 0);
            assert_eq!(pred.topics[0].code, topic, "{title}: {:?}", pred.topics[0]);
        }
    }

    /// A head of three labels whose logits on feature 0 are 3, 1 and -2,
    /// each with decision threshold 0.8; `calibrated` adds a plain softmax.
    fn three_label_head(calibrated: bool) -> Head {
        let labels = ["a", "b", "c"]
            .map(|c| Label {
                code: c.into(),
                name: c.into(),
            })
            .to_vec();
        let head = Head::new(
            labels,
            vec![vec![3.0], vec![1.0], vec![-2.0]],
            vec![0.0; 3],
            vec![0.8; 3],
        );
        if !calibrated {
            return head;
        }
        let g = calibrate::GroupCalibration {
            offsets: vec![0.0; 3],
            t: 1.0,
            a: 1.0,
            b: 0.0,
            n: 10,
        };
        head.calibrated(calibrate::Calibration {
            fr: g.clone(),
            en: g.clone(),
            und: g,
        })
    }

    /// A story about two topics: the softmax gives the second a small share
    /// (0.12), under its threshold, but its own head votes for it, so it is
    /// returned with the first; the third, voted against, is not. A head of
    /// independent probabilities (the regions) goes by its thresholds alone.
    #[test]
    fn a_topic_its_own_head_votes_for_is_returned_under_its_threshold() {
        let row: (&[u32], &[f32]) = (&[0], &[1.0]);
        let f = TfIdf::default();
        let codes = |s: &[LabelScore], floor: Option<f32>| -> Vec<String> {
            select::chosen(s, 3, floor)
                .map(|l| l.code.clone())
                .collect()
        };
        let topics = three_label_head(true);
        let raw = raw_scores(&topics, Lang::En, row);
        let mut scored = topics.score(&f, &raw, row, 0, None);
        assert!(scored[1].score < 0.2, "{scored:?}");
        assert!(scored[1].voted && scored[1].selected && !scored[2].voted);
        assert_eq!(codes(&scored, None), ["a", "b"]);
        // The chosen path agrees, and a caller's floor still decides alone.
        let chosen = topics.chosen_scores(&f, &raw, row, 0, (3, None), None);
        assert_eq!(codes(&chosen, None), ["a", "b"]);
        assert_eq!(codes(&scored, Some(0.5)), ["a"]);
        // Thresholds tuned again (training) keep the vote.
        for (t, c_selected) in [(0.001, true), (0.99, false)] {
            let retuned = Head {
                thresholds: vec![t; 3],
                ..topics.clone()
            };
            retuned.reselect(&mut scored);
            let selected: Vec<bool> = scored.iter().map(|s| s.selected).collect();
            assert_eq!(selected, [true, true, c_selected], "thresholds {t}");
        }

        let regions = three_label_head(false);
        let raw = raw_scores(&regions, Lang::En, row);
        let scored = regions.score(&f, &raw, row, 0, None);
        // b's sigmoid is 0.73: a positive logit, under the threshold.
        assert!(scored[1].score > 0.5 && scored[1].score < 0.8);
        assert!(!scored[1].voted && !scored[1].selected);
        assert_eq!(codes(&scored, None), ["a"]);
    }

    #[test]
    fn french_syria_dispatch_is_politics_in_western_asia() {
        let m = Model::embedded().unwrap();
        let p = prepare("", ALEPPO_FR, None, m.gazetteer());
        let pred = m.predict(&p.input(), 3);
        // Presidents hail an army's victory: conflict and politics, both
        // returned to a caller that sets no floor.
        let topics: Vec<&str> = select::chosen(&pred.topics, 3, None)
            .map(|t| t.code.as_str())
            .collect();
        assert!(
            topics.contains(&"medtop:11000000") && topics.contains(&"medtop:16000000"),
            "{:?}",
            pred.topics
        );
        let top2: Vec<&str> = pred.regions[..2].iter().map(|r| r.code.as_str()).collect();
        assert!(top2.contains(&"145"), "{top2:?}");
        // The service returns only selected labels (plus the best one).
        assert!(pred.regions.iter().any(|r| r.code == "145" && r.selected));
    }
}
