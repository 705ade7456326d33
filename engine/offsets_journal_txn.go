package engine

import (
	"errors"

	"github.com/chronik-go/chronik/engine/group"
)

// AppendTxn is a placeholder until the transaction coordinator writes
// transactional batches to __consumer_offsets.
func (j offsetsJournal) AppendTxn(producerID int64, producerEpoch int16, recs []group.Record) error {
	return errors.New("transactional offset commits are not implemented")
}
