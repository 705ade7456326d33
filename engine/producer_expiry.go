package engine

import "time"

// Idempotent producer state expires as in Kafka (producer.id.expiration.ms):
// every client instance gets a fresh producer id, so without expiry each
// partition would keep the state of every producer that ever wrote to it,
// in memory and in its producer-state snapshot. A producer whose last batch
// is older than the expiration is forgotten; if it writes again, its next
// batch is accepted whatever its sequence (checkIdempotent), as Kafka does
// for a producer it holds no state for. As in Kafka, the age counts from
// the last batch's timestamp, and restoring state drops expired producers.

// expireProducers drops the producer state of every partition of the shard
// whose last batch timestamp is older than the expiration.
func (s *shard) expireProducers() {
	cutoff := time.Now().Add(-s.b.cfg.ProducerIDExpiration).UnixMilli()
	for _, p := range s.parts {
		p.expireProducers(cutoff)
	}
}

// expireProducers drops the producers whose last batch's timestamp (ms) is
// before cutoff; the snapshot on disk no longer matches, so the next clean
// close writes it again.
func (p *partition) expireProducers(cutoff int64) {
	for id, ps := range p.producers {
		if n := len(ps.Batches); n == 0 || ps.Batches[n-1].Timestamp < cutoff {
			delete(p.producers, id)
			p.producersSavedAt = -1
		}
	}
}
