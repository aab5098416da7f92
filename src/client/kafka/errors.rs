//! Kafka's errors in chute's terms: the same exit codes as on a root (README, "Exit codes").
//! Retriable conditions (no leader, not enough replicas, timeouts, brokers unreachable) are
//! exit 75, an unknown topic is exit 1, a record too large is exit 65, a refused setting 2.

use crate::error::Error;
use rdkafka::error::{KafkaError, RDKafkaErrorCode as C};

/// `what` names the topic and partition (or the operation) the error is about.
pub fn from_code(code: C, what: &str) -> Error {
    let msg = format!("{what}: {code}");
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
    }
}
