package raftmeta

import (
	"errors"
	"testing"
)

func TestScanFramesClassifiesDamage(t *testing.T) {
	good := appendFrame(appendFrame(nil, []byte("one")), []byte("two"))
	f := func(name string, data []byte, wantValid int, wantFrames int, wantErr error) {
		t.Helper()
		frames := 0
		valid, err := scanFrames(data, 8, func([]byte) error { frames++; return nil })
		if valid != wantValid || frames != wantFrames || !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("%s: valid=%d frames=%d err=%v; want valid=%d frames=%d err=%v",
				name, valid, frames, err, wantValid, wantFrames, wantErr)
		}
	}
	one := len(appendFrame(nil, []byte("one")))
	f("intact", good, len(good), 2, nil)
	f("empty", nil, 0, 0, nil)
	f("short header", append(append([]byte{}, good...), 1, 2, 3), len(good), 2, errTornTail)
	f("cut payload", good[:len(good)-1], one, 1, errTornTail)
	f("zeros after frames", append(append([]byte{}, good...), make([]byte, 64)...), len(good), 2, errTornTail)

	lastBad := append([]byte{}, good...)
	lastBad[len(lastBad)-1] ^= 1
	f("last frame checksum", lastBad, one, 1, errTornTail)

	firstBad := append([]byte{}, good...)
	firstBad[frameHeaderLen] ^= 1
	f("first frame checksum with a frame after", firstBad, 0, 0, ErrCorrupt)

	zeroLen := append([]byte{0, 0, 0, 0, 9, 9, 9, 9}, good...)
	f("empty frame with data after", zeroLen, 0, 0, ErrCorrupt)

	hugeLen := append([]byte{}, good...)
	hugeLen[3] = 0x5a // length field now claims ~1.5 GB
	f("implausible length with frames after", hugeLen, 0, 0, ErrCorrupt)
}

func TestDecodeFrameRoundTrip(t *testing.T) {
	hs := hardState(3, 1, 7)
	ents := []*pbEntry{entry(3, 6, []byte("six")), entry(3, 7, nil)}
	fr, err := decodeFrame(appendPayload(nil, hs, ents))
	if err != nil {
		t.Fatal(err)
	}
	if fr.hardState.GetTerm() != 3 || fr.hardState.GetVote() != 1 || fr.hardState.GetCommit() != 7 {
		t.Fatalf("hard state = %v", fr.hardState)
	}
	if len(fr.entries) != 2 || string(fr.entries[0].GetData()) != "six" || fr.entries[1].GetIndex() != 7 || fr.entries[1].GetData() != nil {
		t.Fatalf("entries = %v", fr.entries)
	}
	if _, err := decodeFrame(appendPayload(nil, nil, []*pbEntry{entry(1, 1, nil), entry(1, 3, nil)})); !errors.Is(err, errBadRecord) {
		t.Fatalf("gap inside a frame: err = %v", err)
	}
	if _, err := decodeFrame([]byte{9}); !errors.Is(err, errBadRecord) {
		t.Fatalf("unknown record kind: err = %v", err)
	}
}
