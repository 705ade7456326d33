package engine

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/netpoll"
)

// fuzzResponder records how a request completed.
type fuzzResponder struct {
	done chan struct{}
	once sync.Once
}

func (f *fuzzResponder) Respond([][]byte) { f.once.Do(func() { close(f.done) }) }
func (f *fuzzResponder) Close(error)      { f.once.Do(func() { close(f.done) }) }

func (f *fuzzResponder) CloseAfterEarlier(error) { f.once.Do(func() { close(f.done) }) }
func (f *fuzzResponder) Reserve(want int) int    { return want }

// encodeRequest frames req the way a client does (header v1/v2 + body).
func encodeRequest(req kmsg.Request, version int16) []byte {
	req.SetVersion(version)
	b := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "fuzz"...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

// describeLogDirsOf asks for some partitions of topic.
func describeLogDirsOf(topic string, partitions ...int32) *kmsg.DescribeLogDirsRequest {
	req := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic, rt.Partitions = topic, partitions
	req.Topics = append(req.Topics, rt)
	return req
}

// FuzzServeRequest feeds arbitrary request frames to a live broker: every
// frame must be answered or close its connection, never panic or hang.
func FuzzServeRequest(f *testing.F) {
	seeds := []kmsg.Request{
		kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest(), kmsg.NewPtrProduceRequest(),
		kmsg.NewPtrFetchRequest(), kmsg.NewPtrListOffsetsRequest(), kmsg.NewPtrCreateTopicsRequest(),
		kmsg.NewPtrInitProducerIDRequest(), kmsg.NewPtrDescribeConfigsRequest(), kmsg.NewPtrDeleteRecordsRequest(),
		kmsg.NewPtrDescribeLogDirsRequest(), describeLogDirsOf("__consumer_offsets", 0, -1, 1<<30),
		kmsg.NewPtrDescribeProducersRequest(),
	}
	for _, r := range seeds {
		for _, v := range []int16{0, 3, 4, 9, 12} {
			if v <= r.MaxVersion() {
				f.Add(encodeRequest(r, v))
			}
		}
	}
	topic := "fuzz"
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
	f.Add(encodeRequest(md, 12))
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1, 255, 255}) // ApiVersions v99
	f.Add([]byte{0, 0})

	// Long polls are capped so a fuzzed MaxWaitMs cannot stall an iteration.
	tb := startBroker(f, "auto.create.topics.enable=false", "fetch.max.wait.cap.ms=200")
	f.Fuzz(func(t *testing.T, frame []byte) {
		r := &fuzzResponder{done: make(chan struct{})}
		tb.b.Serve(netpoll.ConnInfo{ID: 1, Remote: "fuzz"}, frame, r)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("request %x neither answered nor closed", frame)
		}
	})
}
