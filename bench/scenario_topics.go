package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicsConfig times topic creation on one broker.
type TopicsConfig struct {
	Target     Target
	Runs       int
	Partitions []int32       // sizes to create each run; default 1 and 100
	Timeout    time.Duration // bound on the whole scenario; default 5 minutes
}

// TopicsSize is the timings of creating topics of one size.
type TopicsSize struct {
	Partitions int32 `json:"partitions"`
	// CreateMs is CreateTopics from request to response, one per run.
	CreateMs []float64 `json:"create_ms"`
	// ReadyMs runs until Metadata shows a leader for every partition, which
	// is when a producer can use the topic; one per run.
	ReadyMs      []float64 `json:"ready_ms"`
	CreateSpread Spread    `json:"create_ms_spread"`
	ReadySpread  Spread    `json:"ready_ms_spread"`
}

// TopicsReport is what RunTopics measured.
type TopicsReport struct {
	RunInfo
	Target string       `json:"target"`
	Runs   int          `json:"runs"`
	Sizes  []TopicsSize `json:"sizes"`
	Error  string       `json:"error,omitempty"`
}

// RunTopics starts one broker and, each run, creates one topic of every size
// under a new name, timing the CreateTopics round trip and the wait until
// the topic has leaders. One untimed creation first opens the connection
// and finds the controller, so run 1 is not a connection benchmark.
func RunTopics(ctx context.Context, cfg TopicsConfig, info RunInfo) (TopicsReport, error) {
	if len(cfg.Partitions) == 0 {
		cfg.Partitions = []int32{1, 100}
	}
	rep := TopicsReport{RunInfo: info, Target: cfg.Target.Name(), Runs: cfg.Runs}
	for _, p := range cfg.Partitions {
		rep.Sizes = append(rep.Sizes, TopicsSize{Partitions: p})
	}
	err := runTopics(ctx, cfg, &rep)
	for i := range rep.Sizes {
		s := &rep.Sizes[i]
		s.CreateSpread, s.ReadySpread = SpreadOf(s.CreateMs), SpreadOf(s.ReadyMs)
	}
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

func runTopics(ctx context.Context, cfg TopicsConfig, rep *TopicsReport) (err error) {
	if cfg.Runs < 1 {
		return fmt.Errorf("topics: runs %d: need at least 1", cfg.Runs)
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(cfg.Timeout, 5*time.Minute))
	defer cancel()
	b, err := cfg.Target.Start(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := b.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop %s: %w", cfg.Target.Name(), stopErr))
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	stamp := time.Now().UnixNano()
	if _, err := createTopicReady(ctx, adm, fmt.Sprintf("bench-topics-%d-warmup", stamp), 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for run := 1; run <= cfg.Runs; run++ {
		for i := range rep.Sizes {
			s := &rep.Sizes[i]
			name := fmt.Sprintf("bench-topics-%d-p%d-r%d", stamp, s.Partitions, run)
			t, err := createTopicReady(ctx, adm, name, s.Partitions)
			if err != nil {
				return fmt.Errorf("run %d: %w", run, err)
			}
			s.CreateMs = append(s.CreateMs, ms(t.create))
			s.ReadyMs = append(s.ReadyMs, ms(t.ready))
		}
	}
	return nil
}

type creationTimes struct{ create, ready time.Duration }

func createTopicReady(ctx context.Context, adm *kadm.Client, name string, partitions int32) (creationTimes, error) {
	start := time.Now()
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		return creationTimes{}, fmt.Errorf("create topic %s (%d partitions): %w", name, partitions, err)
	}
	t := creationTimes{create: time.Since(start)}
	for {
		n, err := leadersReady(ctx, adm, name)
		if err == nil && n == partitions {
			t.ready = time.Since(start)
			return t, nil
		}
		if err == nil {
			err = fmt.Errorf("metadata shows %d of %d partitions", n, partitions)
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("topic %s not ready: %w (last: %v)", name, ctx.Err(), err)
		case <-time.After(time.Millisecond):
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
