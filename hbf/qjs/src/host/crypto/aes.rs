//! AES (`aes`) in the modes WebCrypto names: GCM (`aes-gcm`), CBC with
//! PKCS #7 padding (`cbc`), CTR with a counter of any width (written here
//! over the block cipher: the `ctr` crate has only 32, 64 and 128-bit
//! counters) and key wrap, RFC 3394 (`aes-kw`). Keys of 128, 192 or 256 bits.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use rquickjs::{Ctx, Value};

use super::{buffer, fail};
use crate::host::bytes_of;

/// Runs `$body` with `$A` the AES of `$key`'s length; a `DataError` for a
/// key of any other length.
macro_rules! with_aes {
    ($ctx:expr, $key:expr, |$A:ident| $body:expr) => {
        match $key.len() {
            16 => {
                type $A = ::aes::Aes128;
                $body
            }
            24 => {
                type $A = ::aes::Aes192;
                $body
            }
            32 => {
                type $A = ::aes::Aes256;
                $body
            }
            n => {
                return Err(fail(
                    $ctx,
                    "DataError",
                    &format!("an AES key is 128, 192 or 256 bits, not {}", n * 8),
                ))
            }
        }
    };
}

fn decrypt_failed<'js>(ctx: &Ctx<'js>) -> rquickjs::Error {
    fail(ctx, "OperationError", "the data could not be decrypted")
}

/// `aesGcm(encrypt, key, iv, additionalData, tagLength, data)`: AES-GCM
/// with a 96 or 128-bit IV and a 128-bit tag appended to the ciphertext. An
/// `OperationError` when decryption fails (a wrong key, IV or data, a
/// tampered tag). Other IV or tag lengths are a `NotSupportedError`.
pub(super) fn gcm<'js>(
    ctx: Ctx<'js>,
    encrypt: bool,
    key: Value<'js>,
    iv: Value<'js>,
    aad: Value<'js>,
    tag_length: u32,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    use aes_gcm::aead::{Aead, Payload};
    let key = bytes_of(&ctx, &key)?;
    let iv = bytes_of(&ctx, &iv)?;
    let aad = bytes_of(&ctx, &aad)?;
    let data = bytes_of(&ctx, &data)?;
    if tag_length != 128 {
        return Err(fail(
            &ctx,
            "NotSupportedError",
            &format!("AES-GCM tags of {tag_length} bits are not supported here (128 only)"),
        ));
    }
    macro_rules! run {
        ($N:ty) => {
            with_aes!(&ctx, key, |A| {
                let cipher = aes_gcm::AesGcm::<A, $N>::new_from_slice(&key)
                    .map_err(|_| fail(&ctx, "DataError", "bad AES key"))?;
                let nonce = aes_gcm::Nonce::<$N>::try_from(iv.as_slice())
                    .map_err(|_| fail(&ctx, "OperationError", "bad IV"))?;
                let payload = Payload {
                    msg: &data,
                    aad: &aad,
                };
                if encrypt {
                    cipher
                        .encrypt(&nonce, payload)
                        .map_err(|_| fail(&ctx, "OperationError", "the data is too long"))?
                } else {
                    cipher
                        .decrypt(&nonce, payload)
                        .map_err(|_| decrypt_failed(&ctx))?
                }
            })
        };
    }
    let out = match iv.len() {
        12 => run!(aes_gcm::aead::consts::U12),
        16 => run!(aes_gcm::aead::consts::U16),
        n => {
            return Err(fail(
                &ctx,
                "NotSupportedError",
                &format!("AES-GCM IVs of {n} bytes are not supported here (12 or 16)"),
            ))
        }
    };
    buffer(&ctx, &out)
}

/// `aesCbc(encrypt, key, iv, data)`: AES-CBC with PKCS #7 padding and a
/// 16-byte IV; an `OperationError` when the padding is wrong on decryption.
pub(super) fn cbc<'js>(
    ctx: Ctx<'js>,
    encrypt: bool,
    key: Value<'js>,
    iv: Value<'js>,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    use aes::cipher::block_padding::Pkcs7;
    use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
    let key = bytes_of(&ctx, &key)?;
    let iv = bytes_of(&ctx, &iv)?;
    let data = bytes_of(&ctx, &data)?;
    if iv.len() != 16 {
        return Err(fail(&ctx, "OperationError", "an AES-CBC IV is 16 bytes"));
    }
    let bad_key = || fail(&ctx, "DataError", "bad AES key");
    let out = with_aes!(&ctx, key, |A| {
        if encrypt {
            cbc::Encryptor::<A>::new_from_slices(&key, &iv)
                .map_err(|_| bad_key())?
                .encrypt_padded_vec::<Pkcs7>(&data)
        } else {
            cbc::Decryptor::<A>::new_from_slices(&key, &iv)
                .map_err(|_| bad_key())?
                .decrypt_padded_vec::<Pkcs7>(&data)
                .map_err(|_| decrypt_failed(&ctx))?
        }
    });
    buffer(&ctx, &out)
}

/// `aesCtr(key, counter, length, data)`: AES-CTR (encryption and decryption
/// are the same), the rightmost `length` bits of the 16-byte `counter` block
/// counting (wrapping within those bits, the rest fixed). An
/// `OperationError` when the data is longer than the counter can count
/// without repeating.
pub(super) fn ctr<'js>(
    ctx: Ctx<'js>,
    key: Value<'js>,
    counter: Value<'js>,
    length: u32,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let key = bytes_of(&ctx, &key)?;
    let counter = bytes_of(&ctx, &counter)?;
    let mut data = bytes_of(&ctx, &data)?;
    let Ok(counter) = <[u8; 16]>::try_from(counter.as_slice()) else {
        return Err(fail(
            &ctx,
            "OperationError",
            "an AES-CTR counter is 16 bytes",
        ));
    };
    if !(1..=128).contains(&length) {
        return Err(fail(
            &ctx,
            "OperationError",
            "an AES-CTR length is 1 to 128 bits",
        ));
    }
    let blocks = data.len().div_ceil(16) as u128;
    if length < 128 && blocks > 1u128 << length {
        return Err(fail(
            &ctx,
            "OperationError",
            "the data is longer than the counter can count without repeating",
        ));
    }
    let mask = if length == 128 {
        u128::MAX
    } else {
        (1u128 << length) - 1
    };
    let start = u128::from_be_bytes(counter);
    with_aes!(&ctx, key, |A| {
        let cipher = A::new_from_slice(&key).map_err(|_| fail(&ctx, "DataError", "bad AES key"))?;
        for (i, chunk) in data.chunks_mut(16).enumerate() {
            let count = (start & mask).wrapping_add(i as u128) & mask;
            let block = (start & !mask) | count;
            let mut stream = aes::Block::from(block.to_be_bytes());
            cipher.encrypt_block(&mut stream);
            for (byte, key_byte) in chunk.iter_mut().zip(stream.iter()) {
                *byte ^= key_byte;
            }
        }
    });
    buffer(&ctx, &data)
}

/// `aesKw(wrap, key, data)`: AES key wrap (RFC 3394). Wrapping needs a
/// multiple of 8 bytes, at least 16; unwrapping fails with an
/// `OperationError` when the integrity check does.
pub(super) fn kw<'js>(
    ctx: Ctx<'js>,
    wrap: bool,
    key: Value<'js>,
    data: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    let key = bytes_of(&ctx, &key)?;
    let data = bytes_of(&ctx, &data)?;
    if data.len() % 8 != 0 || data.len() < if wrap { 16 } else { 24 } {
        return Err(fail(
            &ctx,
            "OperationError",
            "AES-KW works on a multiple of 8 bytes, at least 16 (24 wrapped)",
        ));
    }
    let out = with_aes!(&ctx, key, |A| {
        let kw = aes_kw::AesKw::<A>::new_from_slice(&key)
            .map_err(|_| fail(&ctx, "DataError", "bad AES key"))?;
        if wrap {
            let mut out = vec![0; data.len() + 8];
            kw.wrap_key(&data, &mut out)
                .map_err(|e| fail(&ctx, "OperationError", &e.to_string()))?
                .to_vec()
        } else {
            let mut out = vec![0; data.len() - 8];
            kw.unwrap_key(&data, &mut out)
                .map_err(|_| decrypt_failed(&ctx))?
                .to_vec()
        }
    });
    buffer(&ctx, &out)
}
