package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions are not served, and a transactional producer is told so at
// once with a non-retriable error carrying the reason, instead of being
// answered COORDINATOR_NOT_AVAILABLE, which clients retry until their own
// timeout (a franz-go producer hung for its whole minute).
func TestTransactionalProducerIsRefusedAtOnce(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "txn", 1)
	cl := tb.client(kgo.TransactionalID("my-txn"), kgo.DefaultProduceTopic("txn"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	// franz-go initializes a transactional producer's id eagerly: the
	// error reaches BeginTransaction or the produce.
	err := cl.BeginTransaction()
	if err == nil {
		err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr()
	}
	if !errors.Is(err, kerr.InvalidRequest) {
		t.Fatalf("transactional produce: %v, want INVALID_REQUEST", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("refused after %v: the client retried", took)
	}

	// The answers themselves, old and new FindCoordinator versions and
	// InitProducerId with a transactional id.
	raw := tb.client()
	for _, v := range []int16{1, 3, 4} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType = v, 1
		req.CoordinatorKey, req.CoordinatorKeys = "my-txn", []string{"my-txn"}
		resp, err := req.RequestWith(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		code, msg := resp.ErrorCode, resp.ErrorMessage
		if v >= 4 {
			code, msg = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].ErrorMessage
		}
		if code != kerr.InvalidRequest.Code || msg == nil || !strings.Contains(*msg, "Transactions are not supported") {
			t.Fatalf("FindCoordinator v%d for a transaction: %v %v", v, kerr.ErrorForCode(code), msg)
		}
	}
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = kmsg.StringPtr("my-txn")
	init.TransactionTimeoutMillis = 60000
	// Straight to the broker: the client would send it to a transaction
	// coordinator it looks up first.
	kresp, err := raw.Broker(1).Request(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp.(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != kerr.InvalidRequest.Code || resp.ProducerID != -1 {
		t.Fatalf("InitProducerId with a transactional id: %v, id %d", kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID)
	}
	// Idempotent producers are unaffected.
	idem := tb.client(kgo.DefaultProduceTopic("txn"))
	if err := idem.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
