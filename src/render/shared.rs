//! Template values of what many namespaces share — a tenant's labels and policies, the
//! platform's DNS and monitoring — made once and reused while the next namespaces rendered on the
//! same thread share them. Serializing and dropping those parts again for every namespace was a
//! fifth of the rendering.
//!
//! The intent's shared fields serialize through [`arc`] and [`option_arc`]: for minijinja they
//! hand over the cached value, for anything else (JSON, YAML) they serialize as usual.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use minijinja::value::{serializing_for_value, Value};
use serde::{Serialize, Serializer};

/// Enough for the shared parts of a few tenants' namespaces (about ten each) and the platform's.
const CACHED: usize = 64;

type Entry = (Arc<dyn Any + Send + Sync>, Value);

thread_local! {
    /// Each entry holds its `Arc`, so that no other allocation can take its address (the key)
    /// while it is cached: a value is never handed out for the wrong data.
    static VALUES: RefCell<VecDeque<Entry>> = const { RefCell::new(VecDeque::new()) };
}

/// The template value of `shared`, from the cache of this thread or made and cached.
fn value_of<T: Serialize + Send + Sync + 'static>(shared: &Arc<T>) -> Value {
    let key = Arc::as_ptr(shared).cast::<()>();
    VALUES.with_borrow_mut(|cache| {
        if let Some((_, v)) = cache
            .iter()
            .find(|(a, _)| std::ptr::eq(Arc::as_ptr(a).cast::<()>(), key))
        {
            return v.clone();
        }
        let value = Value::from_serialize(&**shared);
        if cache.len() == CACHED {
            cache.pop_front();
        }
        let held: Arc<dyn Any + Send + Sync> = shared.clone();
        cache.push_back((held, value.clone()));
        value
    })
}

/// `#[serde(serialize_with)]` for a shared `Arc<T>` field.
pub fn arc<T, S>(shared: &Arc<T>, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + Send + Sync + 'static,
    S: Serializer,
{
    if serializing_for_value() {
        value_of(shared).serialize(serializer)
    } else {
        shared.serialize(serializer)
    }
}

/// `#[serde(serialize_with)]` for a shared `Option<Arc<T>>` field.
pub fn option_arc<T, S>(shared: &Option<Arc<T>>, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + Send + Sync + 'static,
    S: Serializer,
{
    match shared {
        Some(shared) if serializing_for_value() => value_of(shared).serialize(serializer),
        _ => shared.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Holder {
        #[serde(serialize_with = "arc")]
        labels: Arc<Vec<String>>,
        #[serde(serialize_with = "option_arc")]
        dns: Option<Arc<(u16, String)>>,
    }

    #[test]
    fn a_cached_value_is_what_serializing_gives_and_never_another_datas() {
        let direct = |h: &Holder| {
            (
                Value::from_serialize(&*h.labels),
                Value::from_serialize(h.dns.as_deref()),
            )
        };
        for round in 0..3 * CACHED {
            // Dropped at the end of each round: without the held Arc the next round's data
            // could take the same address and be handed the previous value.
            let h = Holder {
                labels: Arc::new(vec![format!("l{round}")]),
                dns: (round % 2 == 0).then(|| Arc::new((53, format!("dns{round}")))),
            };
            for _ in 0..2 {
                let v = Value::from_serialize(&h);
                let (labels, dns) = direct(&h);
                assert_eq!(v.get_attr("labels").unwrap(), labels);
                assert_eq!(v.get_attr("dns").unwrap(), dns);
            }
            assert_eq!(
                serde_json::to_value(&h).unwrap()["labels"],
                serde_json::json!([format!("l{round}")])
            );
        }
    }
}
