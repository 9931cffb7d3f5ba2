//! Every RPC through the generated client: answers, bad input, health,
//! reflection and shutdown.

use std::time::Duration;

use dispatch_tagger::grpc::SERVICE_NAME;
use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{
    ClassifyRequest, ClassifyResponse, ClassifyStreamRequest, ClassifyStreamResponse,
    GetModelInfoRequest, SummarizeRequest,
};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{ALEPPO_FR, spawn_server};

fn aleppo(id: &str) -> ClassifyRequest {
    ClassifyRequest {
        id: id.into(),
        text: ALEPPO_FR.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn classify_aleppo_gives_politics_western_asia_and_syria_first() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let resp = client
        .classify(aleppo("aleppo"))
        .await
        .expect("classify answers")
        .into_inner();
    assert_eq!(resp.id, "aleppo");
    assert_eq!(resp.language, "fr");
    let first_topic = &resp.topics.first().expect("a topic").code;
    assert!(
        first_topic == "medtop:11000000" || first_topic == "medtop:16000000",
        "first topic {first_topic}"
    );
    let regions: Vec<&str> = resp.regions.iter().map(|r| r.code.as_str()).collect();
    assert!(
        regions.iter().take(2).any(|c| *c == "145"),
        "regions {regions:?}"
    );
    for tag in resp.topics.iter().chain(&resp.regions) {
        assert!((0.0..=1.0).contains(&tag.score), "{tag:?}");
        assert!(!tag.name.is_empty());
        assert!(tag.evidence.is_empty(), "no evidence unless asked");
    }
    let places: Vec<&str> = resp
        .places
        .iter()
        .map(|p| p.country_code.as_str())
        .collect();
    assert_eq!(places.first(), Some(&"SY"), "places {places:?}");
    for cc in ["RU", "IR"] {
        assert!(places.contains(&cc), "{cc} missing from {places:?}");
    }
    let syria = &resp.places[0];
    assert_eq!(
        (syria.subregion_code.as_str(), syria.region_code.as_str()),
        ("145", "142")
    );
    assert!(!resp.model_version.is_empty());
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn explain_returns_terms_that_occur_in_the_text() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let mut req = aleppo("x");
    req.explain = true;
    let resp = client.classify(req).await.expect("classify").into_inner();
    let top = resp.topics.first().expect("a topic");
    assert!(!top.evidence.is_empty(), "evidence for {}", top.code);
    let lower = ALEPPO_FR.to_lowercase();
    let word_terms: Vec<&str> = top
        .evidence
        .iter()
        .map(|e| e.term.as_str())
        .filter(|t| !t.contains(':'))
        .collect();
    assert!(!word_terms.is_empty());
    // A cognate key ("syrien…") is the first letters of a text word with
    // its accents dropped.
    let folded: String = lower.chars().map(unaccented).collect();
    for term in word_terms {
        for word in term.split(' ') {
            match word.strip_suffix('…') {
                Some(prefix) => {
                    assert!(folded.contains(prefix), "evidence {word:?} not in the text")
                }
                None => assert!(lower.contains(word), "evidence {word:?} not in the text"),
            }
        }
    }
    server.shutdown().await.expect("clean stop");
}

/// A French letter without its accent.
fn unaccented(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' => 'a',
        'ç' => 'c',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' => 'i',
        'ô' | 'ö' | 'œ' => 'o',
        'ù' | 'û' | 'ü' => 'u',
        'ÿ' => 'y',
        c => c,
    }
}

#[tokio::test]
async fn limits_and_thresholds_shape_the_answer() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let mut req = aleppo("x");
    req.max_topics = 1;
    req.max_regions = 1;
    let resp = client.classify(req).await.expect("classify").into_inner();
    assert_eq!(resp.topics.len(), 1);
    assert_eq!(resp.regions.len(), 1);
    let mut req = aleppo("x");
    req.min_score = 1.0;
    let resp = client.classify(req).await.expect("classify").into_inner();
    assert!(resp.topics.iter().all(|t| t.score >= 1.0));
    let mut req = aleppo("x");
    req.language = "EN".into();
    let resp = client.classify(req).await.expect("classify").into_inner();
    assert_eq!(resp.language, "en", "the hint overrides detection");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn bad_input_gets_invalid_argument_saying_what_to_fix() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let cases: Vec<(ClassifyRequest, &str)> = vec![
        (ClassifyRequest::default(), "text is empty"),
        (
            ClassifyRequest {
                text: " \n\t ".into(),
                ..Default::default()
            },
            "text is empty",
        ),
        (
            ClassifyRequest {
                text: "a".repeat(65 * 1024),
                ..Default::default()
            },
            "limit is 65536",
        ),
        (
            ClassifyRequest {
                language: "de".into(),
                ..aleppo("x")
            },
            "language hint",
        ),
        (
            ClassifyRequest {
                max_topics: 500,
                ..aleppo("x")
            },
            "maxTopics",
        ),
        (
            ClassifyRequest {
                max_regions: 21,
                ..aleppo("x")
            },
            "maxRegions",
        ),
        (
            ClassifyRequest {
                min_score: 1.5,
                ..aleppo("x")
            },
            "minScore",
        ),
        (
            ClassifyRequest {
                min_score: f32::NAN,
                ..aleppo("x")
            },
            "minScore",
        ),
        (
            ClassifyRequest {
                id: "i".repeat(300),
                ..aleppo("x")
            },
            "id is 300 bytes",
        ),
        (
            ClassifyRequest {
                home_country: "FRA".into(),
                ..aleppo("x")
            },
            "homeCountry is \"FRA\"",
        ),
        (
            ClassifyRequest {
                home_country: "zz".into(),
                ..aleppo("x")
            },
            "homeCountry \"ZZ\" is not a country",
        ),
        (
            ClassifyRequest {
                candidate_topics: vec!["medtop:11000000".into(), "sport".into()],
                ..aleppo("x")
            },
            "candidateTopics has \"sport\", not a topic this model knows",
        ),
        (
            ClassifyRequest {
                candidate_topics: vec!["medtop:11000000".into(); 65],
                ..aleppo("x")
            },
            "candidateTopics has 65 codes",
        ),
    ];
    for (req, needle) in cases {
        let status = client.classify(req).await.expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(needle),
            "{needle:?} not in {status:?}"
        );
    }
    let status = client
        .summarize(SummarizeRequest {
            text: ALEPPO_FR.into(),
            max_sentences: 21,
            ..Default::default()
        })
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("maxSentences"), "{status:?}");
    // A message over the transport limit is refused before decoding.
    let status = client
        .classify(ClassifyRequest {
            text: "é".repeat(200 * 1024),
            ..Default::default()
        })
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    // The server still answers afterwards.
    client
        .classify(aleppo("after"))
        .await
        .expect("still serving");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn odd_text_never_breaks_the_server() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let texts = [
        "\u{0}\u{1}\u{7f} control",
        "مرحبا بالعالم שלום עולם",
        "🙂🙃🦀🇫🇷",
        "XS\nSM\nMD\nLG",
        "Avec AFP",
        ".....",
        "M. Mme MM. U.S. Mr.",
    ];
    for text in texts {
        let req = ClassifyRequest {
            text: text.into(),
            ..Default::default()
        };
        client.classify(req).await.expect("classify answers");
        let req = SummarizeRequest {
            text: text.into(),
            ..Default::default()
        };
        let resp = client
            .summarize(req)
            .await
            .expect("summarize answers")
            .into_inner();
        for s in resp.sentences {
            assert_eq!(&text[s.start as usize..s.end as usize], s.text);
        }
    }
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn stream_answers_every_request_in_order_with_its_id() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let texts = [
        ALEPPO_FR,
        "Manchester United beat Arsenal 2-1 in the Premier League on Saturday.",
        "Shares of Japanese exporters fell in Tokyo as the yen rose against the dollar.",
        "Le gouvernement a présenté mercredi son projet de loi de finances à l'Assemblée nationale.",
    ];
    let requests: Vec<ClassifyRequest> = (0..20)
        .map(|i| ClassifyRequest {
            id: format!("doc-{i}"),
            text: texts[i % texts.len()].into(),
            ..Default::default()
        })
        .collect();
    let mut answers = client
        .classify_stream(tokio_stream::iter(
            requests.into_iter().map(ClassifyStreamRequest::from),
        ))
        .await
        .expect("stream opens")
        .into_inner();
    let mut ids = Vec::new();
    while let Some(resp) = answers.message().await.expect("no stream error") {
        assert!(!resp.topics.is_empty());
        ids.push(resp.id);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("doc-{i}")).collect();
    assert_eq!(ids, expected);
    server.shutdown().await.expect("clean stop");
}

/// The answers to `request` as a unary call and as the one request of a
/// stream.
async fn unary_and_streamed(
    client: &mut DispatchTaggerServiceClient<Channel>,
    request: ClassifyRequest,
) -> (ClassifyResponse, ClassifyStreamResponse) {
    let unary = client
        .classify(request.clone())
        .await
        .expect("classify")
        .into_inner();
    let mut answers = client
        .classify_stream(tokio_stream::iter([ClassifyStreamRequest::from(request)]))
        .await
        .expect("stream opens")
        .into_inner();
    let streamed = answers
        .message()
        .await
        .expect("no error")
        .expect("one answer");
    (unary, streamed)
}

#[tokio::test]
async fn a_home_country_tags_a_dispatch_that_names_no_place_in_both_calls() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let request = ClassifyRequest {
        id: "budget".into(),
        text: "Le gouvernement a présenté mercredi son projet de loi de finances.".into(),
        home_country: "ca".into(),
        ..Default::default()
    };
    let (unary, streamed) = unary_and_streamed(&mut client, request).await;
    let codes: Vec<&str> = unary.regions.iter().map(|t| t.code.as_str()).collect();
    assert!(
        codes.starts_with(&["019", "021"]) || codes.starts_with(&["021", "019"]),
        "the Americas and Northern America first: {codes:?}"
    );
    assert!(!codes.contains(&"155"), "not Western Europe: {codes:?}");
    assert!(unary.places.is_empty(), "{:?}", unary.places);
    assert_eq!(streamed.regions, unary.regions);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn candidate_topics_choose_among_a_desks_sections_in_both_calls() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    // A desk that files under politics and economy only.
    let desk = ["medtop:04000000", "medtop:11000000"];
    let request = ClassifyRequest {
        text: "Manchester United beat Arsenal 2-1 at Old Trafford on Saturday, \
               the club's chairman said after a board meeting on the sale of shares."
            .into(),
        candidate_topics: desk.iter().map(|c| c.to_string()).collect(),
        max_topics: 5,
        ..Default::default()
    };
    let (unary, streamed) = unary_and_streamed(&mut client, request).await;
    assert!(!unary.topics.is_empty());
    for t in &unary.topics {
        assert!(
            desk.contains(&t.code.as_str()),
            "{t:?} is not a desk section"
        );
    }
    assert_eq!(streamed.topics, unary.topics);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn stream_stops_at_a_bad_request_naming_it() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let requests = vec![
        aleppo("good"),
        ClassifyRequest {
            id: "empty".into(),
            ..Default::default()
        },
        aleppo("never"),
    ];
    let mut answers = client
        .classify_stream(tokio_stream::iter(
            requests.into_iter().map(ClassifyStreamRequest::from),
        ))
        .await
        .expect("stream opens")
        .into_inner();
    let first = answers
        .message()
        .await
        .expect("first answer")
        .expect("some");
    assert_eq!(first.id, "good");
    let status = answers.message().await.expect_err("second fails");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("\"empty\""), "{status:?}");
    // Words every client shows alike (grpc-js percent-encodes `#` and `?`).
    assert!(
        status.message().starts_with("request at index 1 "),
        "{status:?}"
    );
    assert!(!status.message().contains(['#', '?']), "{status:?}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn summarize_picks_lead_sentences_and_skips_boilerplate() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let resp = client
        .summarize(SummarizeRequest {
            id: "s".into(),
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("summarize answers")
        .into_inner();
    assert_eq!(resp.id, "s");
    assert_eq!(resp.language, "fr");
    assert_eq!(resp.sentences.len(), 3);
    for bad in [
        "Liens d'accessibilité",
        "XS",
        "Avec AFP",
        "conférence à Moscou",
        "Poutine et Rohani saluent",
    ] {
        assert!(
            !resp.summary.contains(bad),
            "{bad:?} in summary {:?}",
            resp.summary
        );
    }
    assert!(
        resp.summary.contains("Les présidents iranien et russe"),
        "lead sentence missing: {:?}",
        resp.summary
    );
    let mut last_end = 0;
    for s in &resp.sentences {
        assert_eq!(&ALEPPO_FR[s.start as usize..s.end as usize], s.text);
        assert!(s.start as usize >= last_end, "document order, no overlap");
        last_end = s.end as usize;
    }
    let one = client
        .summarize(SummarizeRequest {
            text: ALEPPO_FR.into(),
            max_sentences: 1,
            ..Default::default()
        })
        .await
        .expect("summarize answers")
        .into_inner();
    assert_eq!(one.sentences.len(), 1);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn summarize_honours_a_character_budget_with_whole_sentences() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let all: Vec<String> = client
        .summarize(SummarizeRequest {
            text: ALEPPO_FR.into(),
            max_sentences: 20,
            ..Default::default()
        })
        .await
        .expect("summarize answers")
        .into_inner()
        .sentences
        .into_iter()
        .map(|s| s.text)
        .collect();
    for budget in [150u32, 250, 400] {
        let resp = client
            .summarize(SummarizeRequest {
                text: ALEPPO_FR.into(),
                max_sentences: 20,
                max_chars: budget,
                ..Default::default()
            })
            .await
            .expect("summarize answers")
            .into_inner();
        assert!(
            !resp.sentences.is_empty(),
            "budget {budget} fits a sentence"
        );
        assert!(
            resp.summary.chars().count() <= budget as usize,
            "{budget}: {:?}",
            resp.summary
        );
        let mut seen = Vec::new();
        for s in &resp.sentences {
            assert!(all.contains(&s.text), "cut sentence {:?}", s.text);
            assert!(!seen.contains(&s.text), "repeated sentence {:?}", s.text);
            seen.push(s.text.clone());
        }
    }
    let status = client
        .summarize(SummarizeRequest {
            text: ALEPPO_FR.into(),
            max_chars: 1_000_000,
            ..Default::default()
        })
        .await
        .expect_err("budget too large");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("maxChars"), "{status:?}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn model_info_describes_labels_corpora_and_metrics() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let info = client
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("model info")
        .into_inner();
    assert!(!info.version.is_empty());
    assert!(info.format_version >= 1);
    let topics: Vec<&str> = info.topics.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(topics.len(), 17, "every IPTC top-level topic: {topics:?}");
    assert!(
        topics.contains(&"medtop:16000000") && topics.contains(&"medtop:09000000"),
        "{topics:?}"
    );
    let regions: Vec<&str> = info.regions.iter().map(|l| l.code.as_str()).collect();
    assert!(
        regions.contains(&"145") && regions.contains(&"150"),
        "{regions:?}"
    );
    assert!(info.vocabulary_size > 10_000);
    assert!(info.corpora.iter().any(|c| c.name.starts_with("orangesum")));
    assert!(info.metrics.iter().any(|m| m.name == "macro_f1"));
    // Every topic says, per language, what it was learned from; labour has
    // no labelled text in the shared data: the vocabulary only.
    for code in &topics {
        for lang in ["en", "fr"] {
            let source = info
                .topic_sources
                .iter()
                .find(|s| s.code == *code && s.language == lang)
                .unwrap_or_else(|| panic!("no source for {code} in {lang}"));
            assert!(
                source.labelled_records + source.vocabulary_entries > 0,
                "{source:?}"
            );
            assert_eq!(source.corpora.is_empty(), source.labelled_records == 0);
        }
    }
    let labour = info
        .topic_sources
        .iter()
        .find(|s| s.code == "medtop:09000000" && s.language == "en")
        .expect("labour in English");
    assert_eq!(labour.labelled_records, 0, "{labour:?}");
    assert!(labour.vocabulary_entries > 0, "{labour:?}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn health_is_serving_for_the_server_and_the_service() {
    let server = spawn_server().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", SERVICE_NAME] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_finishes_accepted_calls() {
    let mut server = spawn_server().await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .expect("watch opens")
        .into_inner();
    let first = watch.message().await.expect("status").expect("some");
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // A stream is in flight when the stop arrives: it must still be answered.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tx.send(ClassifyStreamRequest::from(aleppo("before")))
        .await
        .expect("send");
    let mut client = server.client().await;
    let mut answers = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    let first = answers.message().await.expect("answer").expect("some");
    assert_eq!(first.id, "before");
    server.begin_shutdown();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health changes promptly");
    if let Ok(Some(status)) = next {
        assert_eq!(status.status, ServingStatus::NotServing as i32);
    }
    // A watcher holds its call open forever; let it go so the drain ends early.
    drop(watch);
    for i in 0..5 {
        tx.send(ClassifyStreamRequest::from(aleppo(&format!("after-{i}"))))
            .await
            .expect("send");
    }
    drop(tx);
    let mut ids = vec![first.id];
    while let Some(resp) = tokio::time::timeout(Duration::from_secs(15), answers.message())
        .await
        .expect("answers come within the grace period")
        .expect("answers keep coming")
    {
        ids.push(resp.id);
    }
    assert_eq!(ids.len(), 6, "every accepted request is answered: {ids:?}");
    tokio::time::timeout(Duration::from_secs(15), server.handle)
        .await
        .expect("server stops")
        .expect("no panic")
        .expect("clean stop");
}
