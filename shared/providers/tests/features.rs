//! A build without some channels (the crate's features) still names every route, and refuses
//! the routes it left out instead of parsing them. (The default build has every channel:
//! run with `--no-default-features --features <channel>` to see the refusals.)

mod common;

use common::*;
use leadscore_providers::{receive, AdapterError, Channel, Context};
use leadscore_scoring::Signal;

const CHANNELS: [Channel; 3] = [Channel::Forms, Channel::Chatbot, Channel::Email];

#[test]
fn json_is_received_on_the_routes_of_the_channels_built_only() {
    let world = World::new();
    let ctx = Context {
        secrets: &world.secrets,
        mapping: &world.mapping,
        sns_certificates: &world.certs,
    };
    let req = signed("json", &fixture("json/demo_requested.json"), NOW);
    for channel in CHANNELS {
        assert!(channel.sources().contains(&"json"), "{channel:?}");
        let got = receive(channel, "json", &req.inbound(), &ctx);
        if channel.is_built() {
            assert_eq!(
                signals(&got.unwrap()),
                [Signal::DemoRequested],
                "{channel:?}"
            );
        } else {
            assert_eq!(
                got,
                Err(AdapterError::UnknownSource("json".into())),
                "{channel:?}"
            );
        }
    }
}

#[test]
fn a_channel_left_out_refuses_each_of_its_sources_as_unknown() {
    let world = World::new();
    let ctx = Context {
        secrets: &world.secrets,
        mapping: &world.mapping,
        sns_certificates: &world.certs,
    };
    for channel in CHANNELS.into_iter().filter(|c| !c.is_built()) {
        for source in channel.sources() {
            // Whatever the request: nothing of the channel is consulted.
            let req = Request::post(url_of(source), "application/json", b"{}".to_vec());
            assert_eq!(
                receive(channel, source, &req.inbound(), &ctx),
                Err(AdapterError::UnknownSource(source.to_string())),
                "{source} on {channel:?}"
            );
        }
    }
}
