//! Kafka's errors in chute's terms: the same exit codes as on a root (README, "Exit codes").
//! Retriable conditions (no leader, not enough replicas, timeouts, brokers unreachable) are
//! exit 75, an unknown topic is exit 1, a record too large is exit 65, a refused setting 2.

use crate::error::Error;
use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode as C};
use std::sync::Mutex;

/// The last error librdkafka reported on its own rather than as a request's result: a TLS
/// handshake or a login that failed, a broker that closed the connection. A request that then
/// times out says why (one command is one process, so one place is enough).
static NOTED: Mutex<Option<(C, String)>> = Mutex::new(None);

/// Every client's context passes librdkafka's own error reports here. A refused certificate or
/// login is kept over the reports that follow from it ("all brokers are down").
pub fn note(e: &KafkaError, reason: &str) {
    if let Some(code) = e.rdkafka_error_code() {
        keep(code, reason);
    }
}

/// Forget what was noted: a process that outlives its clients (a following mirror starting
/// a new session) must not blame a later failure on an old outage's report, or keep a
/// passing TLS failure as a refusal that turns every later outage into exit 1.
pub fn forget() {
    *NOTED.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// librdkafka's log lines at error level: a failed TLS handshake or login is only logged
/// (`FAIL`), not reported as an error event.
pub fn note_log(level: RDKafkaLogLevel, message: &str) {
    use RDKafkaLogLevel as L;
    if !matches!(level, L::Emerg | L::Alert | L::Critical | L::Error) {
        return;
    }
    // "[thrd:ssl://host:9093/bootstrap]: ssl://host:9093/bootstrap: SSL handshake failed: ..."
    let message = match message.strip_prefix("[thrd:") {
        Some(rest) => rest.split_once("]: ").map_or(message, |(_, m)| m),
        None => message,
    };
    let code = if message.contains("SSL handshake failed") || message.contains("certificate") {
        C::SSL
    } else if message.contains("Authentication failed") || message.contains("SASL") {
        C::Authentication
    } else {
        C::BrokerTransportFailure
    };
    keep(code, message);
}

fn keep(code: C, reason: &str) {
    let mut n = NOTED.lock().unwrap_or_else(|p| p.into_inner());
    if !n.as_ref().is_some_and(|(c, _)| refused(*c)) || refused(code) {
        *n = Some((code, reason.to_string()));
    }
}

fn refused(code: C) -> bool {
    matches!(
        code,
        C::SSL | C::Authentication | C::SaslAuthenticationFailed
    )
}

/// A "no answer" error with the cluster's own words added, when it said any: exit 1 instead
/// of 75 for a certificate or a login it refused, since trying again will not help. Callers
/// first serve the client's events, which is where librdkafka hands its reports over.
pub fn explain(e: Error) -> Error {
    let Error::Temporary(msg) = e else { return e };
    let noted = NOTED.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match noted {
        Some((cause, reason)) if !msg.contains(&reason) => {
            let msg = format!("{msg}; the cluster said: {reason}");
            if refused(cause) {
                Error::Other(msg)
            } else {
                Error::Temporary(msg)
            }
        }
        _ => Error::Temporary(msg),
    }
}

/// The context of clients that need nothing else of theirs.
pub struct Noting;

impl ClientContext for Noting {
    fn log(&self, level: RDKafkaLogLevel, _: &str, message: &str) {
        note_log(level, message);
    }

    fn error(&self, e: KafkaError, reason: &str) {
        note(&e, reason);
    }
}

impl ConsumerContext for Noting {}

/// The cluster could not be reached or did not answer in time: the codes that the noted
/// report may explain.
fn unanswered(code: C) -> bool {
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::MessageTimedOut
            | C::RequestTimedOut
            | C::OperationTimedOut
            | C::TimedOutQueue
            | C::Resolve
            | C::NetworkException
    )
}

/// `what` names the topic and partition (or the operation) the error is about.
pub fn from_code(code: C, what: &str) -> Error {
    let msg = format!("{what}: {code}");
    if unanswered(code) {
        return explain(Error::Temporary(msg));
    }
    match code {
        C::MessageTimedOut
        | C::RequestTimedOut
        | C::OperationTimedOut
        | C::TimedOutQueue
        | C::LeaderNotAvailable
        | C::NotLeaderForPartition
        | C::ReplicaNotAvailable
        | C::NotEnoughReplicas
        | C::NotEnoughReplicasAfterAppend
        | C::BrokerTransportFailure
        | C::AllBrokersDown
        | C::Resolve
        | C::NetworkException
        | C::CoordinatorLoadInProgress
        | C::CoordinatorNotAvailable
        | C::NotCoordinator
        | C::WaitingForCoordinator
        | C::RebalanceInProgress
        | C::UnknownMemberId
        | C::IllegalGeneration
        | C::StaleMemberEpoch
        | C::FencedMemberEpoch
        | C::KafkaStorageError
        | C::NotController
        | C::ThrottlingQuotaExceeded
        | C::QueueFull
        | C::FencedLeaderEpoch
        | C::UnknownLeaderEpoch
        | C::PreferredLeaderNotAvailable => Error::Temporary(msg),
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition | C::UnknownGroup => {
            Error::NotFound(msg)
        }
        C::MessageSizeTooLarge | C::InvalidMessageSize | C::MessageBatchTooLarge => {
            Error::BadInput(msg)
        }
        C::InvalidConfig
        | C::InvalidArgument
        | C::InvalidPartitions
        | C::InvalidReplicationFactor
        | C::InvalidRequiredAcks
        | C::InvalidTopic
        | C::InvalidGroupId
        | C::InvalidTimestamp
        | C::InvalidRequest => Error::Usage(msg),
        _ => Error::Other(msg),
    }
}

pub fn from_kafka(e: &KafkaError, what: &str) -> Error {
    match e.rdkafka_error_code() {
        Some(code) => from_code(code, what),
        None => match e {
            KafkaError::ClientCreation(m) => Error::Usage(format!("{what}: {m}")),
            KafkaError::ClientConfig(_, m, k, v) => {
                Error::Usage(format!("{what}: -X {k}={v}: {m}"))
            }
            e => Error::Other(format!("{what}: {e}")),
        },
    }
}

/// The first of several failures, saying how many more there were (same exit code).
pub fn and_more(e: Error, more: u64) -> Error {
    if more == 0 {
        return e;
    }
    let add = |m: String| format!("{m} (and {more} more record(s) failed)");
    match e {
        Error::Temporary(m) => Error::Temporary(add(m)),
        Error::NotFound(m) => Error::NotFound(add(m)),
        Error::BadInput(m) => Error::BadInput(add(m)),
        Error::Usage(m) => Error::Usage(add(m)),
        Error::Other(m) => Error::Other(add(m)),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_keep_chutes_exit_codes() {
        assert_eq!(from_code(C::NotEnoughReplicas, "t-0").exit_code(), 75);
        assert_eq!(from_code(C::AllBrokersDown, "t").exit_code(), 75);
        assert_eq!(from_code(C::UnknownTopicOrPartition, "t").exit_code(), 1);
        assert_eq!(from_code(C::MessageSizeTooLarge, "t-0").exit_code(), 65);
        assert_eq!(from_code(C::InvalidConfig, "t").exit_code(), 2);
        let e = from_code(C::NotEnoughReplicas, "partition orders-3").to_string();
        assert!(e.contains("partition orders-3"), "{e}");

        // What librdkafka only logged explains the timeout after it; a refused login is not
        // worth retrying, and the "brokers down" report that follows does not hide it. (One
        // test: the note is the process's, and the codes above assume none.)
        note_log(
            RDKafkaLogLevel::Error,
            "[thrd:sasl_ssl://k:9094/bootstrap]: sasl_ssl://k:9094/bootstrap: SASL authentication error: Authentication failed: Invalid username or password",
        );
        note_log(RDKafkaLogLevel::Error, "1/1 brokers are down");
        note_log(RDKafkaLogLevel::Warning, "a warning is not a cause");
        let e = from_code(C::BrokerTransportFailure, "listing topics");
        assert_eq!(e.exit_code(), 1, "{e}");
        assert!(
            e.to_string()
                .ends_with("the cluster said: sasl_ssl://k:9094/bootstrap: SASL authentication error: Authentication failed: Invalid username or password"),
            "{e}"
        );
        assert_eq!(from_code(C::NotEnoughReplicas, "t-0").exit_code(), 75);
        // A new mirror session forgets it: a later outage is an outage again (exit 75).
        forget();
        let e = from_code(C::BrokerTransportFailure, "listing topics");
        assert_eq!(e.exit_code(), 75, "{e}");
        assert!(!e.to_string().contains("the cluster said"), "{e}");
    }
}
