package meta

import (
	"errors"
	"reflect"
	"testing"
)

func topicID(b byte) TopicID { return TopicID{15: b} }

func partitions(n int, broker int32) []Partition {
	ps := make([]Partition, n)
	for i := range ps {
		ps[i] = Partition{Leader: broker, Replicas: []int32{broker}, ISR: []int32{broker}}
	}
	return ps
}

func registerOp(id int32) Op {
	return Op{Kind: OpRegisterBroker, Broker: &Broker{NodeID: id, Host: "127.0.0.1", Port: 9092}}
}

func createOp(name string, id byte, n int) Op {
	return Op{Kind: OpCreateTopics, Topics: []Topic{{Name: name, ID: topicID(id), Partitions: partitions(n, 1)}}}
}

// baseState is a cluster with broker 1 and topic "a" (3 partitions, one config).
func baseState(t *testing.T) *State {
	t.Helper()
	s := NewState(&Snapshot{ClusterID: "c1", ControllerID: -1})
	a := createOp("a", 1, 3)
	a.Topics[0].Configs = map[string]string{"cleanup.policy": "compact"}
	for i, r := range s.Apply(1, []Op{registerOp(1), a}) {
		if r.Err != nil {
			t.Fatalf("setup op %d: %v", i, r.Err)
		}
	}
	s.Snapshot()
	return s
}

func TestStateApplyResults(t *testing.T) {
	f := func(name string, op Op, wantErr error, check func(t *testing.T, s *Snapshot)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			s := baseState(t)
			before := s.Snapshot()
			res := s.Apply(2, []Op{op})
			if len(res) != 1 {
				t.Fatalf("got %d results, want 1", len(res))
			}
			after := s.Snapshot()
			if after.AppliedIndex != 2 {
				t.Errorf("AppliedIndex = %d, want 2", after.AppliedIndex)
			}
			if wantErr != nil {
				if !errors.Is(res[0].Err, wantErr) {
					t.Fatalf("err = %v, want %v", res[0].Err, wantErr)
				}
				if !reflect.DeepEqual(before.Topics, after.Topics) || !reflect.DeepEqual(before.Brokers, after.Brokers) {
					t.Fatalf("failed op changed the state")
				}
				return
			}
			if res[0].Err != nil {
				t.Fatalf("unexpected err: %v", res[0].Err)
			}
			check(t, after)
		})
	}

	f("register broker", registerOp(2), nil, func(t *testing.T, s *Snapshot) {
		if b := s.Brokers[2]; b.Host != "127.0.0.1" || b.Port != 9092 {
			t.Fatalf("broker 2 = %+v", b)
		}
	})
	f("register broker again replaces listener",
		Op{Kind: OpRegisterBroker, Broker: &Broker{NodeID: 1, Host: "h2", Port: 1}}, nil,
		func(t *testing.T, s *Snapshot) {
			if b := s.Brokers[1]; b.Host != "h2" || len(s.Brokers) != 1 {
				t.Fatalf("brokers = %+v", s.Brokers)
			}
		})
	f("register nil broker", Op{Kind: OpRegisterBroker}, ErrInvalidOp, nil)
	f("register negative id", Op{Kind: OpRegisterBroker, Broker: &Broker{NodeID: -1}}, ErrInvalidOp, nil)

	f("create topic", createOp("b", 2, 100), nil, func(t *testing.T, s *Snapshot) {
		b := s.Topics["b"]
		if b == nil || len(b.Partitions) != 100 || b.ID != topicID(2) {
			t.Fatalf("topic b = %+v", b)
		}
	})
	f("create two topics", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: partitions(1, 1)},
		{Name: "c", ID: topicID(3), Partitions: partitions(2, 1)},
	}}, nil, func(t *testing.T, s *Snapshot) {
		if len(s.Topics) != 3 || len(s.Topics["c"].Partitions) != 2 {
			t.Fatalf("topics = %v", s.Topics)
		}
	})
	f("create existing topic", createOp("a", 9, 1), ErrTopicExists, nil)
	f("create same name twice in one op", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: partitions(1, 1)},
		{Name: "b", ID: topicID(3), Partitions: partitions(1, 1)},
	}}, ErrTopicExists, nil)
	f("create with a used topic id", createOp("b", 1, 1), ErrTopicExists, nil)
	f("create same id twice in one op", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: partitions(1, 1)},
		{Name: "c", ID: topicID(2), Partitions: partitions(1, 1)},
	}}, ErrTopicExists, nil)
	f("create with no partitions", createOp("b", 2, 0), ErrInvalidPartitions, nil)
	f("create with zero id", Op{Kind: OpCreateTopics, Topics: []Topic{{Name: "b", Partitions: partitions(1, 1)}}}, ErrInvalidOp, nil)
	f("create with empty name", createOp("", 2, 1), ErrInvalidOp, nil)
	f("create with no topics", Op{Kind: OpCreateTopics}, ErrInvalidOp, nil)
	f("create on unknown replica", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: []Partition{{Leader: 1, Replicas: []int32{1, 7}, ISR: []int32{1}}}},
	}}, ErrUnknownBroker, nil)
	f("create on unknown leader", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: partitions(1, 5)},
	}}, ErrUnknownBroker, nil)
	f("create with no leader yet", Op{Kind: OpCreateTopics, Topics: []Topic{
		{Name: "b", ID: topicID(2), Partitions: []Partition{{Leader: -1, Replicas: []int32{1}}}},
	}}, nil, func(t *testing.T, s *Snapshot) {
		if s.Topics["b"].Partitions[0].Leader != -1 {
			t.Fatalf("leader = %d", s.Topics["b"].Partitions[0].Leader)
		}
	})

	f("delete topic", Op{Kind: OpDeleteTopics, Names: []string{"a"}}, nil, func(t *testing.T, s *Snapshot) {
		if _, ok := s.Topics["a"]; ok || len(s.Topics) != 0 {
			t.Fatalf("topics = %v", s.Topics)
		}
	})
	f("delete unknown topic", Op{Kind: OpDeleteTopics, Names: []string{"nope"}}, ErrUnknownTopic, nil)
	f("delete known and unknown is all-or-nothing", Op{Kind: OpDeleteTopics, Names: []string{"a", "nope"}}, ErrUnknownTopic, nil)
	f("delete nothing", Op{Kind: OpDeleteTopics}, ErrInvalidOp, nil)

	f("create partitions", Op{Kind: OpCreatePartitions, Names: []string{"a"}, NewPartitions: partitions(2, 1)}, nil,
		func(t *testing.T, s *Snapshot) {
			if n := len(s.Topics["a"].Partitions); n != 5 {
				t.Fatalf("partitions = %d, want 5", n)
			}
			if s.Topics["a"].Configs["cleanup.policy"] != "compact" {
				t.Fatalf("configs lost: %v", s.Topics["a"].Configs)
			}
		})
	f("create zero partitions", Op{Kind: OpCreatePartitions, Names: []string{"a"}}, ErrInvalidPartitions, nil)
	f("create partitions of unknown topic", Op{Kind: OpCreatePartitions, Names: []string{"nope"}, NewPartitions: partitions(1, 1)}, ErrUnknownTopic, nil)
	f("create partitions on unknown broker", Op{Kind: OpCreatePartitions, Names: []string{"a"}, NewPartitions: partitions(1, 4)}, ErrUnknownBroker, nil)
	f("create partitions without a name", Op{Kind: OpCreatePartitions, NewPartitions: partitions(1, 1)}, ErrInvalidOp, nil)

	f("alter config set and delete", Op{Kind: OpAlterTopicConfig, Names: []string{"a"},
		Set: map[string]string{"retention.ms": "1000"}, Delete: []string{"cleanup.policy"}}, nil,
		func(t *testing.T, s *Snapshot) {
			want := map[string]string{"retention.ms": "1000"}
			if got := s.Topics["a"].Configs; !reflect.DeepEqual(got, want) {
				t.Fatalf("configs = %v, want %v", got, want)
			}
		})
	f("alter config keeps others", Op{Kind: OpAlterTopicConfig, Names: []string{"a"},
		Set: map[string]string{"retention.ms": "1000"}}, nil,
		func(t *testing.T, s *Snapshot) {
			want := map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"}
			if got := s.Topics["a"].Configs; !reflect.DeepEqual(got, want) {
				t.Fatalf("configs = %v, want %v", got, want)
			}
		})
	f("alter config replace", Op{Kind: OpAlterTopicConfig, Names: []string{"a"}, Replace: true,
		Set: map[string]string{"retention.ms": "5"}}, nil,
		func(t *testing.T, s *Snapshot) {
			want := map[string]string{"retention.ms": "5"}
			if got := s.Topics["a"].Configs; !reflect.DeepEqual(got, want) {
				t.Fatalf("configs = %v, want %v", got, want)
			}
		})
	f("alter config replace with nothing clears", Op{Kind: OpAlterTopicConfig, Names: []string{"a"}, Replace: true}, nil,
		func(t *testing.T, s *Snapshot) {
			if got := s.Topics["a"].Configs; got != nil {
				t.Fatalf("configs = %v, want none", got)
			}
		})
	f("alter config of unknown topic", Op{Kind: OpAlterTopicConfig, Names: []string{"nope"}, Set: map[string]string{"k": "v"}}, ErrUnknownTopic, nil)
	f("alter config empty key", Op{Kind: OpAlterTopicConfig, Names: []string{"a"}, Set: map[string]string{"": "v"}}, ErrInvalidOp, nil)

	f("allocate producer ids", Op{Kind: OpAllocateProducerIDs, Count: 1000}, nil, func(t *testing.T, s *Snapshot) {
		if s.NextProducerID != 1000 {
			t.Fatalf("NextProducerID = %d, want 1000", s.NextProducerID)
		}
	})
	f("allocate zero producer ids", Op{Kind: OpAllocateProducerIDs}, ErrInvalidOp, nil)
	f("unknown op kind", Op{Kind: "frobnicate"}, ErrInvalidOp, nil)
}

func TestStateFailedOpDoesNotStopBatch(t *testing.T) {
	s := baseState(t)
	res := s.Apply(2, []Op{
		createOp("a", 9, 1), // exists
		createOp("b", 2, 1),
		{Kind: OpDeleteTopics, Names: []string{"zzz"}},
		{Kind: OpAllocateProducerIDs, Count: 10},
		{Kind: OpAllocateProducerIDs, Count: 5},
	})
	wantErrs := []error{ErrTopicExists, nil, ErrUnknownTopic, nil, nil}
	for i, want := range wantErrs {
		if !errors.Is(res[i].Err, want) || (want == nil && res[i].Err != nil) {
			t.Errorf("result %d: err = %v, want %v", i, res[i].Err, want)
		}
	}
	if res[3].FirstProducerID != 0 || res[4].FirstProducerID != 10 {
		t.Errorf("producer id blocks start at %d and %d, want 0 and 10", res[3].FirstProducerID, res[4].FirstProducerID)
	}
	snap := s.Snapshot()
	if _, ok := snap.Topics["b"]; !ok || len(snap.Topics) != 2 || snap.NextProducerID != 15 {
		t.Fatalf("snapshot topics=%v next producer id=%d", snap.Topics, snap.NextProducerID)
	}
}

func TestStateCopyOnWrite(t *testing.T) {
	s := baseState(t)
	old := s.Snapshot()
	oldJSON, err := MarshalSnapshot(old)
	if err != nil {
		t.Fatal(err)
	}
	oldA := old.Topics["a"]

	// Several entries between two publishes, touching topic "a" twice.
	s.Apply(2, []Op{createOp("b", 2, 1)})
	s.Apply(3, []Op{{Kind: OpCreatePartitions, Names: []string{"a"}, NewPartitions: partitions(1, 1)}})
	s.Apply(4, []Op{{Kind: OpAlterTopicConfig, Names: []string{"a"}, Set: map[string]string{"x": "y"}}})
	s.Apply(5, []Op{registerOp(2)})
	mid := s.Snapshot()

	s.Apply(6, []Op{{Kind: OpDeleteTopics, Names: []string{"b"}}})
	s.Apply(7, []Op{{Kind: OpCreatePartitions, Names: []string{"a"}, NewPartitions: partitions(1, 2)}})
	latest := s.Snapshot()

	nowJSON, err := MarshalSnapshot(old)
	if err != nil {
		t.Fatal(err)
	}
	if string(oldJSON) != string(nowJSON) {
		t.Fatalf("published snapshot changed:\nbefore %s\nafter  %s", oldJSON, nowJSON)
	}
	if old.Topics["a"] != oldA || len(oldA.Partitions) != 3 {
		t.Fatalf("old topic a replaced or grown in place")
	}
	if n := len(mid.Topics["a"].Partitions); n != 4 || mid.Topics["a"].Configs["x"] != "y" || len(mid.Brokers) != 2 {
		t.Fatalf("mid snapshot: a has %d partitions, configs %v, %d brokers", n, mid.Topics["a"].Configs, len(mid.Brokers))
	}
	if _, ok := mid.Topics["b"]; !ok {
		t.Fatalf("mid snapshot lost topic b")
	}
	if n := len(latest.Topics["a"].Partitions); n != 5 {
		t.Fatalf("latest a has %d partitions, want 5", n)
	}
	if _, ok := latest.Topics["b"]; ok {
		t.Fatalf("latest snapshot still has deleted topic b")
	}
	if mid.Topics["a"] == latest.Topics["a"] {
		t.Fatalf("changed topic not replaced")
	}
	if reflect.ValueOf(mid.Brokers).Pointer() != reflect.ValueOf(latest.Brokers).Pointer() {
		t.Fatalf("unchanged brokers map was copied")
	}
	if latest.AppliedIndex != 7 || mid.AppliedIndex != 5 || old.AppliedIndex != 1 {
		t.Fatalf("applied indexes %d %d %d", old.AppliedIndex, mid.AppliedIndex, latest.AppliedIndex)
	}
}

func TestStateUnchangedTopicsShared(t *testing.T) {
	s := baseState(t)
	old := s.Snapshot()
	s.Apply(2, []Op{createOp("b", 2, 1)})
	next := s.Snapshot()
	if next.Topics["a"] != old.Topics["a"] {
		t.Fatalf("unchanged topic a was copied")
	}
	if s.Snapshot() != next {
		t.Fatalf("Snapshot without changes published a new one")
	}
	s.SetController(1)
	if c := s.Snapshot(); c == next || c.ControllerID != 1 {
		t.Fatalf("controller change not published: %+v", c)
	}
}

func TestNewStateEmpty(t *testing.T) {
	s := NewState(nil)
	snap := s.Snapshot()
	if snap.Topics == nil || snap.Brokers == nil || snap.ControllerID != -1 {
		t.Fatalf("empty state snapshot = %+v", snap)
	}
	res := s.Apply(1, []Op{createOp("a", 1, 1)})
	if !errors.Is(res[0].Err, ErrUnknownBroker) {
		t.Fatalf("create before any broker registered: err = %v, want ErrUnknownBroker", res[0].Err)
	}
}

// Broker config overrides per resource ("" the cluster default): set,
// delete and replace as topic configs, copy-on-write, and kept by a
// snapshot's round trip.
func TestStateAlterBrokerConfig(t *testing.T) {
	s := baseState(t)
	before := s.Snapshot()
	alter := func(index uint64, op Op) {
		t.Helper()
		op.Kind = OpAlterBrokerConfig
		if res := s.Apply(index, []Op{op}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	alter(2, Op{Names: []string{""}, Set: map[string]string{"log.retention.ms": "1000", "log.segment.bytes": "4096"}})
	alter(3, Op{Names: []string{"1"}, Set: map[string]string{"log.segment.bytes": "8192"}})
	mid := s.Snapshot()
	if before.BrokerConfigs != nil {
		t.Fatalf("published snapshot changed: %v", before.BrokerConfigs)
	}
	if got := mid.BrokerConfigs; got[""]["log.retention.ms"] != "1000" || got[""]["log.segment.bytes"] != "4096" || got["1"]["log.segment.bytes"] != "8192" {
		t.Fatalf("broker configs %v", got)
	}
	alter(4, Op{Names: []string{""}, Delete: []string{"log.retention.ms"}})
	alter(5, Op{Names: []string{"1"}, Replace: true})
	latest := s.Snapshot()
	if mid.BrokerConfigs[""]["log.retention.ms"] != "1000" || mid.BrokerConfigs["1"] == nil {
		t.Fatalf("mid snapshot changed: %v", mid.BrokerConfigs)
	}
	if got := latest.BrokerConfigs; len(got) != 1 || len(got[""]) != 1 || got[""]["log.segment.bytes"] != "4096" {
		t.Fatalf("after delete and an empty replace: %v", got)
	}
	b, err := MarshalSnapshot(latest)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSnapshot(b)
	if err != nil || !reflect.DeepEqual(back.BrokerConfigs, latest.BrokerConfigs) {
		t.Fatalf("round trip: %v, %v", back.BrokerConfigs, err)
	}
	if res := s.Apply(6, []Op{{Kind: OpAlterBrokerConfig, Names: []string{"", "1"}}}); !errors.Is(res[0].Err, ErrInvalidOp) {
		t.Fatalf("two resources in one op: %v", res[0].Err)
	}
}

// A create whose name equals another's once '.' and '_' are taken alike is
// refused by the state machine itself (ErrTopicCollision) when the op asks,
// against existing topics, earlier ops of the same entry and names in the
// same op; the exact name is ErrTopicExists as before.
func TestStateRefusesCollidingTopicNames(t *testing.T) {
	s := baseState(t)
	refusing := func(op Op) Op { op.RefuseCollisions = true; return op }
	res := s.Apply(2, []Op{refusing(createOp("x.y", 2, 1)), refusing(createOp("x_y", 3, 1)), refusing(createOp("x.y", 4, 1))})
	if res[0].Err != nil || !errors.Is(res[1].Err, ErrTopicCollision) || !errors.Is(res[2].Err, ErrTopicExists) {
		t.Fatalf("results %v, %v, %v; want ok, collision, exists", res[0].Err, res[1].Err, res[2].Err)
	}
	two := Op{Kind: OpCreateTopics, RefuseCollisions: true, Topics: []Topic{{Name: "p_q", ID: topicID(5), Partitions: partitions(1, 1)}, {Name: "p.q", ID: topicID(6), Partitions: partitions(1, 1)}}}
	if res := s.Apply(3, []Op{two}); !errors.Is(res[0].Err, ErrTopicCollision) {
		t.Fatalf("two colliding names in one op: %v", res[0].Err)
	}
	if _, ok := s.Snapshot().Topics["p_q"]; ok {
		t.Fatal("a refused op created part of its topics")
	}
	// An entry of an older build, which did not ask, replays as it applied.
	if res := s.Apply(4, []Op{createOp("x_y", 7, 1)}); res[0].Err != nil {
		t.Fatalf("older build's create of a colliding name: %v", res[0].Err)
	}
}
