//! Elliptic-curve keys: ECDSA and ECDH on P-256 and P-384 (`p256`, `p384`),
//! Ed25519 (`ed25519-dalek`) and X25519 (`x25519-dalek`). Import and export
//! in the formats WebCrypto names (raw public point, SPKI, PKCS #8, JWK),
//! generation, signatures (ECDSA's in IEEE P1363 form, `r || s`) and key
//! agreement.

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::elliptic_curve as ec;
use rquickjs::{Ctx, Object, Value};

use super::{buffer, fail, jwk_member, with_hash};
use crate::host::bytes_of;

/// Runs `$body` with `$m` the crate of the NIST curve `$curve` (`p256` or
/// `p384`), `$other` for any other curve name.
macro_rules! with_nist {
    ($curve:expr, $m:ident => $body:expr, else $other:expr) => {
        match $curve {
            "P-256" => {
                use ::p256 as $m;
                $body
            }
            "P-384" => {
                use ::p384 as $m;
                $body
            }
            _ => $other,
        }
    };
}

/// The fixed DER prefixes of the SPKI and PKCS #8 (v1) encodings of a 32-byte
/// Ed25519 or X25519 key (RFC 8410): the key follows each.
fn okp_prefixes(curve: &str) -> Option<([u8; 12], [u8; 16])> {
    let oid = match curve {
        "Ed25519" => 0x70,
        "X25519" => 0x6e,
        _ => return None,
    };
    let spki = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oid, 0x03, 0x21, 0x00,
    ];
    let pkcs8 = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oid, 0x04, 0x22, 0x04,
        0x20,
    ];
    Some((spki, pkcs8))
}

/// The public key of a 32-byte Ed25519 or X25519 seed.
fn okp_public(curve: &str, seed: [u8; 32]) -> [u8; 32] {
    if curve == "Ed25519" {
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes()
    } else {
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(seed)).to_bytes()
    }
}

fn key32<'js>(ctx: &Ctx<'js>, bytes: &[u8], what: &str) -> rquickjs::Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| fail(ctx, "DataError", &format!("{what} must be 32 bytes")))
}

/// `curveImport(curve, format, data, private)`: the canonical material of a
/// key in `format` (`raw`, `spki`, `pkcs8`, or `jwk` with `data` the JWK
/// object, whose `d` the caller has seen or not: `private`). A `DataError`
/// for data that is not a key of that curve. Only an ArrayBuffer crosses
/// back (the properties of an object would be set through any setter pod
/// code put on `Object.prototype`).
pub(super) fn import<'js>(
    ctx: Ctx<'js>,
    curve: String,
    format: String,
    data: Value<'js>,
    private: bool,
) -> rquickjs::Result<Value<'js>> {
    let bad = |what: &str| fail(&ctx, "DataError", &format!("not a valid {curve} {what}"));
    if format == "jwk" {
        let jwk = data
            .as_object()
            .ok_or_else(|| fail(&ctx, "DataError", "a JWK must be an object"))?;
        let kty: Option<String> = jwk.get("kty")?;
        let crv: Option<String> = jwk.get("crv")?;
        let want = if curve.starts_with("P-") { "EC" } else { "OKP" };
        if kty.as_deref() != Some(want) || crv.as_deref() != Some(curve.as_str()) {
            return Err(fail(
                &ctx,
                "DataError",
                &format!("the JWK is not a {want} key of curve {curve}"),
            ));
        }
        let x = jwk_member(&ctx, jwk, "x")?;
        return with_nist!(curve.as_str(), m => {
            let y = jwk_member(&ctx, jwk, "y")?;
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let public = m::PublicKey::from_sec1_bytes(&point).map_err(|_| bad("JWK public point"))?;
            if private {
                let d = jwk_member(&ctx, jwk, "d")?;
                let secret = m::SecretKey::from_slice(&d).map_err(|_| bad("JWK private key"))?;
                if secret.public_key() != public {
                    return Err(bad("JWK: 'd' does not match 'x' and 'y'"));
                }
                buffer(&ctx, &secret.to_bytes())
            } else {
                buffer(&ctx, &public_point(&public))
            }
        }, else {
            let x = key32(&ctx, &x, "the JWK's 'x'")?;
            if private {
                let d = key32(&ctx, &jwk_member(&ctx, jwk, "d")?, "the JWK's 'd'")?;
                if okp_public(&curve, d) != x {
                    return Err(bad("JWK: 'd' does not match 'x'"));
                }
                buffer(&ctx, &d)
            } else {
                okp_check_public(&ctx, &curve, &x)?;
                buffer(&ctx, &x)
            }
        });
    }
    let bytes = bytes_of(&ctx, &data)?;
    with_nist!(curve.as_str(), m => {
        use m::pkcs8::{DecodePrivateKey, DecodePublicKey};
        match format.as_str() {
            "raw" => {
                let public = m::PublicKey::from_sec1_bytes(&bytes).map_err(|_| bad("public point"))?;
                buffer(&ctx, &public_point(&public))
            }
            "spki" => {
                let public = m::PublicKey::from_public_key_der(&bytes).map_err(|_| bad("SPKI key"))?;
                buffer(&ctx, &public_point(&public))
            }
            "pkcs8" => {
                let secret = m::SecretKey::from_pkcs8_der(&bytes).map_err(|_| bad("PKCS #8 key"))?;
                buffer(&ctx, &secret.to_bytes())
            }
            other => Err(unknown_format(&ctx, other)),
        }
    }, else {
        let (spki, pkcs8) = okp_prefixes(&curve)
            .ok_or_else(|| fail(&ctx, "NotSupportedError", &format!("unknown curve {curve}")))?;
        match format.as_str() {
            "raw" => {
                let key = key32(&ctx, &bytes, "a raw public key")?;
                okp_check_public(&ctx, &curve, &key)?;
                buffer(&ctx, &key)
            }
            "spki" => {
                let key = bytes.strip_prefix(&spki[..]).ok_or_else(|| bad("SPKI key"))?;
                let key = key32(&ctx, key, "the SPKI key")?;
                okp_check_public(&ctx, &curve, &key)?;
                buffer(&ctx, &key)
            }
            "pkcs8" => {
                let key = bytes.strip_prefix(&pkcs8[..]).ok_or_else(|| bad("PKCS #8 key (v1, RFC 8410)"))?;
                buffer(&ctx, &key32(&ctx, key, "the PKCS #8 key")?)
            }
            other => Err(unknown_format(&ctx, other)),
        }
    })
}

/// An Ed25519 public key must be a point of the curve; any 32 bytes are an
/// X25519 public key (RFC 7748).
fn okp_check_public<'js>(ctx: &Ctx<'js>, curve: &str, key: &[u8; 32]) -> rquickjs::Result<()> {
    if curve == "Ed25519" && ed25519_dalek::VerifyingKey::from_bytes(key).is_err() {
        return Err(fail(ctx, "DataError", "not a valid Ed25519 public key"));
    }
    Ok(())
}

fn unknown_format<'js>(ctx: &Ctx<'js>, format: &str) -> rquickjs::Error {
    fail(
        ctx,
        "NotSupportedError",
        &format!("unknown key format {format}"),
    )
}

/// The uncompressed SEC1 encoding of a NIST curve's public key.
fn public_point<C>(public: &ec::PublicKey<C>) -> Vec<u8>
where
    C: ec::CurveArithmetic,
    ec::AffinePoint<C>: ec::sec1::FromSec1Point<C> + ec::sec1::ToSec1Point<C>,
    ec::FieldBytesSize<C>: ec::sec1::ModulusSize,
{
    use ec::sec1::ToSec1Point;
    public.to_sec1_point(false).as_bytes().to_vec()
}

/// `curveExport(curve, format, type, material)`: the key in `format`, bytes
/// (an ArrayBuffer) or, for `jwk`, the JWK's key members (`kty`, `crv`,
/// `x`, `y`, `d`). `js/crypto.js` has checked that the key is extractable.
pub(super) fn export<'js>(
    ctx: Ctx<'js>,
    curve: String,
    format: String,
    kind: String,
    material: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let material = bytes_of(&ctx, &material)?;
    let private = kind == "private";
    let wrong = |what: &str| {
        fail(
            &ctx,
            "InvalidAccessError",
            &format!("a {kind} key cannot be exported as {what}"),
        )
    };
    let jwk = Object::new(ctx.clone())?;
    let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
    with_nist!(curve.as_str(), m => {
        use m::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let (secret, public) = if private {
            let secret = m::SecretKey::from_slice(&material).map_err(|_| fail(&ctx, "OperationError", "corrupt key"))?;
            let public = secret.public_key();
            (Some(secret), public)
        } else {
            (None, m::PublicKey::from_sec1_bytes(&material).map_err(|_| fail(&ctx, "OperationError", "corrupt key"))?)
        };
        let point = public_point(&public);
        let size = (point.len() - 1) / 2;
        match (format.as_str(), &secret) {
            ("raw", None) => buffer(&ctx, &point),
            ("spki", None) => {
                let der = public.to_public_key_der().map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?;
                buffer(&ctx, der.as_bytes())
            }
            ("pkcs8", Some(secret)) => {
                let der = secret.to_pkcs8_der().map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?;
                buffer(&ctx, der.as_bytes())
            }
            ("jwk", _) => {
                jwk.set("kty", "EC")?;
                jwk.set("crv", curve.as_str())?;
                jwk.set("x", b64(&point[1..=size]))?;
                jwk.set("y", b64(&point[1 + size..]))?;
                if let Some(secret) = &secret {
                    jwk.set("d", b64(&secret.to_bytes()))?;
                }
                Ok(jwk.into_value())
            }
            ("raw" | "spki" | "pkcs8", _) => Err(wrong(&format)),
            (other, _) => Err(unknown_format(&ctx, other)),
        }
    }, else {
        let (spki, pkcs8) = okp_prefixes(&curve)
            .ok_or_else(|| fail(&ctx, "NotSupportedError", &format!("unknown curve {curve}")))?;
        let key = key32(&ctx, &material, "the key")?;
        let public = if private { okp_public(&curve, key) } else { key };
        match (format.as_str(), private) {
            ("raw", false) => buffer(&ctx, &key),
            ("spki", false) => buffer(&ctx, &[&spki[..], &key].concat()),
            ("pkcs8", true) => buffer(&ctx, &[&pkcs8[..], &key].concat()),
            ("jwk", _) => {
                jwk.set("kty", "OKP")?;
                jwk.set("crv", curve.as_str())?;
                jwk.set("x", b64(&public))?;
                if private {
                    jwk.set("d", b64(&key))?;
                }
                Ok(jwk.into_value())
            }
            ("raw" | "spki" | "pkcs8", _) => Err(wrong(&format)),
            (other, _) => Err(unknown_format(&ctx, other)),
        }
    })
}

/// Bytes from the operating system's CSPRNG.
pub(super) fn random<'js, const N: usize>(ctx: &Ctx<'js>) -> rquickjs::Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        fail(
            ctx,
            "OperationError",
            &format!("the system's randomness failed: {e}"),
        )
    })?;
    Ok(bytes)
}

/// `curveGenerate(curve)`: the material of a new private key ([`public`]
/// gives its public key).
pub(super) fn generate<'js>(ctx: Ctx<'js>, curve: String) -> rquickjs::Result<Value<'js>> {
    with_nist!(curve.as_str(), m => {
        // A random string of field size is a valid scalar but with
        // negligible probability (zero, or at least the order): draw again.
        let secret = loop {
            let bytes = random::<48>(&ctx)?;
            let size = m::FieldBytes::default().len();
            if let Ok(secret) = m::SecretKey::from_slice(&bytes[..size]) {
                break secret;
            }
        };
        buffer(&ctx, &secret.to_bytes())
    }, else {
        if okp_prefixes(&curve).is_none() {
            return Err(fail(&ctx, "NotSupportedError", &format!("unknown curve {curve}")));
        }
        buffer(&ctx, &random::<32>(&ctx)?)
    })
}

/// `curvePublic(curve, privateMaterial)`: the material of its public key.
pub(super) fn public<'js>(
    ctx: Ctx<'js>,
    curve: String,
    material: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let material = bytes_of(&ctx, &material)?;
    let corrupt = || fail(&ctx, "OperationError", "corrupt key");
    with_nist!(curve.as_str(), m => {
        let secret = m::SecretKey::from_slice(&material).map_err(|_| corrupt())?;
        buffer(&ctx, &public_point(&secret.public_key()))
    }, else {
        if okp_prefixes(&curve).is_none() {
            return Err(fail(&ctx, "NotSupportedError", &format!("unknown curve {curve}")));
        }
        buffer(&ctx, &okp_public(&curve, key32(&ctx, &material, "the key")?))
    })
}

/// `curveSign(curve, hash, privateMaterial, data)`: an ECDSA signature of
/// the `hash` of `data` (deterministic, RFC 6979), `r || s`; or an Ed25519
/// signature (`hash` unused).
pub(super) fn sign<'js>(
    ctx: Ctx<'js>,
    curve: String,
    hash: String,
    material: Value<'js>,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let material = bytes_of(&ctx, &material)?;
    let data = bytes_of(&ctx, &data)?;
    let corrupt = || fail(&ctx, "OperationError", "corrupt key");
    with_nist!(curve.as_str(), m => {
        use m::ecdsa::signature::hazmat::PrehashSigner;
        use sha2::Digest;
        let key = m::ecdsa::SigningKey::from_slice(&material).map_err(|_| corrupt())?;
        let prehash = with_hash!(&ctx, hash.as_str(), |H| H::digest(&data).to_vec());
        let signature: m::ecdsa::Signature = key.sign_prehash(&prehash).map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?;
        buffer(&ctx, &signature.to_bytes())
    }, else {
        use ed25519_dalek::Signer;
        if curve != "Ed25519" {
            return Err(fail(&ctx, "InvalidAccessError", &format!("{curve} keys do not sign")));
        }
        let key = ed25519_dalek::SigningKey::from_bytes(&key32(&ctx, &material, "the key")?);
        buffer(&ctx, &key.sign(&data).to_bytes())
    })
}

/// `curveVerify(curve, hash, publicMaterial, data, signature)`: whether
/// `signature` ([`sign`]'s form) signs `data`; a signature of the wrong
/// length or out of range is `false`, as the standard asks.
pub(super) fn verify<'js>(
    ctx: Ctx<'js>,
    curve: String,
    hash: String,
    material: Value<'js>,
    data: Value<'js>,
    signature: Value<'js>,
) -> rquickjs::Result<bool> {
    let material = bytes_of(&ctx, &material)?;
    let data = bytes_of(&ctx, &data)?;
    let signature = bytes_of(&ctx, &signature)?;
    let corrupt = || fail(&ctx, "OperationError", "corrupt key");
    with_nist!(curve.as_str(), m => {
        use m::ecdsa::signature::hazmat::PrehashVerifier;
        use sha2::Digest;
        let key = m::ecdsa::VerifyingKey::from_sec1_bytes(&material).map_err(|_| corrupt())?;
        let prehash = with_hash!(&ctx, hash.as_str(), |H| H::digest(&data).to_vec());
        let Ok(signature) = m::ecdsa::Signature::from_slice(&signature) else {
            return Ok(false);
        };
        Ok(key.verify_prehash(&prehash, &signature).is_ok())
    }, else {
        if curve != "Ed25519" {
            return Err(fail(&ctx, "InvalidAccessError", &format!("{curve} keys do not verify")));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key32(&ctx, &material, "the key")?).map_err(|_| corrupt())?;
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&signature) else {
            return Ok(false);
        };
        Ok(key.verify_strict(&data, &signature).is_ok())
    })
}

/// `curveAgree(curve, privateMaterial, publicMaterial, bits)`: the first
/// `bits` bits (all when `null`) of the shared secret of ECDH (the x
/// coordinate) or X25519; an `OperationError` when X25519's result is all
/// zeros (a small-order public key, RFC 7748 section 6.1) or more bits are
/// asked for than there are.
pub(super) fn agree<'js>(
    ctx: Ctx<'js>,
    curve: String,
    private: Value<'js>,
    public: Value<'js>,
    bits: Option<u32>,
) -> rquickjs::Result<Value<'js>> {
    let secret = shared_secret(&ctx, &curve, &private, &public)?;
    let Some(bits) = bits else {
        return buffer(&ctx, &secret);
    };
    let whole = bits.div_ceil(8) as usize;
    if whole > secret.len() {
        return Err(fail(
            &ctx,
            "OperationError",
            &format!("{curve} gives at most {} bits", secret.len() * 8),
        ));
    }
    let mut out = secret[..whole].to_vec();
    if bits % 8 != 0 {
        if let Some(last) = out.last_mut() {
            *last &= 0xffu8 << (8 - bits % 8);
        }
    }
    buffer(&ctx, &out)
}

fn shared_secret<'js>(
    ctx: &Ctx<'js>,
    curve: &str,
    private: &Value<'js>,
    public: &Value<'js>,
) -> rquickjs::Result<Vec<u8>> {
    let ctx = ctx.clone();
    let private = bytes_of(&ctx, private)?;
    let public = bytes_of(&ctx, public)?;
    let corrupt = || fail(&ctx, "OperationError", "corrupt key");
    with_nist!(curve, m => {
        let secret = m::SecretKey::from_slice(&private).map_err(|_| corrupt())?;
        let public = m::PublicKey::from_sec1_bytes(&public).map_err(|_| corrupt())?;
        let shared = m::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
        Ok(shared.raw_secret_bytes().to_vec())
    }, else {
        if curve != "X25519" {
            return Err(fail(&ctx, "InvalidAccessError", &format!("{curve} keys do not derive bits")));
        }
        let secret = x25519_dalek::StaticSecret::from(key32(&ctx, &private, "the key")?);
        let public = x25519_dalek::PublicKey::from(key32(&ctx, &public, "the key")?);
        let shared = secret.diffie_hellman(&public);
        if !shared.was_contributory() {
            return Err(fail(&ctx, "OperationError", "the X25519 public key is of small order: the shared secret would be zero"));
        }
        Ok(shared.as_bytes().to_vec())
    })
}
