package meta

import "errors"

// Sentinel errors an OpResult wraps with context. Kafka handlers test them with
// errors.Is and map each to one protocol error code.
var (
	// ErrTopicExists: a created topic's name or id is already taken
	// (TOPIC_ALREADY_EXISTS).
	ErrTopicExists = errors.New("topic already exists")
	// ErrUnknownTopic: the op names a topic that does not exist
	// (UNKNOWN_TOPIC_OR_PARTITION).
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrInvalidPartitions: a topic would have no partitions, or a partition
	// increase does not exceed the current count (INVALID_PARTITIONS).
	ErrInvalidPartitions = errors.New("invalid partition count")
	// ErrUnknownBroker: a placement names a broker that never registered
	// (INVALID_REPLICA_ASSIGNMENT / BROKER_NOT_AVAILABLE).
	ErrUnknownBroker = errors.New("unknown broker")
	// ErrTopicCollision: a created topic's name equals another's once '.'
	// and '_' are taken alike, which metric names cannot tell apart
	// (INVALID_TOPIC_EXCEPTION, as Kafka refuses it).
	ErrTopicCollision = errors.New("topic name collides with another")
	// ErrNotFound: the op deletes something that does not exist (a SCRAM
	// credential; RESOURCE_NOT_FOUND).
	ErrNotFound = errors.New("not found")
	// ErrInvalidOp: the op is malformed (unknown kind, missing fields); a
	// handler built it wrongly (INVALID_REQUEST).
	ErrInvalidOp = errors.New("invalid metadata op")
)
