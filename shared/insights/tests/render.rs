//! The text and HTML reports: what they show, and that nothing from the data can inject
//! markup into the page.

mod builders;

use builders::*;
use leadscore_insights::{
    insights, insights_html, insights_text, replay, replay_html, replay_text, InsightOptions,
};
use leadscore_scoring::{Attributes, Rules, Signal};

fn with_hostile_content() -> Vec<leadscore_insights::History> {
    let mut leads = seven_leads();
    let attributes = Attributes {
        campaign: Some("<script>alert('x')</script>".into()),
        ..Attributes::default()
    };
    leads.push(
        Lead::new("h")
            .with(Signal::EmailClicked, DAY, attributes)
            .history(),
    );
    leads
}

#[test]
fn insights_text_is_aligned_tables() {
    let r = insights(
        seven_leads(),
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions::default(),
    );
    let text = insights_text(&r);
    assert!(text.contains("7 leads"), "{text}");
    assert!(text.contains("mql -> sql"));
    assert!(text.contains("40.0%"));
    assert!(text.contains("SLA: MQLs not worked within 48 h: 3 of 5 MQL leads"));
    assert!(text.contains("defines SQL"));
    assert!(text.contains("2025-11"));
    assert!(text.contains("ebook"));
    // Columns line up: every row of the stage table ends at the same column.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Funnel now"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(table.len(), 8);
    assert!(
        table.iter().all(|l| l.len() == table[0].len()),
        "{table:#?}"
    );
}

#[test]
fn insights_html_is_one_self_contained_escaped_page() {
    let r = insights(
        with_hostile_content(),
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions::default(),
    );
    let html = insights_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "funnel, lift, two monthly charts"
    );
    assert!(html.contains("<polyline"));
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    for fetch in [" src=", "<link", "@import", "url("] {
        assert!(!html.contains(fetch), "{fetch}");
    }
}

#[test]
fn replay_reports_render() {
    let looser = rules_with(&[("engagement_at_least = 50", "engagement_at_least = 20")]);
    let r = replay(
        with_hostile_content(),
        &Rules::default_rules(),
        &looser,
        t(200 * DAY),
        &InsightOptions::default(),
    );
    let text = replay_text(&r);
    assert!(text.contains("8 leads"), "{text}");
    assert!(text.contains("precision"));
    assert!(text.contains("MQL or beyond"));
    let html = replay_html(&r);
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(!html.contains("<script"));
    serde_json::to_string(&r).unwrap();
}
