//! How msgpack bodies travel: as they are, or sealed with Fernet as
//! channels_redis' `symmetric_encryption_keys` seals them (feature
//! `symmetric-encryption`): each key is turned into a Fernet key as
//! `urlsafe_b64encode(sha256(key))`, the first key encrypts, any key
//! decrypts (`MultiFernet`), and the core layer refuses tokens older than
//! `expiry + 10` seconds.

use std::borrow::Cow;
use std::fmt;

/// Seals and opens message bodies; plain unless keys were given.
#[derive(Clone, Default)]
pub(crate) struct Codec {
    #[cfg(feature = "symmetric-encryption")]
    fernets: Vec<fernet::Fernet>,
    #[cfg(feature = "symmetric-encryption")]
    ttl_secs: Option<u64>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// channels_redis' crypter for `keys` (none: plain), refusing tokens
    /// older than `ttl_secs` when given.
    #[cfg(feature = "symmetric-encryption")]
    pub(crate) fn encrypted(keys: &[Vec<u8>], ttl_secs: Option<u64>) -> Codec {
        use base64::Engine;
        use sha2::Digest;
        let fernets = keys
            .iter()
            .map(|key| {
                let key = base64::engine::general_purpose::URL_SAFE.encode(sha2::Sha256::digest(key));
                fernet::Fernet::new(&key).expect("32 bytes in URL-safe base64 are a Fernet key")
            })
            .collect();
        Codec { fernets, ttl_secs }
    }

    fn is_encrypted(&self) -> bool {
        #[cfg(feature = "symmetric-encryption")]
        return !self.fernets.is_empty();
        #[cfg(not(feature = "symmetric-encryption"))]
        false
    }

    /// The bytes to store for `packed` msgpack.
    pub(crate) fn seal(&self, packed: Vec<u8>) -> Vec<u8> {
        #[cfg(feature = "symmetric-encryption")]
        if let Some(first) = self.fernets.first() {
            return first.encrypt(&packed).into_bytes();
        }
        packed
    }

    /// The msgpack inside stored bytes; `None` when they do not open with
    /// any key (another deployment's, tampered or expired).
    pub(crate) fn open<'a>(&self, stored: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        #[cfg(feature = "symmetric-encryption")]
        if !self.fernets.is_empty() {
            let token = std::str::from_utf8(stored).ok()?;
            return self
                .fernets
                .iter()
                .find_map(|fernet| match self.ttl_secs {
                    Some(ttl) => fernet.decrypt_with_ttl(token, ttl).ok(),
                    None => fernet.decrypt(token).ok(),
                })
                .map(Cow::Owned);
        }
        Some(Cow::Borrowed(stored))
    }
}

#[cfg(all(test, feature = "symmetric-encryption"))]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_seals_and_any_key_opens() {
        let old = Codec::encrypted(&[b"old".to_vec()], Some(70));
        let rotated = Codec::encrypted(&[b"new".to_vec(), b"old".to_vec()], Some(70));
        let sealed = rotated.seal(b"\x81\xa4type\xa1x".to_vec());
        assert!(sealed.starts_with(b"gAAAAA"), "a Fernet token");
        assert_eq!(rotated.open(&sealed).as_deref(), Some(&b"\x81\xa4type\xa1x"[..]));
        assert_eq!(old.open(&sealed), None, "sealed with the first key, new");
        let from_old = old.seal(b"\xa1x".to_vec());
        assert_eq!(rotated.open(&from_old).as_deref(), Some(&b"\xa1x"[..]));
        assert_eq!(rotated.open(b"\x81\xa4type\xa1x"), None, "plain bytes do not open");
        assert_eq!(Codec::default().open(b"\xa1x").as_deref(), Some(&b"\xa1x"[..]));
    }

    #[test]
    fn a_token_python_sealed_opens() {
        // Fernet(urlsafe_b64encode(sha256(b"secret").digest())).encrypt(b"\x81\xa4type\xa1x"),
        // made with Python's cryptography; too old for any ttl.
        let token =
            b"gAAAAABrEBh9PQzkCp2gWSsQRasqmkeeqIMULsxDs990DY3d-Q_fk7NAAudnzjFebBvAp-OwsIkfMP_iLwgMXnNbRIcvUsMquw==";
        let secret = Codec::encrypted(&[b"secret".to_vec()], None);
        assert_eq!(secret.open(token).as_deref(), Some(&b"\x81\xa4type\xa1x"[..]));
        assert_eq!(Codec::encrypted(&[b"other".to_vec()], None).open(token), None);
    }
}
