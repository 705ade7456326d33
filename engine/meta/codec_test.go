package meta

import (
	"reflect"
	"strings"
	"testing"
)

func TestOpsRoundTrip(t *testing.T) {
	f := func(ops []Op) {
		t.Helper()
		b, err := EncodeOps(ops)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := DecodeOps(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, ops) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, ops)
		}
	}
	f([]Op{registerOp(3)})
	f([]Op{createOp("orders", 7, 4)})
	f([]Op{
		{Kind: OpDeleteTopics, Names: []string{"a", "b"}},
		{Kind: OpCreatePartitions, Names: []string{"c"}, NewPartitions: partitions(2, 1)},
		{Kind: OpAlterTopicConfig, Names: []string{"c"}, Set: map[string]string{"k": "v"}, Delete: []string{"d"}, Replace: true},
		{Kind: OpAllocateProducerIDs, Count: 1000},
	})
	f([]Op{{Kind: OpCreateTopics, Topics: []Topic{{Name: "__consumer_offsets", ID: TopicID{1, 2, 3, 255},
		Partitions: partitions(1, 0), Configs: map[string]string{"cleanup.policy": "compact"}, Internal: true}}}})
}

func TestDecodeOpsRejectsGarbage(t *testing.T) {
	if _, err := DecodeOps([]byte(`{"kind":`)); err == nil {
		t.Fatal("decoded truncated JSON")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := baseState(t)
	s.Apply(2, []Op{registerOp(2), createOp("b", 2, 2), {Kind: OpAllocateProducerIDs, Count: 7}})
	s.SetController(1)
	want := s.Snapshot()
	b, err := MarshalSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestUnmarshalSnapshotRejects(t *testing.T) {
	f := func(in, wantSub string) {
		t.Helper()
		_, err := UnmarshalSnapshot([]byte(in))
		if err == nil || !strings.Contains(err.Error(), wantSub) {
			t.Fatalf("UnmarshalSnapshot(%s) err = %v, want it to mention %q", in, err, wantSub)
		}
	}
	f(`{"cluster_id":`, "decode metadata snapshot")
	f(`{"topics":{"a":{"name":"b"}}}`, `topic key "a"`)
	f(`{"topics":{"a":null}}`, `topic key "a"`)
	f(`{"brokers":{"1":{"node_id":2}}}`, "broker key 1")
}

func TestUnmarshalSnapshotEmpty(t *testing.T) {
	got, err := UnmarshalSnapshot([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Topics == nil || got.Brokers == nil {
		t.Fatalf("maps not initialised: %+v", got)
	}
}
