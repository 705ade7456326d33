// chronik-dump-log prints a partition's segment and index files, as Kafka's
// kafka-dump-log.sh does:
//
//	chronik-dump-log [--print-data-log] [--offsets-decoder] [--transaction-log-decoder] FILE|DIR...
//
// A directory is a partition's (data/<topic>-<partition>): every .log,
// .index and .timeindex file in it, in offset order. The files are only
// read; the broker may be running. The exit status is 1 when a file could
// not be read or holds a corrupt batch (printed where it was found).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/chronik-go/chronik/tools/dumplog"
)

func main() {
	var o dumplog.Options
	flag.BoolVar(&o.Records, "print-data-log", false, "print each record: offset, timestamp, sizes, header keys, key and payload")
	flag.BoolVar(&o.OffsetsDecoder, "offsets-decoder", false, "decode records as __consumer_offsets' (implies --print-data-log)")
	flag.BoolVar(&o.TransactionLogDecoder, "transaction-log-decoder", false, "decode records as __transaction_state's (implies --print-data-log)")
	flag.IntVar(&o.MaxValueBytes, "max-value-bytes", 0, "print at most this many bytes of a key or payload (0: all)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] FILE|DIR...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	failed := false
	for _, path := range flag.Args() {
		if err := dumplog.Path(w, path, o); err != nil {
			w.Flush()
			fmt.Fprintln(os.Stderr, "chronik-dump-log:", err)
			failed = true
		}
	}
	w.Flush()
	if failed {
		os.Exit(1)
	}
}
