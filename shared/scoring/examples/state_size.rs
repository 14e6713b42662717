//! The working state's size for the heaviest lead: one event of every kind each hour
//! (ids as long as SendGrid's) under the default rules, for two years (BENCHMARKS.md).
//! Run: `cargo run --release -p leadscore-scoring --example state_size -- 730`

#[path = "../tests/common/mod.rs"]
mod common;
use leadscore_scoring::*;

fn main() {
    let days = std::env::args()
        .nth(1)
        .and_then(|d| d.parse().ok())
        .unwrap_or(730);
    let (state, largest, n) = common::every_kind_every_hour(&Rules::default_rules(), days);
    let last = serde_json::to_vec(&state).map_or(0, |b| b.len());
    println!("{n} events over {days} days: largest state {largest} bytes, last {last} bytes");
    println!("hits kept one by one: {}", state.hits.len());
}
