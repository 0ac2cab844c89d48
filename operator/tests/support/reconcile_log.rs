//! Which objects the in-process operator reconciled and when, from its `reconcile` spans.
//!
//! A reconcile that finds nothing to do sends no request, so the API server's log cannot show
//! that it ran; the spans can. Installed as the test thread's default subscriber (not globally),
//! so the tests of one binary, which run side by side, each see their own operator only.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// One reconcile: the object (`Kind/namespace/name`), when it began and, once done, ended.
#[derive(Debug, Clone)]
pub struct Reconcile {
    pub object: String,
    pub started: SystemTime,
    pub ended: Option<SystemTime>,
}

/// The reconciles seen so far; a [`Layer`] to add to the operator's subscriber.
#[derive(Clone, Default)]
pub struct ReconcileLog {
    reconciles: Arc<Mutex<Vec<Reconcile>>>,
}

/// Where a span's reconcile is in the log.
struct LogIndex(usize);

#[derive(Default)]
struct ObjectField(Option<String>);

impl Visit for ObjectField {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "object" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl ReconcileLog {
    /// The reconciles of `object` (`Kind/namespace/name`) that began after `after` and ended.
    pub fn completed_after(&self, object: &str, after: SystemTime) -> usize {
        self.reconciles.lock().map_or(0, |reconciles| {
            reconciles
                .iter()
                .filter(|reconcile| {
                    reconcile.object == object
                        && reconcile.started > after
                        && reconcile.ended.is_some()
                })
                .count()
        })
    }

    /// The reconciles of `object` that began after `after`, ended or not.
    pub fn started_after(&self, object: &str, after: SystemTime) -> usize {
        self.reconciles.lock().map_or(0, |reconciles| {
            reconciles
                .iter()
                .filter(|reconcile| reconcile.object == object && reconcile.started > after)
                .count()
        })
    }
}

impl<S> Layer<S> for ReconcileLog
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        if attributes.metadata().name() != "reconcile" {
            return;
        }
        let mut object = ObjectField::default();
        attributes.record(&mut object);
        let (Some(object), Some(span)) = (object.0, context.span(id)) else {
            return;
        };
        let Ok(mut reconciles) = self.reconciles.lock() else {
            return;
        };
        reconciles.push(Reconcile {
            object,
            started: SystemTime::now(),
            ended: None,
        });
        span.extensions_mut().insert(LogIndex(reconciles.len() - 1));
    }

    fn on_close(&self, id: Id, context: Context<'_, S>) {
        let Some(span) = context.span(&id) else {
            return;
        };
        let extensions = span.extensions();
        let Some(LogIndex(index)) = extensions.get::<LogIndex>() else {
            return;
        };
        if let Ok(mut reconciles) = self.reconciles.lock()
            && let Some(reconcile) = reconciles.get_mut(*index)
        {
            reconcile.ended = Some(SystemTime::now());
        }
    }
}
