//! Photos: shrunk on the phone with a canvas before upload (a 12 MP picture becomes a few
//! hundred KB), then sent with `XMLHttpRequest`, whose upload progress `fetch` cannot report.

use std::cell::RefCell;
use std::rc::Rc;

use minsheng_model::{PhotoView, limits};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, CanvasRenderingContext2d, File, FormData, HtmlCanvasElement, HtmlImageElement,
    ProgressEvent, Url, XmlHttpRequest,
};

use crate::api::{self, Api, ApiError};

/// Longest side after shrinking: plenty for a pothole, a fraction of the bytes.
pub const MAX_SIDE: f64 = 1600.0;
/// JPEG quality of the shrunk picture.
pub const QUALITY: f64 = 0.82;

/// The size a picture is drawn at so that its longest side is at most `max`.
pub fn fit(width: f64, height: f64, max: f64) -> (f64, f64) {
    let longest = width.max(height);
    if longest <= max || longest <= 0.0 {
        return (width.round(), height.round());
    }
    let k = max / longest;
    ((width * k).round().max(1.0), (height * k).round().max(1.0))
}

/// Why a picture cannot be attached.
#[derive(Debug, Clone, PartialEq)]
pub enum ShrinkError {
    NotAnImage,
    TooLarge(f64),
}

async fn load_image(src: &str) -> Result<HtmlImageElement, JsValue> {
    let img = HtmlImageElement::new()?;
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        img.set_onload(Some(&resolve));
        img.set_onerror(Some(&reject));
    });
    img.set_src(src);
    JsFuture::from(promise).await?;
    img.set_onload(None);
    img.set_onerror(None);
    Ok(img)
}

/// Keeps the `toBlob` callback alive until it has run.
type CallbackSlot = Rc<RefCell<Option<Closure<dyn FnMut(JsValue)>>>>;

async fn canvas_to_jpeg(canvas: &HtmlCanvasElement) -> Result<Blob, JsValue> {
    let slot: CallbackSlot = Rc::default();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let cb = Closure::<dyn FnMut(JsValue)>::new(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        let _ = canvas.to_blob_with_type_and_encoder_options(
            cb.as_ref().unchecked_ref(),
            "image/jpeg",
            &JsValue::from_f64(QUALITY),
        );
        *slot.borrow_mut() = Some(cb);
    });
    let blob = JsFuture::from(promise).await?;
    drop(slot.borrow_mut().take());
    blob.dyn_into::<Blob>()
        .map_err(|_| JsValue::from_str("toBlob gave nothing"))
}

/// Shrinks a chosen picture to a JPEG of at most [`MAX_SIDE`] pixels. Pictures the engine
/// cannot decode (HEIC on some phones) go up as they are if they are small enough, and the
/// original is kept when it is already smaller than the re-encoded one.
pub async fn shrink(file: &File) -> Result<Blob, ShrinkError> {
    let original: &Blob = file.as_ref();
    let size = original.size();
    if !file.type_().starts_with("image/") {
        return Err(ShrinkError::NotAnImage);
    }
    let fallback = || {
        if size <= limits::PHOTO_MAX_BYTES as f64 {
            Ok(original.clone())
        } else {
            Err(ShrinkError::TooLarge(size))
        }
    };
    let Ok(url) = Url::create_object_url_with_blob(original) else {
        return fallback();
    };
    let result = async {
        let img = load_image(&url).await?;
        let (w, h) = fit(
            img.natural_width() as f64,
            img.natural_height() as f64,
            MAX_SIDE,
        );
        let canvas: HtmlCanvasElement = crate::util::window()
            .document()
            .expect("document")
            .create_element("canvas")?
            .dyn_into()?;
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
        let ctx: CanvasRenderingContext2d = canvas
            .get_context("2d")?
            .ok_or("no 2d context")?
            .dyn_into()?;
        // JPEG has no transparency: paint white under PNG screenshots instead of black.
        ctx.set_fill_style_str("#fff");
        ctx.fill_rect(0.0, 0.0, w, h);
        ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, w, h)?;
        canvas_to_jpeg(&canvas).await
    }
    .await;
    let _ = Url::revoke_object_url(&url);
    match result {
        Ok(small) if small.size() < size || file.type_() != "image/jpeg" => {
            if small.size() <= limits::PHOTO_MAX_BYTES as f64 {
                Ok(small)
            } else {
                Err(ShrinkError::TooLarge(small.size()))
            }
        }
        Ok(_) | Err(_) => fallback(),
    }
}

/// Uploads one photo to a case, reporting progress from 0.0 to 1.0.
pub async fn upload(
    api: &Api,
    case_id: i64,
    blob: &Blob,
    on_progress: impl Fn(f64) + 'static,
) -> Result<PhotoView, ApiError> {
    upload_to(api, case_id, None, blob, on_progress).await
}

/// Uploads one photo, attached as evidence to the timeline event `event_id` when given.
pub async fn upload_to(
    api: &Api,
    case_id: i64,
    event_id: Option<i64>,
    blob: &Blob,
    on_progress: impl Fn(f64) + 'static,
) -> Result<PhotoView, ApiError> {
    let event = event_id.map(|id| id.to_string());
    let fields: Vec<(&str, &str)> = event.iter().map(|e| ("event_id", e.as_str())).collect();
    upload_file(
        api,
        &format!("/api/v1/cases/{case_id}/photos"),
        &fields,
        blob,
        on_progress,
    )
    .await
}

/// Posts `blob` as the multipart field `file` (with text `fields`) to an API path.
pub async fn upload_file(
    api: &Api,
    path: &str,
    fields: &[(&str, &str)],
    blob: &Blob,
    on_progress: impl Fn(f64) + 'static,
) -> Result<PhotoView, ApiError> {
    let xhr = XmlHttpRequest::new().map_err(|_| ApiError::Network)?;
    xhr.open("POST", &api.url(path))
        .map_err(|_| ApiError::Network)?;
    if let Some(token) = api.token() {
        let _ = xhr.set_request_header("Authorization", &format!("Bearer {token}"));
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    let form = FormData::new().map_err(|_| ApiError::Network)?;
    form.append_with_blob_and_filename("file", blob, "photo.jpg")
        .map_err(|_| ApiError::Network)?;
    for (name, value) in fields {
        form.append_with_str(name, value)
            .map_err(|_| ApiError::Network)?;
    }

    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        // `loadend` fires once after load, error, abort or timeout alike.
        xhr.set_onloadend(Some(&resolve));
    });
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| ApiError::Network)?;
    let _ = JsFuture::from(done).await;
    drop(progress);
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(ApiError::Network);
    }
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    api::decode(status, &text)
}

#[cfg(test)]
mod tests {
    use super::fit;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn pictures_shrink_to_the_longest_side() {
        assert_eq!(fit(4000.0, 3000.0, 1600.0), (1600.0, 1200.0));
        assert_eq!(fit(3000.0, 4000.0, 1600.0), (1200.0, 1600.0));
        assert_eq!(fit(800.0, 600.0, 1600.0), (800.0, 600.0));
        assert_eq!(fit(0.0, 0.0, 1600.0), (0.0, 0.0));
    }
}
