//! The AWS Price List API (`GetProducts`): SageMaker's on-demand hourly
//! prices of one region, for `mlinfra prices update`. The API answers in a
//! few regions only (us-east-1, eu-central-1, ap-south-1), whatever region is
//! priced; each product comes back as a JSON document inside a string.

use std::collections::BTreeMap;

use aws_sdk_pricing::types::{Filter, FilterType};
use serde::Deserialize;

use super::error::AwsError;
use super::guard::GuardError;

/// Where the Price List API is asked (it prices every region from there).
pub const API_REGION: &str = "us-east-1";
pub const SERVICE_CODE: &str = "AmazonSageMaker";
/// The product family of SageMaker's per-instance prices.
const PRODUCT_FAMILY: &str = "ML Instance";
/// Products per page: the API's largest.
const PAGE_SIZE: i32 = 100;

/// A Price List client: the default credential chain (of `--profile`),
/// retries, `--endpoint-url`; no account guard, since prices are public list
/// prices, the same for every account.
pub async fn client(connection: &super::Connection) -> Result<aws_sdk_pricing::Client, GuardError> {
    super::reach::reachable(connection.endpoint_url.as_deref(), API_REGION).await?;
    let (config, _) = super::load_config(API_REGION, connection).await;
    Ok(aws_sdk_pricing::Client::new(&config))
}

/// One region's hourly prices by instance type, as the API lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionPrices {
    pub hosting: BTreeMap<String, f64>,
    pub training: BTreeMap<String, f64>,
    /// Products read, priced or not (storage, notebooks, …).
    pub products: usize,
}

/// Every SageMaker instance product of `region`, all pages.
#[tracing::instrument(level = "debug", skip(client))]
pub async fn sagemaker_prices(
    client: &aws_sdk_pricing::Client,
    region: &str,
) -> Result<RegionPrices, AwsError> {
    let filter = |field: &str, value: &str| {
        Filter::builder()
            .r#type(FilterType::TermMatch)
            .field(field)
            .value(value)
            .build()
            .expect("a filter has its type, field and value")
    };
    let mut pages = client
        .get_products()
        .service_code(SERVICE_CODE)
        .filters(filter("regionCode", region))
        .filters(filter("productFamily", PRODUCT_FAMILY))
        .format_version("aws_v1")
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    let mut prices = RegionPrices::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("GetProducts", e))?;
        tracing::debug!(products = page.price_list().len(), "price list page");
        for text in page.price_list() {
            prices.products += 1;
            let Some((purpose, instance, usd)) = hourly_price(text, region) else {
                continue;
            };
            let table = match purpose {
                Purpose::Hosting => &mut prices.hosting,
                Purpose::Training => &mut prices.training,
            };
            // Two products for one type and use: the higher price, so an
            // estimate errs on the side of cost.
            let entry = table.entry(instance).or_insert(usd);
            *entry = entry.max(usd);
        }
    }
    Ok(prices)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Hosting,
    Training,
}

#[derive(Deserialize)]
struct Product {
    product: ProductInfo,
    #[serde(default)]
    terms: Terms,
}

#[derive(Deserialize)]
struct ProductInfo {
    #[serde(rename = "productFamily", default)]
    family: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Terms {
    #[serde(rename = "OnDemand", default)]
    on_demand: BTreeMap<String, Term>,
}

#[derive(Deserialize)]
struct Term {
    #[serde(rename = "priceDimensions", default)]
    dimensions: BTreeMap<String, Dimension>,
}

#[derive(Deserialize)]
struct Dimension {
    #[serde(default)]
    unit: String,
    #[serde(rename = "pricePerUnit", default)]
    price: BTreeMap<String, String>,
}

/// The on-demand hourly USD price of one product, when it is a hosting or
/// training instance of `region`: `None` for everything else (storage,
/// notebooks, processing, products of another region, free tiers).
fn hourly_price(text: &str, region: &str) -> Option<(Purpose, String, f64)> {
    let product: Product = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "price list entry is not a product document");
            return None;
        }
    };
    let attributes = &product.product.attributes;
    if product.product.family != PRODUCT_FAMILY
        || attributes.get("regionCode").map(String::as_str) != Some(region)
    {
        return None;
    }
    let purpose = match attributes.get("component").map(String::as_str) {
        Some("Hosting") => Purpose::Hosting,
        Some("Training") => Purpose::Training,
        _ => return None,
    };
    let instance = attributes
        .get("instanceName")
        .or_else(|| attributes.get("instanceType"))
        .filter(|name| name.starts_with("ml."))?;
    let usd = product
        .terms
        .on_demand
        .values()
        .flat_map(|term| term.dimensions.values())
        .filter(|d| d.unit.eq_ignore_ascii_case("Hrs"))
        .filter_map(|d| d.price.get("USD")?.parse::<f64>().ok())
        .find(|usd| *usd > 0.0)?;
    Some((purpose, instance.clone(), usd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(component: &str, instance: &str, region: &str, usd: &str) -> String {
        serde_json::json!({
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "regionCode": region,
                    "component": component,
                    "instanceName": instance,
                    "servicecode": "AmazonSageMaker",
                    "usagetype": format!("USE1-Host:{instance}"),
                    "operation": "RunInstance",
                    "location": "US East (N. Virginia)",
                    "locationType": "AWS Region"
                },
                "sku": "ABCDEFGH12345678"
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    "ABCDEFGH12345678.JRTCKXETXF": {
                        "priceDimensions": {
                            "ABCDEFGH12345678.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": format!("${usd} per On Demand {instance} {component} hour"),
                                "appliesTo": [],
                                "rateCode": "ABCDEFGH12345678.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": { "USD": usd }
                            }
                        },
                        "sku": "ABCDEFGH12345678",
                        "effectiveDate": "2025-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {}
                    }
                }
            },
            "version": "20251101000000",
            "publicationDate": "2025-11-01T00:00:00Z"
        })
        .to_string()
    }

    #[test]
    fn only_hourly_instance_prices_of_the_region_count() {
        let region = "us-east-1";
        assert_eq!(
            hourly_price(
                &product("Hosting", "ml.m5.large", region, "0.1150000000"),
                region
            ),
            Some((Purpose::Hosting, "ml.m5.large".into(), 0.115))
        );
        assert_eq!(
            hourly_price(
                &product("Training", "ml.g5.xlarge", region, "1.4080000000"),
                region
            )
            .map(|p| p.0),
            Some(Purpose::Training)
        );
        for (text, why) in [
            (
                product("Notebook", "ml.t3.medium", region, "0.05"),
                "notebooks",
            ),
            (
                product("Hosting", "ml.m5.large", "eu-west-1", "0.128"),
                "another region",
            ),
            (
                product("Hosting", "ml.m5.large", region, "0.0000000000"),
                "free tier",
            ),
            ("not json".to_string(), "not a document"),
        ] {
            assert_eq!(hourly_price(&text, region), None, "{why}");
        }
    }

    /// Pages are followed to the end, each asked with the region's filters.
    #[tokio::test]
    async fn every_page_is_read() {
        use aws_sdk_pricing::operation::get_products::GetProductsOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        let asks_for_region = |r: &aws_sdk_pricing::operation::get_products::GetProductsInput| {
            r.service_code() == Some(SERVICE_CODE)
                && r.filters()
                    .iter()
                    .any(|f| f.field() == "regionCode" && f.value() == "eu-west-1")
        };
        let first = mock!(aws_sdk_pricing::Client::get_products)
            .match_requests(move |r| asks_for_region(r) && r.next_token().is_none())
            .then_output(|| {
                GetProductsOutput::builder()
                    .format_version("aws_v1")
                    .price_list(product(
                        "Hosting",
                        "ml.m5.large",
                        "eu-west-1",
                        "0.1280000000",
                    ))
                    .price_list(product(
                        "Notebook",
                        "ml.t3.medium",
                        "eu-west-1",
                        "0.0500000000",
                    ))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_pricing::Client::get_products)
            .match_requests(move |r| asks_for_region(r) && r.next_token() == Some("page-2"))
            .then_output(|| {
                GetProductsOutput::builder()
                    .format_version("aws_v1")
                    .price_list(product(
                        "Training",
                        "ml.m5.large",
                        "eu-west-1",
                        "0.1280000000",
                    ))
                    .price_list(product(
                        "Hosting",
                        "ml.g4dn.xlarge",
                        "eu-west-1",
                        "0.8220000000",
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&first, &second]);

        let prices = sagemaker_prices(&client, "eu-west-1").await.unwrap();

        assert_eq!(prices.products, 4);
        assert_eq!(
            prices.hosting,
            BTreeMap::from([
                ("ml.g4dn.xlarge".into(), 0.822),
                ("ml.m5.large".into(), 0.128)
            ])
        );
        assert_eq!(
            prices.training,
            BTreeMap::from([("ml.m5.large".into(), 0.128)])
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }
}
