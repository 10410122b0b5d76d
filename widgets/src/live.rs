//! The live feed (`GET /api/v1/events`) for the staff widgets. `EventSource` cannot send an
//! `Authorization` header, so each connection first gets a single-use ticket with the
//! bearer token and opens `/api/v1/events?ticket=…&after=<last id>`. On any error the
//! source is closed (the browser's own retry would reuse the spent ticket) and a new one is
//! opened after a short back-off, resuming after the last event seen: nothing is missed.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventSource, MessageEvent};

use crate::api::{Api, ApiError};

#[derive(Deserialize)]
struct Ticket {
    ticket: String,
}

/// What the subscriber hears: a change (the event id; the message is a `FeedEvent`, left
/// unparsed because every widget reloads what it shows, and parsing would cost the resident
/// bundle ~5 KB), or `Open` when a connection (re)opens — a hint to reload what may have
/// changed while nobody listened.
pub enum Heard {
    Open,
    Change(i64),
    /// The session is gone (the ticket was refused with 401).
    Expired,
}

struct Source {
    es: EventSource,
    _on_case: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

struct Shared {
    api: Api,
    on_heard: Box<dyn Fn(Heard)>,
    last: Cell<Option<i64>>,
    source: RefCell<Option<Source>>,
    failures: Cell<u32>,
}

/// A live subscription; dropping it closes the connection.
pub struct Feed(Rc<Shared>);

impl Feed {
    pub fn start(api: Api, on_heard: impl Fn(Heard) + 'static) -> Feed {
        let shared = Rc::new(Shared {
            api,
            on_heard: Box::new(on_heard),
            last: Cell::new(None),
            source: RefCell::new(None),
            failures: Cell::new(0),
        });
        connect(Rc::downgrade(&shared));
        Feed(shared)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Some(s) = self.0.source.borrow_mut().take() {
            s.es.close();
        }
    }
}

/// 0.5 s, 1 s, 2 s … up to 15 s between attempts.
pub fn backoff_ms(failures: u32) -> i32 {
    (500i32 << failures.min(5)).min(15_000)
}

fn retry_later(weak: Weak<Shared>) {
    let Some(s) = weak.upgrade() else { return };
    let n = s.failures.get();
    s.failures.set(n + 1);
    let cb = Closure::once_into_js(move || connect(weak));
    let _ = crate::util::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), backoff_ms(n));
}

fn connect(weak: Weak<Shared>) {
    wasm_bindgen_futures::spawn_local(async move {
        let Some(s) = weak.upgrade() else { return };
        // The previous source (if any) is replaced here, outside its own callbacks.
        if let Some(old) = s.source.borrow_mut().take() {
            old.es.close();
        }
        let ticket: Result<Ticket, ApiError> = s
            .api
            .post("/api/v1/auth/ticket", &serde_json::Value::Null)
            .await;
        let ticket = match ticket {
            Ok(t) => t.ticket,
            Err(ApiError::Unauthorized) => {
                (s.on_heard)(Heard::Expired);
                return;
            }
            Err(_) => {
                drop(s);
                retry_later(weak);
                return;
            }
        };
        let mut url = s.api.url(&format!("/api/v1/events?ticket={ticket}"));
        if let Some(last) = s.last.get() {
            url.push_str(&format!("&after={last}"));
        }
        let Ok(es) = EventSource::new(&url) else {
            drop(s);
            retry_later(weak);
            return;
        };
        let on_case = {
            let weak = weak.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(s) = weak.upgrade() else { return };
                let Ok(id) = e.last_event_id().parse::<i64>() else {
                    return;
                };
                s.last.set(Some(id));
                s.failures.set(0);
                (s.on_heard)(Heard::Change(id));
            })
        };
        let on_open = {
            let weak = weak.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if let Some(s) = weak.upgrade() {
                    s.failures.set(0);
                    (s.on_heard)(Heard::Open);
                }
            })
        };
        let on_error = {
            let weak = weak.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if let Some(s) = weak.upgrade()
                    && let Some(src) = s.source.borrow().as_ref()
                {
                    src.es.close();
                }
                retry_later(weak.clone());
            })
        };
        let _ = es.add_event_listener_with_callback("case", on_case.as_ref().unchecked_ref());
        es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *s.source.borrow_mut() = Some(Source {
            es,
            _on_case: on_case,
            _on_open: on_open,
            _on_error: on_error,
        });
    });
}

/// Bumps `tick` (debounced by 300 ms) whenever the feed reports a change or reconnects,
/// so the widget reloads what it shows; a refused ticket calls `on_expired`.
#[yew::hook]
pub fn use_live_reload(api: &Api, on_expired: &yew::Callback<()>, tick: yew::UseStateHandle<u32>) {
    let (api, on_expired) = (api.clone(), on_expired.clone());
    yew::use_effect_with((), move |_| {
        let debounce = crate::staff::Debounce::default();
        let feed = Feed::start(api, move |heard| match heard {
            Heard::Expired => on_expired.emit(()),
            Heard::Open | Heard::Change(_) => {
                let tick = tick.clone();
                debounce.trigger(300, move || tick.set(crate::staff::fresh_tick()));
            }
        });
        move || drop(feed)
    });
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn reconnects_back_off_up_to_fifteen_seconds() {
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(5), 15_000);
        assert_eq!(backoff_ms(40), 15_000);
    }
}
