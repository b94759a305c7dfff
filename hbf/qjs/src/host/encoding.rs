//! The Encoding Standard's decoders for `TextDecoder` (`js/web.js`), from
//! `encoding_rs` (Firefox's, written to that standard): every label it
//! defines, decoded without state, so nothing of Rust outlives a call (a
//! snapshot's restore would forget it). `js/web.js` keeps what streaming
//! needs: the bytes of a character not yet complete, and whether the BOM
//! was seen.

use encoding_rs::Encoding;
use rquickjs::{Ctx, Exception, Value};

use super::bytes_of;

/// The encoding's name as `TextDecoder.encoding` gives it (lower case), for
/// one of its labels; `None` for a label the standard does not define.
pub(super) fn name_for(label: String) -> Option<String> {
    Encoding::for_label(label.trim().as_bytes()).map(|e| e.name().to_ascii_lowercase())
}

/// Decodes `bytes` in the encoding `name` (a name [`name_for`] gave), the
/// BOM left to the caller. With `fatal`, malformed input is a TypeError;
/// without, each malformed sequence becomes U+FFFD.
pub(super) fn decode<'js>(
    ctx: Ctx<'js>,
    name: String,
    bytes: Value<'js>,
    fatal: bool,
) -> rquickjs::Result<String> {
    let Some(encoding) = Encoding::for_label(name.as_bytes()) else {
        return Err(Exception::throw_range(
            &ctx,
            &format!("unknown encoding {name}"),
        ));
    };
    let bytes = bytes_of(&ctx, &bytes)?;
    if fatal {
        encoding
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .map(|text| text.into_owned())
            .ok_or_else(|| Exception::throw_type(&ctx, &format!("the data is not valid {name}")))
    } else {
        Ok(encoding.decode_without_bom_handling(&bytes).0.into_owned())
    }
}
