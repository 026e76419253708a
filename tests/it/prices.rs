//! Prices per region: every estimate names its table's region and date, a
//! project's own table wins over the shipped one, a region without a table
//! prices nothing and says how to price it, and `prices update` writes a
//! dated table from the Price List API (a local stand-in answering
//! `GetProducts` pages as AWS does: `PriceList` is a list of JSON strings).
//! `--debug` is shown here too: the SDK's own lines on stderr, JSON alone on
//! stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common::{Cli, scaffolded, stderr, stdout};

fn cost_json(dir: &Path, env: &str) -> serde_json::Value {
    let output = Cli::new()
        .args(["--project"])
        .args([dir])
        .args(["cost", "--env", env, "--format", "json"])
        .run();
    assert!(output.status.success(), "{output:?}");
    let document = serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap();
    assert_eq!(document["format_version"], 1);
    document["environments"][0]["estimate"].clone()
}

fn cost_human(dir: &Path, env: &str) -> String {
    let output = Cli::new()
        .args(["--project"])
        .args([dir])
        .args(["cost", "--env", env])
        .env("NO_COLOR", "1")
        .run();
    assert!(output.status.success(), "{output:?}");
    stdout(&output)
}

fn set_region(dir: &Path, region: &str) {
    let path = dir.join("environments/base.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("region = \"us-east-1\""), "{text}");
    // The images move with the region: SageMaker pulls from its own region only.
    std::fs::write(&path, text.replace("us-east-1", region)).unwrap();
}

#[test]
fn the_scaffold_is_priced_with_its_region_and_the_tables_date() {
    let dir = scaffolded();
    let estimate = cost_json(dir.path(), "dev");
    assert_eq!(estimate["unpriced"], serde_json::json!([]), "{estimate:#}");
    assert_eq!(estimate["prices"]["region"], "us-east-1");
    assert_eq!(estimate["prices"]["table"], "shipped");
    let date = estimate["prices"]["date"].as_str().unwrap().to_string();
    let endpoint = &estimate["endpoints"][0];
    assert_eq!(endpoint["instance_type"], "ml.m5.large");
    let monthly = endpoint["monthly_at_min"].as_f64().unwrap();
    let human = cost_human(dir.path(), "dev");
    assert!(
        human.contains(&format!("us-east-1 prices of {date} (shipped table)")),
        "{human}"
    );

    // Another region: its own table, its own prices, said so.
    set_region(dir.path(), "eu-west-1");
    let estimate = cost_json(dir.path(), "dev");
    assert_eq!(estimate["prices"]["region"], "eu-west-1");
    assert_eq!(estimate["unpriced"], serde_json::json!([]));
    let there = estimate["endpoints"][0]["monthly_at_min"].as_f64().unwrap();
    assert!(there > monthly, "eu-west-1 {there} vs us-east-1 {monthly}");
}

#[test]
fn a_region_without_a_table_is_unpriced_and_says_how_to_price_it() {
    let dir = scaffolded();
    set_region(dir.path(), "ap-south-1");
    let estimate = cost_json(dir.path(), "dev");
    assert_eq!(estimate["prices"]["region"], "ap-south-1");
    assert!(estimate["prices"]["date"].is_null());
    assert!(
        estimate["endpoints"][0]["monthly_at_min"].is_null(),
        "{estimate:#}"
    );
    let unpriced: Vec<&str> = estimate["unpriced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(unpriced.contains(&"ml.m5.large"), "{unpriced:?}");
    let human = cost_human(dir.path(), "dev");
    assert!(
        human.contains("no price for ml.m5.large")
            && human.contains("run `mlinfra prices update --region ap-south-1`"),
        "{human}"
    );
}

#[test]
fn a_project_table_wins_over_the_shipped_one_and_a_broken_one_is_an_error() {
    let dir = scaffolded();
    std::fs::create_dir(dir.path().join("prices")).unwrap();
    let table = serde_json::json!({
        "format_version": 1,
        "region": "us-east-1",
        "date": "2031-02-03",
        "source": "test",
        "hosting": { "ml.m5.large": 1.0 },
        "training": { "ml.g4dn.xlarge": 2.0 }
    });
    std::fs::write(dir.path().join("prices/us-east-1.json"), table.to_string()).unwrap();
    let estimate = cost_json(dir.path(), "dev");
    assert_eq!(estimate["prices"]["date"], "2031-02-03");
    assert!(
        estimate["prices"]["table"]
            .as_str()
            .unwrap()
            .ends_with("prices/us-east-1.json"),
        "{estimate:#}"
    );
    assert_eq!(estimate["endpoints"][0]["monthly_at_min"], 730.0);

    std::fs::write(
        dir.path().join("prices/us-east-1.json"),
        "{\n  \"region\": 3\n}",
    )
    .unwrap();
    let output = Cli::new()
        .args(["--project"])
        .args([dir.path()])
        .args(["cost", "--env", "dev"])
        .run();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = stderr(&output);
    assert!(
        error.contains("prices/us-east-1.json:2:")
            && error.contains("mlinfra prices update --region us-east-1"),
        "{error}"
    );
}

/// One product of the Price List, as `GetProducts` returns it: a JSON
/// document inside a string.
fn product(component: &str, instance: &str, region: &str, usd: &str) -> String {
    let sku = format!("SKU{}", instance.replace('.', "").to_uppercase());
    serde_json::json!({
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "regionCode": region,
                "component": component,
                "instanceName": instance,
                "servicecode": "AmazonSageMaker",
                "operation": "RunInstance",
                "locationType": "AWS Region"
            },
            "sku": sku
        },
        "serviceCode": "AmazonSageMaker",
        "terms": { "OnDemand": { format!("{sku}.JRTCKXETXF"): {
            "priceDimensions": { format!("{sku}.JRTCKXETXF.6YS6EN2CT7"): {
                "unit": "Hrs", "beginRange": "0", "endRange": "Inf", "appliesTo": [],
                "description": format!("${usd} per hour"),
                "pricePerUnit": { "USD": usd }
            }},
            "sku": sku, "offerTermCode": "JRTCKXETXF", "termAttributes": {},
            "effectiveDate": "2025-11-01T00:00:00Z"
        }}},
        "version": "20251101000000",
        "publicationDate": "2025-11-01T00:00:00Z"
    })
    .to_string()
}

/// A stand-in for the Price List API: answers `GetProducts` with two pages
/// per region and records each request body.
struct PriceList {
    endpoint: String,
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl PriceList {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                // The reachability probe opens a connection and sends nothing.
                let mut body = vec![0; length];
                if length == 0 || reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                seen.lock().unwrap().push(request.clone());
                let region = request["Filters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["Field"] == "regionCode")
                    .map(|f| f["Value"].as_str().unwrap().to_string())
                    .unwrap();
                let answer = match request["NextToken"].as_str() {
                    None => serde_json::json!({
                        "FormatVersion": "aws_v1",
                        "PriceList": [
                            product("Hosting", "ml.m5.large", &region, "0.1330000000"),
                            product("Notebook", "ml.t3.medium", &region, "0.0500000000"),
                        ],
                        "NextToken": "page-2"
                    }),
                    Some(_) => serde_json::json!({
                        "FormatVersion": "aws_v1",
                        "PriceList": [
                            product("Training", "ml.g4dn.xlarge", &region, "0.9000000000"),
                            product("Hosting", "ml.g4dn.xlarge", &region, "0.9100000000"),
                        ]
                    }),
                }
                .to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Self { endpoint, requests }
    }

    fn cli(&self, project: &Path) -> Cli {
        Cli::new()
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("MLINFRA_LOG")
            .envs([
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    "/nonexistent/aws-credentials",
                ),
                ("NO_COLOR", "1"),
            ])
            .args([std::ffi::OsStr::new("--project"), project.as_os_str()])
    }
}

#[test]
fn prices_update_writes_a_dated_table_per_region_from_every_page() {
    let dir = scaffolded();
    let api = PriceList::start();
    let output = api
        .cli(dir.path())
        .args([
            "prices",
            "update",
            "--endpoint-url",
            &api.endpoint,
            "--format",
            "json",
        ])
        .run();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["format_version"], 1);
    assert_eq!(
        report["tables"][0]["region"], "us-east-1",
        "the scaffold's region: {report:#}"
    );
    assert_eq!(
        (
            report["tables"][0]["hosting"].as_u64(),
            report["tables"][0]["training"].as_u64()
        ),
        (Some(2), Some(1))
    );
    // Both pages asked, for SageMaker in the region, the second with the token.
    let requests = api.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0]["ServiceCode"], "AmazonSageMaker");
    assert_eq!(requests[1]["NextToken"], "page-2");

    let table: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("prices/us-east-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(table["region"], "us-east-1");
    assert_eq!(
        table["hosting"],
        serde_json::json!({"ml.g4dn.xlarge": 0.91, "ml.m5.large": 0.133})
    );
    assert_eq!(
        table["training"],
        serde_json::json!({"ml.g4dn.xlarge": 0.9})
    );
    let date = table["date"].as_str().unwrap().to_string();
    assert_eq!(date.len(), 10, "{date}");

    // The next estimate uses it and says so.
    let estimate = cost_json(dir.path(), "dev");
    assert_eq!(estimate["prices"]["date"], date.as_str());
    assert!(
        (estimate["endpoints"][0]["monthly_at_min"].as_f64().unwrap() - 0.133 * 730.0).abs() < 1e-9
    );

    // More regions by flag; an unknown one is refused before any call.
    let output = api
        .cli(dir.path())
        .args([
            "prices",
            "update",
            "--region",
            "eu-west-1",
            "--region",
            "ap-south-1",
        ])
        .args(["--endpoint-url", &api.endpoint])
        .run();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("prices/ap-south-1.json").is_file());
    assert!(
        stdout(&output).contains("eu-west-1: 2 hosting and 1 training instance prices of"),
        "{}",
        stdout(&output)
    );
    let asked = api.requests.lock().unwrap().len();
    let output = api
        .cli(dir.path())
        .args([
            "prices",
            "update",
            "--region",
            "eu-west-9",
            "--endpoint-url",
            &api.endpoint,
        ])
        .run();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--region eu-west-9: not a known AWS region; did you mean"),
        "{}",
        stderr(&output)
    );
    assert_eq!(api.requests.lock().unwrap().len(), asked);
}

#[test]
fn debug_traces_the_sdk_on_stderr_and_leaves_stdout_to_the_report() {
    let dir = scaffolded();
    let api = PriceList::start();
    let run = |debug: bool| {
        let mut cli = api.cli(dir.path());
        if debug {
            cli = cli.args(["--debug"]);
        }
        let output = cli
            .args([
                "prices",
                "update",
                "--endpoint-url",
                &api.endpoint,
                "--format",
                "json",
            ])
            .run();
        assert!(output.status.success(), "{output:?}");
        let report: serde_json::Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("stdout is JSON alone ({e}):\n{}", stdout(&output)));
        assert_eq!(report["tables"][0]["region"], "us-east-1");
        stderr(&output)
    };
    let traced = run(true);
    // The SDK's own events (its orchestrator sending GetProducts) and ours.
    assert!(traced.contains("aws_smithy_runtime"), "{traced}");
    assert!(traced.contains("GetProducts"), "{traced}");
    assert!(traced.contains("mlinfra::cloud::pricing"), "{traced}");
    assert!(traced.contains("parsed environment file"), "{traced}");
    let quiet = run(false);
    assert!(
        !quiet.contains("aws_smithy_runtime") && !quiet.contains("DEBUG"),
        "{quiet}"
    );

    // A filter of one's own; a malformed one is an error naming the variable.
    let output = api
        .cli(dir.path())
        .env("MLINFRA_LOG", "mlinfra=debug")
        .args(["validate", "--env", "dev"])
        .run();
    assert!(output.status.success(), "{output:?}");
    let traced = stderr(&output);
    assert!(
        traced.contains("parsed environment file") && !traced.contains("aws_"),
        "{traced}"
    );
    let output = api
        .cli(dir.path())
        .env("MLINFRA_LOG", "mlinfra=loud")
        .args(["validate", "--env", "dev"])
        .run();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("MLINFRA_LOG: "),
        "{}",
        stderr(&output)
    );
}
