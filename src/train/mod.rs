//! Training: from a recipe to a fitted [`Model`]. Reads the corpora,
//! prepares them as serving prepares a dispatch, fits the vocabulary, the
//! topic head with its calibration, and the region head, then tunes
//! thresholds and measures on dev.
//!
//! # Layout
//! - [`recipe`]: the TOML training recipe.
//! - [`data`]: shared-corpus records, splits and label names.
//! - [`corpus`]: the training corpus, prepared, with briefs, vectorised.
//! - [`vocab`]: fitting the TF-IDF vocabulary; the training matrix.
//! - [`solver`]: sparse weighted logistic regression (linfa `Fit`).
//! - [`heads`]: fitting one head.
//! - [`calibrate`]: fitting the calibration maps.
//! - [`thresholds`]: per-label decision thresholds tuned on dev.
//! - [`eval`]: per-split precision/recall/F1 of a model.
//! - [`report`]: what a training run reports.

pub mod calibrate;
pub mod corpus;
pub mod data;
pub mod eval;
pub mod heads;
pub mod recipe;
pub mod report;
pub mod solver;
pub mod thresholds;
pub mod vocab;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::Result;
use crate::geo::Gazetteer;
use crate::model::file::FORMAT_VERSION;
use crate::model::{CorpusInfo, Model, ModelMeta};
use corpus::Corpus;
use data::{Record, read_dev, taxonomy_names};
use eval::predict_records;
use heads::{HeadFit, fit_head};
use thresholds::DevSplit;

pub use eval::{EvalReport, evaluate};
pub use recipe::Recipe;
pub use report::{CalibrationReport, LabelFit, TrainReport};

/// What a training run produced.
pub struct Trained {
    /// The model to ship: refitted on train + dev when the recipe says so.
    pub model: Model,
    /// The model fitted on the training splits only, whose dev figures the
    /// report gives; `None` when it is `model` itself.
    pub measured: Option<Model>,
    /// What the run did and measured.
    pub report: TrainReport,
}

/// Trains the model a recipe describes; `data_dir` overrides the recipe's.
/// With `refit` false, a recipe's refit on train + dev is skipped.
pub fn train_recipe(recipe_path: &Path, data_dir: Option<&Path>, refit: bool) -> Result<Trained> {
    let recipe = Recipe::load(recipe_path)?;
    let data = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| recipe.data_dir.clone());
    let (measured, mut report) = train(&recipe, &data)?;
    if !(recipe.refit_with_dev && refit) {
        return Ok(Trained {
            model: measured,
            measured: None,
            report,
        });
    }
    let (model, refit_report) = train(&recipe.with_dev_in_train(), &data)?;
    let model = keep_measured(model, &measured)?;
    report.total_seconds += refit_report.total_seconds;
    report.refit = Some(report::RefitReport {
        corpora: refit_report.corpora,
        seconds: refit_report.total_seconds,
    });
    Ok(Trained {
        model,
        measured: Some(measured),
        report,
    })
}

/// The refitted model with the measured fit's thresholds and dev figures:
/// the refit has no dev split left to tune or measure them on. Its
/// calibration maps are its own, fitted on its calibration slice.
fn keep_measured(model: Model, measured: &Model) -> Result<Model> {
    let codes = |m: &Model| {
        let meta = m.meta();
        (meta.topics.clone(), meta.regions.clone())
    };
    if codes(&model) != codes(measured) {
        return Err(crate::Error::Internal(
            "the refit on train + dev has other labels than the measured fit".into(),
        ));
    }
    let (topics, regions) = measured.thresholds();
    let (topics, regions) = (topics.to_vec(), regions.to_vec());
    Ok(model
        .with_thresholds(topics, regions)
        .with_metrics(measured.meta().metrics.clone()))
}

/// Trains with a loaded recipe and a data folder.
#[tracing::instrument(skip_all, fields(recipe = %recipe.name))]
pub fn train(recipe: &Recipe, data: &Path) -> Result<(Model, TrainReport)> {
    let t0 = Instant::now();
    let gazetteer = Gazetteer::from_taxonomy(&data.join("taxonomy"))?;
    let topic_names = taxonomy_names(&data.join("taxonomy/iptc_mediatopic_top.tsv"))?;
    let region_names = taxonomy_names(&data.join("taxonomy/m49_regions.tsv"))?;
    let (corpus, features) = Corpus::load(recipe, data, &gazetteer)?;
    // Dev records: thresholds are tuned and the model is measured on them.
    let dev = read_dev(recipe, data)?;

    let topics = fit_topics(recipe, &corpus, &topic_names)?;
    let regions = fit_head(
        "regions",
        &recipe.regions,
        &corpus,
        &region_names,
        recipe.prune,
        &|r| in_slice(&recipe.regions, r),
    )?;
    let meta = ModelMeta {
        format_version: FORMAT_VERSION,
        version: recipe.version.clone(),
        recipe: recipe.name.clone(),
        vocabulary_size: features.n_terms() as u64,
        corpora: corpus_info(recipe, &corpus),
        topic_sources: corpus.topic_sources(&recipe.topics),
        holdout: Some(recipe.holdout.clone()),
        ..ModelMeta::default()
    };
    let nnz = corpus.x_all.nnz();
    let (counts, prepare_seconds, vectorize_seconds) = (
        corpus.counts.clone(),
        corpus.prepare_seconds,
        corpus.vectorize_seconds,
    );
    drop(corpus);
    let model = Model::new(meta, gazetteer, features, (topics.fit.head, regions.head));
    let calibration = topics.calibration;
    let (model, labels, dev_report) =
        tune_and_measure(model, recipe, dev, topics.fit.fits, regions.fits);

    let report = TrainReport {
        recipe: recipe.name.clone(),
        version: recipe.version.clone(),
        data_dir: data.to_path_buf(),
        corpora: counts,
        vocabulary_size: model.features().n_terms(),
        features: model.features().n_features(),
        nnz,
        prepare_seconds,
        vectorize_seconds,
        fit_topics_seconds: topics.fit.seconds,
        fit_regions_seconds: regions.seconds,
        total_seconds: t0.elapsed().as_secs_f64(),
        labels,
        calibration,
        dev: dev_report,
        refit: None,
    };
    tracing::info!(seconds = report.total_seconds, "trained");
    Ok((model, report))
}

/// Whether a record is in the head's calibration slice.
fn in_slice(hr: &recipe::HeadRecipe, r: &Record) -> bool {
    hr.calibration.as_ref().is_some_and(|c| c.held_out(&r.id))
}

/// The topic head as fitted: its head and label fits and its calibration
/// report.
struct TopicFit {
    fit: HeadFit,
    calibration: Option<CalibrationReport>,
}

/// Fits the topic head. With a calibration recipe: fitted without the
/// calibration slice, its language groups' maps fitted on the slice, then
/// (with `refit`) refitted on every record, keeping the maps.
fn fit_topics(
    recipe: &Recipe,
    corpus: &Corpus,
    names: &BTreeMap<String, String>,
) -> Result<TopicFit> {
    let hr = &recipe.topics;
    let fit = |exclude: &dyn Fn(&Record) -> bool| {
        fit_head("topics", hr, corpus, names, recipe.prune, exclude)
    };
    let mut topics = fit(&|r| in_slice(hr, r))?;
    let Some(cal) = &hr.calibration else {
        return Ok(TopicFit {
            fit: topics,
            calibration: None,
        });
    };
    let slice = calibrate::fit_slice(&topics.head, hr, cal, corpus);
    tracing::info!(calibration = ?slice.calibration, slice = slice.records, "topic calibration fitted");
    let report = CalibrationReport {
        slice_records: slice.records,
        fraction: cal.fraction,
        refit: cal.refit,
        labels: topics
            .head
            .labels()
            .iter()
            .map(|l| l.code.clone())
            .collect(),
        calibration: slice.calibration.clone(),
    };
    if cal.refit {
        let first = topics.seconds;
        topics = fit(&|_| false)?;
        topics.seconds += first;
    }
    topics.head = topics.head.calibrated(slice.calibration);
    Ok(TopicFit {
        fit: topics,
        calibration: Some(report),
    })
}

/// The training corpora as the model header lists them, with licences.
fn corpus_info(recipe: &Recipe, corpus: &Corpus) -> Vec<CorpusInfo> {
    corpus
        .counts
        .iter()
        .map(|c| CorpusInfo {
            name: c.split.clone(),
            documents: c.documents as u64,
            licence: recipe
                .licences
                .iter()
                .find(|(src, _)| c.split.starts_with(&format!("{src}-")))
                .map(|(_, l)| l.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// Predicts dev once, tunes each head's thresholds on it, then measures the
/// model with them and writes the figures into its header.
fn tune_and_measure(
    model: Model,
    recipe: &Recipe,
    dev: Vec<(String, Vec<Record>)>,
    mut topic_fits: Vec<LabelFit>,
    mut region_fits: Vec<LabelFit>,
) -> (Model, Vec<LabelFit>, EvalReport) {
    let mut dev: Vec<DevSplit> = dev
        .into_iter()
        .map(|(name, records)| {
            let preds = predict_records(&model, &records, None);
            DevSplit {
                name,
                records,
                preds,
            }
        })
        .collect();
    let topics = thresholds::tune(&recipe.topics, &mut topic_fits, &dev, |p| &p.topics);
    let regions = thresholds::tune(&recipe.regions, &mut region_fits, &dev, |p| &p.regions);
    let model = model.with_thresholds(topics, regions);
    let mut report = EvalReport {
        model_version: model.meta().version.clone(),
        splits: Vec::new(),
    };
    for split in &mut dev {
        model.reselect(&mut split.preds);
        report.splits.push(eval::split_report(
            &model,
            &split.name,
            &split.records,
            &split.preds,
        ));
    }
    let model = model.with_metrics(report.metrics());
    topic_fits.extend(region_fits);
    (model, topic_fits, report)
}

/// Tests that need the shared corpora in `../shared/data` (minutes; run
/// on demand with `--ignored`).
#[cfg(test)]
mod corpus_tests {
    use std::path::PathBuf;

    use super::*;

    /// Trains the default recipe on the shared data (minutes): run with
    /// `cargo test --release -- --ignored train_default --nocapture`.
    #[test]
    #[ignore]
    fn train_default() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = std::env::var("DT_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("../shared/data"));
        let out = std::env::var("DT_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("models/default.dtm"));
        let recipe = std::env::var("DT_RECIPE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("recipes/default.toml"));
        let trained = train_recipe(&recipe, Some(&data), true).unwrap();
        println!("{}", trained.report);
        trained.model.save(&out).unwrap();
    }
}
