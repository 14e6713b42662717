//! Lead ids keyed with LEADSCORE_LEAD_ID_KEY (one process: nextest runs each test alone, and
//! the key is set once per process).

use leadscore_scoring::*;
use sha2::{Digest, Sha256};

#[test]
fn keyed_lead_ids_cannot_be_recomputed_from_an_email() {
    let ada = Email::parse("ada@acme.io").unwrap();
    let plain = LeadId::for_email(&ada);
    // The unkeyed id is anyone's SHA-256 of the address.
    let digest = Sha256::digest(b"email:ada@acme.io");
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(plain.as_str(), format!("ld_{hex}"));

    assert_eq!(
        set_lead_id_key(b"too short"),
        Err(IdentityError::ShortLeadIdKey)
    );
    let key = b"0123456789abcdef0123456789abcdef-leadscore";
    set_lead_id_key(key).unwrap();
    assert!(lead_ids_keyed());
    let keyed = LeadId::for_email(&ada);
    assert_ne!(keyed, plain);
    assert_eq!(
        keyed,
        LeadId::for_email(&Email::parse("ADA@acme.io").unwrap())
    );
    assert!(LeadId::parse(keyed.as_str()).is_ok());
    // The same key again is fine; another one is refused (ids would change under the store).
    set_lead_id_key(key).unwrap();
    assert_eq!(
        set_lead_id_key(b"another key, just as long, 0123456789"),
        Err(IdentityError::LeadIdKeyChanged)
    );
    let visitor = LeadId::for_visitor(&AnonymousId::parse("anon-1").unwrap());
    assert_ne!(visitor, keyed);
}
