//! Photos on a case or on one of its events: the type is decided by the bytes, location
//! and other metadata are stripped before anything is stored, and only those who may see
//! the case may fetch them.

use std::sync::Arc;

use bytes::Bytes;
use img_parts::riff::RiffContent;
use img_parts::{png::Png, webp::WebP};
use minsheng_model::{PhotoView, limits};
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, Response};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, OpenApi};
use sha2::{Digest, Sha256};

use super::api::CasesApi;
use super::view::{photo_view, relation, status_of};
use crate::app::{AppState, Tag};
use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::storage::NewPhoto;

pub struct PhotosApi {
    pub state: Arc<AppState>,
    pub cases: Arc<CasesApi>,
}

/// A photo upload as `wx.uploadFile` sends it: the image in field `file`.
#[derive(Multipart)]
#[oai(deny_unknown_fields)]
pub struct PhotoUpload {
    /// JPEG, PNG or WebP, at most 10 MiB.
    pub file: Upload,
    /// Attach to this timeline event of the case (e.g. the resolution) instead of the submission.
    pub event_id: Option<i64>,
}

#[derive(ApiResponse)]
pub enum PhotoCreated {
    #[oai(status = 201)]
    Created(Json<PhotoView>),
}

/// JPEG segments that draw the image: frame headers (SOF0..SOF15 but the reserved JPG),
/// Huffman and arithmetic tables, quantisation tables, restart interval, scans, DNL,
/// hierarchical ones. Every APPn and comment goes, but for the three below.
fn jpeg_keeps(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC7 | 0xC9..=0xCF | 0xDA..=0xDF)
}

/// `bytes` as a JPEG of its first image and nothing else: everything a camera or phone adds
/// is dropped — APP1 (EXIF with GPS, XMP), APP2 MPF (the index of the secondary images),
/// APP13 (IPTC), the other APPn, comments, wherever they stand, even between the scans of a
/// progressive image — and reading stops at the first image's EOI, so trailers and the
/// secondary images of a multi-picture file (with their own EXIF) go too. Kept: the JFIF
/// header (without its thumbnail), an ICC colour profile, Adobe's colour transform. `None`
/// when it is not a readable JPEG.
fn clean_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        while b.get(i) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let marker = *b.get(i)?;
        i += 1;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            // Standalone markers outside a scan carry nothing.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        let body = b.get(i + 2..i + len)?;
        i += len;
        match marker {
            0xE0 if body.starts_with(b"JFIF\0") && body.len() >= 14 => {
                // Version, units and density; the thumbnail's size set to none.
                out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
                out.extend_from_slice(&body[..12]);
                out.extend_from_slice(&[0, 0]);
            }
            0xE2 if body.starts_with(b"ICC_PROFILE\0") => push_segment(&mut out, marker, body),
            0xEE if body.starts_with(b"Adobe") => push_segment(&mut out, marker, body),
            m if jpeg_keeps(m) => push_segment(&mut out, marker, body),
            _ => {}
        }
        if marker == 0xDA {
            // The entropy-coded data runs to the next marker that is neither a stuffed
            // 0xFF00 nor a restart marker.
            let start = i;
            loop {
                let rest = b.get(i..).unwrap_or_default();
                let Some(at) = rest.iter().position(|&x| x == 0xFF) else {
                    // Cut short: keep the data, end the image properly.
                    out.extend_from_slice(&b[start..]);
                    out.extend_from_slice(&[0xFF, 0xD9]);
                    return Some(out);
                };
                i += at;
                match b.get(i + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                    None => i += 1,
                }
            }
            out.extend_from_slice(&b[start..i]);
        }
    }
}

fn push_segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// PNG chunks that draw the image (critical ones, transparency, colour, pixel size,
/// animation). Text (tEXt, zTXt, iTXt), EXIF (eXIf), time and every private chunk go, and
/// img-parts stops at IEND, so nothing after it is kept.
const PNG_KEEPS: [&[u8; 4]; 17] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs", b"cICP", b"mDCV", b"cLLI", b"acTL", b"fcTL",
];
const PNG_FRAME_DATA: &[u8; 4] = b"fdAT";

/// WebP chunks that draw the image; EXIF, XMP and anything unknown go.
const WEBP_KEEPS: [&[u8; 4]; 7] = [
    b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// The VP8X flags saying EXIF and XMP chunks follow.
const VP8X_EXIF_XMP: u8 = 0b0000_1100;

/// An accepted image type: its MIME type, file extension, and its bytes with metadata removed.
fn clean_image(bytes: Vec<u8>) -> Result<(&'static str, &'static str, Vec<u8>), ApiError> {
    let kind = infer::get(&bytes).map(|k| k.mime_type());
    let invalid = || ApiError::unprocessable("invalid_image", "图片已损坏,无法读取");
    match kind {
        Some("image/jpeg") => {
            let clean = clean_jpeg(&bytes).ok_or_else(invalid)?;
            Ok(("image/jpeg", "jpg", clean))
        }
        Some("image/png") => {
            let mut img = Png::from_bytes(Bytes::from(bytes)).map_err(|_| invalid())?;
            img.chunks_mut().retain(|c| {
                let kind = c.kind();
                PNG_KEEPS.contains(&&kind) || &kind == PNG_FRAME_DATA
            });
            Ok(("image/png", "png", img.encoder().bytes().to_vec()))
        }
        Some("image/webp") => {
            let mut img = WebP::from_bytes(Bytes::from(bytes)).map_err(|_| invalid())?;
            img.chunks_mut().retain(|c| WEBP_KEEPS.contains(&&c.id()));
            for c in img.chunks_mut() {
                if c.id() == *b"VP8X"
                    && let RiffContent::Data(d) = c.content_mut()
                    && let Some(flags) = d.first()
                {
                    let mut v = d.to_vec();
                    v[0] = flags & !VP8X_EXIF_XMP;
                    *d = Bytes::from(v);
                }
            }
            Ok(("image/webp", "webp", img.encoder().bytes().to_vec()))
        }
        _ => Err(ApiError::UnsupportedMediaType(Json(
            minsheng_model::ErrorBody {
                code: "unsupported_media_type".into(),
                message: "只接受 JPEG、PNG 或 WebP 图片".into(),
                field: Some("file".into()),
            },
        ))),
    }
}

#[OpenApi(tag = "Tag::Cases")]
impl PhotosApi {
    /// Upload a photo to a case (multipart, field `file`).
    #[oai(path = "/api/v1/cases/:id/photos", method = "post")]
    async fn upload(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        form: PhotoUpload,
    ) -> Result<PhotoCreated, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let (c, _) = self.cases.visible_case(&p, id.0).await?;
        crate::policy::may_add_case_photo(&relation(&c, &p))?;
        let status = status_of(&c);
        if status.is_terminal() {
            return Err(ApiError::conflict(
                "case_closed",
                "案件已办结,不能再上传图片",
            ));
        }
        if let Some(ev) = form.event_id
            && !self.state.db.event_of_case(ev, c.id).await?
        {
            return Err(ApiError::not_found("unknown_event", "事件不属于此案件"));
        }
        let img = store_image(&self.state, form.file).await?;
        let path = img.path.clone();
        let record = NewPhoto {
            case_id: c.id,
            event_id: form.event_id,
            uploaded_by: p.id(),
            uploader_role: p.role.as_str().into(),
            content_type: img.content_type.into(),
            size: img.size,
            storage_key: img.storage_key,
            sha256: img.sha256,
        };
        let now = crate::now_ms();
        match self
            .state
            .db
            .add_photo(
                &record,
                limits::PHOTOS_PER_ATTACHMENT as i64,
                status.as_str(),
                now,
            )
            .await
        {
            Ok(Some(ph)) => {
                self.state.feed.committed();
                Ok(PhotoCreated::Created(Json(photo_view(&ph))))
            }
            Ok(None) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(ApiError::unprocessable(
                    "too_many_photos",
                    format!("每次最多上传{}张图片", limits::PHOTOS_PER_ATTACHMENT),
                ))
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(e.into())
            }
        }
    }

    /// A photo's bytes, for those who may see its case.
    #[oai(path = "/api/v1/photos/:id", method = "get")]
    async fn download(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Response<ImageFile>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let not_found = || ApiError::not_found("photo_not_found", "图片不存在");
        let ph = self.state.db.photo(id.0).await?.ok_or_else(not_found)?;
        self.cases
            .visible_case(&p, ph.case_id)
            .await
            .map_err(|_| not_found())?;
        crate::cases::photos::serve_image(&self.state, &ph.storage_key, &ph.content_type, false)
            .await
    }
}

/// An image download; its `Content-Type` is the stored image's (JPEG, PNG or WebP).
#[derive(ApiResponse)]
pub enum ImageFile {
    #[oai(status = 200, content_type = "image/*")]
    Ok(Binary<Vec<u8>>),
}

/// Reads a stored image and answers it with its own type; `public` images may be cached by
/// anyone, the others only by the viewer's browser.
pub(crate) async fn serve_image(
    state: &AppState,
    storage_key: &str,
    content_type: &str,
    public: bool,
) -> Result<Response<ImageFile>, ApiError> {
    let bytes = tokio::fs::read(state.uploads_dir().join(storage_key))
        .await
        .map_err(ApiError::internal)?;
    Ok(Response::new(ImageFile::Ok(Binary(bytes)))
        .header("Content-Type", content_type.to_string())
        .header(
            "Cache-Control",
            if public {
                "public, max-age=300"
            } else {
                "private, max-age=86400"
            },
        )
        .header("X-Content-Type-Options", "nosniff"))
}

/// An upload checked, cleaned of metadata and written to the uploads folder.
pub(crate) struct StoredImage {
    pub content_type: &'static str,
    pub size: i64,
    pub storage_key: String,
    pub sha256: String,
    /// Where it was written (remove it if the database refuses the record).
    pub path: std::path::PathBuf,
}

/// Checks an uploaded image's size and type, strips its metadata (on a blocking thread)
/// and stores it under a fresh name.
pub(crate) async fn store_image(state: &AppState, file: Upload) -> Result<StoredImage, ApiError> {
    if file.size() > limits::PHOTO_MAX_BYTES {
        return Err(too_large());
    }
    let raw = file.into_vec().await.map_err(ApiError::internal)?;
    if raw.len() > limits::PHOTO_MAX_BYTES {
        return Err(too_large());
    }
    let (content_type, ext, clean) = tokio::task::spawn_blocking(move || clean_image(raw))
        .await
        .map_err(ApiError::internal)??;
    let sha256 = hex::encode(Sha256::digest(&clean));
    let storage_key = format!("{}.{ext}", uuid::Uuid::new_v4());
    let path = state.uploads_dir().join(&storage_key);
    tokio::fs::write(&path, &clean)
        .await
        .map_err(ApiError::internal)?;
    Ok(StoredImage {
        content_type,
        size: clean.len() as i64,
        storage_key,
        sha256,
        path,
    })
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(Json(minsheng_model::ErrorBody {
        code: "payload_too_large".into(),
        message: format!("图片不能超过 {} MB", limits::PHOTO_MAX_BYTES / 1024 / 1024),
        field: Some("file".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHOTO: &[u8] = include_bytes!("../../../tests/fixtures/street-light.jpg");

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn metadata_after_the_first_scan_and_after_the_image_goes_too() {
        // Between the scan's data and EOI (where a progressive image has its next scans), an
        // XMP packet and a comment; after EOI, a trailer.
        let eoi = PHOTO.len() - 2;
        assert_eq!(&PHOTO[eoi..], &[0xFF, 0xD9]);
        let mut phone = PHOTO[..eoi].to_vec();
        phone.extend_from_slice(&[0xFF, 0xE1, 0, 26]);
        phone.extend_from_slice(b"http://ns.adobe.com/xap");
        phone.push(0);
        phone.extend_from_slice(&[0xFF, 0xFE, 0, 13]);
        phone.extend_from_slice(b"13812345678");
        phone.extend_from_slice(&[0xFF, 0xD9]);
        phone.extend_from_slice(b"SEFHImage_UTC_Data1764979200000");
        let (kind, _, clean) = clean_image(phone).unwrap();
        assert_eq!(kind, "image/jpeg");
        for gone in [&b"ns.adobe.com"[..], b"13812345678", b"SEFH"] {
            assert!(!contains(&clean, gone));
        }
        let (_, _, plain) = clean_image(PHOTO.to_vec()).unwrap();
        assert_eq!(clean, plain, "the picture itself is untouched");
    }

    #[test]
    fn a_jpeg_cut_short_in_its_scan_is_ended_properly_and_a_broken_header_refused() {
        let cut = &PHOTO[..PHOTO.len() - 10];
        let (_, _, clean) = clean_image(cut.to_vec()).unwrap();
        assert_eq!(&clean[clean.len() - 2..], &[0xFF, 0xD9]);
        let broken = vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 1, 2, 3];
        assert_eq!(clean_image(broken).unwrap_err().code(), "invalid_image");
    }

    #[test]
    fn text_is_not_an_image_whatever_its_name() {
        let err = clean_image(b"hello, this is plain text".to_vec()).unwrap_err();
        assert_eq!(err.code(), "unsupported_media_type");
    }
}
