//! The native half of `crypto.subtle` (Web Cryptography API; its JavaScript
//! half, algorithm names, usages and the `CryptoKey` class, is `js/crypto.js`).
//!
//! Every function here is stateless: it takes key material and data as bytes
//! and returns bytes. Keys never live in Rust between calls (a snapshot's
//! restore would forget them, `heap.rs`): a `CryptoKey` holds its material in
//! an ArrayBuffer in a private field that pod code cannot read, and passes it
//! here. The canonical material of each kind of key:
//!
//! | key | secret / private | public |
//! |---|---|---|
//! | HMAC, AES, PBKDF2, HKDF | the raw bytes | - |
//! | ECDSA, ECDH (P-256, P-384) | the scalar `d` (32 or 48 bytes) | the uncompressed SEC1 point |
//! | Ed25519, X25519 | the 32-byte seed (RFC 8032/7748) | the 32-byte public key |
//! | RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP | PKCS #1 `RSAPrivateKey` DER | PKCS #1 `RSAPublicKey` DER |
//!
//! Errors carry the `DOMException` name the standard asks for in the thrown
//! error's `name` (`DataError`, `OperationError`...); `js/crypto.js` turns them
//! into `DOMException`s. Work that could run long (PBKDF2's iterations) stops
//! at the request's deadline ([`super::deadline_passed`]).

mod aes;
mod curves;
mod kdf;
mod rsa;

use rquickjs::{ArrayBuffer, Ctx, Exception, Object, Value};

use super::{bytes_of, host_fn};

/// Installs the functions as `native.cryptoOps` for `js/crypto.js`.
pub(super) fn install<'js>(ctx: &Ctx<'js>, native: &Object<'js>) -> rquickjs::Result<()> {
    let ops = Object::new(ctx.clone())?;
    ops.set("copy", host_fn(ctx, copy)?)?;
    ops.set("size", host_fn(ctx, size)?)?;
    ops.set("toBase64Url", host_fn(ctx, to_base64url)?)?;
    ops.set("fromBase64Url", host_fn(ctx, from_base64url)?)?;
    ops.set("parseJson", host_fn(ctx, parse_json)?)?;
    ops.set("digest", host_fn(ctx, digest)?)?;
    ops.set("hmacSign", host_fn(ctx, hmac_sign)?)?;
    ops.set("hmacVerify", host_fn(ctx, hmac_verify)?)?;
    ops.set("curveImport", host_fn(ctx, curves::import)?)?;
    ops.set("curveExport", host_fn(ctx, curves::export)?)?;
    ops.set("curveGenerate", host_fn(ctx, curves::generate)?)?;
    ops.set("curvePublic", host_fn(ctx, curves::public)?)?;
    ops.set("curveSign", host_fn(ctx, curves::sign)?)?;
    ops.set("curveVerify", host_fn(ctx, curves::verify)?)?;
    ops.set("curveAgree", host_fn(ctx, curves::agree)?)?;
    ops.set("rsaImport", host_fn(ctx, rsa::import)?)?;
    ops.set("rsaExport", host_fn(ctx, rsa::export)?)?;
    ops.set("rsaShape", host_fn(ctx, rsa::shape)?)?;
    ops.set("rsaGenerate", host_fn(ctx, rsa::generate)?)?;
    ops.set("rsaPublic", host_fn(ctx, rsa::public)?)?;
    ops.set("rsaSign", host_fn(ctx, rsa::sign)?)?;
    ops.set("rsaVerify", host_fn(ctx, rsa::verify)?)?;
    ops.set("rsaOaep", host_fn(ctx, rsa::oaep)?)?;
    ops.set("aesGcm", host_fn(ctx, aes::gcm)?)?;
    ops.set("aesCbc", host_fn(ctx, aes::cbc)?)?;
    ops.set("aesCtr", host_fn(ctx, aes::ctr)?)?;
    ops.set("aesKw", host_fn(ctx, aes::kw)?)?;
    ops.set("pbkdf2", host_fn(ctx, kdf::pbkdf2)?)?;
    ops.set("hkdf", host_fn(ctx, kdf::hkdf)?)?;
    native.set("cryptoOps", ops)?;
    Ok(())
}

/// Throws an Error named `name` (a `DOMException` name): `js/crypto.js`
/// makes it a `DOMException` of that name.
pub(super) fn fail<'js>(ctx: &Ctx<'js>, name: &str, message: &str) -> rquickjs::Error {
    match Exception::from_message(ctx.clone(), message) {
        Ok(error) => {
            if let Err(e) = error.as_object().set("name", name) {
                return e;
            }
            ctx.throw(error.into_value())
        }
        Err(e) => e,
    }
}

/// `bytes` as a new ArrayBuffer (what every `crypto.subtle` result is).
pub(super) fn buffer<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> rquickjs::Result<Value<'js>> {
    Ok(ArrayBuffer::new_copy(ctx.clone(), bytes)?.into_value())
}

/// Runs `$body` with `$H` the hash type named by `$name` (the names
/// `js/crypto.js` normalizes to); a `NotSupportedError` for any other.
macro_rules! with_hash {
    ($ctx:expr, $name:expr, |$H:ident| $body:expr) => {
        match $name {
            "SHA-1" => {
                type $H = sha1::Sha1;
                $body
            }
            "SHA-256" => {
                type $H = sha2::Sha256;
                $body
            }
            "SHA-384" => {
                type $H = sha2::Sha384;
                $body
            }
            "SHA-512" => {
                type $H = sha2::Sha512;
                $body
            }
            other => {
                return Err($crate::host::crypto::fail(
                    $ctx,
                    "NotSupportedError",
                    &format!("unknown hash {other}"),
                ))
            }
        }
    };
}
pub(super) use with_hash;

/// The bytes of the base64url member `field` of a JWK; a `DataError` if it
/// is missing or not base64url (the EC, OKP and RSA imports).
pub(super) fn jwk_member<'js>(
    ctx: &Ctx<'js>,
    jwk: &Object<'js>,
    field: &str,
) -> rquickjs::Result<Vec<u8>> {
    use base64ct::Encoding;
    let text: Option<String> = jwk.get(field)?;
    let text = text.ok_or_else(|| {
        fail(
            ctx,
            "DataError",
            &format!("the JWK has no '{field}' member"),
        )
    })?;
    base64ct::Base64UrlUnpadded::decode_vec(&text).map_err(|_| {
        fail(
            ctx,
            "DataError",
            &format!("the JWK's '{field}' is not base64url"),
        )
    })
}

// Key material goes through these instead of JavaScript's own methods
// (`slice`, `byteLength`, `JSON.parse`...), which pod code may have replaced
// to see what passes through them.

/// `copy(bytes)`: a new ArrayBuffer with the bytes of any binary value.
fn copy<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<Value<'js>> {
    buffer(&ctx, &bytes_of(&ctx, &data)?)
}

/// `size(bytes)`: how many bytes a binary value has.
fn size<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<usize> {
    Ok(bytes_of(&ctx, &data)?.len())
}

/// `toBase64Url(bytes)`: base64url without padding (JWK's encoding).
fn to_base64url<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    use base64ct::Encoding;
    Ok(base64ct::Base64UrlUnpadded::encode_string(&bytes_of(
        &ctx, &data,
    )?))
}

/// `fromBase64Url(text)`: the bytes of unpadded base64url; a `DataError`
/// for anything else.
fn from_base64url<'js>(ctx: Ctx<'js>, text: String) -> rquickjs::Result<Value<'js>> {
    use base64ct::Encoding;
    let bytes = base64ct::Base64UrlUnpadded::decode_vec(&text)
        .map_err(|_| fail(&ctx, "DataError", "not base64url (JWK's encoding)"))?;
    buffer(&ctx, &bytes)
}

/// `parseJson(bytes)`: the UTF-8 JSON text in `bytes`, parsed by the
/// engine's parser (an unwrapped JWK); a `DataError` if it is not JSON.
fn parse_json<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let bytes = bytes_of(&ctx, &data)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| fail(&ctx, "DataError", "the unwrapped key is not UTF-8 JSON"))?;
    match ctx.json_parse(text) {
        Ok(value) => Ok(value),
        Err(_) => {
            let _ = ctx.catch();
            Err(fail(&ctx, "DataError", "the unwrapped key is not JSON"))
        }
    }
}

/// `digest(hash, data)`: the hash of the bytes.
fn digest<'js>(ctx: Ctx<'js>, hash: String, data: Value<'js>) -> rquickjs::Result<Value<'js>> {
    use sha2::Digest;
    let data = bytes_of(&ctx, &data)?;
    let out = with_hash!(&ctx, hash.as_str(), |H| H::digest(&data).to_vec());
    buffer(&ctx, &out)
}

/// `hmacSign(hash, key, data)`: the HMAC of `data` (RFC 2104).
fn hmac_sign<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: Value<'js>,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    use hmac::{KeyInit, Mac};
    let key = bytes_of(&ctx, &key)?;
    let data = bytes_of(&ctx, &data)?;
    let out = with_hash!(&ctx, hash.as_str(), |H| {
        let mut mac = hmac::Hmac::<H>::new_from_slice(&key)
            .map_err(|_| fail(&ctx, "DataError", "the HMAC key is not usable"))?;
        mac.update(&data);
        mac.finalize().into_bytes().to_vec()
    });
    buffer(&ctx, &out)
}

/// `hmacVerify(hash, key, data, signature)`: whether `signature` is the HMAC
/// of `data`, compared in constant time (`subtle`, through `hmac`'s
/// `verify_slice`), so timing tells nothing of how much of it matched.
fn hmac_verify<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: Value<'js>,
    data: Value<'js>,
    signature: Value<'js>,
) -> rquickjs::Result<bool> {
    use hmac::{KeyInit, Mac};
    let key = bytes_of(&ctx, &key)?;
    let data = bytes_of(&ctx, &data)?;
    let signature = bytes_of(&ctx, &signature)?;
    Ok(with_hash!(&ctx, hash.as_str(), |H| {
        let mut mac = hmac::Hmac::<H>::new_from_slice(&key)
            .map_err(|_| fail(&ctx, "DataError", "the HMAC key is not usable"))?;
        mac.update(&data);
        mac.verify_slice(&signature).is_ok()
    }))
}
