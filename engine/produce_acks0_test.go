package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// acksZeroFrame is a size-prefixed acks=0 produce of one record to
// topic's partition 0.
func acksZeroFrame(corr int32, topic string) []byte {
	req := produceRequestOf(topic, 0, 0, rawBatch(1, -1, -1, -1))
	return sizePrefixed(withCorrelation(encodeRequest(req, 9), corr))
}

// apiVersionsFrame is a size-prefixed ApiVersions v0 request.
func apiVersionsFrame(corr int32) []byte {
	return sizePrefixed(withCorrelation(encodeRequest(kmsg.NewPtrApiVersionsRequest(), 0), corr))
}

func withCorrelation(frame []byte, corr int32) []byte {
	binary.BigEndian.PutUint32(frame[4:], uint32(corr))
	return frame
}

func sizePrefixed(frame []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(frame))), frame...)
}

// readFrame reads one size-prefixed response body from c.
func readFrame(c net.Conn) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c, body)
	return body, err
}

// readCorrelation reads one response and returns its correlation id.
func readCorrelation(c net.Conn) (int32, error) {
	body, err := readFrame(c)
	if err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(body)), nil
}

// Kafka closes the connection of an acks=0 produce that failed for any
// partition, so the producer refreshes its metadata instead of sending on
// into the void; a produce that succeeded leaves the connection open.
func TestProduceAcksZeroErrorClosesConnection(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "acks0-ok", 1)
	dial := func() net.Conn { return dialRaw(t, tb.addr, 10*time.Second) }

	ok := dial()
	if _, err := ok.Write(append(acksZeroFrame(1, "acks0-ok"), apiVersionsFrame(2)...)); err != nil {
		t.Fatal(err)
	}
	if corr, err := readCorrelation(ok); err != nil || corr != 2 {
		t.Fatalf("after a good acks=0 produce: correlation %d, %v; want the ApiVersions answer (2)", corr, err)
	}

	bad := dial()
	if _, err := bad.Write(append(acksZeroFrame(1, "acks0-no-such-topic"), apiVersionsFrame(2)...)); err != nil {
		t.Fatal(err)
	}
	if corr, err := readCorrelation(bad); err == nil {
		t.Fatalf("after an acks=0 produce to an unknown topic: got response %d, want the connection closed", corr)
	} else if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("after an acks=0 produce to an unknown topic: connection neither answered nor closed: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// acks=0 produces hold their connection's in-flight slots until their turn
// is committed like any other request: a client streaming them while the
// disk stalls is stopped at the in-flight cap instead of piling requests
// (and a goroutine each) up in the broker. When the disk comes back every
// record is there.
func TestProduceAcksZeroHeldByInflightCap(t *testing.T) {
	const topic, n = "acks0-capped", 2000
	fo, tb, _ := startFaultBroker(t, uring.PwriteOpener{}, []string{"socket.max.inflight.requests=4", "shard.mailbox.size=16", "io.timeout.ms=60000"}, topic)
	release := fo.blockSync(topic)
	defer release()

	c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var frames []byte
	for i := 0; i < n; i++ {
		frames = append(frames, acksZeroFrame(int32(i), topic)...)
	}
	before := runtime.NumGoroutine()
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(frames); wrote <- err }()

	// The broker may take the first few requests; give it time to take
	// more than it should if it were going to.
	peak := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		peak = max(peak, runtime.NumGoroutine()-before)
	}
	if peak > 50 {
		t.Fatalf("with the disk stalled and 4 requests allowed in flight, goroutines grew by %d", peak)
	}

	release()
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	adm := tb.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return err
		}
		// startFaultBroker wrote a batch of two records first.
		if o, _ := ends.Lookup(topic, 0); o.Offset != n+2 {
			return fmt.Errorf("end offset %d, want %d: not every acks=0 record is there yet", o.Offset, n+2)
		}
		return nil
	})
}

// The close for a failed acks=0 produce comes after the answers to the
// connection's earlier requests, as in Kafka, which handles a connection's
// requests one at a time: a long-poll fetch sent before it is still
// answered.
func TestProduceAcksZeroCloseAnswersEarlierRequests(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "acks0-lp", 1)
	c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fetch := fetchReq("acks0-lp", 0, 0, 1, 500, 1<<20) // waits up to 500 ms: nothing to read
	frames := append(sizePrefixed(withCorrelation(encodeRequest(fetch, 12), 1)), acksZeroFrame(2, "acks0-no-such-topic")...)
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	if corr, err := readCorrelation(c); err != nil || corr != 1 {
		t.Fatalf("first answer: correlation %d, %v; want the fetch's (1)", corr, err)
	}
	if corr, err := readCorrelation(c); err == nil {
		t.Fatalf("after the failed acks=0 produce: got response %d, want the connection closed", corr)
	}
}
