package engine

import (
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTransactions: v0
//
// Behaviour (KIP-664, what kafka-transactions.sh describe and kadm read):
// * For each transactional id, from its coordinator: state (Kafka's names),
//   producer id and epoch, timeout, the open transaction's start (-1 when
//   none ran since InitProducerId) and the partitions it added, which are
//   none once it completed.
// * An id never seen is TRANSACTIONAL_ID_NOT_FOUND; an empty one
//   INVALID_REQUEST; one led elsewhere NOT_COORDINATOR.

func init() { registerAPI(65, 0, 0, (*Broker).handleDescribeTransactions) }

func (b *Broker) handleDescribeTransactions(r *request) {
	req := r.kreq.(*kmsg.DescribeTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	resp.TransactionStates = make([]kmsg.DescribeTransactionsResponseTransactionState, len(req.TransactionalIDs))
	var pending atomic.Int32
	pending.Store(int32(len(req.TransactionalIDs)) + 1)
	done := func() {
		if pending.Add(-1) == 0 {
			r.respond(resp)
		}
	}
	for i, id := range req.TransactionalIDs {
		out := &resp.TransactionStates[i]
		*out = kmsg.NewDescribeTransactionsResponseTransactionState()
		out.TransactionalID = id
		if id == "" {
			out.ErrorCode = kerr.InvalidRequest.Code
			done()
			continue
		}
		b.txns.on(id, func(code int16) { out.ErrorCode = code; done() }, func(_ *shard, tl *txnLog) {
			defer done()
			m := tl.txns[id]
			if m == nil {
				out.ErrorCode = kerr.TransactionalIDNotFound.Code
				return
			}
			out.State = m.state.String()
			out.TimeoutMillis = m.timeoutMs
			out.StartTimestamp = m.startMs
			out.ProducerID, out.ProducerEpoch = m.pid, m.epoch
			byTopic := make(map[string][]int32)
			for k := range m.parts {
				byTopic[k.topic] = append(byTopic[k.topic], k.partition)
			}
			for topic, ps := range byTopic {
				slices.Sort(ps)
				out.Topics = append(out.Topics, kmsg.DescribeTransactionsResponseTransactionStateTopic{Topic: topic, Partitions: ps})
			}
			slices.SortFunc(out.Topics, func(a, b kmsg.DescribeTransactionsResponseTransactionStateTopic) int {
				return cmp.Compare(a.Topic, b.Topic)
			})
		})
	}
	done()
}
