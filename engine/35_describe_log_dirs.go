package engine

import (
	"maps"
	"path/filepath"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeLogDirs: v0-4
//
// Behaviour:
// * One log directory, the broker's data directory (as an absolute path),
//   always listed, with every requested partition hosted here (all of them
//   when Topics is null): its size in bytes on disk, OffsetLag 0 (the high
//   watermark is the log end on a single node) and IsFuture false (replicas
//   never move between directories). Partitions and topics not hosted here
//   are left out, as Kafka leaves them out.
// * TotalBytes and UsableBytes (v4) are the data directory's filesystem
//   size and the bytes available to the broker; -1 where the platform cannot
//   tell.
// * Sizes are read on the shards that own the partitions; the answer is
//   sent when the last has answered, without blocking the event loop.
//
// Version notes:
// * v1: ThrottleMillis
// * v2: flexible
// * v3: ErrorCode
// * v4: TotalBytes, UsableBytes (KIP-827)
// * v5 (IsCordoned, KIP-1066) is not served.

func init() { registerAPI(35, 0, 4, (*Broker).handleDescribeLogDirs) }

func (b *Broker) handleDescribeLogDirs(r *request) {
	req := r.kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	v := b.currentView()

	// The partitions to size, grouped by topic in request order (or by name).
	type wanted struct {
		topic string
		parts []int32
	}
	var topics []wanted
	hosted := func(topic string, p int32) bool {
		_, mp, ok := v.partition(topic, p)
		return ok && slices.Contains(mp.Replicas, b.nodeID)
	}
	if req.Topics == nil {
		for _, name := range slices.Sorted(maps.Keys(v.snap.Topics)) {
			w := wanted{topic: name}
			for p := range v.snap.Topics[name].Partitions {
				if hosted(name, int32(p)) {
					w.parts = append(w.parts, int32(p))
				}
			}
			topics = append(topics, w)
		}
	} else {
		for _, rt := range req.Topics {
			w := wanted{topic: rt.Topic}
			for _, p := range rt.Partitions {
				if hosted(rt.Topic, p) && !slices.Contains(w.parts, p) {
					w.parts = append(w.parts, p)
				}
			}
			topics = append(topics, w)
		}
	}

	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = b.dataDir
	if abs, err := filepath.Abs(b.dataDir); err == nil {
		dir.Dir = abs
	}
	if total, usable, ok := filesystemSpace(b.dataDir); ok {
		dir.TotalBytes, dir.UsableBytes = total, usable
	}
	for _, w := range topics {
		if len(w.parts) == 0 {
			continue
		}
		rt := kmsg.NewDescribeLogDirsResponseDirTopic()
		rt.Topic = w.topic
		for _, p := range w.parts {
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition = p
			rt.Partitions = append(rt.Partitions, rp)
		}
		dir.Topics = append(dir.Topics, rt)
	}
	resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}

	// Each shard fills in the sizes of its own partitions.
	var keys []partKey
	var outs []*kmsg.DescribeLogDirsResponseDirTopicPartition
	for i := range resp.Dirs[0].Topics {
		rt := &resp.Dirs[0].Topics[i]
		for j := range rt.Partitions {
			keys = append(keys, partKey{rt.Topic, rt.Partitions[j].Partition})
			outs = append(outs, &rt.Partitions[j])
		}
	}
	b.runOnShards(keys, func(s *shard, i int) {
		if p, ok := s.parts[keys[i]]; ok && p.log != nil {
			outs[i].Size = p.log.Size()
		}
	}, func() { r.respond(resp) })
}
