package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/chronik-go/chronik/engine/meta"
)

// internalTopicSpec is an internal topic of the coordinators
// (__consumer_offsets, __transaction_state): compacted, never deleted by
// time or size (only compaction may drop a committed offset or a
// transaction's state).
func internalTopicSpec(b *Broker, name string, partitions int32, segmentBytes int64) meta.Topic {
	return meta.Topic{
		Name:       name,
		ID:         newTopicID(),
		Internal:   true,
		Configs:    internalTopicConfigs(segmentBytes),
		Partitions: b.newPartitions(partitions),
	}
}

// internalTopicConfigs are an internal topic's configs (internalTopicSpec).
func internalTopicConfigs(segmentBytes int64) map[string]string {
	return map[string]string{
		"cleanup.policy":  "compact",
		"retention.ms":    "-1",
		"retention.bytes": "-1",
		"segment.bytes":   strconv.FormatInt(segmentBytes, 10),
	}
}

// internalTopicCreator creates an internal topic in the background, once at
// a time; Kafka creates its internal topics on first use.
type internalTopicCreator struct {
	b    *Broker
	name string
	spec func() meta.Topic

	mu       sync.Mutex
	creating chan struct{}
	err      error
}

// startCreate starts a creation unless one runs, and returns a channel
// closed when it ends.
func (c *internalTopicCreator) startCreate() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creating != nil {
		return c.creating
	}
	ch := make(chan struct{})
	c.creating = ch
	go func() {
		err := c.create()
		c.mu.Lock()
		c.err, c.creating = err, nil
		c.mu.Unlock()
		close(ch)
	}()
	return ch
}

func (c *internalTopicCreator) create() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.b.cfg.IOTimeout)
	defer cancel()
	spec := c.spec()
	res, err := c.b.propose(ctx, []meta.Op{{Kind: meta.OpCreateTopics, Topics: []meta.Topic{spec}, RefuseCollisions: true}})
	if err == nil {
		err = res[0].Err
	}
	if err != nil && !errors.Is(err, meta.ErrTopicExists) {
		c.b.log.Error("create "+c.name, "err", err)
		return fmt.Errorf("create %s: %w", c.name, err)
	}
	c.b.log.Info("created "+c.name, "partitions", len(spec.Partitions))
	return nil
}

// ensure waits until the topic exists, creating it if needed.
func (c *internalTopicCreator) ensure(ctx context.Context) error {
	if _, ok := c.b.currentView().topic(c.name); ok {
		return nil
	}
	select {
	case <-c.startCreate():
	case <-ctx.Done():
		return ctx.Err()
	}
	if _, ok := c.b.currentView().topic(c.name); ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return fmt.Errorf("%s not created", c.name)
}
