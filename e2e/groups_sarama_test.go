package e2e

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// saramaHandler records every message and marks it for the group's
// offset commits.
type saramaHandler struct {
	seen *seenValues

	mu     sync.Mutex
	claims map[int32]bool
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims = make(map[int32]bool)
	for _, ps := range s.Claims() {
		for _, p := range ps {
			h.claims[p] = true
		}
	}
	return nil
}

func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims = nil
	return nil
}

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for msg := range c.Messages() {
		h.seen.add(msg.Value)
		s.MarkMessage(msg, "")
	}
	return nil
}

func (h *saramaHandler) owned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.claims)
}

// saramaMember runs one sarama consumer group member until stopped.
type saramaMember struct {
	cg      sarama.ConsumerGroup
	h       *saramaHandler
	cancel  context.CancelFunc
	stopped chan error
}

func startSaramaMember(t *testing.T, addr, group, topic string, seen *seenValues, strategy sarama.BalanceStrategy) *saramaMember {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.ClientID = "e2e-sarama-group"
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 250 * time.Millisecond
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatalf("sarama consumer group: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaMember{cg: cg, h: &saramaHandler{seen: seen}, cancel: cancel, stopped: make(chan error, 1)}
	go func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, m.h); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
				m.stopped <- err
				return
			}
		}
		m.stopped <- nil
	}()
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop ends the session (commits, LeaveGroup) and closes the member.
func (m *saramaMember) stop(t *testing.T) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	m.cancel = nil
	if err := <-m.stopped; err != nil {
		t.Errorf("sarama consume: %v", err)
	}
	if err := m.cg.Close(); err != nil {
		t.Errorf("sarama close: %v", err)
	}
}

// IBM/sarama's consumer group: two members share a topic, one leaves
// mid-stream, every record is consumed and the offsets are committed.
func TestGroupsSaramaConsumerGroup(t *testing.T) {
	for _, strategy := range []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange(), sarama.NewBalanceStrategySticky()} {
		t.Run(strategy.Name(), func(t *testing.T) {
			bp := startBinary(t, groupSets...)
			const topic, total = "sarama-group", 4000
			createTopic(t, bp.addr, topic, 4)
			seen := newSeenValues()
			sp := startStream(t, bp.addr, topic, total, 100, 20*time.Millisecond)
			a := startSaramaMember(t, bp.addr, "sarama-group", topic, seen, strategy)
			b := startSaramaMember(t, bp.addr, "sarama-group", topic, seen, strategy)
			waitFor(t, 30*time.Second, "both members own partitions", func() error {
				if a.h.owned() != 2 || b.h.owned() != 2 {
					return errorSplit(a.h.owned(), b.h.owned())
				}
				return nil
			})
			sp.waitProduced(t, total/2)
			b.stop(t)
			waitFor(t, 30*time.Second, "the remaining member owns all partitions", func() error {
				if a.h.owned() != 4 {
					return errorSplit(a.h.owned(), 0)
				}
				return nil
			})
			if err := <-sp.done; err != nil {
				t.Fatal(err)
			}
			seen.waitAll(t, total, 30*time.Second)
			a.stop(t)
			waitFor(t, 10*time.Second, "committed offsets at the end", func() error {
				if lag, _ := groupLag(t, bp.addr, "sarama-group"); lag != 0 {
					return errorLag(lag)
				}
				return nil
			})
		})
	}
}
