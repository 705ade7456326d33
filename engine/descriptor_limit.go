package engine

// Each partition being written holds its active segment's .log, .index and
// .timeindex open (a sealed segment only while a reader is in it), and connections,
// the shards' write-ahead logs and the metadata store need their own. Kafka
// asks operators for a high descriptor limit for the same reason; a broker
// that runs out cannot accept connections or roll segments, so the start and
// every change of the partition count compare the two and say so in the log.
const (
	descriptorsPerPartition = 3
	descriptorHeadroom      = 1024
)

// descriptorLimit is the process's open-file limit (RLIMIT_NOFILE); a
// variable so that tests can pretend a low one.
var descriptorLimit = processDescriptorLimit

// checkDescriptorLimit warns when partitions may need more descriptors than
// the limit allows, once for each partition count past the last warned.
func (b *Broker) checkDescriptorLimit(partitions int) {
	limit, ok := descriptorLimit()
	if !ok {
		return
	}
	need := uint64(partitions)*descriptorsPerPartition + descriptorHeadroom
	if need <= limit {
		return
	}
	for {
		warned := b.descriptorWarnedAt.Load()
		if int64(partitions) <= warned {
			return
		}
		if b.descriptorWarnedAt.CompareAndSwap(warned, int64(partitions)) {
			break
		}
	}
	b.log.Warn("the open-file limit may be too low for this many partitions: raise it (ulimit -n, systemd LimitNOFILE)",
		"limit", limit, "partitions", partitions, "may_need", need)
}
