//! leadscore on one machine: the local server over the Lambda handlers, request signing for
//! trying signed sources by hand, and the route table read from template.yaml.

pub mod analysis;
pub mod apigw;
pub mod banner;
pub mod cli;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod server;
pub mod sign;
pub mod table;
