package engine

// quietReleasesPerTurn bounds how many quiet partitions a shard frees the
// reserved blocks of in one turn. Each is an ftruncate of 0.1–0.2 ms on the
// 2-core VM, so a burst across thousands of partitions that then went quiet
// is freed over many turns, with other work between them, rather than in one
// stall of the shard's busy partitions.
const quietReleasesPerTurn = 16

// releaseQuietReserves frees the reservations of the first partitions in
// quietReserves (found by the retention check) and comes back through the
// mailbox for the rest. A partition closed, or appended to, since it was
// found is left as it is; a stopping shard leaves them all to its closes,
// which free them too.
func (s *shard) releaseQuietReserves() {
	select {
	case <-s.quit:
		s.quietReserves = nil
		return
	default:
	}
	n := min(len(s.quietReserves), quietReleasesPerTurn)
	for _, p := range s.quietReserves[:n] {
		if p.closed || p.log == nil {
			continue
		}
		if err := p.log.ReleaseQuietReserve(); err != nil {
			s.b.log.Warn("free reserved blocks", "topic", p.key.topic, "partition", p.key.partition, "err", err)
		}
	}
	clear(s.quietReserves[:n])
	s.quietReserves = s.quietReserves[n:]
	if len(s.quietReserves) == 0 {
		s.quietReserves = nil
		return
	}
	s.submit(func(s *shard) { s.releaseQuietReserves() })
}
