package engine

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// adminCtx bounds one admin test's requests.
func adminCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pinnedClient is a client that speaks at most version max of API key.
func pinnedClient(tb *testBroker, key, max int16) *kgo.Client {
	v := kversion.Stable()
	v.SetMaxKeyVersion(key, max)
	return tb.client(kgo.MaxVersions(v))
}

// wantErr fails unless err is the Kafka error want (nil: no error).
func wantErr(t *testing.T, what string, err error, want *kerr.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func wantCode(t *testing.T, what string, code int16, want *kerr.Error) {
	t.Helper()
	got := kerr.ErrorForCode(code)
	if want == nil && got == nil {
		return
	}
	if got != want {
		t.Fatalf("%s: got error code %d (%v), want %v", what, code, got, want)
	}
}

func TestAdminDescribeCluster(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	cl := tb.client()

	req := kmsg.NewPtrDescribeClusterRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "describe cluster", resp.ErrorCode, nil)
	if resp.ClusterID != "test-cluster" || resp.ControllerID != 1 {
		t.Fatalf("cluster %q controller %d, want test-cluster and 1", resp.ClusterID, resp.ControllerID)
	}
	_, port, _ := net.SplitHostPort(tb.addr)
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != "127.0.0.1" || strconv.Itoa(int(resp.Brokers[0].Port)) != port {
		t.Fatalf("brokers %+v, want node 1 at %s", resp.Brokers, tb.addr)
	}
	if resp.ClusterAuthorizedOperations != math.MinInt32 {
		t.Fatalf("authorized operations %d without asking, want %d", resp.ClusterAuthorizedOperations, math.MinInt32)
	}

	req.IncludeClusterAuthorizedOperations = true
	if resp, err = req.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	ops := resp.ClusterAuthorizedOperations
	for _, op := range []kmsg.ACLOperation{kmsg.ACLOperationDescribe, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite} {
		if ops < 0 || ops&(1<<op) == 0 {
			t.Fatalf("authorized operations %b lack %v", ops, op)
		}
	}

	for _, c := range []struct {
		endpoint int8
		want     *kerr.Error
	}{{2, kerr.MismatchedEndpointType}, {7, kerr.UnsupportedEndpointType}} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.EndpointType = c.endpoint
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "endpoint type "+strconv.Itoa(int(c.endpoint)), resp.ErrorCode, c.want)
		if resp.ErrorMessage == nil || len(resp.Brokers) != 0 {
			t.Fatalf("endpoint type %d: message %v brokers %v, want a message and no brokers", c.endpoint, resp.ErrorMessage, resp.Brokers)
		}
	}

	md, err := tb.admin().BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Cluster != "test-cluster" || md.Controller != 1 || len(md.Brokers) != 1 {
		t.Fatalf("broker metadata %+v", md)
	}
}

// topicIDOf returns a topic's id from Metadata.
func topicIDOf(t *testing.T, adm *kadm.Client, topic string) kadm.TopicID {
	t.Helper()
	tds, err := adm.ListTopics(adminCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	td, ok := tds[topic]
	if !ok || td.Err != nil {
		t.Fatalf("topic %s: listed %v, err %v", topic, ok, td.Err)
	}
	return td.ID
}

// askBroker sends req straight to node 1, bypassing the client's routing,
// which would refuse partitions it does not know.
func askBroker[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	resp, err := cl.Broker(1).Request(adminCtx(t), req)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	return resp.(R)
}
