package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// zstdDecodedBound reads the frame and block headers of a zstd section
// (RFC 8878) without decoding anything and returns the most it can decode
// to: raw and RLE blocks name their size, a compressed block decodes to at
// most the frame's block maximum (128 KiB, or the window when smaller).
// Decoding a section whole can then be refused before it costs memory in
// proportion to a claim, and given a buffer it will not outgrow. Skippable
// frames count nothing.
func zstdDecodedBound(src []byte) (int64, error) {
	var total int64
	for len(src) > 0 {
		if len(src) < 4 {
			return 0, errors.New("zstd: truncated frame magic")
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&0xfffffff0 == 0x184d2a50 { // skippable frame
			if len(src) < 8 {
				return 0, errors.New("zstd: truncated skippable frame")
			}
			n := uint64(binary.LittleEndian.Uint32(src[4:]))
			if n > uint64(len(src)-8) {
				return 0, errors.New("zstd: truncated skippable frame")
			}
			src = src[8+n:]
			continue
		}
		if magic != 0xfd2fb528 {
			return 0, fmt.Errorf("zstd: not a frame (magic %#x)", magic)
		}
		n, bound, err := zstdFrameBound(src)
		if err != nil {
			return 0, err
		}
		total += bound
		src = src[n:]
	}
	return total, nil
}

// zstdFrameBound returns one frame's length in src and its decoded bound.
func zstdFrameBound(src []byte) (int, int64, error) {
	if len(src) < 5 {
		return 0, 0, errors.New("zstd: truncated frame header")
	}
	fhd := src[4]
	pos := 5
	single := fhd&0x20 != 0
	var window int64
	if !single {
		if len(src) <= pos {
			return 0, 0, errors.New("zstd: truncated window descriptor")
		}
		wd := src[pos]
		pos++
		base := int64(1) << (10 + wd>>3)
		window = base + base/8*int64(wd&7)
	}
	pos += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	fcsSize := [4]int{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && single {
		fcsSize = 1
	}
	if len(src) < pos+fcsSize {
		return 0, 0, errors.New("zstd: truncated frame content size")
	}
	fcs := int64(-1)
	switch fcsSize {
	case 1:
		fcs = int64(src[pos])
	case 2:
		fcs = int64(binary.LittleEndian.Uint16(src[pos:])) + 256
	case 4:
		fcs = int64(binary.LittleEndian.Uint32(src[pos:]))
	case 8:
		fcs = int64(binary.LittleEndian.Uint64(src[pos:]) & (1<<62 - 1)) // past 2^62 is no batch
	}
	pos += fcsSize
	if single {
		// The decoder's own window for such a frame: its content size,
		// but never under 1 KiB (RFC 8878's minimum), which a compressed
		// block may fill even when the frame claims less.
		window = max(fcs, 1<<10)
	}
	blockMax := min(window, zstdBlockMax)
	var bound int64
	for {
		if len(src) < pos+3 {
			return 0, 0, errors.New("zstd: truncated block header")
		}
		bh := uint32(src[pos]) | uint32(src[pos+1])<<8 | uint32(src[pos+2])<<16
		pos += 3
		size := int(bh >> 3)
		switch bh >> 1 & 3 {
		case 0: // raw
			bound += int64(size)
		case 1: // RLE: one byte, size times
			bound += int64(size)
			size = 1
		case 2: // compressed
			bound += blockMax
		default:
			return 0, 0, errors.New("zstd: reserved block type")
		}
		if len(src) < pos+size {
			return 0, 0, errors.New("zstd: truncated block")
		}
		pos += size
		if bh&1 != 0 {
			break
		}
	}
	if fhd&0x04 != 0 { // content checksum
		pos += 4
		if len(src) < pos {
			return 0, 0, errors.New("zstd: truncated checksum")
		}
	}
	// The content size is not taken into the bound: a frame that claims
	// less than its blocks write is found out only as they are decoded,
	// and the bound must hold for what is written until then.
	return pos, bound, nil
}
