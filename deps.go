//go:build deps

// This file pins modules the project is about to use so parallel work does
// not race on go.mod; it is never built.
package deps

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/IBM/sarama"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/panjf2000/gnet/v2"
	_ "github.com/pierrec/lz4/v4"
	_ "github.com/segmentio/kafka-go"
	_ "github.com/twmb/franz-go/pkg/kadm"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "github.com/twmb/franz-go/pkg/kmsg"
	_ "go.etcd.io/raft/v3"
)
