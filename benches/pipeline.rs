//! CPU time per dispatch of `Tagger::classify` and `Tagger::summarize`, and
//! where it goes (the stage split):
//!
//! ```sh
//! cargo bench --bench pipeline                 # every case, about 2 minutes
//! cargo bench --bench pipeline -- example      # only cases whose name matches
//! SHARED=/path/to/shared cargo bench --bench pipeline
//! ```
//!
//! Cases: the example dispatch (tests/data/aleppo-fr.txt) with and without
//! its language hint; 1,000 dev records of each language (drawn evenly from
//! the dev splits of wikinews, masakhanews and orangesum or bbc under
//! `$SHARED/data/corpora`, default `../shared`) with and without the hint;
//! a 100 KB dispatch (dev records joined); a one-line brief; a headline
//! without function words (its language settled by the model's
//! vocabulary). A case over
//! records cycles through them, one record per iteration, so the time
//! reported is per dispatch. Cases that need the shared data are skipped,
//! with a message, when it is absent.
//!
//! Time is this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so waiting
//! for a core on a busy machine is not counted. The stage split, printed
//! before each group, is the same clock read at the stage hooks
//! (`Tagger::classify_within`), averaged over the case's dispatches.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use dispatch_tagger::cutoff::Deadline;
use dispatch_tagger::model::Model;
use dispatch_tagger::stage::Stage;
use dispatch_tagger::summarize::Budget;
use dispatch_tagger::tagger::{ClassifyOptions, Tagger};
use dispatch_tagger::text::Lang;

/// One dispatch as a caller sends it.
#[derive(Clone)]
struct Dispatch {
    title: String,
    text: String,
    lang: Option<Lang>,
}

/// A named set of dispatches, measured one per iteration in turn.
struct Case {
    name: String,
    dispatches: Vec<Dispatch>,
}

/// Dev splits each language's records are drawn from, evenly.
const DEV_SPLITS: [(Lang, &[&str]); 2] = [
    (
        Lang::Fr,
        &["wikinews-fr-dev", "masakhanews-fr-dev", "orangesum-fr-dev"],
    ),
    (
        Lang::En,
        &["wikinews-en-dev", "masakhanews-en-dev", "bbc-en-dev"],
    ),
];

/// Records per language.
const RECORDS: usize = 1000;

/// Size of the long-dispatch case.
const LONG_BYTES: usize = 100 * 1024;

const BRIEF: &str =
    "La Banque centrale européenne relève ses taux d'un quart de point face à l'inflation.";

/// A headline with no function word: its language comes from the
/// vocabulary ([`dispatch_tagger::model::features::TfIdf::language_of`]).
const HEADLINE: &str = "Storm Ciara floods Yorkshire towns";

fn shared() -> PathBuf {
    std::env::var_os("SHARED").map_or_else(|| PathBuf::from("../shared"), PathBuf::from)
}

/// Up to `n` records of a gzipped JSON Lines split.
fn read_split(path: &Path, n: usize) -> std::io::Result<Vec<Dispatch>> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for line in BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .lines()
        .take(n)
    {
        let rec: serde_json::Value = serde_json::from_str(&line?)?;
        let field = |k: &str| rec[k].as_str().unwrap_or_default().to_string();
        out.push(Dispatch {
            title: field("title"),
            text: field("text"),
            lang: Lang::from_hint(&field("lang")).ok().flatten(),
        });
    }
    Ok(out)
}

/// `RECORDS` dev records of `lang`, interleaved across its splits.
fn dev_records(data: &Path, splits: &[&str]) -> std::io::Result<Vec<Dispatch>> {
    let per = RECORDS.div_ceil(splits.len());
    let mut each = Vec::new();
    for s in splits {
        each.push(read_split(
            &data.join("corpora").join(format!("{s}.jsonl.gz")),
            per,
        )?);
    }
    let mut out = Vec::with_capacity(RECORDS);
    for k in 0..per {
        out.extend(each.iter().filter_map(|v| v.get(k).cloned()));
    }
    out.truncate(RECORDS);
    Ok(out)
}

fn without_hints(v: &[Dispatch]) -> Vec<Dispatch> {
    v.iter()
        .map(|d| Dispatch {
            lang: None,
            ..d.clone()
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aleppo-fr.txt"),
    )
    .expect("tests/data/aleppo-fr.txt");
    let one = |title: &str, text: &str, lang| Dispatch {
        title: title.into(),
        text: text.into(),
        lang,
    };
    let mut cases = vec![
        Case {
            name: "example/nohint".into(),
            dispatches: vec![one("", &example, None)],
        },
        Case {
            name: "example/hint".into(),
            dispatches: vec![one("", &example, Some(Lang::Fr))],
        },
        Case {
            name: "brief/nohint".into(),
            dispatches: vec![one("", BRIEF, None)],
        },
        Case {
            name: "headline/nohint".into(),
            dispatches: vec![one("", HEADLINE, None)],
        },
    ];
    let data = shared().join("data");
    if !data.join("corpora").is_dir() {
        eprintln!(
            "pipeline bench: {} not found: dev-record and 100 KB cases skipped (set SHARED to the shared folder)",
            data.join("corpora").display()
        );
        return cases;
    }
    for (lang, splits) in DEV_SPLITS {
        match dev_records(&data, splits) {
            Ok(v) => {
                cases.push(Case {
                    name: format!("dev-{}/nohint", lang.code()),
                    dispatches: without_hints(&v),
                });
                cases.push(Case {
                    name: format!("dev-{}/hint", lang.code()),
                    dispatches: v,
                });
            }
            Err(e) => eprintln!("pipeline bench: dev-{} skipped: {e}", lang.code()),
        }
    }
    if let Some(fr) = cases.iter().find(|c| c.name == "dev-fr/nohint") {
        let mut text = String::new();
        for d in fr.dispatches.iter().cycle().take(10_000) {
            if text.len() >= LONG_BYTES {
                break;
            }
            text.push_str(&d.text);
            text.push_str("\n\n");
        }
        let mut end = LONG_BYTES.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        cases.push(Case {
            name: "100kb/nohint".into(),
            dispatches: vec![one("", &text, None)],
        });
    }
    cases
}

/// This thread's CPU time: criterion's measurement for this bench.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = u64;
    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> u64 {
        start.elapsed().as_nanos() as u64
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats nanoseconds of CPU as criterion formats wall time.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match *throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => n,
            Throughput::Bits(n) => n,
        } as f64;
        let _ = ns;
        for v in values {
            *v = per * 1e9 / *v;
        }
        "/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Runs `call` once per dispatch and prints the mean wall time each stage
/// took, in microseconds per dispatch.
fn print_split(
    name: &str,
    dispatches: &[Dispatch],
    mut call: impl FnMut(&Dispatch, &mut dyn FnMut(Stage)),
) {
    let mut total = [0f64; Stage::ALL.len()];
    let rounds = (2000 / dispatches.len()).max(1);
    for _ in 0..rounds {
        for d in dispatches {
            let mut last = ThreadTime::now();
            call(d, &mut |stage| {
                let now = ThreadTime::now();
                let k = Stage::ALL.iter().position(|&s| s == stage).unwrap_or(0);
                total[k] += now.duration_since(last).as_secs_f64();
                last = now;
            });
        }
    }
    let n = (rounds * dispatches.len()) as f64;
    let parts: Vec<String> = Stage::ALL
        .iter()
        .zip(total)
        .filter(|&(_, t)| t > 0.0)
        .map(|(s, t)| format!("{} {:.1}", s.name(), t / n * 1e6))
        .collect();
    let sum: f64 = total.iter().sum();
    println!(
        "stage split {name} (µs CPU per dispatch): {} = {:.1}",
        parts.join(" + "),
        sum / n * 1e6
    );
}

fn options(lang: Option<Lang>) -> ClassifyOptions {
    ClassifyOptions {
        language: lang,
        max_topics: 3,
        max_regions: 4,
        min_score: None,
        explain: false,
        home_country: None,
        candidate_topics: Vec::new(),
    }
}

fn bench_case(
    group: &mut BenchmarkGroup<'_, ThreadCpu>,
    tagger: &Tagger,
    case: &Case,
    summarize: bool,
) {
    let ds = &case.dispatches;
    let mut k = 0usize;
    group.throughput(Throughput::Elements(1));
    group.bench_function(&case.name, |b| {
        b.iter(|| {
            let d = &ds[k % ds.len()];
            k += 1;
            if summarize {
                let s = tagger.summarize(&d.title, &d.text, d.lang, Budget::sentences(3));
                std::hint::black_box(s.sentences.len())
            } else {
                let c = tagger.classify(&d.title, &d.text, &options(d.lang));
                std::hint::black_box(c.topics.len())
            }
        })
    });
}

fn pipeline(c: &mut Criterion<ThreadCpu>) {
    let tagger = Tagger::new(Arc::new(Model::embedded().expect("embedded model")));
    let cases = cases();
    // Criterion's own arguments are skipped, and so is the value of each of
    // its options that takes one (`--save-baseline main`), so that only the
    // case filter chooses which stage splits are printed.
    const WITH_VALUE: [&str; 6] = [
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--profile-time",
        "--measurement-time",
        "--warm-up-time",
    ];
    let mut filter = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            filter.push(a);
        }
    }
    let wanted = |group: &str, case: &Case| {
        let id = format!("{group}/{}", case.name);
        filter.is_empty() || filter.iter().any(|f| id.contains(f.as_str()))
    };
    for (group_name, summarize) in [("classify", false), ("summarize", true)] {
        for case in cases.iter().filter(|c| wanted(group_name, c)) {
            let name = format!("{group_name}/{}", case.name);
            if summarize {
                print_split(&name, &case.dispatches, |d, done| {
                    tagger
                        .summarize_within(
                            &d.title,
                            &d.text,
                            d.lang,
                            Budget::sentences(3),
                            &Deadline::none(),
                            done,
                        )
                        .expect("no deadline");
                });
            } else {
                print_split(&name, &case.dispatches, |d, done| {
                    tagger
                        .classify_within(
                            &d.title,
                            &d.text,
                            &options(d.lang),
                            &Deadline::none(),
                            done,
                        )
                        .expect("no deadline");
                });
            }
        }
        let mut group = c.benchmark_group(group_name);
        for case in &cases {
            bench_case(&mut group, &tagger, case, summarize);
        }
        group.finish();
    }
}

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = pipeline
}
criterion_main!(benches);
