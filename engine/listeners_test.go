package engine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/chronik-go/chronik/netpoll"
)

// twoListeners are the settings of a broker with an INTERNAL plaintext
// listener and an EXTERNAL one whose clients log in (SASL_PLAINTEXT), as a
// broker serves its own network and the outside.
func twoListeners(extra ...string) []string {
	return append([]string{
		"listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
		"listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
		"listener.name.external.plain.sasl.jaas.config=" + testJAAS,
	}, extra...)
}

// Clients of each listener are sent on to that listener's addresses, as
// Kafka answers Metadata, FindCoordinator and DescribeCluster with the
// endpoints of the listener a client came through, and only the SASL
// listener asks for a login. Were a client of one listener sent to the
// other, it would reach a broker that wants a login it does not give (or
// gives one the broker does not ask for), and its produce or its group
// would fail.
func TestListenersSendClientsToTheirOwnAddresses(t *testing.T) {
	tb := startBroker(t, twoListeners()...)
	createTestTopic(t, tb, "two-ways", 2)
	internal := tb.client(kgo.SeedBrokers(tb.addrs["INTERNAL"]), kgo.DefaultProduceTopic("two-ways"))
	login := kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	external := tb.client(kgo.SeedBrokers(tb.addrs["EXTERNAL"]), login, kgo.DefaultProduceTopic("two-ways"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 10 {
		cl := internal
		if i%2 == 1 {
			cl = external
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte{byte(i)}, Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	// A group on each listener: its coordinator is found at the
	// listener's address, and each reads all ten.
	for name, opts := range map[string][]kgo.Opt{
		"INTERNAL": {kgo.SeedBrokers(tb.addrs["INTERNAL"])},
		"EXTERNAL": {kgo.SeedBrokers(tb.addrs["EXTERNAL"]), login},
	} {
		cl := tb.client(append(opts, kgo.ConsumeTopics("two-ways"), kgo.ConsumerGroup("g-"+name),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
		got := 0
		for got < 10 {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("%s: read %d of 10", name, got)
			}
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("%s: %v", name, err) })
			got += fs.NumRecords()
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("%s: commit: %v", name, err)
		}
	}
	// Without a login, the EXTERNAL listener serves nothing.
	anon := tb.client(kgo.SeedBrokers(tb.addrs["EXTERNAL"]), kgo.RequestRetries(0))
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if err := anon.Ping(short); err == nil {
		t.Fatal("the SASL listener served a client that did not log in")
	}
}

// advertised.listeners sets what each listener's clients are told, per
// listener; a listener it does not name advertises its own address.
func TestAdvertisedListenersArePerListener(t *testing.T) {
	tb := startBroker(t, twoListeners("advertised.listeners=EXTERNAL://kafka.example.com:443")...)
	createTestTopic(t, tb, "adv", 1)
	_, internalPort, _ := net.SplitHostPort(tb.addrs["INTERNAL"])
	for _, c := range []struct {
		listener string
		host     string
		port     string
	}{
		{"INTERNAL", "127.0.0.1", internalPort},
		{"EXTERNAL", "kafka.example.com", "443"},
	} {
		conn := dialRaw(t, tb.addrs[c.listener], 10*time.Second)
		if c.listener == "EXTERNAL" {
			if code, err := saslHandshake(conn, "PLAIN"); err != nil || code != 0 {
				t.Fatalf("handshake: %d, %v", code, err)
			}
			if code, err := saslAuthenticate(conn, "\x00alice\x00alice-secret"); err != nil || code != 0 {
				t.Fatalf("login: %d, %v", code, err)
			}
		}
		want := net.JoinHostPort(c.host, c.port)

		meta := kmsg.NewPtrMetadataRequest()
		metaResp := kmsg.NewPtrMetadataResponse()
		if err := roundTrip(conn, meta, 12, metaResp); err != nil {
			t.Fatal(err)
		}
		if len(metaResp.Brokers) != 1 || endpoint(metaResp.Brokers[0].Host, metaResp.Brokers[0].Port) != want {
			t.Fatalf("%s: Metadata brokers %+v, want %s", c.listener, metaResp.Brokers, want)
		}

		find := kmsg.NewPtrFindCoordinatorRequest()
		find.CoordinatorKeys = []string{"some-group"}
		findResp := kmsg.NewPtrFindCoordinatorResponse()
		if err := roundTrip(conn, find, 4, findResp); err != nil {
			t.Fatal(err)
		}
		co := findResp.Coordinators[0]
		if co.ErrorCode != 0 || endpoint(co.Host, co.Port) != want {
			t.Fatalf("%s: coordinator %+v, want %s", c.listener, co, want)
		}

		desc := kmsg.NewPtrDescribeClusterRequest()
		descResp := kmsg.NewPtrDescribeClusterResponse()
		if err := roundTrip(conn, desc, 0, descResp); err != nil {
			t.Fatal(err)
		}
		if len(descResp.Brokers) != 1 || endpoint(descResp.Brokers[0].Host, descResp.Brokers[0].Port) != want {
			t.Fatalf("%s: DescribeCluster brokers %+v, want %s", c.listener, descResp.Brokers, want)
		}
		conn.Close()
	}
}

func endpoint(host string, port int32) string { return net.JoinHostPort(host, fmt.Sprint(port)) }

// A connection is served only through a listener the broker has: one made
// outside them (no name) counts as the broker's one listener, SASL and
// all, and one stamped with a name the broker does not know (the SASL
// listener's in lower case) is closed, never let past the login.
func TestConnectionsOfUnknownListenersAreNotServed(t *testing.T) {
	tb := startBroker(t, "listeners=SASL_PLAINTEXT://127.0.0.1:0",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config="+testJAAS)
	for _, name := range []string{"", "sasl_plaintext", "PLAINTEXT"} {
		srv, err := netpoll.Listen(netpoll.Options{Listener: name, Addr: "127.0.0.1:0", Transport: "std",
			MaxFrameBytes: tb.cfg.SocketRequestMaxBytes, MaxInflight: 8, MaxQueuedBytes: 1 << 20, WriteTimeout: time.Second}, tb.b)
		if err != nil {
			t.Fatal(err)
		}
		conn := dialRaw(t, srv.Addr().String(), 5*time.Second)
		err = roundTrip(conn, kmsg.NewPtrMetadataRequest(), 12, kmsg.NewPtrMetadataResponse())
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(ctx)
		cancel()
		if err == nil {
			t.Fatalf("listener name %q: Metadata served without a SASL login", name)
		}
	}
}
