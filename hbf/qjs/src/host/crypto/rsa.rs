//! RSA keys (`rsa`, RustCrypto's constant-time implementation on
//! `crypto-bigint`): RSASSA-PKCS1-v1_5 and RSA-PSS signatures, RSA-OAEP
//! encryption, import and export as SPKI, PKCS #8 and JWK, and generation.
//!
//! A key's canonical material is its PKCS #1 DER encoding (`RSAPrivateKey`
//! or `RSAPublicKey`): self-contained, so nothing of a key stays in Rust
//! between calls. Generation draws from a random source that fails once the
//! request's deadline has passed, which stops the prime search (a 4096-bit
//! key can take seconds): no modulus length stalls a worker past its request.

use base64ct::{Base64UrlUnpadded, Encoding};
use rquickjs::{Ctx, Object, Value};
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::{TryCryptoRng, TryRng};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, Oaep, Pkcs1v15Sign, PrivateKey, Pss, PublicKey};

use super::{buffer, fail, jwk_member, with_hash};
use crate::host::{bytes_of, deadline_passed};

/// The modulus lengths `generateKey` makes: below 1024 bits RSA is broken,
/// and above 4096 generation takes longer than a request's deadline allows.
const GENERATE_BITS: std::ops::RangeInclusive<u32> = 1024..=4096;

/// A random odd prime of `bits` bits with its top two bits set (as the
/// `rsa` crate makes them), searched with a small-factors sieve and
/// Miller-Rabin + Lucas (`crypto-primes`). Written here rather than taken
/// from `rsa`'s key generation so that the deadline is looked at before
/// every candidate: one prime of 2048 bits can take a second of tests.
fn prime(bits: u32) -> Result<BoxedUint, RngStopped> {
    use crypto_primes::hazmat::SmallFactorsSieve;
    let length = std::num::NonZeroU32::new(bits).ok_or(RngStopped("no bits"))?;
    loop {
        let len = bits.div_ceil(8) as usize;
        let mut bytes = vec![0; len];
        DeadlineRng.try_fill_bytes(&mut bytes)?;
        // Big-endian: keep `bits` bits, then set the lowest and the top two.
        bytes[0] &= 0xff >> (len as u32 * 8 - bits);
        bytes[len - 1] |= 1;
        for bit in [bits - 1, bits - 2] {
            bytes[len - 1 - (bit / 8) as usize] |= 1 << (bit % 8);
        }
        let start = BoxedUint::from_be_slice_vartime(&bytes);
        let Ok(sieve) = SmallFactorsSieve::new(start, length, false) else {
            return Err(RngStopped("the candidate does not fit"));
        };
        for candidate in sieve {
            if deadline_passed() {
                return Err(RngStopped("the request's deadline passed"));
            }
            if crypto_primes::is_prime(crypto_primes::Flavor::Any, &candidate) {
                return Ok(candidate);
            }
        }
    }
}

/// The operating system's CSPRNG, failing once the request's deadline has
/// passed (the `rsa` crate hands the failure back as an error).
struct DeadlineRng;

#[derive(Debug)]
struct RngStopped(&'static str);

impl std::fmt::Display for RngStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RngStopped {}

impl TryRng for DeadlineRng {
    type Error = RngStopped;

    fn try_next_u32(&mut self) -> Result<u32, RngStopped> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngStopped> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngStopped> {
        if deadline_passed() {
            return Err(RngStopped("the request's deadline passed"));
        }
        getrandom::fill(dst).map_err(|_| RngStopped("the system's randomness failed"))
    }
}

impl TryCryptoRng for DeadlineRng {}

fn private_key<'js>(ctx: &Ctx<'js>, material: &Value<'js>) -> rquickjs::Result<PrivateKey> {
    let bytes = bytes_of(ctx, material)?;
    PrivateKey::from_pkcs1_der(&bytes).map_err(|_| fail(ctx, "OperationError", "corrupt key"))
}

fn public_key<'js>(ctx: &Ctx<'js>, material: &Value<'js>) -> rquickjs::Result<PublicKey> {
    let bytes = bytes_of(ctx, material)?;
    PublicKey::from_pkcs1_der(&bytes).map_err(|_| fail(ctx, "OperationError", "corrupt key"))
}

fn private_material<'js>(ctx: &Ctx<'js>, key: &PrivateKey) -> rquickjs::Result<Value<'js>> {
    let der = key
        .to_pkcs1_der()
        .map_err(|e| fail(ctx, "OperationError", &e.to_string()))?;
    buffer(ctx, der.as_bytes())
}

fn public_material<'js>(ctx: &Ctx<'js>, key: &PublicKey) -> rquickjs::Result<Value<'js>> {
    let der = key
        .to_pkcs1_der()
        .map_err(|e| fail(ctx, "OperationError", &e.to_string()))?;
    buffer(ctx, der.as_bytes())
}

/// A big-endian unsigned integer from JWK's base64url, without leading
/// zero bytes (as JWK writes them, RFC 7518 section 2).
fn jwk_uint<'js>(ctx: &Ctx<'js>, jwk: &Object<'js>, field: &str) -> rquickjs::Result<BoxedUint> {
    let bytes = jwk_member(ctx, jwk, field)?;
    if bytes.is_empty() {
        return Err(fail(
            ctx,
            "DataError",
            &format!("the JWK's '{field}' is empty"),
        ));
    }
    Ok(BoxedUint::from_be_slice_vartime(&bytes))
}

fn jwk_bytes(value: &BoxedUint) -> String {
    Base64UrlUnpadded::encode_string(&value.to_be_bytes_trimmed_vartime())
}

/// `rsaImport(format, data, private)`: the PKCS #1 material of a key in
/// `format` (`spki`, `pkcs8`, or `jwk` with `data` the JWK object, private
/// when it has `d`). A `DataError` for data that is not such an RSA key,
/// including a JWK whose CRT members do not belong to its primes.
pub(super) fn import<'js>(
    ctx: Ctx<'js>,
    format: String,
    data: Value<'js>,
    private: bool,
) -> rquickjs::Result<Value<'js>> {
    let bad = |what: &str| fail(&ctx, "DataError", &format!("not a valid RSA {what}"));
    match format.as_str() {
        "spki" => {
            let key = PublicKey::from_public_key_der(&bytes_of(&ctx, &data)?)
                .map_err(|_| bad("SPKI key"))?;
            public_material(&ctx, &key)
        }
        "pkcs8" => {
            let key = PrivateKey::from_pkcs8_der(&bytes_of(&ctx, &data)?)
                .map_err(|_| bad("PKCS #8 key"))?;
            private_material(&ctx, &key)
        }
        "jwk" => {
            let jwk = data
                .as_object()
                .ok_or_else(|| fail(&ctx, "DataError", "a JWK must be an object"))?;
            let n = jwk_uint(&ctx, jwk, "n")?;
            let e = jwk_uint(&ctx, jwk, "e")?;
            if !private {
                let key = PublicKey::new(n, e).map_err(|_| bad("JWK public key"))?;
                return public_material(&ctx, &key);
            }
            if jwk.contains_key("oth")? {
                return Err(fail(
                    &ctx,
                    "NotSupportedError",
                    "RSA keys of more than two primes ('oth') are not supported",
                ));
            }
            let d = jwk_uint(&ctx, jwk, "d")?;
            let p = jwk_uint(&ctx, jwk, "p")?;
            let q = jwk_uint(&ctx, jwk, "q")?;
            let key = PrivateKey::from_components(n, e, d, vec![p, q])
                .map_err(|_| bad("JWK private key"))?;
            // The CRT members are redundant: they must be the key's own.
            let given = [
                jwk_uint(&ctx, jwk, "dp")?,
                jwk_uint(&ctx, jwk, "dq")?,
                jwk_uint(&ctx, jwk, "qi")?,
            ];
            let own = [key.dp().cloned(), key.dq().cloned(), key.crt_coefficient()];
            for (given, own) in given.iter().zip(own) {
                let same = own.is_some_and(|own| {
                    own.to_be_bytes_trimmed_vartime() == given.to_be_bytes_trimmed_vartime()
                });
                if !same {
                    return Err(bad("JWK private key: 'dp', 'dq' or 'qi' does not match"));
                }
            }
            private_material(&ctx, &key)
        }
        other => Err(fail(
            &ctx,
            "NotSupportedError",
            &format!("RSA keys cannot be imported as {other}"),
        )),
    }
}

/// `rsaExport(format, type, material)`: the key as SPKI or PKCS #8 bytes,
/// or, for `jwk`, the JWK's key members (`kty`, `n`, `e` and the private
/// ones). `js/crypto.js` has checked that the key is extractable.
pub(super) fn export<'js>(
    ctx: Ctx<'js>,
    format: String,
    kind: String,
    material: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let wrong = |what: &str| {
        fail(
            &ctx,
            "InvalidAccessError",
            &format!("an RSA {kind} key cannot be exported as {what}"),
        )
    };
    let private = kind == "private";
    match (format.as_str(), private) {
        ("spki", false) => {
            let der = public_key(&ctx, &material)?
                .to_public_key_der()
                .map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?;
            buffer(&ctx, der.as_bytes())
        }
        ("pkcs8", true) => {
            let der = private_key(&ctx, &material)?
                .to_pkcs8_der()
                .map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?;
            buffer(&ctx, der.as_bytes())
        }
        ("jwk", _) => {
            let jwk = Object::new(ctx.clone())?;
            jwk.set("kty", "RSA")?;
            if private {
                let key = private_key(&ctx, &material)?;
                jwk.set("n", jwk_bytes(key.n()))?;
                jwk.set("e", jwk_bytes(key.e()))?;
                jwk.set("d", jwk_bytes(key.d()))?;
                let primes = key.primes();
                let (Some(p), Some(q), Some(dp), Some(dq), Some(qi)) = (
                    primes.first(),
                    primes.get(1),
                    key.dp(),
                    key.dq(),
                    key.crt_coefficient(),
                ) else {
                    return Err(fail(&ctx, "OperationError", "corrupt key"));
                };
                jwk.set("p", jwk_bytes(p))?;
                jwk.set("q", jwk_bytes(q))?;
                jwk.set("dp", jwk_bytes(dp))?;
                jwk.set("dq", jwk_bytes(dq))?;
                jwk.set("qi", jwk_bytes(&qi))?;
            } else {
                let key = public_key(&ctx, &material)?;
                jwk.set("n", jwk_bytes(key.n()))?;
                jwk.set("e", jwk_bytes(key.e()))?;
            }
            Ok(jwk.into_value())
        }
        ("spki" | "pkcs8", _) => Err(wrong(&format)),
        (other, _) => Err(fail(
            &ctx,
            "NotSupportedError",
            &format!("RSA keys cannot be exported as {other}"),
        )),
    }
}

/// `rsaShape(type, material)`: `[modulusLength, publicExponent]` of a key
/// (its algorithm's members), the exponent as big-endian bytes.
pub(super) fn shape<'js>(
    ctx: Ctx<'js>,
    kind: String,
    material: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let (bits, exponent) = if kind == "private" {
        let key = private_key(&ctx, &material)?;
        (
            key.n().bit_width_vartime(),
            key.e().to_be_bytes_trimmed_vartime(),
        )
    } else {
        let key = public_key(&ctx, &material)?;
        (
            key.n().bit_width_vartime(),
            key.e().to_be_bytes_trimmed_vartime(),
        )
    };
    let result = rquickjs::Array::new(ctx.clone())?;
    result.set(0, bits)?;
    result.set(1, buffer(&ctx, &exponent)?)?;
    Ok(result.into_value())
}

/// `rsaGenerate(modulusLength, publicExponent)`: the material of a new
/// private key. An `OperationError` for a length outside
/// [`GENERATE_BITS`], an exponent that is not odd and at least 3, or when
/// the request's deadline passes first.
pub(super) fn generate<'js>(
    ctx: Ctx<'js>,
    bits: u32,
    exponent: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    if !GENERATE_BITS.contains(&bits) {
        return Err(fail(
            &ctx,
            "OperationError",
            &format!(
                "RSA keys are generated with {} to {} bits, not {bits}",
                GENERATE_BITS.start(),
                GENERATE_BITS.end()
            ),
        ));
    }
    let exponent = bytes_of(&ctx, &exponent)?;
    let e = BoxedUint::from_be_slice_vartime(&exponent);
    if exponent.len() > 8
        || e.bit_width_vartime() < 2
        || exponent.last().is_none_or(|byte| byte & 1 == 0)
    {
        return Err(fail(
            &ctx,
            "OperationError",
            "the public exponent must be odd, at least 3 and at most 2^33 - 1 (65537 is usual)",
        ));
    }
    let stopped = |why: &str| fail(&ctx, "OperationError", why);
    let deadline = "the request's deadline passed while generating the RSA key";
    let key = loop {
        let p = prime(bits / 2).map_err(|_| stopped(deadline))?;
        let q = prime(bits - bits / 2).map_err(|_| stopped(deadline))?;
        // Two primes of the same half length whose top two bits are set
        // make a modulus of exactly `bits` bits; a pair whose totient
        // shares a factor with the exponent makes no key: draw again.
        if p == q {
            continue;
        }
        if let Ok(key) = PrivateKey::from_p_q(p, q, e.clone()) {
            if key.n().bit_width_vartime() == bits {
                break key;
            }
        }
    };
    private_material(&ctx, &key)
}

/// `rsaPublic(privateMaterial)`: the material of its public key.
pub(super) fn public<'js>(ctx: Ctx<'js>, material: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let key = private_key(&ctx, &material)?;
    public_material(&ctx, &key.to_public_key())
}

/// `rsaSign(scheme, hash, privateMaterial, data, saltLength)`: an
/// RSASSA-PKCS1-v1_5 or RSA-PSS (`saltLength` bytes of salt) signature of
/// the `hash` of `data`.
pub(super) fn sign<'js>(
    ctx: Ctx<'js>,
    scheme: String,
    hash: String,
    material: Value<'js>,
    data: Value<'js>,
    salt_length: usize,
) -> rquickjs::Result<Value<'js>> {
    use sha2::Digest;
    let key = private_key(&ctx, &material)?;
    let data = bytes_of(&ctx, &data)?;
    let signed = with_hash!(&ctx, hash.as_str(), |H| {
        let hashed = H::digest(&data);
        if scheme == "RSA-PSS" {
            key.sign_with_rng(
                &mut DeadlineRng,
                Pss::<H>::new_with_salt(salt_length),
                &hashed,
            )
        } else {
            key.sign_with_rng(&mut DeadlineRng, Pkcs1v15Sign::new::<H>(), &hashed)
        }
    });
    let signature = signed.map_err(|e| fail(&ctx, "OperationError", &format!("{scheme}: {e}")))?;
    buffer(&ctx, &signature)
}

/// `rsaVerify(scheme, hash, publicMaterial, data, signature, saltLength)`:
/// whether `signature` signs `data` ([`sign`]'s schemes; PSS with exactly
/// `saltLength` bytes of salt). A signature that is malformed is `false`.
pub(super) fn verify<'js>(
    ctx: Ctx<'js>,
    scheme: String,
    hash: String,
    material: Value<'js>,
    data: Value<'js>,
    signature: Value<'js>,
    salt_length: usize,
) -> rquickjs::Result<bool> {
    use sha2::Digest;
    let key = public_key(&ctx, &material)?;
    let data = bytes_of(&ctx, &data)?;
    let signature = bytes_of(&ctx, &signature)?;
    Ok(with_hash!(&ctx, hash.as_str(), |H| {
        let hashed = H::digest(&data);
        if scheme == "RSA-PSS" {
            key.verify(Pss::<H>::new_with_salt(salt_length), &hashed, &signature)
        } else {
            key.verify(Pkcs1v15Sign::new::<H>(), &hashed, &signature)
        }
    })
    .is_ok())
}

/// `rsaOaep(encrypt, hash, material, label, data)`: RSA-OAEP with `hash`
/// for both OAEP and MGF1 (as WebCrypto defines it). Decryption is blinded
/// and constant-time; any failure, a wrong key or a tampered ciphertext
/// alike, is the same `OperationError`, so the error tells an attacker
/// nothing about the padding.
pub(super) fn oaep<'js>(
    ctx: Ctx<'js>,
    encrypt: bool,
    hash: String,
    material: Value<'js>,
    label: Value<'js>,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let label = bytes_of(&ctx, &label)?;
    let data = bytes_of(&ctx, &data)?;
    let result = if encrypt {
        let key = public_key(&ctx, &material)?;
        with_hash!(&ctx, hash.as_str(), |H| key.encrypt(
            &mut DeadlineRng,
            Oaep::<H>::new_with_label(label),
            &data
        ))
        .map_err(|e| fail(&ctx, "OperationError", &format!("RSA-OAEP: {e}")))?
    } else {
        let key = private_key(&ctx, &material)?;
        with_hash!(&ctx, hash.as_str(), |H| key.decrypt_blinded(
            &mut DeadlineRng,
            Oaep::<H>::new_with_label(label),
            &data
        ))
        .map_err(|_| fail(&ctx, "OperationError", "RSA-OAEP: decryption failed"))?
    };
    buffer(&ctx, &result)
}
