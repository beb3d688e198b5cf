//! What verify reports, and the helpers every layer builds its findings with. Below the layers:
//! it imports none of them.

use serde::Serialize;

use super::layer::netpol::PortSet;
use super::tree::Origin;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Violation,
    Warning,
}

/// One thing verify found, in the user's terms, with the objects responsible.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier of the check, for scripts (`over-allow`, `missing-sidecar`, ...).
    pub check: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    pub objects: Vec<Origin>,
}

/// A violation of check `check`, caused by `objects`.
pub fn violation(check: &'static str, message: String, objects: Vec<Origin>) -> Finding {
    Finding {
        severity: Severity::Violation,
        check,
        message,
        from: None,
        to: None,
        ports: Vec::new(),
        objects,
    }
}

/// A warning of check `check`, about `objects`.
pub fn warning(check: &'static str, message: String, objects: Vec<Origin>) -> Finding {
    Finding {
        severity: Severity::Warning,
        ..violation(check, message, objects)
    }
}

/// `message (file: Kind ns/name; ...)`: the message with the objects responsible.
pub fn with_objects(message: &str, objects: &[Origin]) -> String {
    if objects.is_empty() {
        return message.to_owned();
    }
    let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
    format!("{message} ({})", list.join("; "))
}

/// `(every port)` or `TCP/53, UDP/53`.
pub fn ports_text(ports: &PortSet) -> String {
    if ports.is_all() {
        "(every port)".into()
    } else {
        ports.to_string()
    }
}
