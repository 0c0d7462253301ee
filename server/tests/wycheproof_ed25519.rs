//! The Ed25519 verification the server relies on (jsonwebtoken's rust_crypto backend,
//! reached exactly as `auth::tokens` reaches it) against Project Wycheproof's vectors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use wycheproof::TestResult;
use wycheproof::eddsa::{TestName, TestSet};

#[test]
fn ed25519_verifier_agrees_with_every_wycheproof_vector() {
    let set = TestSet::load(TestName::Ed25519).expect("vectors ship with the crate");
    let mut checked = 0;
    for group in set.test_groups {
        let x = URL_SAFE_NO_PAD.encode(group.key.pk.as_ref());
        let key = DecodingKey::from_ed_components(&x).expect("32-byte public key");
        for test in group.tests {
            let signature = URL_SAFE_NO_PAD.encode(test.sig.as_ref());
            let accepted =
                jsonwebtoken::crypto::verify(&signature, test.msg.as_ref(), &key, Algorithm::EdDSA)
                    .unwrap_or(false);
            match test.result {
                TestResult::Valid => {
                    assert!(accepted, "valid vector {} refused: {}", test.tc_id, test.comment)
                }
                TestResult::Invalid => assert!(
                    !accepted,
                    "invalid vector {} accepted: {}",
                    test.tc_id, test.comment
                ),
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} vectors were checked");
}
