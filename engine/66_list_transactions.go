package engine

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListTransactions: v0-1
//
// Behaviour (KIP-664):
// * Every transactional id whose coordinator is this broker, filtered by
//   state names (those Kafka does not know are returned in
//   UnknownStateFilters), by producer ids, and (v1, KIP-994) by having run
//   longer than DurationFilterMillis; the filters combine. Sorted by id.
//
// Version notes:
// * v1: DurationFilterMillis
// * v2: TransactionalIDPattern (KIP-1152), not served

func init() { registerAPI(66, 0, 1, (*Broker).handleListTransactions) }

func (b *Broker) handleListTransactions(r *request) {
	req := r.kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	states := make(map[kmsg.TransactionState]bool)
	for _, name := range req.StateFilters {
		st, err := kmsg.ParseTransactionState(name)
		if err != nil || st.String() != name {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
			continue
		}
		states[st] = true
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		r.respond(resp) // every filter names an unknown state: nothing matches
		return
	}
	pids := make(map[int64]bool)
	for _, id := range req.ProducerIDFilters {
		pids[id] = true
	}
	now := time.Now().UnixMilli()
	var mu sync.Mutex
	b.txns.forEachLog(func(tl *txnLog) {
		for _, m := range tl.txns {
			switch {
			case len(states) > 0 && !states[m.state],
				len(pids) > 0 && !pids[m.pid],
				req.Version >= 1 && req.DurationFilterMillis >= 0 && (m.state != kmsg.TransactionStateOngoing || now-m.startMs <= req.DurationFilterMillis):
				continue
			}
			st := kmsg.NewListTransactionsResponseTransactionState()
			st.TransactionalID, st.ProducerID, st.TransactionState = m.id, m.pid, m.state.String()
			mu.Lock()
			resp.TransactionStates = append(resp.TransactionStates, st)
			mu.Unlock()
		}
	}, func() {
		slices.SortFunc(resp.TransactionStates, func(a, b kmsg.ListTransactionsResponseTransactionState) int {
			return cmp.Compare(a.TransactionalID, b.TransactionalID)
		})
		r.respond(resp)
	})
}
