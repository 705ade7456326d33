package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// NullBroker speaks just enough Kafka for franz-go to produce to it, and
// throws every record away: it decodes each Produce request with kmsg,
// counts the records of each batch to hand out offsets, and answers success.
// Nothing is stored, copied or fsynced, so what a client reaches against it
// is the ceiling this client and this machine allow any broker: a real
// broker's throughput as a share of it is the broker's own efficiency.
//
// Served: ApiVersions, Metadata, CreateTopics, InitProducerId, Produce.
// Any other request closes the connection (fetching from it is meaningless).
type NullBroker struct {
	ln   net.Listener
	host string
	port int32
	log  *slog.Logger

	mu      sync.Mutex
	topics  map[string]*nullTopic
	byID    map[[16]byte]*nullTopic
	pid     atomic.Int64
	records atomic.Int64

	wg     sync.WaitGroup
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// nullTopic is a topic's name, id and each partition's next offset.
type nullTopic struct {
	name    string
	id      [16]byte
	offsets []atomic.Int64
}

// nullServed is every request key the null broker answers.
var nullServed = []int16{
	int16(kmsg.Produce), int16(kmsg.Metadata), int16(kmsg.ApiVersions),
	int16(kmsg.CreateTopics), int16(kmsg.InitProducerID),
}

// nullDefaultPartitions is the partition count of a topic created by
// Metadata auto-creation or CreateTopics asking for the default.
const nullDefaultPartitions = 1

// StartNullBroker listens on addr ("127.0.0.1:0" for any free port) and
// serves until Close. log may be nil.
func StartNullBroker(addr string, log *slog.Logger) (*NullBroker, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("null broker listen on %s: %w", addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &NullBroker{
		ln: ln, host: tcp.IP.String(), port: int32(tcp.Port), log: log,
		topics: make(map[string]*nullTopic), byID: make(map[[16]byte]*nullTopic),
		conns: make(map[net.Conn]struct{}),
	}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// Addr is the host:port clients bootstrap from.
func (b *NullBroker) Addr() string { return b.ln.Addr().String() }

// Records is how many records the broker has acknowledged (and dropped).
func (b *NullBroker) Records() int64 { return b.records.Load() }

// Close stops listening, closes every connection and waits for their
// goroutines.
func (b *NullBroker) Close() error {
	err := b.ln.Close()
	b.connMu.Lock()
	b.closed = true
	for c := range b.conns {
		c.Close()
	}
	b.connMu.Unlock()
	b.wg.Wait()
	return err
}

func (b *NullBroker) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return // closed
		}
		b.connMu.Lock()
		if b.closed {
			b.connMu.Unlock()
			c.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.connMu.Unlock()
		go func() {
			defer b.wg.Done()
			if err := b.serve(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				b.log.Info("null broker: connection closed", "remote", c.RemoteAddr(), "err", err)
			}
			b.connMu.Lock()
			delete(b.conns, c)
			b.connMu.Unlock()
			c.Close()
		}()
	}
}

// serve answers one connection's requests in order. Responses are buffered
// and written when no further request is already waiting, so a pipelining
// client gets several answers in one write, as from a real broker.
func (b *NullBroker) serve(c net.Conn) error {
	r := bufio.NewReaderSize(c, 256<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	var body, out []byte
	var size [4]byte
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(size[:])
		if n > 100<<20 {
			return fmt.Errorf("request of %d bytes", n)
		}
		if cap(body) < int(n) {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		var err error
		if out, err = b.handle(body, out[:0]); err != nil {
			return err
		}
		if len(out) > 0 {
			if _, err := w.Write(out); err != nil {
				return fmt.Errorf("write response: %w", err)
			}
		}
		if r.Buffered() == 0 && w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write response: %w", err)
			}
		}
	}
}

// handle decodes one request and appends its framed response to out; an
// acks=0 produce appends nothing.
func (b *NullBroker) handle(body, out []byte) ([]byte, error) {
	rd := kbin.Reader{Src: body}
	key, version, corr := rd.Int16(), rd.Int16(), rd.Int32()
	rd.NullableString() // client id
	if rd.Complete() != nil {
		return out, errors.New("short request header")
	}
	req := kmsg.RequestForKey(key)
	if req == nil || !nullServes(key) {
		return out, fmt.Errorf("request key %d not served by the null broker", key)
	}
	if key == int16(kmsg.ApiVersions) && version > req.MaxVersion() {
		// KIP-511: answer in v0 so the client learns the ranges.
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		resp.ApiKeys = nullAPIKeys()
		return frameResponse(out, corr, resp), nil
	}
	if version < 0 || version > req.MaxVersion() {
		return out, fmt.Errorf("request key %d version %d beyond %d", key, version, req.MaxVersion())
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
	}
	if err := req.ReadFrom(rd.Src); err != nil {
		return out, fmt.Errorf("decode request key %d v%d: %w", key, version, err)
	}
	var resp kmsg.Response
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		r := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		r.ApiKeys = nullAPIKeys()
		resp = r
	case *kmsg.MetadataRequest:
		resp = b.metadata(req)
	case *kmsg.CreateTopicsRequest:
		resp = b.createTopics(req)
	case *kmsg.InitProducerIDRequest:
		r := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		r.ProducerID = b.pid.Add(1)
		resp = r
	case *kmsg.ProduceRequest:
		r := b.produce(req)
		if req.Acks == 0 {
			return out, nil
		}
		resp = r
	}
	return frameResponse(out, corr, resp), nil
}

func nullServes(key int16) bool {
	for _, k := range nullServed {
		if k == key {
			return true
		}
	}
	return false
}

func nullAPIKeys() []kmsg.ApiVersionsResponseApiKey {
	var keys []kmsg.ApiVersionsResponseApiKey
	for _, k := range nullServed {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey = k
		ak.MaxVersion = kmsg.RequestForKey(k).MaxVersion()
		keys = append(keys, ak)
	}
	return keys
}

// frameResponse appends size, correlation id, the header's tag section
// (flexible versions, except ApiVersions which always uses header v0) and
// the body.
func frameResponse(out []byte, corr int32, resp kmsg.Response) []byte {
	start := len(out)
	out = append(out, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(corr))
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}

// topicLocked finds or, when create is set, creates a topic. b.mu is held.
func (b *NullBroker) topicLocked(name string, partitions int32, create bool) (t *nullTopic, created bool) {
	if t := b.topics[name]; t != nil {
		return t, false
	}
	if !create {
		return nil, false
	}
	if partitions <= 0 {
		partitions = nullDefaultPartitions
	}
	t = &nullTopic{name: name, offsets: make([]atomic.Int64, partitions)}
	_, _ = rand.Read(t.id[:]) // crypto/rand does not fail on Linux
	b.topics[name] = t
	b.byID[t.id] = t
	return t, true
}

func (b *NullBroker) lookup(name string, id [16]byte) *nullTopic {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[name]; t != nil {
		return t
	}
	return b.byID[id]
}

func (b *NullBroker) metadata(req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = 0, b.host, b.port
	resp.Brokers = []kmsg.MetadataResponseBroker{br}
	clusterID := "chronik-bench-null"
	resp.ClusterID = &clusterID
	resp.ControllerID = 0

	b.mu.Lock()
	defer b.mu.Unlock()
	var topics []*nullTopic
	var missing []kmsg.MetadataResponseTopic
	if req.Topics == nil {
		for _, t := range b.topics {
			topics = append(topics, t)
		}
	}
	for _, rt := range req.Topics {
		var t *nullTopic
		if rt.Topic != nil {
			t, _ = b.topicLocked(*rt.Topic, 0, req.AllowAutoTopicCreation)
		} else {
			t = b.byID[rt.TopicID]
		}
		if t == nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			missing = append(missing, mt)
			continue
		}
		topics = append(topics, t)
	}
	for _, t := range topics {
		mt := kmsg.NewMetadataResponseTopic()
		name := t.name
		mt.Topic, mt.TopicID = &name, t.id
		for p := range t.offsets {
			mp := kmsg.NewMetadataResponseTopicPartition()
			mp.Partition, mp.Leader, mp.LeaderEpoch = int32(p), 0, 0
			mp.Replicas, mp.ISR = []int32{0}, []int32{0}
			mt.Partitions = append(mt.Partitions, mp)
		}
		resp.Topics = append(resp.Topics, mt)
	}
	resp.Topics = append(resp.Topics, missing...)
	return resp
}

func (b *NullBroker) createTopics(req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		t, created := b.topicLocked(rt.Topic, rt.NumPartitions, !req.ValidateOnly)
		switch {
		case t == nil: // validate only
		case !created:
			st.ErrorCode = kerr.TopicAlreadyExists.Code
		default:
			st.TopicID = t.id
			st.NumPartitions = int32(len(t.offsets))
			st.ReplicationFactor = 1
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *NullBroker) produce(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t := b.lookup(rt.Topic, rt.TopicID)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			n, err := countBatchRecords(rp.Records)
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.offsets):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case err != nil:
				sp.ErrorCode = kerr.CorruptMessage.Code
			default:
				sp.BaseOffset = t.offsets[rp.Partition].Add(n) - n
				sp.LogAppendTime = -1
				b.records.Add(n)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// countBatchRecords sums the record counts of the magic-2 record batches in
// records: each batch is baseOffset (8) + length (4) + length bytes, with
// the count at byte 57 of the batch.
func countBatchRecords(records []byte) (int64, error) {
	var n int64
	for len(records) > 0 {
		if len(records) < 61 {
			return 0, fmt.Errorf("record batch of %d bytes: shorter than its header", len(records))
		}
		length := int(int32(binary.BigEndian.Uint32(records[8:])))
		if length < 49 || 12+length > len(records) {
			return 0, fmt.Errorf("record batch length %d with %d bytes left", length, len(records))
		}
		n += int64(int32(binary.BigEndian.Uint32(records[57:])))
		records = records[12+length:]
	}
	return n, nil
}

// ServeNull runs a null broker until ctx ends, taking the chronik binary's
// "--set listeners=PLAINTEXT://127.0.0.1:PORT" (and ignoring log.dirs), so a
// benchmark starts it as its own process exactly as it starts chronik.
func ServeNull(ctx context.Context, args []string, log io.Writer) error {
	settings, err := parseServeSettings("null-serve", args, "listeners", "log.dirs")
	if err != nil {
		return err
	}
	port, err := listenerPort("null-serve", settings["listeners"])
	if err != nil {
		return err
	}
	b, err := StartNullBroker(fmt.Sprintf("127.0.0.1:%d", port), slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "null broker serving on %s\n", b.Addr())
	<-ctx.Done()
	err = b.Close()
	fmt.Fprintf(log, "null broker stopped after acknowledging %d records\n", b.Records())
	return err
}
