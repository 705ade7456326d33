package bench

import (
	"math"
	"sort"
)

// Spread summarises repeated measurements of one figure. Benchmarks on a shared
// machine are noisy, so reports give the median with the full range beside it
// rather than a mean that one outlier can drag.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// SpreadOf returns the median, minimum and maximum of values; the median of an
// even count is the mean of the two middle values. The zero Spread is returned
// for no values.
func SpreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return Spread{Median: median, Min: sorted[0], Max: sorted[n-1], N: n}
}

// Ratio returns a/b, or 0 when b is zero or either value is not finite, so a
// report stays encodable as JSON (which has no NaN or Inf) and prints "n/a".
func Ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return 0
	}
	return a / b
}
