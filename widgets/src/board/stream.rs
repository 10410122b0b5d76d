//! The public change stream (`GET /api/v1/public/events`), which needs no login: an
//! `EventSource` the browser keeps open and reconnects by itself. Only when the browser gives
//! up (the source is `CLOSED`, e.g. after a refused response) is a new one opened, after a
//! pause. Every reopening is reported, since changes made meanwhile were not heard.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use minsheng_model::public::PublicChange;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventSource, MessageEvent};

/// What the board hears.
pub enum Heard {
    /// A connection opened; `again` when it is not the first one.
    Open {
        again: bool,
    },
    Change(PublicChange),
    /// The connection dropped; the browser (or this module) is reconnecting.
    Lost,
}

/// How long to wait before opening a source the browser gave up on.
const REOPEN_MS: i32 = 5_000;

struct Source {
    es: EventSource,
    _on_change: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

struct Shared {
    url: String,
    on_heard: Box<dyn Fn(Heard)>,
    opened: Cell<u32>,
    source: RefCell<Option<Source>>,
}

/// The open stream; dropping it closes the connection.
pub struct Stream(Rc<Shared>);

impl Stream {
    pub fn start(url: String, on_heard: impl Fn(Heard) + 'static) -> Stream {
        let shared = Rc::new(Shared {
            url,
            on_heard: Box::new(on_heard),
            opened: Cell::new(0),
            source: RefCell::new(None),
        });
        connect(Rc::downgrade(&shared));
        Stream(shared)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(s) = self.0.source.borrow_mut().take() {
            s.es.close();
        }
    }
}

fn reopen_later(weak: Weak<Shared>) {
    let cb = Closure::once_into_js(move || connect(weak));
    let _ = crate::util::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), REOPEN_MS);
}

fn connect(weak: Weak<Shared>) {
    let Some(s) = weak.upgrade() else { return };
    if let Some(old) = s.source.borrow_mut().take() {
        old.es.close();
    }
    let Ok(es) = EventSource::new(&s.url) else {
        drop(s);
        reopen_later(weak);
        return;
    };
    let on_change = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(s) = weak.upgrade() else { return };
            // A message the board cannot read still says something changed.
            let change = e
                .data()
                .as_string()
                .and_then(|t| serde_json::from_str::<PublicChange>(&t).ok())
                .unwrap_or(PublicChange {
                    what: String::new(),
                    tracking_no: None,
                    project_id: None,
                });
            (s.on_heard)(Heard::Change(change));
        })
    };
    let on_open = {
        let weak = weak.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(s) = weak.upgrade() {
                let n = s.opened.get();
                s.opened.set(n + 1);
                (s.on_heard)(Heard::Open { again: n > 0 });
            }
        })
    };
    let on_error = {
        let weak = weak.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let Some(s) = weak.upgrade() else { return };
            (s.on_heard)(Heard::Lost);
            let closed = s
                .source
                .borrow()
                .as_ref()
                .is_some_and(|src| src.es.ready_state() == EventSource::CLOSED);
            if closed {
                drop(s);
                reopen_later(weak.clone());
            }
        })
    };
    let _ = es.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    *s.source.borrow_mut() = Some(Source {
        es,
        _on_change: on_change,
        _on_open: on_open,
        _on_error: on_error,
    });
}
