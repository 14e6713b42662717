//! The baseline of infra/bench/run: what the runtime alone costs, as awslabs' examples start a
//! function (tracing init, then `run(service_fn(..))`), returning the event it was given.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
