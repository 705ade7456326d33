// Package dumplog prints a partition's files as Kafka's kafka-dump-log.sh
// does: each batch's header of a segment's .log (offsets, producer,
// transaction and control flags, codec, CRC and whether it holds), its
// records on request, decoded for __consumer_offsets and
// __transaction_state when asked, and the entries of .index and .timeindex
// files, and the entries of the shards' write-ahead log files. It reads the
// files only; the broker may be running or not.
package dumplog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chronik-go/chronik/engine/batch"
)

// Options choose what is printed besides batch headers.
type Options struct {
	// Records prints each record of each batch (kafka-dump-log's
	// --print-data-log): offset, timestamp, sizes, headers, key and value.
	Records bool
	// OffsetsDecoder decodes records as __consumer_offsets' (implies
	// Records).
	OffsetsDecoder bool
	// TransactionLogDecoder decodes records as __transaction_state's
	// (implies Records).
	TransactionLogDecoder bool
	// MaxValueBytes cuts printed keys and values; 0 prints them whole.
	MaxValueBytes int
}

// Path dumps a .log, .index, .timeindex or write-ahead log (.wal) file, or
// every such file of a directory (a partition's, in offset order, or the
// write-ahead log's, __wal, in generation order). It returns an error when a file
// cannot be read or holds a corrupt batch (printed where found).
func Path(w io.Writer, path string, o Options) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return File(w, path, o)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if kindOf(e.Name()) != "" {
			names = append(names, e.Name())
		}
	}
	// Segment files are named by base offset, zero-padded: by name, each
	// segment's .log before its indexes.
	rank := map[string]int{".log": 0, ".index": 1, ".timeindex": 2, ".wal": 3}
	slices.SortFunc(names, func(a, b string) int {
		ka, kb := kindOf(a), kindOf(b)
		if c := strings.Compare(strings.TrimSuffix(a, ka), strings.TrimSuffix(b, kb)); c != 0 {
			return c
		}
		return rank[ka] - rank[kb]
	})
	var errs []error
	for _, n := range names {
		errs = append(errs, File(w, filepath.Join(path, n), o))
	}
	return errors.Join(errs...)
}

func kindOf(name string) string {
	for _, suffix := range []string{".log", ".index", ".timeindex", ".wal"} {
		if strings.HasSuffix(name, suffix) {
			return suffix
		}
	}
	return ""
}

// File dumps one .log, .index or .timeindex file.
func File(w io.Writer, path string, o Options) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(w, "Dumping %s\n", path)
	switch kindOf(path) {
	case ".log":
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return dumpSegment(w, bufio.NewReaderSize(f, 1<<20), st.Size(), path, o)
	case ".index":
		base := baseOffset(path)
		return dumpIndex(w, f, 8, func(e []byte) string {
			return fmt.Sprintf("offset: %d position: %d", base+int64(int32(binary.BigEndian.Uint32(e))), int32(binary.BigEndian.Uint32(e[4:])))
		})
	case ".wal":
		return dumpWAL(w, path, o)
	case ".timeindex":
		base := baseOffset(path)
		return dumpIndex(w, f, 12, func(e []byte) string {
			return fmt.Sprintf("timestamp: %d offset: %d", int64(binary.BigEndian.Uint64(e)), base+int64(int32(binary.BigEndian.Uint32(e[8:]))))
		})
	}
	return fmt.Errorf("%s: not a .log, .index, .timeindex or .wal file", path)
}

// baseOffset is the base offset a segment file's name carries (index
// entries hold offsets relative to it); 0 for another name.
func baseOffset(path string) int64 {
	name := filepath.Base(path)
	base, err := strconv.ParseInt(strings.TrimSuffix(name, filepath.Ext(name)), 10, 64)
	if err != nil {
		return 0
	}
	return base
}

// dumpSegment prints every batch of a segment of fileSize bytes, from its
// start. A batch is read only when the file holds it whole, so a corrupt
// length costs no memory.
func dumpSegment(w io.Writer, r *bufio.Reader, fileSize int64, path string, o Options) error {
	var pos int64
	first := true
	for {
		head, err := r.Peek(batch.LengthFieldEnd)
		if len(head) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return tail(w, path, pos, r, "a batch's offset and length cut short")
		}
		size := batch.LengthFieldEnd + int64(int32(binary.BigEndian.Uint32(head[8:])))
		if size < batch.HeaderSize {
			return tail(w, path, pos, r, fmt.Sprintf("a batch length of %d", size-batch.LengthFieldEnd))
		}
		if size > fileSize-pos {
			return tail(w, path, pos, r, fmt.Sprintf("a batch of %d bytes runs past the end, cut short", size))
		}
		raw := make([]byte, size)
		if n, err := io.ReadFull(r, raw); err != nil {
			return tail(w, path, pos+int64(n), r, fmt.Sprintf("a batch of %d bytes cut short at %d", size, n))
		}
		h, err := batch.ParseHeader(raw)
		if err != nil {
			return tail(w, path, pos, r, err.Error())
		}
		if first {
			fmt.Fprintf(w, "Log starting offset: %d\n", h.BaseOffset)
			first = false
		}
		valid := batch.CRCValid(raw)
		printHeader(w, &h, pos, valid)
		if (o.Records || o.OffsetsDecoder || o.TransactionLogDecoder) && valid {
			if err := printRecords(w, raw, &h, o); err != nil {
				fmt.Fprintf(w, "| records unreadable: %v\n", err)
			}
		}
		if !valid {
			return fmt.Errorf("%s: batch at position %d fails its CRC", path, pos)
		}
		pos += size
	}
}

// tail reports the unreadable bytes from pos to the end of a segment, as
// kafka-dump-log reports invalid bytes at the end of a file.
func tail(w io.Writer, path string, pos int64, r *bufio.Reader, why string) error {
	rest, _ := io.Copy(io.Discard, r)
	fmt.Fprintf(w, "Found invalid bytes at position %d of %s (%s; %d bytes unread after it)\n", pos, path, why, rest)
	return fmt.Errorf("%s: invalid bytes at position %d: %s", path, pos, why)
}

var codecs = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

// printHeader prints a batch header as kafka-dump-log does; pos < 0 leaves
// the position out (a batch outside a segment).
func printHeader(w io.Writer, h *batch.Header, pos int64, valid bool) {
	position := ""
	if pos >= 0 {
		position = fmt.Sprintf("position: %d ", pos)
	}
	lastSeq := int32(-1)
	if h.BaseSequence >= 0 {
		lastSeq = h.BaseSequence + h.LastOffsetDelta
	}
	horizon := "OptionalLong.empty"
	ts := h.MaxTimestamp
	if h.Attributes&0x40 != 0 {
		horizon = fmt.Sprintf("OptionalLong[%d]", h.BaseTimestamp)
	}
	tsType := "CreateTime"
	if h.LogAppendTime() {
		tsType = "LogAppendTime"
	}
	codec := fmt.Sprintf("codec%d", h.Codec())
	if int(h.Codec()) < len(codecs) {
		codec = codecs[h.Codec()]
	}
	fmt.Fprintf(w, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s %s%s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: %t\n",
		h.BaseOffset, h.LastOffset(), h.NumRecords, h.BaseSequence, lastSeq, h.ProducerID, h.ProducerEpoch,
		h.PartitionLeaderEpoch, h.Transactional(), h.Control(), horizon, position, tsType, ts, h.Size(), h.Magic, codec, h.CRC, valid)
}

// dumpIndex prints an index file's entries, size bytes each, up to the
// zero entries of its preallocated tail.
func dumpIndex(w io.Writer, r io.Reader, size int, format func(e []byte) string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	zero := make([]byte, size)
	n := len(data) / size
	for n > 1 && slices.Equal(data[(n-1)*size:n*size], zero) {
		n--
	}
	if n == 1 && slices.Equal(data[:size], zero) && len(data) > size {
		n = 0 // only preallocated zeros
	}
	for i := range n {
		fmt.Fprintln(w, format(data[i*size:(i+1)*size]))
	}
	if extra := len(data) % size; extra != 0 {
		fmt.Fprintf(w, "Found %d bytes after the last whole entry\n", extra)
		return fmt.Errorf("index: %d bytes after the last whole entry", extra)
	}
	return nil
}
