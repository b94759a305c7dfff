//! Key derivation: PBKDF2 (RFC 8018) and HKDF (RFC 5869, `hkdf`).
//!
//! PBKDF2's loop is written here over `hmac` rather than taken from the
//! `pbkdf2` crate, because its cost is the caller's choice (an iteration
//! count of 10^12 is one call): the loop looks at the request's deadline
//! every [`CHECK_EVERY`] iterations and stops with an `OperationError`
//! once it has passed (the engine then answers the deadline's 500), so no
//! count stalls a worker past its request.

use hmac::{KeyInit, Mac};
use rquickjs::{Ctx, Value};

use super::{buffer, fail, with_hash};
use crate::host::{bytes_of, deadline_passed};

/// How many PBKDF2 iterations run between two looks at the deadline.
const CHECK_EVERY: u32 = 4096;

/// The most bytes one derivation makes (PBKDF2's `length` is the caller's:
/// without a bound, one call could ask for gigabytes).
const MAX_DERIVED_BYTES: usize = 1 << 16;

fn derived_len<'js>(ctx: &Ctx<'js>, bits: u32) -> rquickjs::Result<usize> {
    if !bits.is_multiple_of(8) {
        return Err(fail(
            ctx,
            "OperationError",
            "the length must be a multiple of 8 bits",
        ));
    }
    let len = bits as usize / 8;
    if len > MAX_DERIVED_BYTES {
        return Err(fail(
            ctx,
            "OperationError",
            &format!(
                "at most {} bits can be derived at once",
                MAX_DERIVED_BYTES * 8
            ),
        ));
    }
    Ok(len)
}

/// `pbkdf2(hash, password, salt, iterations, bits)`: PBKDF2 with HMAC of
/// `hash`, `bits` long.
pub(super) fn pbkdf2<'js>(
    ctx: Ctx<'js>,
    hash: String,
    password: Value<'js>,
    salt: Value<'js>,
    iterations: u32,
    bits: u32,
) -> rquickjs::Result<Value<'js>> {
    let password = bytes_of(&ctx, &password)?;
    let salt = bytes_of(&ctx, &salt)?;
    let len = derived_len(&ctx, bits)?;
    if iterations == 0 {
        return Err(fail(
            &ctx,
            "OperationError",
            "PBKDF2 needs at least one iteration",
        ));
    }
    let mut out = Vec::with_capacity(len);
    with_hash!(&ctx, hash.as_str(), |H| {
        let prf = hmac::Hmac::<H>::new_from_slice(&password)
            .map_err(|_| fail(&ctx, "OperationError", "the password is not usable"))?;
        let mut index: u32 = 1;
        while out.len() < len {
            let mut mac = prf.clone();
            mac.update(&salt);
            mac.update(&index.to_be_bytes());
            let mut u = mac.finalize().into_bytes();
            let mut block = u;
            for i in 1..iterations {
                if i % CHECK_EVERY == 0 && deadline_passed() {
                    return Err(fail(
                        &ctx,
                        "OperationError",
                        "PBKDF2 stopped at the request's deadline (too many iterations)",
                    ));
                }
                let mut mac = prf.clone();
                mac.update(&u);
                u = mac.finalize().into_bytes();
                for (b, x) in block.iter_mut().zip(u.iter()) {
                    *b ^= x;
                }
            }
            let take = (len - out.len()).min(block.len());
            out.extend_from_slice(&block[..take]);
            index += 1;
        }
    });
    buffer(&ctx, &out)
}

/// `hkdf(hash, key, salt, info, bits)`: HKDF extract-then-expand; an
/// `OperationError` past 255 hash lengths (the RFC's limit).
pub(super) fn hkdf<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: Value<'js>,
    salt: Value<'js>,
    info: Value<'js>,
    bits: u32,
) -> rquickjs::Result<Value<'js>> {
    let key = bytes_of(&ctx, &key)?;
    let salt = bytes_of(&ctx, &salt)?;
    let info = bytes_of(&ctx, &info)?;
    let mut out = vec![0; derived_len(&ctx, bits)?];
    with_hash!(&ctx, hash.as_str(), |H| {
        hkdf::Hkdf::<H>::new(Some(&salt), &key)
            .expand(&info, &mut out)
            .map_err(|_| {
                fail(
                    &ctx,
                    "OperationError",
                    "HKDF makes at most 255 times the hash's length",
                )
            })?;
    });
    buffer(&ctx, &out)
}
