//! `multipart/form-data` bodies for `formData()` (`js/forms.js`), parsed by
//! `multer` (the parser axum and Rocket use), not by hand.
//!
//! The body is already in memory (bounded by `--max-body` before any
//! JavaScript runs), so multer's asynchronous parser is fed it as one chunk
//! and polled to the end on this thread: with every byte present no poll can
//! wait. A malformed body is a `TypeError` the handler can catch.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rquickjs::{Array, Ctx, Exception, TypedArray, Value};

/// One part of a form: its name, its file name (a file) or none (a text
/// field), its Content-Type, and its bytes.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    bytes: bytes::Bytes,
}

/// Parses `body` with `boundary`; returns `[name, filename | null,
/// contentType | null, Uint8Array, ...]`, four values per part, in order.
pub(crate) fn parse<'js>(
    ctx: Ctx<'js>,
    body: Value<'js>,
    boundary: String,
) -> rquickjs::Result<Array<'js>> {
    let body = super::bytes_of(&ctx, &body)?;
    let parts = read_all(body, &boundary).map_err(|e| {
        Exception::throw_type(&ctx, &format!("malformed multipart/form-data body: {e}"))
    })?;
    let out = Array::new(ctx.clone())?;
    for (i, part) in parts.into_iter().enumerate() {
        out.set(4 * i, part.name)?;
        out.set(4 * i + 1, part.filename)?;
        out.set(4 * i + 2, part.content_type)?;
        out.set(
            4 * i + 3,
            TypedArray::<u8>::new_copy(ctx.clone(), &part.bytes[..])?,
        )?;
    }
    Ok(out)
}

fn read_all(body: Vec<u8>, boundary: &str) -> Result<Vec<Part>, String> {
    let chunk =
        futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(body))]);
    let mut multipart = multer::Multipart::new(chunk, boundary);
    complete(async move {
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
            let name = field
                .name()
                .ok_or("a part has no name in its Content-Disposition")?
                .to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(|m| m.to_string());
            let bytes = field.bytes().await.map_err(|e| e.to_string())?;
            parts.push(Part {
                name,
                filename,
                content_type,
                bytes,
            });
        }
        Ok(parts)
    })
}

/// Runs `future` to its end without an executor: it only awaits a stream
/// whose single chunk is ready, so it never waits; if it ever did, that is an
/// error rather than a hang.
fn complete<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result,
        Poll::Pending => Err("the parser waited for more input than the body holds".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_file_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XyZ--\r\n";
        let parts = read_all(body.to_vec(), "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), &parts[0].bytes[..]),
            ("a", &b"one"[..])
        );
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].filename.as_deref(), Some("x.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&parts[1].bytes[..], b"hi");
    }

    #[test]
    fn malformed_bodies_are_errors() {
        // No closing boundary, a wrong boundary, no Content-Disposition.
        for (body, boundary) in [
            (
                &b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none"[..],
                "XyZ",
            ),
            (
                &b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--XyZ--\r\n"[..],
                "other",
            ),
            (
                &b"--XyZ\r\nContent-Type: text/plain\r\n\r\none\r\n--XyZ--\r\n"[..],
                "XyZ",
            ),
        ] {
            assert!(
                read_all(body.to_vec(), boundary).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
