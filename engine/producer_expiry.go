package engine

import "time"

// Idempotent producer state expires as in Kafka (producer.id.expiration.ms):
// every client instance gets a fresh producer id, so without expiry each
// partition would keep the state of every producer that ever wrote to it,
// in memory and in its producer-state snapshot. A producer whose last batch
// is older than the expiration is forgotten; if it writes again, its next
// batch is accepted whatever its sequence (checkIdempotent), as Kafka does
// for a producer it holds no state for. The age counts from the broker's
// clock at the producer's last append (Kafka counts from the batch's
// timestamp, which expires producers that write old CreateTime timestamps,
// such as mirroring tools, at once and with them their duplicate
// protection); producers replayed from the log after a crash count from the
// restart. Restoring state drops those a snapshot saw too long ago.

// expireProducers drops the producer state of every partition of the shard
// that was last seen longer ago than the expiration.
func (s *shard) expireProducers() {
	cutoff := time.Now().Add(-s.b.cfg.ProducerIDExpiration).UnixMilli()
	for _, p := range s.parts {
		p.expireProducers(cutoff)
	}
}

// expireProducers drops the producers last seen before cutoff (ms); the
// snapshot on disk no longer matches, so the next clean close writes it
// again, even empty.
func (p *partition) expireProducers(cutoff int64) {
	for id, ps := range p.producers {
		if _, open := p.txns.Ongoing[id]; open {
			continue // as Kafka: a producer with an open transaction here stays
		}
		if ps.SeenAtMs < cutoff {
			delete(p.producers, id)
			p.producersSavedAt = -1
			p.producersExpired = true
		}
	}
}
