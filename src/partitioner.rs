//! Kafka murmur2 partitioner.
