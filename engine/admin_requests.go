package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/engine/meta"
)

// apiError is one Kafka error code with the message the response's
// ErrorMessage field carries, so each check of an admin handler names both
// at the place it fails.
type apiError struct {
	code *kerr.Error
	msg  string
}

func newAPIError(code *kerr.Error, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// message is the ErrorMessage to send: the specific one, else Kafka's
// description of the code, as Kafka falls back to it.
func (e *apiError) message() *string {
	if e == nil {
		return nil
	}
	m := e.msg
	if m == "" {
		m = e.code.Description
	}
	return &m
}

func (e *apiError) errCode() int16 {
	if e == nil {
		return 0
	}
	return e.code.Code
}

// metaOpError maps a failed proposal or op result to one Kafka code. A
// proposal whose deadline passed may still commit later, so it is
// REQUEST_TIMED_OUT, which tells the client to check and retry.
func metaOpError(err error) *apiError {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrTopicExists):
		return &apiError{code: kerr.TopicAlreadyExists, msg: err.Error()}
	case errors.Is(err, meta.ErrUnknownTopic):
		return &apiError{code: kerr.UnknownTopicOrPartition, msg: err.Error()}
	case errors.Is(err, meta.ErrInvalidPartitions):
		return &apiError{code: kerr.InvalidPartitions, msg: err.Error()}
	case errors.Is(err, meta.ErrUnknownBroker):
		return &apiError{code: kerr.InvalidReplicaAssignment, msg: err.Error()}
	case errors.Is(err, meta.ErrTopicCollision):
		return &apiError{code: kerr.InvalidTopicException, msg: err.Error()}
	case errors.Is(err, meta.ErrNotFound):
		return &apiError{code: kerr.ResourceNotFound, msg: err.Error()}
	case errors.Is(err, meta.ErrInvalidOp):
		return &apiError{code: kerr.InvalidRequest, msg: err.Error()}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &apiError{code: kerr.RequestTimedOut, msg: "metadata change not confirmed within the request timeout: " + err.Error()}
	}
	return &apiError{code: kerr.UnknownServerError, msg: "metadata change failed: " + err.Error()}
}

// adminContext bounds an admin request's metadata work by the client's
// TimeoutMillis and by io.timeout.ms, whichever is shorter; a non-positive
// client timeout leaves only io.timeout.ms.
func (b *Broker) adminContext(timeoutMillis int32) (context.Context, context.CancelFunc) {
	d := b.cfg.IOTimeout
	if t := time.Duration(timeoutMillis) * time.Millisecond; t > 0 && t < d {
		d = t
	}
	return context.WithTimeout(context.Background(), d)
}
