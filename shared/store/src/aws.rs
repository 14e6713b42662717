//! The one way every leadscore binary configures an AWS client (DynamoDB here, S3 in
//! leadscore-history, EventBridge and SQS in leadscore-notify).
//!
//! - One TLS stack and one crypto provider: hyper 1 with rustls and ring, the same as the
//!   HTTP client of the webhooks (reqwest). The SDK's default client (aws-lc-rs) and its
//!   legacy one (hyper 0.14, rustls 0.21) are not built.
//! - In the Lambda functions, nothing is probed: Lambda puts the region and the role's
//!   credentials in the environment, so they are read from there (no profile file, no
//!   instance metadata, no SSO or STS clients linked). With the feature `aws-profile` (the
//!   `leadscore` command line, run by people with profiles and SSO), AWS's full chain.
//! - Endpoint overrides follow the SDK's variables in both: `AWS_ENDPOINT_URL_<SERVICE>`, then
//!   `AWS_ENDPOINT_URL`.

pub use aws_types::SdkConfig;

/// The configuration for the AWS service `service` (as in its endpoint variable:
/// `DYNAMODB`, `S3`, `EVENTBRIDGE`, `SQS`).
pub async fn config(service: &str) -> SdkConfig {
    let endpoint = endpoint(service, |name| std::env::var(name).ok());
    load(endpoint).await
}

/// The HTTP client of an AWS client: rustls with ring, which reads the system's root
/// certificates when the SDK client is built (on Lambda, the runtime's bundle). A plain
/// `http://` endpoint override (DynamoDB Local, moto) gets a client without TLS: no roots
/// to read, nothing to negotiate.
pub fn http_client(
    endpoint: Option<&str>,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let builder = aws_smithy_http_client::Builder::new();
    if endpoint.is_some_and(|e| e.starts_with("http://")) {
        return builder.build_http();
    }
    builder
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The endpoint override for `service`, from the SDK's variables.
fn endpoint(service: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let service = service.to_ascii_uppercase().replace([' ', '-'], "_");
    [
        format!("AWS_ENDPOINT_URL_{service}"),
        "AWS_ENDPOINT_URL".into(),
    ]
    .iter()
    .find_map(|name| var(name).filter(|v| !v.trim().is_empty()))
}

#[cfg(feature = "aws-profile")]
async fn load(endpoint: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client(endpoint.as_deref()));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

#[cfg(not(feature = "aws-profile"))]
async fn load(endpoint: Option<String>) -> SdkConfig {
    from_vars(endpoint, |name| std::env::var(name).ok())
}

/// The configuration from the environment alone, as Lambda sets it.
#[cfg(not(feature = "aws-profile"))]
fn from_vars(endpoint: Option<String>, var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
    use aws_types::region::Region;
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut builder = SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(region.map(Region::new))
        .http_client(http_client(endpoint.as_deref()))
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        // Lambda's credentials last as long as the execution environment.
        let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "env");
        builder = builder.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_service_endpoint_wins_over_the_general_one() {
        let env = vars(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb"),
        ]);
        assert_eq!(endpoint("dynamodb", &env).as_deref(), Some("http://ddb"));
        assert_eq!(endpoint("SQS", &env).as_deref(), Some("http://all"));
        assert_eq!(endpoint("SQS", vars(&[])), None);
        assert_eq!(endpoint("SQS", vars(&[("AWS_ENDPOINT_URL", " ")])), None);
    }

    #[cfg(not(feature = "aws-profile"))]
    #[test]
    fn lambda_environment_gives_region_credentials_and_endpoint() {
        let config = from_vars(
            Some("http://127.0.0.1:8000".into()),
            vars(&[
                ("AWS_REGION", "eu-west-3"),
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "token"),
            ]),
        );
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert!(config.credentials_provider().is_some());
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:8000"));
        let bare = from_vars(None, vars(&[("AWS_DEFAULT_REGION", "us-east-2")]));
        assert_eq!(bare.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert!(bare.credentials_provider().is_none());
    }
}
