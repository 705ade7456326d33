package dumplog

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/walfile"
)

// dumpWAL prints a shard write-ahead log file's entries: each one's
// generation and items (partition, batch header), those of the generation
// the file's name carries marked current (the replay applies them) and
// any after them stale (a recycled file's earlier content, which it
// ignores), then where and why reading stopped early, if it did.
func dumpWAL(w io.Writer, path string, o Options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	gen, shard, named := walfile.ParseFileName(filepath.Base(path))
	if named {
		fmt.Fprintf(w, "Write-ahead log of shard %d, generation %d\n", shard, gen)
	} else {
		fmt.Fprintln(w, "Write-ahead log spare (every entry is a recycled file's earlier content)")
	}
	current := named
	stale := false
	var bodyErr error
	torn := walfile.Scan(data, func(e walfile.Entry) bool {
		state := "current"
		if !current || e.Gen != gen {
			current, state, stale = false, "stale", true
		}
		items, err := walfile.ParseBody(e.Body)
		fmt.Fprintf(w, "entry position: %d generation: %d size: %d items: %d %s\n", e.Pos, e.Gen, walfile.EntryHeaderSize+len(e.Body), len(items), state)
		if err != nil {
			fmt.Fprintf(w, "| items unreadable: %v\n", err)
			bodyErr = fmt.Errorf("%s: entry at byte %d: %w", path, e.Pos, err)
			return true
		}
		for _, it := range items {
			fmt.Fprintf(w, "| topic: %s partition: %d topicId: %s ", it.Topic, it.Partition, hex.EncodeToString(it.TopicID[:]))
			h, err := batch.ParseHeader(it.Batch)
			if err != nil {
				fmt.Fprintf(w, "batch unreadable: %v\n", err)
				continue
			}
			printHeader(w, &h, -1, batch.CRCValid(it.Batch))
			if (o.Records || o.OffsetsDecoder || o.TransactionLogDecoder) && batch.CRCValid(it.Batch) {
				// A WAL entry mixes partitions: decode only the internal
				// topic the decoder is for.
				o := o
				o.OffsetsDecoder = o.OffsetsDecoder && it.Topic == "__consumer_offsets"
				o.TransactionLogDecoder = o.TransactionLogDecoder && it.Topic == "__transaction_state"
				if err := printRecords(w, it.Batch, &h, o); err != nil {
					fmt.Fprintf(w, "| records unreadable: %v\n", err)
				}
			}
		}
		return true
	})
	switch {
	case torn != "" && !stale:
		fmt.Fprintf(w, "Reading stopped: %s (the replay stops there too: a write a crash cut short)\n", torn)
	case torn != "":
		fmt.Fprintf(w, "Reading stopped: %s (among stale entries, which the replay does not read)\n", torn)
	}
	return bodyErr
}
