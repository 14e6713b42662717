//! One table definition: infra/dynamodb/table.json (used by the store's tests and by
//! `leadscore dynamodb create-table`) and template.yaml's LeadsTable must not drift.

use leadscore::table::TableDefinition;

#[test]
fn template_and_table_json_describe_the_same_table() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let json = std::fs::read_to_string(format!("{root}/infra/dynamodb/table.json")).unwrap();
    let template = std::fs::read_to_string(format!("{root}/template.yaml")).unwrap();
    let from_json = TableDefinition::from_json(&json).unwrap();
    let from_template = TableDefinition::from_template(&template, "LeadsTable").unwrap();
    assert_eq!(from_json, from_template);
    assert!(
        from_json
            .global_secondary_indexes
            .iter()
            .any(|g| g.index_name == "by-stage"),
        "the stage listing's index"
    );
    assert!(
        from_json
            .local_secondary_indexes
            .iter()
            .any(|l| l.index_name == "by-arrival"),
        "the local index a lead's records are read through, in arrival order"
    );
    assert_eq!(
        from_json.stream_specification.map(|s| s.stream_view_type),
        Some("KEYS_ONLY".to_string()),
        "the stream that feeds the ledger worker (keys are all it reads)"
    );
}
