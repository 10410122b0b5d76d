//! Photos on a case or on one of its events: the type is decided by the bytes, location
//! and other metadata are stripped before anything is stored, and only those who may see
//! the case may fetch them.

use std::sync::Arc;

use bytes::Bytes;
use img_parts::{ImageEXIF, jpeg::Jpeg, jpeg::markers, png::Png, webp::WebP};
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

/// An accepted image type: its MIME type, file extension, and its bytes with metadata removed.
fn clean_image(bytes: Vec<u8>) -> Result<(&'static str, &'static str, Vec<u8>), ApiError> {
    let kind = infer::get(&bytes).map(|k| k.mime_type());
    let invalid = || ApiError::unprocessable("invalid_image", "图片已损坏,无法读取");
    let b = Bytes::from(bytes);
    match kind {
        Some("image/jpeg") => {
            let mut img = Jpeg::from_bytes(b).map_err(|_| invalid())?;
            // APP1 holds EXIF (with GPS) and XMP; APP13 holds IPTC.
            img.remove_segments_by_marker(markers::APP1);
            img.remove_segments_by_marker(markers::APP13);
            Ok(("image/jpeg", "jpg", img.encoder().bytes().to_vec()))
        }
        Some("image/png") => {
            let mut img = Png::from_bytes(b).map_err(|_| invalid())?;
            img.set_exif(None);
            for kind in [*b"tEXt", *b"zTXt", *b"iTXt"] {
                img.remove_chunks_by_type(kind);
            }
            Ok(("image/png", "png", img.encoder().bytes().to_vec()))
        }
        Some("image/webp") => {
            let mut img = WebP::from_bytes(b).map_err(|_| invalid())?;
            img.set_exif(None);
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
        let rel = relation(&c, &p);
        // The complainant (resident or supervisor who raised it), the handling department, the desk.
        let may = rel.is_owner || rel.in_case_department || rel.role.dispatches();
        if !may {
            return Err(ApiError::forbidden("无权为此案件上传图片"));
        }
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

    #[test]
    fn text_is_not_an_image_whatever_its_name() {
        let err = clean_image(b"hello, this is plain text".to_vec()).unwrap_err();
        assert_eq!(err.code(), "unsupported_media_type");
    }
}
