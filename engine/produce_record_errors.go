package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/partlog"
)

// refusedRecords answers a batch some of whose records break its topic's
// rules (partlog.RecordRules): INVALID_TIMESTAMP when any record's timestamp
// is out of range, otherwise INVALID_RECORD (records without a key on a
// compacted topic), as Kafka decides. The answer (v8+) names each refused
// record by its place in the batch (KIP-467's record errors), so a producer
// can tell them from the batch's other records, which were refused with
// them.
func refusedRecords(topic string, h *batch.Header, seen *partlog.RecordsSeen, rules *partlog.RecordRules) (int16, produceJob) {
	// The window's edges, saturated: after.max.ms may be Long.MAX_VALUE.
	earliest := rules.Now - rules.BeforeMs
	latest := int64(math.MaxInt64)
	if rules.AfterMs < math.MaxInt64-rules.Now {
		latest = rules.Now + rules.AfterMs
	}
	errs := make([]kmsg.ProduceResponseTopicPartitionErrorRecord, len(seen.Refused))
	for i, r := range seen.Refused {
		var msg string
		if r.NoKey {
			msg = fmt.Sprintf("record %d has no key: topic %s is compacted (cleanup.policy=compact)", r.Index, topic)
		} else {
			msg = fmt.Sprintf("record %d has timestamp %d, outside the %d..%d topic %s takes", r.Index, r.Timestamp, earliest, latest, topic)
		}
		errs[i] = kmsg.NewProduceResponseTopicPartitionErrorRecord()
		errs[i].RelativeOffset = r.Index
		errs[i].ErrorMessage = &msg
	}
	var why []string
	if seen.RefusedOutside > 0 {
		why = append(why, fmt.Sprintf(
			"%d of the batch's %d records have timestamps out of range: topic %s takes CreateTime timestamps at most %d ms before and %d ms after the broker's clock (%d)",
			seen.RefusedOutside, h.NumRecords, topic, rules.BeforeMs, rules.AfterMs, rules.Now))
	}
	if seen.RefusedNoKey > 0 {
		why = append(why, fmt.Sprintf("%d of the batch's %d records have no key, which compacted topic %s requires",
			seen.RefusedNoKey, h.NumRecords, topic))
	}
	if n := seen.RefusedOutside + seen.RefusedNoKey; n > len(errs) {
		why = append(why, fmt.Sprintf("the first %d are named", len(errs)))
	}
	code := kerr.InvalidRecord.Code
	if seen.RefusedOutside > 0 {
		code = kerr.InvalidTimestamp.Code
	}
	return code, produceJob{errMsg: strings.Join(why, "; "), recordErrs: errs}
}
